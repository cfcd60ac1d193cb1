package referral

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// testProgram is a USD program with the four usual milestones and the given rules.
func testProgram(advocate, referee []Rule) *Program {
	return &Program{
		ProgramID:       "p1",
		Name:            "Give $10, get $10",
		Status:          ProgramActive,
		Currency:        "USD",
		LandingURL:      "https://shop.example.com/invite",
		Milestones:      []string{"signup", "demo", "training", "purchase"},
		AdvocateRewards: advocate,
		RefereeRewards:  referee,
	}
}

func usd(n int64) *Money { return &Money{Amount: n, Currency: "USD"} }

// conv is one conversion of a sequence: a referee reaching a milestone.
type conv struct {
	referee   string
	milestone string
	amount    *Money
	at        time.Time // occurredAt and now; zero = testNow
}

// runSequence feeds the conversions through Evaluate one after the other, as the store does:
// each outcome's advocate state is the next evaluation's input, and a referee that already
// reached a milestone is flagged.
func runSequence(p *Program, convs []conv) []Outcome {
	var st AdvocateState
	reached := map[string]bool{}
	var outs []Outcome
	for _, c := range convs {
		at := c.at
		if at.IsZero() {
			at = testNow
		}
		key := c.referee + "/" + c.milestone
		out := Evaluate(Evaluation{
			Program: p, AdvocateID: "ana", RefereeID: c.referee, Milestone: c.milestone,
			Amount: c.amount, OccurredAt: at, Now: at, AlreadyReached: reached[key], Advocate: st,
		})
		if out.Counted {
			reached[key] = true
		}
		st = out.Advocate
		outs = append(outs, out)
	}
	return outs
}

// purchases is n purchases by n different referees.
func purchases(n int) []conv {
	cs := make([]conv, n)
	for i := range cs {
		cs[i] = conv{referee: fmt.Sprintf("friend-%d", i+1), milestone: "purchase", amount: usd(5000)}
	}
	return cs
}

// amounts lists the monetary amount of each reward (0 for non-monetary).
func amounts(rs []Reward) []int64 {
	out := []int64{}
	for _, r := range rs {
		if r.Value == nil {
			out = append(out, 0)
			continue
		}
		out = append(out, r.Value.Amount)
	}
	return out
}

func TestTieredRewardsSwitchAfterFifthReferral(t *testing.T) {
	p := testProgram([]Rule{{Milestone: "purchase", Type: RuleTiered, Kind: "gift_card",
		Tiers: []Tier{{UpTo: 5, Amount: 1000}, {Amount: 2500}}}}, nil)

	outs := runSequence(p, purchases(30))

	var total int64
	for i, out := range outs {
		n := i + 1
		want, tier := int64(2500), 2
		if n <= 5 {
			want, tier = 1000, 1
		}
		if got := amounts(out.Rewards); !reflect.DeepEqual(got, []int64{want}) {
			t.Fatalf("referral %d: rewards %v, want [%d]", n, got, want)
		}
		total += want
		d := out.Decisions[0]
		wantReason := fmt.Sprintf("tier %d of 2 (referral %d)", tier, n)
		if d.Outcome != OutcomeRewarded || d.Reason != wantReason || d.Side != RoleAdvocate || d.Type != RuleTiered {
			t.Errorf("referral %d: decision %+v, want rewarded %q", n, d, wantReason)
		}
		r := out.Rewards[0]
		if r.CustomerID != "ana" || r.Role != RoleAdvocate || r.RefereeID != fmt.Sprintf("friend-%d", n) ||
			r.Rule != RuleTiered || r.Kind != "gift_card" || r.Value.Currency != "USD" || r.Status != RewardApproved {
			t.Errorf("referral %d: reward %+v", n, r)
		}
	}
	st := outs[29].Advocate
	if st.Counts["purchase"] != 30 || st.RewardCount != 30 || st.RewardAmount != 5*1000+25*2500 || total != st.RewardAmount {
		t.Errorf("final state %+v, want 30 purchases, 30 rewards, %d", st, 5*1000+25*2500)
	}
}

