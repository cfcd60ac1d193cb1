package api

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/stripemock"
	"github.com/referral/referrals/shared/fulfil"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// poolProgram pays each purchase a $10 gift card drawn from the pool "gift-cards", with no
// hold (rewards are created approved).
func poolProgram() map[string]any {
	p := tieredProgram()
	p["holdDays"] = 0
	p["advocateRewards"] = []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "gift_card",
		"fulfilment": map[string]any{"provider": "coupon_pool", "pool": "gift-cards"}}}
	return p
}

// rewardOf is the id of the reward of customer for eventID.
func rewardOf(t *testing.T, s *stack, customer, eventID string) map[string]any {
	t.Helper()
	st, b := s.doAs("server", "GET", "/customers/"+customer+"/rewards?limit=100", nil)
	if st != 200 {
		t.Fatalf("rewards of %s: %d %v", customer, st, b)
	}
	for _, r := range b["rewards"].([]any) {
		if m := r.(map[string]any); m["eventId"] == eventID {
			return m
		}
	}
	t.Fatalf("no reward of %s for %s in %v", customer, eventID, b)
	return nil
}

func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, _ := v.(map[string]any)
		v = mm[k]
	}
	return v
}

// TestCouponPoolGivesTwentyConcurrentRewardsTwentyDistinctCodes: 20 approved rewards are
// fulfilled at once from a pool of 25 codes: 20 different codes, each recorded used by its
// reward, the pool's counts exact (5 available, 20 used); the 21st reward once the pool holds
// nothing more gets no code: it stays approved with fulfilment failed, reason pool_empty.
func TestCouponPoolGivesTwentyConcurrentRewardsTwentyDistinctCodes(t *testing.T) {
	s := newStack(t)
	code := s.setup(poolProgram())
	codes := make([]string, 25)
	for i := range codes {
		codes[i] = fmt.Sprintf("GC-%04d", i)
	}
	if st, b := s.do("POST", "/coupon-pools/gift-cards/codes", map[string]any{"codes": append(codes, "GC-0003", "GC-0007")}); st != 200 || b["added"] != 25.0 || b["available"] != 25.0 {
		t.Fatalf("add codes: %d %v", st, b)
	}
	ids := make([]string, 21)
	for i := range ids {
		referee := fmt.Sprintf("friend%02d", i)
		if st, b := refer(s, code, referee); st != 201 {
			t.Fatalf("refer: %d %v", st, b)
		}
		if st, b := convert(s, "order-"+referee, referee, "purchase", 5000); st != 201 {
			t.Fatalf("convert: %d %v", st, b)
		}
		r := rewardOf(t, s, "ana", "order-"+referee)
		if r["status"] != "approved" || path(r, "fulfilment", "status") != "pending" || path(r, "fulfilment", "provider") != "coupon_pool" {
			t.Fatalf("a new reward of a pool rule with no hold: %v", r)
		}
		ids[i] = r["rewardId"].(string)
	}

	var wg sync.WaitGroup
	got := make([]map[string]any, 20)
	status := make([]int, 20)
	for i := range 20 {
		wg.Go(func() { status[i], got[i] = s.do("POST", "/rewards/"+ids[i]+"/fulfill", map[string]any{}) })
	}
	wg.Wait()
	var drawn []string
	for i := range 20 {
		if status[i] != 200 || got[i]["status"] != "fulfilled" || path(got[i], "fulfilment", "status") != "done" {
			t.Fatalf("fulfil %d: %d %v", i, status[i], got[i])
		}
		ref := got[i]["reference"].(string)
		if path(got[i], "fulfilment", "reference") != ref || !slices.Contains(codes, ref) {
			t.Errorf("reward %d got %q (fulfilment %v)", i, ref, got[i]["fulfilment"])
		}
		drawn = append(drawn, ref)
	}
	slices.Sort(drawn)
	if len(slices.Compact(drawn)) != 20 {
		t.Fatalf("20 rewards drew %d distinct codes: %v", len(slices.Compact(slices.Clone(drawn))), drawn)
	}
	if st, b := s.do("GET", "/coupon-pools/gift-cards", nil); st != 200 || b["available"] != 5.0 || b["used"] != 20.0 {
		t.Fatalf("pool after 20 draws: %d %v, want 5 available, 20 used", st, b)
	}
	// Fulfilling again changes nothing: the same code, the same counts.
	if st, b := s.do("POST", "/rewards/"+ids[0]+"/fulfill", nil); st != 200 || b["reference"] != got[0]["reference"] {
		t.Fatalf("fulfil again: %d %v, want the code %v", st, b, got[0]["reference"])
	}

	// Empty the pool, then the 21st reward finds nothing.
	for i := 0; i < 5; i++ {
		referee := fmt.Sprintf("late%02d", i)
		refer(s, code, referee)
		convert(s, "order-"+referee, referee, "purchase", 5000)
		if st, b := s.do("POST", "/rewards/"+rewardOf(t, s, "ana", "order-"+referee)["rewardId"].(string)+"/fulfill", nil); st != 200 {
			t.Fatalf("fulfil: %d %v", st, b)
		}
	}
	st, b := s.do("POST", "/rewards/"+ids[20]+"/fulfill", nil)
	if st != 409 || errCode(b) != "pool_empty" {
		t.Fatalf("fulfil from an empty pool: %d %v, want 409 pool_empty", st, b)
	}
	r := rewardOf(t, s, "ana", "order-friend20")
	if r["status"] != "approved" || path(r, "fulfilment", "status") != "failed" || path(r, "fulfilment", "reason") != "pool_empty" {
		t.Fatalf("the reward after an empty pool: %v", r)
	}
	failed, err := s.store.RewardsDue(t.Context(), "p1", store.QueueFailed, s.clock().Add(1000*24*time.Hour), 100)
	if err != nil || len(failed) != 1 || failed[0].RewardID != ids[20] {
		t.Fatalf("the failed queue: %v %v, want the reward", failed, err)
	}
	if st, b := s.do("GET", "/coupon-pools/gift-cards", nil); st != 200 || b["available"] != 0.0 || b["used"] != 25.0 {
		t.Fatalf("pool: %d %v", st, b)
	}
	// New codes, and the retry delivers.
	s.do("POST", "/coupon-pools/gift-cards/codes", map[string]any{"codes": []string{"GC-0007", "GC-1000"}})
	if st, b := s.do("POST", "/rewards/"+ids[20]+"/fulfill", map[string]any{}); st != 200 || b["reference"] != "GC-1000" {
		t.Fatalf("retry after new codes: %d %v, want GC-1000 (GC-0007 was used, so not added again)", st, b)
	}
}

