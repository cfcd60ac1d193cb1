package api

import (
	"fmt"
	"testing"
)

func TestReferralLoopFromProgramToReward(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	st, ref := s.do("POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "bo", "email": "bo@example.com", "name": "Bo"}, "channel": "email"})
	if st != 201 || ref["advocateId"] != "ana" || ref["stage"] != "" {
		t.Fatalf("referral: %d %v", st, ref)
	}
	st, conv := s.do("POST", "/conversions", map[string]any{"eventId": "order-1", "refereeId": "bo", "milestone": "purchase",
		"amount": map[string]any{"amount": 5000, "currency": "USD"}})
	if st != 201 {
		t.Fatalf("conversion: %d %v", st, conv)
	}
	rewards := conv["rewards"].([]any)
	if len(rewards) != 1 {
		t.Fatalf("rewards: %v", conv)
	}
	r := rewards[0].(map[string]any)
	if r["customerId"] != "ana" || r["value"].(map[string]any)["amount"] != float64(1000) || r["status"] != "pending" {
		t.Fatalf("reward: %v", r)
	}
	st, list := s.do("GET", "/customers/ana/rewards", nil)
	if st != 200 || fmt.Sprint(list["totals"]) != "map[USD:map[approved:0 expired:0 fulfilled:0 pending:1000 reversed:0 review:0]]" {
		t.Fatalf("rewards list: %d %v", st, list)
	}
	st, refs := s.do("GET", "/customers/ana/referrals", nil)
	if st != 200 || len(refs["referrals"].([]any)) != 1 || refs["referrals"].([]any)[0].(map[string]any)["stage"] != "purchase" {
		t.Fatalf("referrals list: %d %v", st, refs)
	}
}
