package referral

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func stripeRule(side string) Rule {
	if side == RoleReferee {
		return Rule{Milestone: "purchase", Type: RuleFixed, Amount: 500, Kind: "discount", Fulfilment: &Delivery{Provider: ProviderStripe}}
	}
	return Rule{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "store_credit", Fulfilment: &Delivery{Provider: ProviderStripe}}
}

// TestFulfilmentSettingsAreValidatedWithTheirFullPath: every way to misconfigure a provider is
// refused with the JSON path of the field at fault.
func TestFulfilmentSettingsAreValidatedWithTheirFullPath(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(p *Program)
		field string
	}{
		{"unknown provider", func(p *Program) { p.AdvocateRewards[0].Fulfilment = &Delivery{Provider: "paypal"} }, "advocateRewards[0].fulfilment.provider"},
		{"pool without its name", func(p *Program) { p.AdvocateRewards[0].Fulfilment = &Delivery{Provider: ProviderCouponPool} }, "advocateRewards[0].fulfilment.pool"},
		{"pool name with a space", func(p *Program) {
			p.AdvocateRewards[0].Fulfilment = &Delivery{Provider: ProviderCouponPool, Pool: "gift cards"}
		}, "advocateRewards[0].fulfilment.pool"},
		{"pool on a stripe rule", func(p *Program) {
			p.AdvocateRewards[0].Fulfilment = &Delivery{Provider: ProviderStripe, Pool: "x"}
		}, "advocateRewards[0].fulfilment.pool"},
		{"stripe credit of an upgrade", func(p *Program) {
			p.AdvocateRewards[0] = Rule{Milestone: "purchase", Type: RuleFixed, Kind: "upgrade", Description: "VIP", Fulfilment: &Delivery{Provider: ProviderStripe}}
		}, "advocateRewards[0].fulfilment.provider"},
		{"stripe credit of a donation", func(p *Program) {
			p.AdvocateRewards[0] = Rule{Milestone: "purchase", Type: RuleFixed, Amount: 100, Kind: "donation", Charity: "Red Cross", Fulfilment: &Delivery{Provider: ProviderStripe}}
		}, "advocateRewards[0].fulfilment.provider"},
		{"stripe friend offer that is not a discount", func(p *Program) {
			p.RefereeRewards = []Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 500, Kind: "cash", Fulfilment: &Delivery{Provider: ProviderStripe}}}
		}, "refereeRewards[0].fulfilment.provider"},
		{"stripe friend offer that is tiered", func(p *Program) {
			p.RefereeRewards = []Rule{{Milestone: "purchase", Type: RuleTiered, Tiers: []Tier{{Amount: 500}}, Kind: "discount", Fulfilment: &Delivery{Provider: ProviderStripe}}}
		}, "refereeRewards[0].fulfilment.provider"},
		{"capped stripe percentage", func(p *Program) {
			p.RefereeRewards = []Rule{{Milestone: "purchase", Type: RulePercent, Percent: 10, MaxAmount: 2000, Kind: "discount", Fulfilment: &Delivery{Provider: ProviderStripe}}}
		}, "refereeRewards[0].maxAmount"},
		{"two stripe friend offers", func(p *Program) {
			p.RefereeRewards = []Rule{stripeRule(RoleReferee), stripeRule(RoleReferee)}
		}, "refereeRewards[1].fulfilment.provider"},
		{"prize credited without an amount", func(p *Program) {
			p.Contest.Prizes = []Prize{{Rank: 1, Kind: "upgrade", Description: "VIP", Fulfilment: &Delivery{Provider: ProviderStripe}}}
		}, "contest.prizes[0].fulfilment.provider"},
		{"prize from a pool without a name", func(p *Program) {
			p.Contest.Prizes = []Prize{{Rank: 1, Kind: "gift_card", Amount: 5000, Fulfilment: &Delivery{Provider: ProviderCouponPool}}}
		}, "contest.prizes[0].fulfilment.pool"},
		{"unknown customer id field", func(p *Program) { p.Stripe.CustomerIDField = "email" }, "stripe.customerIdField"},
		{"contest closing after more than 30 days", func(p *Program) { p.Contest.CloseAfterHours = 721 }, "contest.closeAfterHours"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := plainProgram()
			p.AdvocateRewards = []Rule{stripeRule(RoleAdvocate)}
			c.edit(&p)
			var e *Error
			if err := p.Validate(); !errors.As(err, &e) || e.Field != c.field {
				t.Fatalf("Validate() = %v, want invalid_request on %s", err, c.field)
			}
		})
	}
	ok := plainProgram()
	ok.AdvocateRewards = []Rule{stripeRule(RoleAdvocate), {Milestone: "purchase", Type: RuleFixed, Amount: 2500, Kind: "gift_card",
		Fulfilment: &Delivery{Provider: ProviderCouponPool, Pool: "spring_gift-cards"}}}
	ok.RefereeRewards = []Rule{{Milestone: "purchase", Type: RulePercent, Percent: 15, Kind: "discount", Fulfilment: &Delivery{Provider: ProviderStripe}}}
	ok.Contest.Prizes = []Prize{{Rank: 1, Kind: "cash", Amount: 10000, Fulfilment: &Delivery{Provider: ProviderStripe}}}
	ok.Stripe.CustomerIDField = StripeFieldCustomerID
	if err := ok.Validate(); err != nil {
		t.Fatalf("a program with every provider: %v", err)
	}
}