func TestMultiStepProgramRewardsEachMilestone(t *testing.T) {
	p := testProgram([]Rule{
		{Milestone: "demo", Type: RuleFixed, Amount: 1000, Kind: "cash"},
		{Milestone: "training", Type: RuleFixed, Amount: 1000, Kind: "cash"},
		{Milestone: "purchase", Type: RuleFixed, Amount: 2500, Kind: "cash"},
	}, nil)

	outs := runSequence(p, []conv{
		{referee: "bo", milestone: "signup"},
		{referee: "bo", milestone: "demo"},
		{referee: "bo", milestone: "training"},
		{referee: "bo", milestone: "purchase", amount: usd(90000)},
	})

	want := [][]int64{{}, {1000}, {1000}, {2500}}
	for i, out := range outs {
		if got := amounts(out.Rewards); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("conversion %d: rewards %v, want %v", i, got, want[i])
		}
		if len(out.Decisions) != 3 {
			t.Fatalf("conversion %d: %d decisions, want 3", i, len(out.Decisions))
		}
	}
	if d := outs[1].Decisions[2]; d.Outcome != OutcomeSkipped || d.Reason != `rule is for milestone "purchase"` {
		t.Errorf("demo conversion, purchase rule: %+v", d)
	}
	if got := outs[3].Advocate.RewardAmount; got != 4500 {
		t.Errorf("advocate earned %d, want 4500", got)
	}
}

func TestSidesOfAProgramRewardTheRightPeople(t *testing.T) {
	tenForAdvocate := []Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "store_credit"}}
	fifteenForFriend := []Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 1500, Kind: "discount"}}
	tests := []struct {
		name               string
		advocate, referee  []Rule
		wantRoles          []string
		wantCustomers      []string
		wantAmounts        []int64
		wantAdvocateAmount int64
	}{
		{"one-sided for the advocate", tenForAdvocate, nil, []string{RoleAdvocate}, []string{"ana"}, []int64{1000}, 1000},
		{"one-sided for the friend", nil, fifteenForFriend, []string{RoleReferee}, []string{"bo"}, []int64{1500}, 0},
		{"two-sided with different amounts", tenForAdvocate, fifteenForFriend,
			[]string{RoleAdvocate, RoleReferee}, []string{"ana", "bo"}, []int64{1000, 1500}, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Evaluate(Evaluation{Program: testProgram(tt.advocate, tt.referee), AdvocateID: "ana", RefereeID: "bo",
				Milestone: "purchase", Amount: usd(5000), OccurredAt: testNow, Now: testNow})
			var roles, customers []string
			for _, r := range out.Rewards {
				roles = append(roles, r.Role)
				customers = append(customers, r.CustomerID)
				if r.RefereeID != "bo" {
					t.Errorf("reward refereeId %q, want bo", r.RefereeID)
				}
			}
			if !reflect.DeepEqual(roles, tt.wantRoles) || !reflect.DeepEqual(customers, tt.wantCustomers) ||
				!reflect.DeepEqual(amounts(out.Rewards), tt.wantAmounts) {
				t.Errorf("rewards roles %v customers %v amounts %v, want %v %v %v",
					roles, customers, amounts(out.Rewards), tt.wantRoles, tt.wantCustomers, tt.wantAmounts)
			}
			if out.Advocate.RewardAmount != tt.wantAdvocateAmount {
				t.Errorf("advocate reward amount %d, want %d (referee rewards do not count)", out.Advocate.RewardAmount, tt.wantAdvocateAmount)
			}
		})
	}
}