// stripeProgram credits advocates $10 on their Stripe balance per purchase and gives the
// friend $5 off their first purchase as a Stripe promotion code.
func stripeProgram() map[string]any {
	p := tieredProgram()
	p["holdDays"] = 0
	p["newCustomersOnly"] = true
	p["advocateRewards"] = []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "store_credit",
		"fulfilment": map[string]any{"provider": "stripe"}}}
	p["refereeRewards"] = []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 500, "kind": "discount",
		"minAmount": 2000, "fulfilment": map[string]any{"provider": "stripe"}}}
	return p
}

// withStripe points the stack's fulfilment at stripe-mock behind its recording proxy.
func withStripe(t *testing.T, s *stack) *stripemock.Mock {
	t.Helper()
	m := stripemock.ForTest(t)
	s.fulfil.Stripe = fulfil.FixedStripeAccount("sk_test_referrals", m.URL)
	return m
}

// TestStripeFriendGetsAPromotionCodeAndTheAdvocateIsCreditedOnce: the friend's promotion code
// is made on Stripe when they are referred (one request, Idempotency-Key = the reward id it
// fixes), their reward at purchase takes that id and code; the advocate's credit is one
// balance transaction of -1000 usd with Idempotency-Key = the reward id, however often
// fulfil is called.
func TestStripeFriendGetsAPromotionCodeAndTheAdvocateIsCreditedOnce(t *testing.T) {
	s := newStack(t)
	m := withStripe(t, s)
	code := s.setup(stripeProgram())
	s.do("PUT", "/customers/ana", map[string]any{"email": "ana@example.com", "name": "Ana", "stripeCustomerId": "cus_Ana123"})

	st, ref := refer(s, code, "bo")
	if st != 201 {
		t.Fatalf("refer: %d %v", st, ref)
	}
	fc, _ := ref["friendCoupon"].(map[string]any)
	if fc["status"] != "done" || fc["code"] == "" || fc["promotionCodeId"] == "" || fc["rewardId"] == "" {
		t.Fatalf("friendCoupon: %v", ref)
	}
	promos := m.Requests("POST /v1/promotion_codes")
	if len(promos) != 1 || promos[0].IdempotencyKey != fc["rewardId"] || promos[0].StripeVersion != fulfil.StripeVersion ||
		promos[0].Form.Get("max_redemptions") != "1" || promos[0].Form.Get("promotion[type]") != "coupon" ||
		promos[0].Form.Get("restrictions[minimum_amount]") != "2000" || promos[0].Form.Get("restrictions[first_time_transaction]") != "true" {
		t.Fatalf("promotion code requests: %+v", promos)
	}
	coupons := m.Requests("POST /v1/coupons")
	if len(coupons) != 1 || coupons[0].Form.Get("amount_off") != "500" || coupons[0].Form.Get("currency") != "usd" ||
		promos[0].Form.Get("promotion[coupon]") != coupons[0].Form.Get("id") {
		t.Fatalf("coupon requests: %+v", coupons)
	}

	if st, b := convert(s, "order-1", "bo", "purchase", 5000); st != 201 {
		t.Fatalf("convert: %d %v", st, b)
	}
	friend := rewardOf(t, s, "bo", "order-1")
	if friend["rewardId"] != fc["rewardId"] || path(friend, "fulfilment", "reference") != fc["code"] {
		t.Fatalf("the friend's reward %v does not carry the referral's coupon %v", friend, fc)
	}
	if st, b := s.do("POST", "/rewards/"+friend["rewardId"].(string)+"/fulfill", nil); st != 200 || b["reference"] != fc["code"] {
		t.Fatalf("fulfil the friend's reward: %d %v", st, b)
	}
	if n := len(m.Requests("POST /v1/promotion_codes")); n != 1 {
		t.Fatalf("%d promotion codes made, want 1: the friend's reward is delivered by the code made at referral", n)
	}

	adv := rewardOf(t, s, "ana", "order-1")
	for range 3 {
		st, b := s.do("POST", "/rewards/"+adv["rewardId"].(string)+"/fulfill", nil)
		if st != 200 || b["status"] != "fulfilled" || path(b, "fulfilment", "status") != "done" {
			t.Fatalf("fulfil the advocate's credit: %d %v", st, b)
		}
	}
	credits := m.Requests("POST /v1/customers/cus_Ana123/balance_transactions")
	if len(credits) != 1 || credits[0].Form.Get("amount") != "-1000" || credits[0].Form.Get("currency") != "usd" ||
		credits[0].IdempotencyKey != adv["rewardId"] || credits[0].Form.Get("metadata[reward_id]") != adv["rewardId"] {
		t.Fatalf("balance transactions: %+v", credits)
	}
}

