package referral

import (
	"testing"
	"time"
)

// BenchmarkEvaluate is the reward engine's cost per conversion priced, for the programs a
// merchant typically runs (docs/PERFORMANCE.md reports ns/op and allocs/op). The advocate's
// state is the one the store would pass in: a dozen referrals already counted.
func BenchmarkEvaluate(b *testing.B) {
	friday := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	full := testProgram(
		[]Rule{
			{Milestone: "purchase", Type: RuleTiered, Kind: "gift_card", Tiers: []Tier{{UpTo: 5, Amount: 1000}, {Amount: 2500}}},
			{Milestone: "purchase", Type: RuleThreshold, AtCount: 20, Kind: "free_product", Description: "a free tote bag"},
			{Milestone: "signup", Type: RuleFixed, Amount: 200, Kind: "points"},
		},
		[]Rule{{Milestone: "purchase", Type: RulePercent, Percent: 10, MaxAmount: 5000, Kind: "discount"}},
	)
	full.Multipliers = []Multiplier{{Name: "Black Friday", From: friday, To: friday.AddDate(0, 0, 4), Factor: 2}}
	full.Limits = Limits{MaxRewardsPerAdvocate: 100, MaxAmountPerAdvocate: 1_000_000, MaxConversionsPerAdvocatePerDay: 50}

	cases := []struct {
		name    string
		program *Program
		already bool
	}{
		{"fixed", testProgram([]Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "cash"}}, nil), false},
		{"tiered", testProgram([]Rule{{Milestone: "purchase", Type: RuleTiered, Kind: "gift_card",
			Tiers: []Tier{{UpTo: 5, Amount: 1000}, {Amount: 2500}}}}, nil), false},
		{"full-program", full, false},
		{"already-reached", full, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			in := Evaluation{Program: c.program, AdvocateID: "ana", RefereeID: "bo", Milestone: "purchase",
				Amount: usd(12000), OccurredAt: friday.Add(time.Hour), Now: friday.Add(time.Hour), AlreadyReached: c.already,
				Advocate: AdvocateState{Counts: map[string]int{"signup": 14, "purchase": 12}, RewardCount: 12,
					RewardAmount: 5*1000 + 7*2500, Day: "2026-11-27", ConversionsOnDay: 3}}
			b.ReportAllocs()
			for b.Loop() {
				out := Evaluate(in)
				if len(out.Decisions) == 0 {
					b.Fatal("no decisions")
				}
			}
		})
	}
}