func TestThresholdRewardsAreGivenOnceAtTheirCount(t *testing.T) {
	p := testProgram([]Rule{
		{Milestone: "purchase", Type: RuleThreshold, AtCount: 5, Kind: "free_product", Description: "a free tote bag"},
		{Milestone: "purchase", Type: RuleThreshold, AtCount: 10, Kind: "upgrade", Description: "VIP for a year"},
		{Milestone: "purchase", Type: RuleThreshold, AtCount: 3, Amount: 5000, Kind: "cash"},
	}, nil)

	outs := runSequence(p, purchases(12))

	for i, out := range outs {
		n := i + 1
		var want []string
		switch n {
		case 3:
			want = []string{"cash"}
		case 5:
			want = []string{"free_product"}
		case 10:
			want = []string{"upgrade"}
		}
		var got []string
		for _, r := range out.Rewards {
			got = append(got, r.Kind)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("referral %d: reward kinds %v, want %v", n, got, want)
		}
	}
	free := outs[4].Rewards[0]
	if free.Value != nil || free.Description != "a free tote bag" || free.Rule != RuleThreshold {
		t.Errorf("free product reward %+v, want no value and the description", free)
	}
	if d := outs[4].Decisions[0]; d.Outcome != OutcomeRewarded || d.Reason != "reached 5 referrals" {
		t.Errorf("decision at 5: %+v", d)
	}
	if d := outs[6].Decisions[1]; d.Outcome != OutcomeSkipped || d.Reason != "threshold at 10, count is 7" {
		t.Errorf("decision at 7: %+v", d)
	}
	if got := outs[2].Rewards[0].Value; got == nil || got.Amount != 5000 {
		t.Errorf("monetary threshold value %v, want 5000", got)
	}
	if st := outs[11].Advocate; st.RewardCount != 3 || st.RewardAmount != 5000 {
		t.Errorf("state %+v, want 3 rewards worth 5000", st)
	}
}

func TestMultipliersApplyInsideTheirWindow(t *testing.T) {
	from := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		occurredAt  time.Time
		multipliers []Multiplier
		want        int64
		wantReason  string
	}{
		{"inside the window", from.Add(36 * time.Hour), nil, 2000, "fixed 1000 USD; ×2 Black Friday"},
		{"at the start (inclusive)", from, nil, 2000, "fixed 1000 USD; ×2 Black Friday"},
		{"before the start", from.Add(-time.Nanosecond), nil, 1000, "fixed 1000 USD"},
		{"at the end (exclusive)", to, nil, 1000, "fixed 1000 USD"},
		{"overlapping windows multiply", from.Add(time.Hour), []Multiplier{{Name: "Cyber weekend", From: from, To: to, Factor: 3}},
			6000, "fixed 1000 USD; ×2 Black Friday; ×3 Cyber weekend"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProgram([]Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "cash"}}, nil)
			p.Multipliers = append([]Multiplier{{Name: "Black Friday", From: from, To: to, Factor: 2}}, tt.multipliers...)
			out := Evaluate(Evaluation{Program: p, AdvocateID: "ana", RefereeID: "bo", Milestone: "purchase",
				OccurredAt: tt.occurredAt, Now: to.Add(48 * time.Hour)})
			if got := amounts(out.Rewards); !reflect.DeepEqual(got, []int64{tt.want}) {
				t.Errorf("rewards %v, want [%d]", got, tt.want)
			}
			if out.Decisions[0].Reason != tt.wantReason {
				t.Errorf("reason %q, want %q", out.Decisions[0].Reason, tt.wantReason)
			}
		})
	}
}

func TestPercentRewards(t *testing.T) {
	tests := []struct {
		name       string
		rule       Rule
		amount     *Money
		want       []int64
		wantReason string
	}{
		{"10% of $1000 capped at $50", Rule{Percent: 10, MaxAmount: 5000}, usd(100000), []int64{5000}, "10% of 100000 USD; capped at 5000"},
		{"10% of $200 under the cap", Rule{Percent: 10, MaxAmount: 5000}, usd(20000), []int64{2000}, "10% of 20000 USD"},
		{"rounds down to the cent", Rule{Percent: 10}, usd(1999), []int64{199}, "10% of 1999 USD"},
		{"no conversion amount", Rule{Percent: 10}, nil, []int64{}, "no conversion amount"},
		{"zero amount", Rule{Percent: 10}, usd(0), []int64{}, "10% of 0 USD; amount is zero"},
		{"another currency", Rule{Percent: 10}, &Money{Amount: 1000, Currency: "EUR"}, []int64{},
			"conversion currency EUR is not the program currency USD"},
		{"100% of the largest amount", Rule{Percent: 100}, usd(math.MaxInt64), []int64{math.MaxInt64}, "100% of 9223372036854775807 USD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.rule
			r.Milestone, r.Type, r.Kind = "purchase", RulePercent, "cash"
			out := Evaluate(Evaluation{Program: testProgram([]Rule{r}, nil), AdvocateID: "ana", RefereeID: "bo",
				Milestone: "purchase", Amount: tt.amount, OccurredAt: testNow, Now: testNow})
			if got := amounts(out.Rewards); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rewards %v, want %v", got, tt.want)
			}
			if out.Decisions[0].Reason != tt.wantReason {
				t.Errorf("reason %q, want %q", out.Decisions[0].Reason, tt.wantReason)
			}
		})
	}
}