// TestStripeOutageLeavesRewardsFailedThenOneRetryCreditsOnce: stripe-mock is stopped while
// rewards are delivered: each ends failed with stripe_unavailable (after stripe-go's retries)
// and is listed in the failed queue; after stripe-mock is back, fulfil delivers each with one
// balance transaction that reaches Stripe (not two), and fulfilling again adds none.
func TestStripeOutageLeavesRewardsFailedThenOneRetryCreditsOnce(t *testing.T) {
	s := newStack(t)
	m := withStripe(t, s)
	code := s.setup(stripeProgram())
	s.do("PUT", "/customers/ana", map[string]any{"email": "ana@example.com", "name": "Ana", "stripeCustomerId": "cus_Ana123"})
	var ids []string
	for _, friend := range []string{"bo", "cy"} {
		refer(s, code, friend)
		convert(s, "order-"+friend, friend, "purchase", 5000)
		ids = append(ids, rewardOf(t, s, "ana", "order-"+friend)["rewardId"].(string))
	}

	m.StopMock()
	for _, id := range ids {
		st, b := s.do("POST", "/rewards/"+id+"/fulfill", nil)
		if st != 502 || errCode(b) != "fulfilment_failed" || path(b, "error", "details", "reason") != referral.ReasonStripeUnavailable {
			t.Fatalf("fulfil during the outage: %d %v", st, b)
		}
	}
	for _, friend := range []string{"bo", "cy"} {
		r := rewardOf(t, s, "ana", "order-"+friend)
		if r["status"] != "approved" || path(r, "fulfilment", "status") != "failed" || path(r, "fulfilment", "reason") != "stripe_unavailable" {
			t.Fatalf("after the outage: %v", r)
		}
	}
	failed, err := s.store.RewardsDue(t.Context(), "p1", store.QueueFailed, s.clock().Add(1000*24*time.Hour), 100)
	if err != nil || len(failed) != 2 {
		t.Fatalf("failed queue: %v %v", failed, err)
	}
	if n := len(m.Requests("POST /v1/customers/")); n != 0 {
		t.Fatalf("%d balance transactions reached stripe-mock while it was down", n)
	}

	if err := m.StartMock(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		for range 2 {
			if st, b := s.do("POST", "/rewards/"+id+"/fulfill", nil); st != 200 || b["status"] != "fulfilled" {
				t.Fatalf("fulfil after the outage: %d %v", st, b)
			}
		}
	}
	credits := m.Requests("POST /v1/customers/cus_Ana123/balance_transactions")
	if len(credits) != 2 || credits[0].IdempotencyKey != ids[0] || credits[1].IdempotencyKey != ids[1] {
		t.Fatalf("balance transactions that reached stripe-mock: %+v, want one per reward", credits)
	}
}

