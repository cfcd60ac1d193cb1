package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/shared/referral"
)

var nov = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func newTestStore(t *testing.T) *Store {
	t.Helper()
	db := dynamotest.Start(t)
	return New(db.Client, db.Table, func() time.Time { return nov })
}

// conversion is the fact of a conversion recorded in program p1.
func conversion(event string, at time.Time) Fact {
	return programConversion("p1", event, at)
}

func programConversion(programID, event string, at time.Time) Fact {
	return Fact{ID: "event#" + event, ProgramID: programID, Month: "2026-11", At: at, Add: map[string]int64{"conv#purchase": 1}}
}

// seqs numbers stream records: increasing, as within a shard.
var seqs atomic.Int64

// records makes each fact a record of its own, in order, with the next sequence numbers.
func records(facts ...Fact) []RecordFacts {
	out := make([]RecordFacts, len(facts))
	for i, f := range facts {
		out[i] = RecordFacts{Seq: fmt.Sprintf("4421584500000%013d", seqs.Add(1)), Facts: []Fact{f}}
	}
	return out
}

func counters(t *testing.T, s *Store, month string) map[string]int64 {
	t.Helper()
	months, _, err := s.ProgramStats(context.Background(), "p1", month, month)
	if err != nil {
		t.Fatal(err)
	}
	if len(months) == 0 {
		return map[string]int64{}
	}
	return months[0].Counters
}

// A shard's records apply once whatever Lambda delivers again: the whole batch (a timeout
// after the transaction), its bisected halves, a retry from a record in the middle with new
// records after it; a record without facts in between changes nothing.
func TestRecordsApplyOnceWhateverTheRetries(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	batch := records(
		conversion("o1", nov),
		Fact{ID: "referral#r1", ProgramID: "p1", Month: "2026-11", At: nov, Add: map[string]int64{"referrals": 1}},
		Fact{ID: "referral#r0", ProgramID: "p1", Month: "2026-10", At: nov, Add: map[string]int64{"referrals": 1}},
		Fact{ID: "customer#bo#1", At: nov, Add: map[string]int64{"customers": 1}},
	)
	batch = append(batch[:2], append([]RecordFacts{{Seq: batch[1].Seq + "0"}}, batch[2:]...)...) // a record without facts
	for _, delivery := range [][]RecordFacts{batch, batch, batch[:2], batch[2:], batch[1:]} {
		if done, err := s.ApplyShard(ctx, "shardId-1", delivery); err != nil || done != len(delivery) {
			t.Fatalf("apply: %d %v", done, err)
		}
	}
	if done, err := s.ApplyShard(ctx, "shardId-1", append(batch[2:], records(conversion("o2", nov.Add(time.Minute)))...)); err != nil || done != 4 {
		t.Fatalf("apply: %d %v", done, err)
	}
	if c := counters(t, s, "2026-11"); c["conv#purchase"] != 2 || c["referrals"] != 1 {
		t.Errorf("November = %v, want 2 conversions and 1 referral", c)
	}
	if c := counters(t, s, "2026-10"); c["referrals"] != 1 {
		t.Errorf("October = %v", c)
	}
	_, total, err := s.ProgramStats(ctx, "p1", "", "")
	if err != nil || total.Counters["customers"] != 1 {
		t.Errorf("business total = %v %v", total, err)
	}
}

func TestBatchesLargerThanOneTransactionAreSplit(t *testing.T) {
	s := newTestStore(t)
	var facts []Fact
	for i := range 250 {
		facts = append(facts, programConversion(fmt.Sprintf("p%03d", i%120), fmt.Sprintf("o%03d", i), nov.Add(time.Duration(i)*time.Second)))
	}
	recs := records(facts...)
	// 120 programs, one after the other: 99 months' stats items and the checkpoint make the 100
	// items of a transaction, so records go 99, 99 and 52 to one.
	for i, want := range []int{99, 99, 52} {
		if n := chunkRecords(recs[99*i:]); n != want {
			t.Errorf("chunk %d: %d records, want %d", i, n, want)
		}
	}
	done, err := s.ApplyShard(context.Background(), "shardId-1", recs)
	if err != nil || done != len(recs) {
		t.Fatalf("apply: %d %v", done, err)
	}
	if done, err := s.ApplyShard(context.Background(), "shardId-1", recs[50:]); err != nil || done != 200 {
		t.Fatalf("apply again: %d %v", done, err)
	}
	for pid, want := range map[string]int64{"p000": 3, "p009": 3, "p010": 2, "p119": 2} {
		months, _, err := s.ProgramStats(context.Background(), pid, "2026-11", "2026-11")
		if err != nil || len(months) != 1 || months[0].Counters["conv#purchase"] != want {
			t.Errorf("%s: %+v %v, want %d conversions", pid, months, err, want)
		}
	}
}

