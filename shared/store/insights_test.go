package store

import (
	"context"
	"fmt"
	"slices"
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

func conversion(adv, event string, at time.Time) Fact {
	return Fact{ID: "event#" + event, ProgramID: "p1", Month: "2026-11", At: at, Add: map[string]int64{"conv#purchase": 1},
		Leader: &LeaderMove{ProgramID: "p1", Period: "2026-11", AdvocateID: adv, EventID: event, At: at}}
}

func reversal(adv, event string, at time.Time) Fact {
	f := conversion(adv, event, at)
	f.ID += "#reversed"
	f.Add = map[string]int64{"conv#purchase": -1}
	f.Leader.Remove = true
	return f
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

// apply applies facts as new records of one shard.
func apply(t *testing.T, s *Store, facts ...Fact) {
	t.Helper()
	if done, err := s.ApplyShard(context.Background(), "shardId-test-1", records(facts...)); err != nil || done != len(facts) {
		t.Fatalf("apply %d facts: %d done, %v", len(facts), done, err)
	}
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
		conversion("ana", "o1", nov),
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
	if done, err := s.ApplyShard(ctx, "shardId-1", append(batch[2:], records(conversion("ana", "o2", nov.Add(time.Minute)))...)); err != nil || done != 4 {
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
	lb, err := s.Leaderboard(ctx, "p1", "2026-11", 10)
	if err != nil || len(lb) != 1 || lb[0].Conversions != 2 || !lb[0].ReachedAt.Equal(nov.Add(time.Minute)) {
		t.Errorf("leaderboard = %+v %v", lb, err)
	}
}

func TestBatchesLargerThanOneTransactionAreSplit(t *testing.T) {
	s := newTestStore(t)
	var facts []Fact
	for i := range 250 {
		facts = append(facts, conversion(fmt.Sprintf("adv%03d", i%120), fmt.Sprintf("o%03d", i), nov.Add(time.Duration(i)*time.Second)))
	}
	recs := records(facts...)
	// 120 advocates, one after the other: the month's stats item, 98 leaderboard entries and
	// the checkpoint make the 100 items of a transaction, so records go 98, 98 and 54 to one.
	for i, want := range []int{98, 98, 54} {
		if n := chunkRecords(recs[98*i:]); n != want {
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
	if c := counters(t, s, "2026-11"); c["conv#purchase"] != 250 {
		t.Errorf("conversions = %d, want 250", c["conv#purchase"])
	}
	lb, err := s.Leaderboard(context.Background(), "p1", "2026-11", 200)
	if err != nil || len(lb) != 120 {
		t.Fatalf("leaderboard: %d entries, %v", len(lb), err)
	}
	sum := 0
	for _, e := range lb {
		sum += e.Conversions
	}
	if sum != 250 || lb[0].Conversions != 3 || lb[119].Conversions != 2 {
		t.Errorf("leaderboard sums to %d (want 250), first %+v, last %+v", sum, lb[0], lb[119])
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
				facts = append(facts, conversion(fmt.Sprintf("adv%d", i%3), fmt.Sprintf("s%d-o%d", shard, i), nov))
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
	lb, _ := s.Leaderboard(context.Background(), "p1", "2026-11", 10)
	if len(lb) != 3 || lb[0].Conversions != 40 || lb[1].Conversions != 40 || lb[2].Conversions != 40 {
		t.Errorf("leaderboard = %+v, want 3 × 40", lb)
	}
}

func TestLeaderboardRanksByCountThenWhoGotThereFirst(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	at := func(m int) time.Time { return nov.Add(time.Duration(m) * time.Minute) }
	apply := func(fs ...Fact) {
		t.Helper()
		apply(t, s, fs...)
	}
	// Stream order is not time order: cy's conversions arrive last but happened first.
	apply(conversion("ana", "a1", at(1)), conversion("ana", "a2", at(10)),
		conversion("bo", "b1", at(2)), conversion("bo", "b2", at(5)),
		conversion("dee", "d1", at(3)))
	apply(conversion("cy", "c2", at(4)), conversion("cy", "c1", at(0)))
	ranking := func(limit int) []string {
		t.Helper()
		lb, err := s.Leaderboard(ctx, "p1", "2026-11", limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i, e := range lb {
			if e.Rank != i+1 {
				t.Errorf("entry %d has rank %d", i, e.Rank)
			}
			out = append(out, fmt.Sprintf("%s:%d", e.AdvocateID, e.Conversions))
		}
		return out
	}
	if got, want := ranking(10), []string{"cy:2", "bo:2", "ana:2", "dee:1"}; !slices.Equal(got, want) {
		t.Errorf("ranking = %v, want %v (2 each: cy reached 2 at 0:04, bo at 0:05, ana at 0:10)", got, want)
	}
	if got := ranking(2); !slices.Equal(got, []string{"cy:2", "bo:2"}) {
		t.Errorf("top 2 = %v", got)
	}
	// A refund takes cy's later conversion back: cy now reached 1 at 0:00, before dee (0:03).
	apply(reversal("cy", "c2", at(4)))
	if got, want := ranking(10), []string{"bo:2", "ana:2", "cy:1", "dee:1"}; !slices.Equal(got, want) {
		t.Errorf("after a reversal: %v, want %v", got, want)
	}
	// Taking back every conversion removes the entry; a reversal of one never counted is harmless.
	apply(reversal("dee", "d1", at(3)), reversal("eve", "e1", at(3)))
	if got, want := ranking(10), []string{"bo:2", "ana:2", "cy:1"}; !slices.Equal(got, want) {
		t.Errorf("after dee's refund: %v, want %v", got, want)
	}
	if other, _ := s.Leaderboard(ctx, "p1", "2026-12", 10); len(other) != 0 {
		t.Errorf("December = %v, want empty", other)
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

func TestALeaderboardEntryStaysSmallAndRefundsMoveItsTimeBack(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	at := func(m int) time.Time { return nov.Add(time.Duration(m) * time.Minute) }
	var facts []Fact
	for i := range 30 {
		facts = append(facts, conversion("ana", fmt.Sprintf("a%02d", i), at(i)))
	}
	facts = append(facts, conversion("bo", "b1", at(28)))
	apply(t, s, facts...)
	entry := func() leaderItem {
		t.Helper()
		var it leaderItem
		if _, err := s.getItem(ctx, customerPK("ana"), leaderSK("p1", "2026-11"), &it); err != nil {
			t.Fatal(err)
		}
		return it
	}
	if it := entry(); it.Conversions != 30 || len(it.Recent) != maxRecent || !it.ReachedAt.Equal(at(29)) {
		t.Errorf("entry: %d conversions, %d remembered, reached at %v", it.Conversions, len(it.Recent), it.ReachedAt)
	}
	// Refunding an old conversion keeps the time; refunding the latest moves it to the one before.
	apply(t, s, reversal("ana", "a03", at(3)), reversal("ana", "a29", at(29)))
	if it := entry(); it.Conversions != 28 || !it.ReachedAt.Equal(at(28)) {
		t.Errorf("after refunds: %d conversions reached at %v, want 28 at %v", it.Conversions, it.ReachedAt, at(28))
	}
}