// TestStripeRewardWithoutAStripeCustomerFailsUntilTheCustomerIsLinked: no stripeCustomerId →
// failed no_stripe_customer (nothing sent to Stripe); set it, retry → credited.
func TestStripeRewardWithoutAStripeCustomerFailsUntilTheCustomerIsLinked(t *testing.T) {
	s := newStack(t)
	m := withStripe(t, s)
	code := s.setup(stripeProgram())
	refer(s, code, "bo")
	convert(s, "order-1", "bo", "purchase", 5000)
	id := rewardOf(t, s, "ana", "order-1")["rewardId"].(string)
	if st, b := s.do("POST", "/rewards/"+id+"/fulfill", nil); st != 422 || errCode(b) != "no_stripe_customer" {
		t.Fatalf("fulfil without a Stripe customer: %d %v", st, b)
	}
	if n := len(m.Requests("POST /v1/customers/")); n != 0 {
		t.Fatalf("%d requests to Stripe without a customer", n)
	}
	if st, b := s.do("PUT", "/customers/ana", map[string]any{"email": "ana@example.com", "stripeCustomerId": "cus_Ana123"}); st != 200 {
		t.Fatalf("link: %d %v", st, b)
	}
	if st, b := s.do("POST", "/rewards/"+id+"/fulfill", nil); st != 200 || path(b, "fulfilment", "reference") == "" {
		t.Fatalf("retry: %d %v", st, b)
	}
	if st, b := s.do("PUT", "/customers/ana", map[string]any{"stripeCustomerId": "acct_123"}); st != 400 || errField(b) != "stripeCustomerId" {
		t.Fatalf("a malformed Stripe customer id: %d %v", st, b)
	}
}
