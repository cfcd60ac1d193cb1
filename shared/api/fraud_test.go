package api

import (
	"strings"
	"testing"
	"time"
)

// The fraud controls (self-referral, one advocate per referee, new customers only, velocity
// review), each through the HTTP handlers with a server key, as the
// merchant's backend would meet them.

func TestSelfReferralIsCaughtByIdAndNormalizedEmail(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram()) // advocate ana, Ana.Lima@gmail.com
	s.doAs("server", "PUT", "/customers/twin", map[string]any{"email": "a.na.lima+alt@googlemail.com"})
	s.doAs("server", "PUT", "/customers/dee", map[string]any{"email": "dee.ray@example.com", "name": "Dee Ray"})
	_, deeCode := s.doAs("server", "POST", "/programs/p1/codes", map[string]any{"customerId": "dee"})

	cases := []struct {
		name    string
		code    string
		referee map[string]any
		status  int
		errCode string
	}{
		{"same customer id", code, map[string]any{"id": "ana"}, 422, "self_referral"},
		{"same address in another case", code, map[string]any{"id": "r1", "email": "ANA.LIMA@GMAIL.COM"}, 422, "self_referral"},
		{"gmail ignores dots", code, map[string]any{"id": "r2", "email": "analima@gmail.com"}, 422, "self_referral"},
		{"gmail ignores +tags", code, map[string]any{"id": "r3", "email": "ana.lima+deals@gmail.com"}, 422, "self_referral"},
		{"googlemail is gmail", code, map[string]any{"id": "r4", "email": "a.n.a.l.i.m.a+x@GoogleMail.com"}, 422, "self_referral"},
		{"the referee's stored address counts too", code, map[string]any{"id": "twin"}, 422, "self_referral"},
		{"other providers keep dots", deeCode["code"].(string), map[string]any{"id": "r5", "email": "deeray@example.com"}, 201, ""},
		{"+tags are stripped for every provider", deeCode["code"].(string), map[string]any{"id": "r6", "email": "dee.ray+1@example.com"}, 422, "self_referral"},
		{"a different person", code, map[string]any{"id": "r7", "email": "ana.lima@example.com"}, 201, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": c.code, "referee": c.referee})
			if st != c.status || errCode(b) != c.errCode {
				t.Fatalf("%d %v, want %d %q", st, b, c.status, c.errCode)
			}
		})
	}

	// At checkout (attribute and convert in one call) the same checks hold, and nothing is paid.
	st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "self-1", "code": code, "milestone": "purchase",
		"referee": map[string]any{"id": "r8", "email": "ana.lima+checkout@gmail.com"}, "amount": map[string]any{"amount": 5000, "currency": "USD"}})
	if st != 422 || errCode(b) != "self_referral" {
		t.Fatalf("self-referral at checkout: %d %v", st, b)
	}
	if _, list := s.do("GET", "/customers/ana/rewards", nil); len(list["rewards"].([]any)) != 0 {
		t.Fatalf("a self-referral earned rewards: %v", list)
	}
}

func TestARefereeIsAttributedOncePerProgramToTheFirstAdvocate(t *testing.T) {
	s := newStack(t)
	anaCode := s.setup(tieredProgram())
	s.doAs("server", "PUT", "/customers/dee", map[string]any{"email": "dee.ray@example.com", "name": "Dee Ray"})
	_, dc := s.doAs("server", "POST", "/programs/p1/codes", map[string]any{"customerId": "dee"})
	deeCode := dc["code"].(string)

	if st, b := refer(s, anaCode, "bo"); st != 201 {
		t.Fatalf("first referral: %d %v", st, b)
	}
	for _, code := range []string{anaCode, deeCode, strings.ToLower(deeCode)} {
		st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "bo"}})
		d, _ := b["error"].(map[string]any)["details"].(map[string]any)
		if st != 409 || errCode(b) != "already_referred" || d["advocateId"] != "ana" {
			t.Fatalf("second referral of bo with %s: %d %v", code, st, b)
		}
	}
	// Checkout with another advocate's code is refused as POST /referrals is: nobody is paid.
	st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "o-1", "code": deeCode, "milestone": "purchase",
		"referee": map[string]any{"id": "bo"}, "amount": map[string]any{"amount": 5000, "currency": "USD"}})
	if d, _ := b["error"].(map[string]any)["details"].(map[string]any); st != 409 || errCode(b) != "already_referred" || d["advocateId"] != "ana" {
		t.Fatalf("checkout with a second code: %d %v", st, b)
	}
	if _, list := s.do("GET", "/customers/ana/rewards", nil); len(list["rewards"].([]any)) != 0 {
		t.Fatalf("the first advocate was rewarded for a checkout with another's code: %v", list)
	}
	if _, list := s.do("GET", "/customers/dee/rewards", nil); len(list["rewards"].([]any)) != 0 {
		t.Fatalf("the second advocate was rewarded: %v", list)
	}
	if _, list := s.do("GET", "/customers/ana/referrals", nil); len(list["referrals"].([]any)) != 1 {
		t.Fatalf("ana's referrals: %v", list)
	}
}

