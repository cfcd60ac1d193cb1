package insights

import (
	"context"
	"fmt"
	"time"

	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Service answers the insights routes from the store.
type Service struct {
	Store *store.Store
}

// Stats reads a program's KPIs for the months from..to ("" = open end): 1 Query of the
// program's monthly aggregates, 1 GetItem of the business-wide total, and the rewards whose
// status time changed within the aggregates' hour buckets (store.RewardsTurning: 4 Queries on
// GSI4), so that a reward shows approved or expired the moment it is.
func (s *Service) Stats(ctx context.Context, p *referral.Program, from, to string) (Stats, error) {
	now := s.Store.Now()
	months, total, err := s.Store.ProgramStats(ctx, p.ProgramID, from, to)
	if err != nil {
		return Stats{}, err
	}
	turning, err := s.Store.RewardsTurning(ctx, p.ProgramID, now.Add(-bucketSpan), now)
	if err != nil {
		return Stats{}, err
	}
	return Summarize(p, months, total, turning, from, to, now), nil
}

// Leaderboard is the body of GET /programs/{programId}/leaderboard.
type Leaderboard struct {
	ProgramID string             `json:"programId"`
	Period    string             `json:"period"`
	Entries   []LeaderboardEntry `json:"entries"`
}

// LeaderboardEntry is one ranked advocate, shown by first name only.
type LeaderboardEntry struct {
	Rank        int    `json:"rank"`
	CustomerID  string `json:"customerId"`
	DisplayName string `json:"displayName"`
	Conversions int    `json:"conversions"`
}

// Leaderboard ranks a program's advocates for a period: 1 GetItem of the period's board (the
// consumer keeps it from the stream), then 1 BatchGetItem for the first names shown.
func (s *Service) Leaderboard(ctx context.Context, programID, period string, limit int) (Leaderboard, error) {
	entries, err := s.Store.Leaderboard(ctx, programID, period, limit)
	if err != nil {
		return Leaderboard{}, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.AdvocateID
	}
	names, err := s.Store.FirstNames(ctx, ids)
	if err != nil {
		return Leaderboard{}, err
	}
	lb := Leaderboard{ProgramID: programID, Period: period, Entries: make([]LeaderboardEntry, len(entries))}
	for i, e := range entries {
		lb.Entries[i] = LeaderboardEntry{Rank: e.Rank, CustomerID: e.AdvocateID, DisplayName: names[e.AdvocateID], Conversions: e.Conversions}
	}
	return lb, nil
}

// CloseContest awards the program's prizes for a period once. A closed contest answers what
// it awarded then (closed = false), even if the prizes changed since. An open one needs
// prizes and a period that ended SettleDelay ago; it is ranked from the period's board (1
// GetItem) and closed with 1 TransactWriteItems (the contest item, only if absent, with the prize rewards).
func (s *Service) CloseContest(ctx context.Context, p *referral.Program, period string) (store.Contest, bool, error) {
	start, err := ParsePeriod("period", period)
	if err != nil {
		return store.Contest{}, false, err
	}
	c, found, err := s.Store.GetContest(ctx, p.ProgramID, period)
	if err != nil || found {
		return c, false, err
	}
	if len(p.Contest.Prizes) == 0 {
		return store.Contest{}, false, referral.ErrNoContest
	}
	now := s.Store.Now()
	if at := ClosableAt(start); now.Before(at) {
		return store.Contest{}, false, referral.ErrPeriodNotEnded.With(fmt.Sprintf("the %s period ends at %s; its contest can be closed from %s",
			period, PeriodEnd(start).Format(time.RFC3339), at.Format(time.RFC3339)), nil)
	}
	entries, err := s.Store.Leaderboard(ctx, p.ProgramID, period, MaxPrizeRank(p))
	if err != nil {
		return store.Contest{}, false, err
	}
	awards, rewards := Awards(p, period, entries, now)
	return s.Store.SaveContest(ctx, store.Contest{ProgramID: p.ProgramID, Period: period, ClosedAt: now,
		Awards: awards, Rewards: rewards})
}
