package insights

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// SettleDelay is how long after a period ends its contest can be closed: the stream ranks a
// conversion within a minute, and this leaves room for retried batches.
const SettleDelay = 10 * time.Minute

// RuleContest is the rule name on prize rewards in the ledger.
const RuleContest = "contest"

// ClosableAt is when the contest of the period starting at start may be closed.
func ClosableAt(start time.Time) time.Time { return PeriodEnd(start).Add(SettleDelay) }

// MaxPrizeRank is the lowest rank a program's prizes reach (0 without prizes).
func MaxPrizeRank(p *referral.Program) int {
	n := 0
	for _, z := range p.Contest.Prizes {
		n = max(n, z.Rank)
	}
	return n
}

// Awards gives each prize of the program to the advocate ranked there in entries (ranked 1..n,
// ties already broken): one advocate reward per prize, in the ledger's shape with rule
// "contest", held for the program's hold period like any other reward (approved at once
// without one) and delivered by the prize's provider. Prizes below the
// last ranked advocate are not given. Prize rewards are outside the per-advocate limits, which
// cap what conversions earn.
func Awards(p *referral.Program, period string, entries []store.LeaderboardEntry, now time.Time) ([]store.ContestAward, []referral.Reward) {
	prizes := slices.Clone(p.Contest.Prizes)
	slices.SortFunc(prizes, func(a, b referral.Prize) int { return cmp.Compare(a.Rank, b.Rank) })
	awards, rewards := []store.ContestAward{}, []referral.Reward{}
	for _, z := range prizes {
		if z.Rank < 1 || z.Rank > len(entries) {
			continue
		}
		e := entries[z.Rank-1]
		r := referral.Reward{RewardID: referral.NewID(now), ProgramID: p.ProgramID, CustomerID: e.AdvocateID,
			Role: referral.RoleAdvocate, Rule: RuleContest, Kind: z.Kind, Description: z.Description, Charity: z.Charity,
			Status: referral.InitialStatus(p, false), CreatedAt: now, AvailableAt: now.AddDate(0, 0, p.HoldDays)}
		if r.Description == "" {
			r.Description = fmt.Sprintf("rank %d in the %s contest", z.Rank, period)
		}
		if z.Amount > 0 {
			r.Value = &referral.Money{Amount: z.Amount, Currency: p.Currency}
		}
		if p.RewardExpiresInDays > 0 {
			t := now.AddDate(0, 0, p.RewardExpiresInDays)
			r.ExpiresAt = &t
		}
		r = r.Deliver(p, z.DeliveryOf(), now)
		awards = append(awards, store.ContestAward{Rank: z.Rank, CustomerID: e.AdvocateID, Conversions: e.Conversions, RewardID: r.RewardID})
		rewards = append(rewards, r)
	}
	return awards, rewards
}