func TestMinAmountQualifiesConversions(t *testing.T) {
	tests := []struct {
		name       string
		amount     *Money
		rewarded   bool
		wantReason string
	}{
		{"below the minimum", usd(1500), false, "below minimum amount: 1500 < 2000 USD"},
		{"at the minimum", usd(2000), true, "fixed 1000 USD"},
		{"above the minimum", usd(2500), true, "fixed 1000 USD"},
		{"no amount", nil, false, "below minimum amount: no conversion amount, minimum 2000 USD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := Rule{Milestone: "purchase", Type: RuleFixed, Amount: 1000, MinAmount: 2000, Kind: "cash"}
			out := Evaluate(Evaluation{Program: testProgram(nil, []Rule{rule}), AdvocateID: "ana", RefereeID: "bo",
				Milestone: "purchase", Amount: tt.amount, OccurredAt: testNow, Now: testNow})
			if got := len(out.Rewards) == 1; got != tt.rewarded {
				t.Errorf("rewarded %v, want %v", got, tt.rewarded)
			}
			if d := out.Decisions[0]; d.Reason != tt.wantReason || d.Side != RoleReferee {
				t.Errorf("decision %+v, want reason %q", d, tt.wantReason)
			}
			if !out.Counted {
				t.Error("a conversion below the minimum still counts toward the advocate's referrals")
			}
		})
	}
}

func TestAdvocateLimitsCapRewards(t *testing.T) {
	fixed := func(n int64) Rule { return Rule{Milestone: "purchase", Type: RuleFixed, Amount: n, Kind: "cash"} }
	tests := []struct {
		name        string
		rules       []Rule
		limits      Limits
		conversions int
		want        [][]int64
		lastReason  string // reason of the last decision of the last conversion
	}{
		{"count limit", []Rule{fixed(1000)}, Limits{MaxRewardsPerAdvocate: 2}, 3,
			[][]int64{{1000}, {1000}, {}}, "fixed 1000 USD; limit reached: 2 rewards per advocate"},
		{"amount limit reduces the last reward to fit", []Rule{fixed(1000)}, Limits{MaxAmountPerAdvocate: 2500}, 4,
			[][]int64{{1000}, {1000}, {500}, {}}, "fixed 1000 USD; limit reached: 2500 USD per advocate"},
		{"two rules on one conversion share the count limit", []Rule{fixed(1000), fixed(300)}, Limits{MaxRewardsPerAdvocate: 3}, 2,
			[][]int64{{1000, 300}, {1000}}, "fixed 300 USD; limit reached: 3 rewards per advocate"},
		{"two rules on one conversion share the amount limit", []Rule{fixed(1000), fixed(1000)}, Limits{MaxAmountPerAdvocate: 1500}, 1,
			[][]int64{{1000, 500}}, "fixed 1000 USD; reduced to fit limit: 500 USD left of 1500 USD per advocate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProgram(tt.rules, []Rule{fixed(700)})
			p.Limits = tt.limits
			outs := runSequence(p, purchases(tt.conversions))
			for i, out := range outs {
				var adv []Reward
				for _, r := range out.Rewards {
					if r.Role == RoleAdvocate {
						adv = append(adv, r)
					}
				}
				if got := amounts(adv); !reflect.DeepEqual(got, tt.want[i]) {
					t.Errorf("conversion %d: advocate rewards %v, want %v", i+1, got, tt.want[i])
				}
				if got := out.Rewards[len(out.Rewards)-1]; got.Role != RoleReferee || got.Value.Amount != 700 {
					t.Errorf("conversion %d: the friend's reward %+v is not limited by advocate limits", i+1, got)
				}
			}
			last := outs[len(outs)-1].Decisions
			if got := last[len(last)-2].Reason; got != tt.lastReason { // the last advocate rule
				t.Errorf("last advocate decision reason %q, want %q", got, tt.lastReason)
			}
		})
	}
}

