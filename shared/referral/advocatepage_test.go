package referral

import (
	"errors"
	"fmt"
	"testing"
)

func TestWhyUnpaidSaysWhyAConversionPaidTheAdvocateNothing(t *testing.T) {
	fixed := func(m string, amount, min int64) Rule {
		return Rule{Milestone: m, Type: RuleFixed, Amount: amount, MinAmount: min, Kind: "store_credit"}
	}
	cases := []struct {
		name      string
		rules     []Rule
		limits    Limits
		before    AdvocateState
		milestone string
		amount    *Money
		already   bool
		want      string
		n         int64
		unpaid    bool
	}{
		{"paid", []Rule{fixed("purchase", 1000, 0)}, Limits{}, AdvocateState{}, "purchase", usd(5000), false, "", 0, false},
		{"below the minimum", []Rule{fixed("purchase", 1000, 2000)}, Limits{}, AdvocateState{}, "purchase", usd(1500), false, WhyBelowMinimum, 2000, true},
		{"no amount for a minimum", []Rule{fixed("purchase", 1000, 2000)}, Limits{}, AdvocateState{}, "purchase", nil, false, WhyNoAmount, 0, true},
		{"percent without an amount", []Rule{{Milestone: "purchase", Type: RulePercent, Percent: 10, Kind: "cash"}}, Limits{}, AdvocateState{}, "purchase", nil, false, WhyNoAmount, 0, true},
		{"tiers ended", []Rule{{Milestone: "purchase", Type: RuleTiered, Kind: "cash", Tiers: []Tier{{UpTo: 2, Amount: 500}}}}, Limits{},
			AdvocateState{Counts: map[string]int{"purchase": 2}}, "purchase", usd(1), false, WhyNoTier, 2, true},
		{"bonus later", []Rule{{Milestone: "purchase", Type: RuleThreshold, AtCount: 5, Kind: "free_product"}}, Limits{}, AdvocateState{}, "purchase", nil, false, WhyNotYet, 5, true},
		{"bonus paid", []Rule{{Milestone: "purchase", Type: RuleThreshold, AtCount: 1, Kind: "cash", Amount: 100}}, Limits{},
			AdvocateState{Thresholds: []string{"purchase@1"}}, "purchase", nil, false, WhyBonusPaid, 1, true},
		{"reward limit", []Rule{fixed("purchase", 1000, 0)}, Limits{MaxRewardsPerAdvocate: 3}, AdvocateState{RewardCount: 3}, "purchase", nil, false, WhyLimitRewards, 3, true},
		{"amount limit", []Rule{fixed("purchase", 1000, 0)}, Limits{MaxAmountPerAdvocate: 5000}, AdvocateState{RewardAmount: 5000}, "purchase", nil, false, WhyLimitAmount, 5000, true},
		{"a later bonus explains less than a minimum", []Rule{{Milestone: "purchase", Type: RuleThreshold, AtCount: 5, Kind: "free_product"}, fixed("purchase", 1000, 2000)},
			Limits{}, AdvocateState{}, "purchase", usd(10), false, WhyBelowMinimum, 2000, true},
		{"no advocate rule for the milestone", []Rule{fixed("purchase", 1000, 0)}, Limits{}, AdvocateState{}, "signup", nil, false, "", 0, false},
		{"milestone reached before", []Rule{fixed("purchase", 1000, 0)}, Limits{}, AdvocateState{}, "purchase", nil, true, "", 0, false},
	}
	for _, c := range cases {
		p := testProgram(c.rules, nil)
		p.Limits = c.limits
		in := Evaluation{Program: p, AdvocateID: "ana", RefereeID: "bo", Milestone: c.milestone, Amount: c.amount,
			OccurredAt: testNow, Now: testNow, AlreadyReached: c.already, Advocate: c.before}
		w, ok := WhyUnpaid(in, Evaluate(in), "ev1")
		if ok != c.unpaid || w.Code != c.want || w.N != c.n {
			t.Errorf("%s: WhyUnpaid = %+v, %v; want code %q n %d, %v", c.name, w, ok, c.want, c.n, c.unpaid)
			continue
		}
		if ok && (w.EventID != "ev1" || w.Milestone != c.milestone || !w.At.Equal(testNow)) {
			t.Errorf("%s: record %+v", c.name, w)
		}
	}
}