// plainProgram is a valid program with no rules.
func plainProgram() Program {
	p := Program{Name: "P", Status: ProgramActive, Currency: "USD", LandingURL: "https://shop.example.com/", Milestones: []string{"signup", "purchase"}}
	p.Normalize()
	return p
}

// TestRewardsStartTheirFulfilmentByProvider: a provider's reward starts pending (queued for
// the scheduler when created approved in an autoFulfil program); a manual one has none.
func TestRewardsStartTheirFulfilmentByProvider(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		hold       int
		auto       bool
		rule       Rule
		wantStatus string
		want       *Fulfilment
	}{
		{"manual", 0, true, Rule{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "gift_card"}, RewardApproved, nil},
		{"stripe, no hold, auto", 0, true, stripeRule(RoleAdvocate), RewardApproved, &Fulfilment{Provider: ProviderStripe, Status: FulfilmentPending, Auto: true, At: &now}},
		{"stripe, no hold, payout queue", 0, false, stripeRule(RoleAdvocate), RewardApproved, &Fulfilment{Provider: ProviderStripe, Status: FulfilmentPending, At: &now}},
		{"pool, held", 14, true, Rule{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "gift_card",
			Fulfilment: &Delivery{Provider: ProviderCouponPool, Pool: "gc"}}, RewardPending, &Fulfilment{Provider: ProviderCouponPool, Pool: "gc", Status: FulfilmentPending}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := plainProgram()
			p.HoldDays, p.AutoFulfil, p.AdvocateRewards = c.hold, c.auto, []Rule{c.rule}
			out := Evaluate(Evaluation{Program: &p, AdvocateID: "ana", RefereeID: "bo", Milestone: "purchase", OccurredAt: now, Now: now,
				Advocate: AdvocateState{}})
			if len(out.Rewards) != 1 {
				t.Fatalf("rewards: %+v", out.Rewards)
			}
			r := out.Rewards[0]
			if r.Status != c.wantStatus || (r.Fulfilment == nil) != (c.want == nil) || (c.want != nil && !sameFulfilment(*r.Fulfilment, *c.want)) {
				t.Fatalf("reward %s %+v, want %s %+v", r.Status, r.Fulfilment, c.wantStatus, c.want)
			}
		})
	}
}

func sameFulfilment(a, b Fulfilment) bool {
	sameAt := (a.At == nil) == (b.At == nil) && (a.At == nil || a.At.Equal(*b.At))
	a.At, b.At = nil, nil
	return sameAt && a.Provider == b.Provider && a.Pool == b.Pool && a.Status == b.Status && a.Auto == b.Auto
}