func TestVelocityHoldsRewardsForReview(t *testing.T) {
	p := testProgram(
		[]Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "cash"}},
		[]Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 500, Kind: "discount"}})
	p.Limits.MaxConversionsPerAdvocatePerDay = 2
	day1 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	day2 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	outs := runSequence(p, []conv{
		{referee: "f1", milestone: "purchase", at: day1},
		{referee: "f2", milestone: "purchase", at: day1.Add(time.Hour)},
		{referee: "f3", milestone: "purchase", at: day1.Add(15 * time.Hour)},
		{referee: "f3", milestone: "purchase", at: day1.Add(15 * time.Hour)}, // a replayed milestone does not count
		{referee: "f4", milestone: "purchase", at: day2},
	})
	want := []struct {
		status string
		day    string
		today  int
	}{
		{RewardApproved, "2026-11-22", 1},
		{RewardApproved, "2026-11-22", 2},
		{RewardReview, "2026-11-22", 3},
		{"", "2026-11-22", 3},
		{RewardApproved, "2026-11-23", 1},
	}
	for i, out := range outs {
		if st := out.Advocate; st.Day != want[i].day || st.ConversionsOnDay != want[i].today {
			t.Errorf("conversion %d: day %s count %d, want %s %d", i+1, st.Day, st.ConversionsOnDay, want[i].day, want[i].today)
		}
		for _, r := range out.Rewards {
			if r.Status != want[i].status {
				t.Errorf("conversion %d: %s reward status %q, want %q", i+1, r.Role, r.Status, want[i].status)
			}
		}
	}
	if len(outs[2].Rewards) != 2 {
		t.Fatalf("conversion 3: %d rewards, want both sides held, not dropped", len(outs[2].Rewards))
	}
	for _, d := range outs[2].Decisions {
		if !strings.HasSuffix(d.Reason, "; velocity: 3 conversions today > limit 2") {
			t.Errorf("decision %+v does not say why it is held", d)
		}
	}
}