func TestWhyRefusedNamesTheWindowAndTheEnd(t *testing.T) {
	p := testProgram(nil, nil)
	p.AttributionWindowDays = 60
	created := testNow.AddDate(0, 0, -90)
	exp := created.AddDate(0, 0, 30)
	ref := Referral{CreatedAt: created, AttributionExpiresAt: &exp}
	cases := []struct {
		name   string
		p      *Program
		err    error
		code   string
		n      int64
		refuse bool
	}{
		{"window of the program", p, ErrAttributionExpired.With("late", nil), WhyWindowClosed, 60, true},
		{"window of the referral", testProgram(nil, nil), fmt.Errorf("wrapped: %w", ErrAttributionExpired), WhyWindowClosed, 30, true},
		{"program ended", p, ErrProgramInactive, WhyProgramEnded, 0, true},
		{"another error", p, ErrNotReferred, "", 0, false},
		{"not a domain error", p, errors.New("boom"), "", 0, false},
	}
	for _, c := range cases {
		w, ok := WhyRefused(c.err, c.p, ref, "ev1", "purchase", testNow)
		if ok != c.refuse || (ok && (w.Code != c.code || w.N != c.n || w.EventID != "ev1")) {
			t.Errorf("%s: WhyRefused = %+v, %v", c.name, w, ok)
		}
	}
}

func TestAddWhyKeepsTheLastFiveOncePerEvent(t *testing.T) {
	var whys []Why
	for i := range 7 {
		whys = AddWhy(whys, Why{EventID: fmt.Sprint("e", i), Code: WhyNoAmount})
	}
	whys = AddWhy(whys, Why{EventID: "e6", Code: WhyBelowMinimum})
	if len(whys) != MaxWhysPerFriend || whys[0].EventID != "e2" || whys[4].EventID != "e6" || whys[4].Code != WhyBelowMinimum {
		t.Errorf("AddWhy kept %+v", whys)
	}
}

func TestNextStepIsTheNearestTierOrBonus(t *testing.T) {
	tiered := Rule{Milestone: "purchase", Type: RuleTiered, Kind: "cash", Tiers: []Tier{{UpTo: 5, Amount: 1000}, {UpTo: 10, Amount: 1000}, {Amount: 2500}}}
	bonus := func(at int) Rule {
		return Rule{Milestone: "purchase", Type: RuleThreshold, AtCount: at, Kind: "free_product", Description: "a hoodie"}
	}
	cases := []struct {
		name   string
		rules  []Rule
		st     AdvocateState
		more   int
		amount int64
		per    bool
		ok     bool
	}{
		{"tier ahead", []Rule{tiered}, AdvocateState{Counts: map[string]int{"purchase": 3}}, 7, 2500, true, true},
		{"next friend is in the better tier", []Rule{tiered}, AdvocateState{Counts: map[string]int{"purchase": 10}}, 0, 0, false, false},
		{"bonus nearer than the tier", []Rule{tiered, bonus(5)}, AdvocateState{Counts: map[string]int{"purchase": 3}}, 2, 0, false, true},
		{"bonus paid", []Rule{bonus(5)}, AdvocateState{Counts: map[string]int{"purchase": 3}, Thresholds: []string{"purchase@5"}}, 0, 0, false, false},
		{"bonus passed", []Rule{bonus(2)}, AdvocateState{Counts: map[string]int{"purchase": 3}}, 0, 0, false, false},
		{"fixed only", []Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 100, Kind: "cash"}}, AdvocateState{}, 0, 0, false, false},
		{"new advocate", []Rule{bonus(5)}, AdvocateState{}, 5, 0, false, true},
		{"tiers that pay less later", []Rule{{Milestone: "purchase", Type: RuleTiered, Kind: "cash", Tiers: []Tier{{UpTo: 2, Amount: 900}, {Amount: 500}}}},
			AdvocateState{}, 0, 0, false, false},
	}
	for _, c := range cases {
		got, ok := NextStep(testProgram(c.rules, nil), c.st)
		if ok != c.ok || got.More != c.more || got.Amount != c.amount || got.PerFriend != c.per {
			t.Errorf("%s: NextStep = %+v, %v; want %d more, amount %d, per friend %v, %v", c.name, got, ok, c.more, c.amount, c.per, c.ok)
		}
	}
	if _, ok := NextStep(nil, AdvocateState{}); ok {
		t.Error("a nil program has a next step")
	}
}