// TestTheSchedulerFindsEachRewardWhenItsWorkIsDue: Due and NextAction, by status.
func TestTheSchedulerFindsEachRewardWhenItsWorkIsDue(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	day := 24 * time.Hour
	stripe := func(status string, auto bool, at *time.Time) *Fulfilment {
		return &Fulfilment{Provider: ProviderStripe, Status: status, Auto: auto, At: at}
	}
	cases := []struct {
		name string
		r    Reward
		now  time.Time
		due  *time.Time
		act  string
	}{
		{"pending in its hold", Reward{Status: RewardPending, AvailableAt: t0.Add(14 * day)}, t0, at(14 * day), ActionNone},
		{"pending, hold over", Reward{Status: RewardPending, AvailableAt: t0.Add(14 * day)}, t0.Add(14 * day), at(14 * day), ActionApprove},
		{"pending, expires first", Reward{Status: RewardPending, AvailableAt: t0.Add(14 * day), ExpiresAt: at(7 * day)}, t0.Add(8 * day), at(7 * day), ActionExpire},
		{"review never approves by itself", Reward{Status: RewardReview, AvailableAt: t0}, t0.Add(30 * day), nil, ActionNone},
		{"review past expiry", Reward{Status: RewardReview, ExpiresAt: at(day)}, t0.Add(2 * day), at(day), ActionExpire},
		{"approved, auto", Reward{Status: RewardApproved, Fulfilment: stripe(FulfilmentPending, true, at(0))}, t0, at(0), ActionFulfil},
		{"approved, payout queue", Reward{Status: RewardApproved, Fulfilment: stripe(FulfilmentPending, false, at(0))}, t0, nil, ActionNone},
		{"approved, failed: waits for a retry", Reward{Status: RewardApproved, Fulfilment: stripe(FulfilmentFailed, true, at(0))}, t0, nil, ActionNone},
		{"approved manual past expiry", Reward{Status: RewardApproved, ExpiresAt: at(day)}, t0.Add(day), at(day), ActionExpire},
		{"fulfilled", Reward{Status: RewardFulfilled, ExpiresAt: at(day), Fulfilment: stripe(FulfilmentDone, true, at(0))}, t0.Add(9 * day), nil, ActionNone},
		{"reversed credit to take back", Reward{Status: RewardReversed, Fulfilment: &Fulfilment{Provider: ProviderStripe, Status: FulfilmentDone,
			Reversal: &Reversal{Status: ReversalPending, At: at(0)}}}, t0, at(0), ActionTakeBack},
		{"reversed, retry later", Reward{Status: RewardReversed, Fulfilment: &Fulfilment{Provider: ProviderStripe, Status: FulfilmentDone,
			Reversal: &Reversal{Status: ReversalFailed, At: at(time.Hour)}}}, t0, at(time.Hour), ActionNone},
		{"reversed, taken back", Reward{Status: RewardReversed, Fulfilment: &Fulfilment{Provider: ProviderStripe, Status: FulfilmentDone,
			Reversal: &Reversal{Status: ReversalDone, At: at(0)}}}, t0, nil, ActionNone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			due := c.r.Due()
			if (due == nil) != (c.due == nil) || (due != nil && !due.Equal(*c.due)) {
				t.Errorf("Due() = %v, want %v", due, c.due)
			}
			if got := c.r.NextAction(c.now); got != c.act {
				t.Errorf("NextAction() = %q, want %q", got, c.act)
			}
		})
	}
}

// TestAReversalOwesBackOnlyAStripeCredit: only an advocate's Stripe money reward can have a
// credit to take back.
func TestAReversalOwesBackOnlyAStripeCredit(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	money := &Money{Amount: 1000, Currency: "USD"}
	if r := (Reward{Role: RoleAdvocate, Value: money, Fulfilment: &Fulfilment{Provider: ProviderStripe}}); r.ReversalOwed(now) == nil {
		t.Error("a Stripe credit owes nothing back")
	}
	for _, r := range []Reward{
		{Role: RoleAdvocate, Value: money},
		{Role: RoleAdvocate, Value: money, Fulfilment: &Fulfilment{Provider: ProviderCouponPool}},
		{Role: RoleReferee, Value: money, Fulfilment: &Fulfilment{Provider: ProviderStripe}},
	} {
		if r.ReversalOwed(now) != nil {
			t.Errorf("%+v owes a take-back", r)
		}
	}
	if t1 := ReversalRetryAt(1, now); !t1.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("retry after 1 failure at %v", t1)
	}
	if t9 := ReversalRetryAt(9, now); !t9.Equal(now.Add(12 * time.Hour)) {
		t.Errorf("retry after 9 failures at %v", t9)
	}
	if ReversalRetryAt(MaxReversalAttempts, now) != nil {
		t.Error("retries never stop")
	}
}