func TestNewCustomersOnlyProgramsRefuseRefereesWhoBought(t *testing.T) {
	s := newStack(t)
	p := tieredProgram()
	p["newCustomersOnly"] = true
	code := s.setup(p)
	s.doAs("server", "PUT", "/customers/fresh", map[string]any{"email": "fresh@example.com", "purchaseCount": 0})
	s.doAs("server", "PUT", "/customers/loyal", map[string]any{"email": "loyal@example.com", "purchaseCount": 1})
	if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "fresh"}}); st != 201 {
		t.Fatalf("new customer: %d %v", st, b)
	}
	if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "unknown-yet"}}); st != 201 {
		t.Fatalf("a referee the merchant never told us about is new: %d %v", st, b)
	}
	if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "loyal"}}); st != 422 || errCode(b) != "not_new_customer" {
		t.Fatalf("customer with purchases: %d %v", st, b)
	}
	st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "o-9", "code": code, "milestone": "purchase",
		"referee": map[string]any{"id": "loyal"}, "amount": map[string]any{"amount": 5000, "currency": "USD"}})
	if st != 422 || errCode(b) != "not_new_customer" {
		t.Fatalf("customer with purchases at checkout: %d %v", st, b)
	}
}

// TestVelocityHoldsRewardsForReviewUntilAnAdminDecides: over
// limits.maxConversionsPerAdvocatePerDay the rewards wait in review (nothing is lost); an
// admin approves one and a reversal cancels another; the next day counts afresh.
func TestVelocityHoldsRewardsForReviewUntilAnAdminDecides(t *testing.T) {
	s := newStack(t)
	p := tieredProgram()
	p["limits"] = map[string]any{"maxConversionsPerAdvocatePerDay": 1}
	code := s.setup(p)
	for _, r := range []string{"bo", "cy", "di", "ed"} {
		refer(s, code, r)
	}
	var ids []string
	for i, r := range []string{"bo", "cy", "di"} {
		st, b := convert(s, "o-"+r, r, "purchase", 5000)
		rw := b["rewards"].([]any)[0].(map[string]any)
		want := "review"
		if i == 0 {
			want = "pending"
		}
		if st != 201 || rw["status"] != want {
			t.Fatalf("conversion %d: %d %v, want a %s reward", i+1, st, b, want)
		}
		if i > 0 {
			d := b["conversion"].(map[string]any)["decisions"].([]any)[0].(map[string]any)
			if !strings.Contains(d["reason"].(string), "velocity") {
				t.Fatalf("the decision record should say why the reward is held: %v", d)
			}
		}
		ids = append(ids, rw["rewardId"].(string))
	}
	if st, b := s.doAs("server", "POST", "/rewards/"+ids[1]+"/approve", nil); st != 403 {
		t.Fatalf("a server key approves: %d %v", st, b)
	}
	if st, b := s.do("POST", "/rewards/"+ids[1]+"/approve", nil); st != 200 || b["status"] != "approved" {
		t.Fatalf("approve: %d %v", st, b)
	}
	if st, b := s.doAs("server", "POST", "/conversions/o-di/reverse", nil); st != 200 || b["rewards"].([]any)[0].(map[string]any)["status"] != "reversed" {
		t.Fatalf("reverse a held conversion: %d %v", st, b)
	}
	if st, b := s.do("POST", "/rewards/"+ids[2]+"/approve", nil); st != 409 || errCode(b) != "invalid_state" {
		t.Fatalf("approve a reversed reward: %d %v", st, b)
	}
	s.advance(24 * time.Hour)
	if _, b := convert(s, "o-ed", "ed", "purchase", 5000); b["rewards"].([]any)[0].(map[string]any)["status"] != "pending" {
		t.Fatalf("a new day starts a new count: %v", b)
	}
	_, list := s.do("GET", "/customers/ana/rewards", nil)
	usd := list["totals"].(map[string]any)["USD"].(map[string]any)
	if usd["review"] != float64(0) || usd["approved"] != float64(1000) || usd["pending"] != float64(2000) || usd["reversed"] != float64(1000) {
		t.Fatalf("totals: %v", usd)
	}
}