func TestRewardHoldAndExpiryDates(t *testing.T) {
	local := time.FixedZone("UTC+8", 8*3600)
	recorded := time.Date(2026, 11, 22, 18, 30, 0, 0, local) // 10:30 UTC
	utc := recorded.UTC()
	tests := []struct {
		name            string
		holdDays        int
		expiresInDays   int
		wantAvailableAt time.Time
		wantExpiresAt   *time.Time
	}{
		{"no hold and no expiry", 0, 0, utc, nil},
		{"14-day hold, expires after a year", 14, 365, utc.AddDate(0, 0, 14), ptrTo(utc.AddDate(0, 0, 365))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProgram([]Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "cash"}}, nil)
			p.HoldDays, p.RewardExpiresInDays = tt.holdDays, tt.expiresInDays
			out := Evaluate(Evaluation{Program: p, AdvocateID: "ana", RefereeID: "bo", Milestone: "purchase",
				OccurredAt: recorded.Add(-time.Hour), Now: recorded})
			r := out.Rewards[0]
			if r.CreatedAt != utc || r.CreatedAt.Location() != time.UTC {
				t.Errorf("createdAt %v, want %v in UTC", r.CreatedAt, utc)
			}
			if r.AvailableAt != tt.wantAvailableAt {
				t.Errorf("availableAt %v, want %v", r.AvailableAt, tt.wantAvailableAt)
			}
			if !reflect.DeepEqual(r.ExpiresAt, tt.wantExpiresAt) {
				t.Errorf("expiresAt %v, want %v", r.ExpiresAt, tt.wantExpiresAt)
			}
			if got := r.EffectiveStatus(utc.AddDate(0, 0, tt.holdDays)); got != RewardApproved {
				t.Errorf("status when the hold ends: %s, want approved", got)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestDonationRewardNamesTheCharity(t *testing.T) {
	p := testProgram([]Rule{
		{Milestone: "purchase", Type: RuleFixed, Amount: 500, Kind: "donation", Charity: "Ocean Cleanup"},
		{Milestone: "purchase", Type: RuleFixed, Amount: 500, Kind: "donation", Charity: "Ocean Cleanup", Description: "We plant a tree for you"},
	}, nil)
	out := Evaluate(Evaluation{Program: p, AdvocateID: "ana", RefereeID: "bo", Milestone: "purchase", OccurredAt: testNow, Now: testNow})
	if len(out.Rewards) != 2 {
		t.Fatalf("%d rewards, want 2", len(out.Rewards))
	}
	for i, want := range []string{"donation to Ocean Cleanup", "We plant a tree for you"} {
		r := out.Rewards[i]
		if r.Kind != "donation" || r.Charity != "Ocean Cleanup" || r.Description != want || r.Value.Amount != 500 {
			t.Errorf("reward %d: %+v, want a 500 donation to Ocean Cleanup described %q", i, r, want)
		}
	}
}

func TestAlreadyReachedMilestoneCountsNothing(t *testing.T) {
	p := testProgram(
		[]Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "cash"}, {Milestone: "signup", Type: RuleFixed, Amount: 100, Kind: "points"}},
		[]Rule{{Milestone: "purchase", Type: RulePercent, Percent: 10, Kind: "discount"}})
	p.Limits.MaxConversionsPerAdvocatePerDay = 1
	before := AdvocateState{Counts: map[string]int{"purchase": 4}, RewardCount: 4, RewardAmount: 4000, Day: "2026-11-21", ConversionsOnDay: 1}

	out := Evaluate(Evaluation{Program: p, AdvocateID: "ana", RefereeID: "bo", Milestone: "purchase", Amount: usd(5000),
		OccurredAt: testNow, Now: testNow, AlreadyReached: true, Advocate: before})

	if out.Counted || len(out.Rewards) != 0 || !reflect.DeepEqual(out.Advocate, before) {
		t.Errorf("outcome %+v, want nothing counted, no rewards and the state unchanged", out)
	}
	want := []Decision{
		{Side: RoleAdvocate, Rule: 0, Type: RuleFixed, Outcome: OutcomeSkipped, Reason: "already rewarded: referee reached purchase before"},
		{Side: RoleAdvocate, Rule: 1, Type: RuleFixed, Outcome: OutcomeSkipped, Reason: `rule is for milestone "signup"`},
		{Side: RoleReferee, Rule: 0, Type: RulePercent, Outcome: OutcomeSkipped, Reason: "already rewarded: referee reached purchase before"},
	}
	if !reflect.DeepEqual(out.Decisions, want) {
		t.Errorf("decisions\n%+v\nwant\n%+v", out.Decisions, want)
	}
}

func TestEveryRuleGetsOneDecisionWithAReason(t *testing.T) {
	p := testProgram([]Rule{
		{Milestone: "purchase", Type: RuleTiered, Kind: "gift_card", Tiers: []Tier{{UpTo: 1, Amount: 1000}, {UpTo: 2, Amount: 2000}}},
		{Milestone: "signup", Type: RuleFixed, Amount: 100, Kind: "points"},
		{Milestone: "purchase", Type: RuleThreshold, AtCount: 10, Kind: "upgrade", Description: "VIP"},
		{Milestone: "purchase", Type: RulePercent, Percent: 5, MinAmount: 10000, Kind: "cash"},
		{Milestone: "purchase", Type: RuleTiered, Kind: "cash", Tiers: []Tier{{UpTo: 2, Amount: 0}, {Amount: 100}}},
		{Milestone: "purchase", Type: "bogus", Kind: "cash"},
	}, []Rule{
		{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "discount"},
		{Milestone: "demo", Type: RuleFixed, Amount: 1000, Kind: "discount"},
	})
	before := AdvocateState{Counts: map[string]int{"purchase": 2}}
	out := Evaluate(Evaluation{Program: p, AdvocateID: "ana", RefereeID: "bo", Milestone: "purchase", Amount: usd(5000),
		OccurredAt: testNow, Now: testNow, Advocate: before})

	want := []Decision{
		{RoleAdvocate, 0, RuleTiered, OutcomeSkipped, "no tier for referral 3 (tiers end at 2)"},
		{RoleAdvocate, 1, RuleFixed, OutcomeSkipped, `rule is for milestone "signup"`},
		{RoleAdvocate, 2, RuleThreshold, OutcomeSkipped, "threshold at 10, count is 3"},
		{RoleAdvocate, 3, RulePercent, OutcomeSkipped, "below minimum amount: 5000 < 10000 USD"},
		{RoleAdvocate, 4, RuleTiered, OutcomeRewarded, "tier 2 of 2 (referral 3)"},
		{RoleAdvocate, 5, "bogus", OutcomeSkipped, `unknown rule type "bogus"`},
		{RoleReferee, 0, RuleFixed, OutcomeRewarded, "fixed 1000 USD"},
		{RoleReferee, 1, RuleFixed, OutcomeSkipped, `rule is for milestone "demo"`},
	}
	if !reflect.DeepEqual(out.Decisions, want) {
		t.Errorf("decisions\n%+v\nwant\n%+v", out.Decisions, want)
	}
	if got := amounts(out.Rewards); !reflect.DeepEqual(got, []int64{100, 1000}) {
		t.Errorf("rewards %v, want [100 1000]", got)
	}
}

