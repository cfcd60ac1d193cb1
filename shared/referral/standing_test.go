package referral

import (
	"fmt"
	"testing"
)

// TestReversedConversionsNoLongerCountTowardTiers is the case that was seen: seven referees
// buy, two are refunded, and the next purchase is priced by the five that stand (the 6th
// standing: tier 2), not by the seven recorded; a refunded referee who buys again is paid.
func TestReversedConversionsNoLongerCountTowardTiers(t *testing.T) {
	p := testProgram([]Rule{{Milestone: "purchase", Type: RuleTiered, Kind: "gift_card",
		Tiers: []Tier{{UpTo: 5, Amount: 1000}, {Amount: 2500}}}}, nil)
	var st AdvocateState
	outs := map[string]Outcome{}
	buy := func(referee string) Outcome {
		out := Evaluate(Evaluation{Program: p, AdvocateID: "ana", RefereeID: referee, Milestone: "purchase",
			OccurredAt: testNow, Now: testNow, Advocate: st})
		st = out.Advocate
		outs[referee] = out
		return out
	}
	for i := 1; i <= 6; i++ {
		buy(fmt.Sprintf("f%d", i))
	}
	for _, refunded := range []string{"f2", "f4"} {
		st = st.Reversed("purchase", outs[refunded].Rewards, outs[refunded].Thresholds)
	}
	if st.Counts["purchase"] != 4 || st.RewardCount != 4 || st.RewardAmount != 3*1000+2500 {
		t.Fatalf("after 2 refunds: %+v", st)
	}
	out := buy("f7") // the 7th recorded, the 5th standing
	if got := out.Decisions[0].Reason; got != "tier 1 of 2 (referral 5)" {
		t.Fatalf("7th conversion with 5 standing: %q", got)
	}
	out = buy("f2") // refunded, buys again: counts again, the 6th standing
	if len(out.Rewards) != 1 || out.Rewards[0].Value.Amount != 2500 || out.Decisions[0].Reason != "tier 2 of 2 (referral 6)" {
		t.Fatalf("refunded referee buying again: %+v", out.Decisions)
	}
}

func TestThresholdBonusIsPaidOnceWhileItStands(t *testing.T) {
	p := testProgram([]Rule{{Milestone: "purchase", Type: RuleThreshold, AtCount: 2, Amount: 5000, Kind: "cash"}}, nil)
	var st AdvocateState
	var outs []Outcome
	for i := 1; i <= 2; i++ {
		out := Evaluate(Evaluation{Program: p, AdvocateID: "ana", RefereeID: fmt.Sprint("f", i), Milestone: "purchase",
			OccurredAt: testNow, Now: testNow, Advocate: st})
		st, outs = out.Advocate, append(outs, out)
	}
	if len(outs[1].Rewards) != 1 {
		t.Fatalf("the bonus at 2 was not paid: %+v", outs[1].Decisions)
	}
	// The first referee is refunded (the bonus stands), a third buys: the count is 2 again.
	st = st.Reversed("purchase", outs[0].Rewards, outs[0].Thresholds)
	out := Evaluate(Evaluation{Program: p, AdvocateID: "ana", RefereeID: "f3", Milestone: "purchase",
		OccurredAt: testNow, Now: testNow, Advocate: st})
	if len(out.Rewards) != 0 {
		t.Fatalf("the bonus was paid twice: %+v", out.Decisions)
	}
	// The conversion that paid the bonus is refunded: the bonus can be earned again.
	st = out.Advocate.Reversed("purchase", outs[1].Rewards, outs[1].Thresholds)
	st.Counts["purchase"] = 1
	out = Evaluate(Evaluation{Program: p, AdvocateID: "ana", RefereeID: "f4", Milestone: "purchase",
		OccurredAt: testNow, Now: testNow, Advocate: st})
	if len(out.Rewards) != 1 {
		t.Fatalf("a reversed bonus is not earned again: %+v", out.Decisions)
	}
}

func TestRewardsWithoutAHoldAreWrittenApproved(t *testing.T) {
	p := testProgram([]Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "cash"}}, nil)
	for hold, want := range map[int]string{0: RewardApproved, 14: RewardPending} {
		p.HoldDays = hold
		out := Evaluate(Evaluation{Program: p, AdvocateID: "ana", RefereeID: "bo", Milestone: "purchase",
			OccurredAt: testNow, Now: testNow})
		if got := out.Rewards[0].Status; got != want {
			t.Errorf("hold %d: status %s, want %s", hold, got, want)
		}
	}
	if got := InitialStatus(p, true); got != RewardReview {
		t.Errorf("a held reward is %s", got)
	}
}

func TestReachedAndUnreached(t *testing.T) {
	r := Reached([]string{"signup"}, "purchase")
	if fmt.Sprint(r) != "[signup purchase]" || fmt.Sprint(Reached(r, "purchase")) != "[signup purchase]" {
		t.Fatal(r)
	}
	if got := Unreached(r, "purchase"); fmt.Sprint(got) != "[signup]" {
		t.Fatal(got)
	}
}