func TestConcurrentShardsOnTheSameAggregatesLoseNothing(t *testing.T) {
	s := newTestStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for shard := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var facts []Fact
			for i := range 30 {
				facts = append(facts, conversion(fmt.Sprintf("s%d-o%d", shard, i), nov))
			}
			recs := records(facts...) // sequence numbers interleave across shards, as they may
			for len(recs) > 0 {       // batches of 10, each delivered twice
				n := min(10, len(recs))
				for range 2 {
					if _, err := s.ApplyShard(context.Background(), fmt.Sprintf("shardId-%d", shard), recs[:n]); err != nil {
						errs <- err
						return
					}
				}
				recs = recs[n:]
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if c := counters(t, s, "2026-11"); c["conv#purchase"] != 120 {
		t.Errorf("conversions = %d, want 120", c["conv#purchase"])
	}
}

func TestLeaderboardKeysSortAsRanked(t *testing.T) {
	a := leaderboardSK(10, nov, "zed")
	b := leaderboardSK(9, nov.Add(-time.Hour), "amy")
	c := leaderboardSK(9, nov, "amy")
	d := leaderboardSK(9, nov, "bob")
	if !(a < b && b < c && c < d) {
		t.Errorf("keys out of order: %s %s %s %s", a, b, c, d)
	}
	n, at, adv, err := parseLeaderboardSK(c)
	if err != nil || n != 9 || !at.Equal(nov) || adv != "amy" {
		t.Errorf("parse %s = %d %v %s %v", c, n, at, adv, err)
	}
}

func TestAContestClosesOnce(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	reward := func(id, customer string) referral.Reward {
		return referral.Reward{RewardID: id, ProgramID: "p1", CustomerID: customer, Role: "advocate", Rule: "contest", Kind: "gift_card",
			Value: &referral.Money{Amount: 10000, Currency: "USD"}, Status: "pending", CreatedAt: nov, AvailableAt: nov}
	}
	first := Contest{ProgramID: "p1", Period: "2026-10", ClosedAt: nov,
		Awards: []ContestAward{{Rank: 1, CustomerID: "ana", Conversions: 3, RewardID: "R1"}}, Rewards: []referral.Reward{reward("R1", "ana")}}
	second := Contest{ProgramID: "p1", Period: "2026-10", ClosedAt: nov.Add(time.Hour),
		Awards: []ContestAward{{Rank: 1, CustomerID: "bo", Conversions: 4, RewardID: "R2"}}, Rewards: []referral.Reward{reward("R2", "bo")}}
	got, closed, err := s.SaveContest(ctx, first)
	if err != nil || !closed || got.Awards[0].CustomerID != "ana" {
		t.Fatalf("first close: %+v %v %v", got, closed, err)
	}
	got, closed, err = s.SaveContest(ctx, second)
	if err != nil || closed || got.Awards[0].CustomerID != "ana" || !got.ClosedAt.Equal(nov) {
		t.Fatalf("second close: %+v %v %v, want the first result", got, closed, err)
	}
	if _, err := s.GetReward(ctx, "R2"); err == nil {
		t.Error("the second close created a reward")
	}
	if r, err := s.GetReward(ctx, "R1"); err != nil || r.Rule != "contest" {
		t.Errorf("prize reward = %+v %v", r, err)
	}
	empty, closed, err := s.SaveContest(ctx, Contest{ProgramID: "p1", Period: "2026-09", ClosedAt: nov, Awards: []ContestAward{}, Rewards: []referral.Reward{}})
	if err != nil || !closed || empty.Awards == nil || empty.Rewards == nil {
		t.Errorf("a contest nobody won: %+v %v %v", empty, closed, err)
	}
	if c, found, err := s.GetContest(ctx, "p1", "2026-09"); err != nil || !found || len(c.Awards) != 0 || c.Awards == nil {
		t.Errorf("read back: %+v %v %v", c, found, err)
	}
}

func TestAContestWithMoreThan99WinnersAwardsEveryPrizeOnce(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	c := Contest{ProgramID: "p1", Period: "2026-10", ClosedAt: nov}
	for i := range 100 {
		id := fmt.Sprintf("R%03d", i)
		c.Awards = append(c.Awards, ContestAward{Rank: i + 1, CustomerID: fmt.Sprintf("c%03d", i), RewardID: id})
		c.Rewards = append(c.Rewards, referral.Reward{RewardID: id, ProgramID: "p1", CustomerID: fmt.Sprintf("c%03d", i),
			Role: "advocate", Rule: "contest", Kind: "points", Status: "pending", CreatedAt: nov, AvailableAt: nov})
	}
	if _, closed, err := s.SaveContest(ctx, c); err != nil || !closed {
		t.Fatalf("close: %v %v", closed, err)
	}
	for _, id := range []string{"R000", "R098", "R099"} {
		if _, err := s.GetReward(ctx, id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	if _, closed, err := s.SaveContest(ctx, c); err != nil || closed {
		t.Errorf("close again: %v %v", closed, err)
	}
}