// TestTheFriendsRewardTakesTheIDItsPromotionCodeWasMadeWith, once.
func TestTheFriendsRewardTakesTheIDItsPromotionCodeWasMadeWith(t *testing.T) {
	fc := &FriendCoupon{RewardID: "R1", Provider: ProviderStripe, Status: FulfilmentDone, Code: "FRIEND5"}
	r := Reward{RewardID: "NEW", Role: RoleReferee, Fulfilment: &Fulfilment{Provider: ProviderStripe, Status: FulfilmentPending}}
	if !r.TakeFriendCoupon(fc) || r.RewardID != "R1" || r.Fulfilment.Reference != "FRIEND5" {
		t.Fatalf("took: %+v", r)
	}
	fc.EventID = "order-1"
	again := Reward{RewardID: "NEW2", Role: RoleReferee, Fulfilment: &Fulfilment{Provider: ProviderStripe, Status: FulfilmentPending}}
	if again.TakeFriendCoupon(fc) || again.RewardID != "NEW2" {
		t.Fatalf("a second reward took the coupon's id: %+v", again)
	}
	adv := Reward{RewardID: "A", Role: RoleAdvocate, Fulfilment: &Fulfilment{Provider: ProviderStripe}}
	if adv.TakeFriendCoupon(&FriendCoupon{RewardID: "R2"}) {
		t.Fatal("an advocate reward took the friend's coupon")
	}
}

// TestContestsCloseCloseAfterHoursAfterTheirMonth.
func TestContestsCloseCloseAfterHoursAfterTheirMonth(t *testing.T) {
	p := plainProgram()
	p.CreatedAt = time.Date(2026, 9, 15, 0, 0, 0, 0, time.UTC)
	p.Contest.Prizes = []Prize{{Rank: 1, Kind: "cash", Amount: 100}}
	cases := []struct {
		after int
		now   time.Time
		want  []string
	}{
		{24, time.Date(2026, 12, 1, 23, 59, 0, 0, time.UTC), []string{"2026-10"}},
		{24, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), []string{"2026-10", "2026-11"}},
		{720, time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC), []string{"2026-11"}}, // November closes on Dec 31, found in January
		{24, time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC), []string{"2026-09"}}, // the program began mid-September: August has no contest
	}
	for _, c := range cases {
		p.Contest.CloseAfterHours = c.after
		if got := p.ContestPeriodsToClose(c.now); !slices.Equal(got, c.want) {
			t.Errorf("closeAfterHours %d at %v: %v, want %v", c.after, c.now, got, c.want)
		}
	}
	p.Contest.Prizes = nil
	if got := p.ContestPeriodsToClose(time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)); got != nil {
		t.Errorf("without prizes: %v", got)
	}
}

// TestCouponCodesAreCheckedAndDeduplicated.
func TestCouponCodesAreCheckedAndDeduplicated(t *testing.T) {
	got, err := CouponCodes("codes", []string{"A-1", "b.2", "A-1", "C_3"})
	if err != nil || !slices.Equal(got, []string{"A-1", "b.2", "C_3"}) {
		t.Fatalf("CouponCodes = %v, %v", got, err)
	}
	for _, bad := range [][]string{nil, {"ok", "with space"}, {"-starts-with-dash"}, {"ok", "émoji"}, make([]string, MaxCouponCodesPerCall+1)} {
		if _, err := CouponCodes("codes", bad); err == nil {
			t.Errorf("CouponCodes(%q) accepted", bad)
		}
	}
	var e *Error
	if _, err := CouponCodes("codes", []string{"ok", "bad code"}); !errors.As(err, &e) || e.Field != "codes[1]" {
		t.Errorf("field of a bad code: %v", err)
	}
}

// TestAStripeCustomerIsFoundByTheProgramsField.
func TestAStripeCustomerIsFoundByTheProgramsField(t *testing.T) {
	p := plainProgram()
	c := Customer{CustomerID: "cus_Shop1", StripeCustomerID: "cus_Linked"}
	if id, err := p.StripeCustomer(c); err != nil || id != "cus_Linked" {
		t.Errorf("default field: %q %v", id, err)
	}
	p.Stripe.CustomerIDField = StripeFieldCustomerID
	if id, err := p.StripeCustomer(c); err != nil || id != "cus_Shop1" {
		t.Errorf("customerId field: %q %v", id, err)
	}
	if _, err := p.StripeCustomer(Customer{CustomerID: "ana"}); err == nil {
		t.Error("a customer id that is not a Stripe one was used")
	}
}