func TestZeroAmountsAreNotRewarded(t *testing.T) {
	p := testProgram([]Rule{{Milestone: "purchase", Type: RuleTiered, Kind: "cash", Tiers: []Tier{{UpTo: 2, Amount: 0}, {Amount: 100}}}}, nil)
	out := Evaluate(Evaluation{Program: p, AdvocateID: "ana", RefereeID: "bo", Milestone: "purchase", OccurredAt: testNow, Now: testNow})
	if len(out.Rewards) != 0 || out.Decisions[0].Reason != "tier 1 of 2 (referral 1); amount is zero" {
		t.Errorf("rewards %v, decision %+v; want none: amount is zero", out.Rewards, out.Decisions[0])
	}
	if out.Advocate.RewardCount != 0 {
		t.Errorf("reward count %d, want 0", out.Advocate.RewardCount)
	}
}

func TestAmountsNeverOverflow(t *testing.T) {
	window := []Multiplier{{Name: "Huge", From: testNow.Add(-time.Hour), To: testNow.Add(time.Hour), Factor: 100}}
	tests := []struct {
		name       string
		rule       Rule
		want       []int64
		wantReason string
	}{
		{"overflow without a cap is skipped", Rule{Type: RuleFixed, Amount: math.MaxInt64 / 50},
			[]int64{}, "fixed 184467440737095516 USD; ×100 Huge; amount overflow"},
		{"overflow with a cap is clamped to the cap", Rule{Type: RuleFixed, Amount: math.MaxInt64 / 50, MaxAmount: 1_000_000},
			[]int64{1_000_000}, "fixed 184467440737095516 USD; ×100 Huge; capped at 1000000"},
		{"a large percent that overflows", Rule{Type: RulePercent, Percent: 1000}, []int64{}, "1000% of 9223372036854775807 USD; amount overflow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.rule
			r.Milestone, r.Kind = "purchase", "cash"
			p := testProgram([]Rule{r}, nil)
			p.Multipliers = window
			out := Evaluate(Evaluation{Program: p, AdvocateID: "ana", RefereeID: "bo", Milestone: "purchase",
				Amount: usd(math.MaxInt64), OccurredAt: testNow, Now: testNow})
			if got := amounts(out.Rewards); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rewards %v, want %v", got, tt.want)
			}
			if out.Decisions[0].Reason != tt.wantReason {
				t.Errorf("reason %q, want %q", out.Decisions[0].Reason, tt.wantReason)
			}
		})
	}
}

func TestEvaluateLeavesItsInputAlone(t *testing.T) {
	p := testProgram([]Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "cash"}}, nil)
	counts := map[string]int{"purchase": 1}
	in := Evaluation{Program: p, AdvocateID: "ana", RefereeID: "bo", Milestone: "purchase", OccurredAt: testNow, Now: testNow,
		Advocate: AdvocateState{Counts: counts, RewardCount: 1, RewardAmount: 1000}}

	first, second := Evaluate(in), Evaluate(in)

	if counts["purchase"] != 1 {
		t.Errorf("input counts changed to %v", counts)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("the same evaluation gave\n%+v\nthen\n%+v", first, second)
	}
	if first.Advocate.Counts["purchase"] != 2 || first.Advocate.RewardCount != 2 || first.Advocate.RewardAmount != 2000 {
		t.Errorf("state after %+v", first.Advocate)
	}
}
