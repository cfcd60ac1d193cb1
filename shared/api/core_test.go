package api

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func refer(s *stack, code, referee string) (int, map[string]any) {
	return s.do("POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": referee, "email": referee + "@example.com", "name": strings.ToUpper(referee[:1]) + referee[1:] + " Smith"}})
}

func convert(s *stack, eventID, referee, milestone string, amount int64) (int, map[string]any) {
	body := map[string]any{"eventId": eventID, "refereeId": referee, "milestone": milestone}
	if amount > 0 {
		body["amount"] = map[string]any{"amount": amount, "currency": "USD"}
	}
	return s.doAs("server", "POST", "/conversions", body)
}

// TestConcurrentConversionsForOneAdvocatePayExactlyTheTierTable is the hot-advocate invariant:
// 30 referees of one advocate convert at once on a $10×5-then-$25 program; after client
// retries on 503 every conversion is recorded once and the rewards are exactly 5×1000 and
// 25×2500.
func TestConcurrentConversionsForOneAdvocatePayExactlyTheTierTable(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	const n = 30
	for i := 0; i < n; i++ {
		if st, b := refer(s, code, fmt.Sprintf("friend%02d", i)); st != 201 {
			t.Fatalf("referral %d: %d %v", i, st, b)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, n)
	retries := make(chan int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for attempt := 0; attempt < 20; attempt++ {
				st, b := convert(s, fmt.Sprintf("order-%02d", i), fmt.Sprintf("friend%02d", i), "purchase", 5000)
				switch {
				case st == 201 || st == 200:
					retries <- attempt
					return
				case st == 503:
					time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
				default:
					errs <- fmt.Sprintf("conversion %d: %d %v", i, st, b)
					return
				}
			}
			errs <- fmt.Sprintf("conversion %d: still 503 after 20 client retries", i)
		}(i)
	}
	wg.Wait()
	close(errs)
	close(retries)
	for e := range errs {
		t.Error(e)
	}
	clientRetries := 0
	for r := range retries {
		clientRetries += r
	}
	t.Logf("client retries after 503: %d", clientRetries)

	st, list := s.do("GET", "/customers/ana/rewards?limit=100", nil)
	if st != 200 {
		t.Fatalf("rewards: %d %v", st, list)
	}
	amounts := map[float64]int{}
	for _, r := range list["rewards"].([]any) {
		amounts[r.(map[string]any)["value"].(map[string]any)["amount"].(float64)]++
	}
	if want := map[float64]int{1000: 5, 2500: 25}; !reflect.DeepEqual(amounts, want) {
		t.Fatalf("reward amounts = %v, want %v", amounts, want)
	}
	if got := list["totals"].(map[string]any)["USD"].(map[string]any)["pending"]; got != float64(5*1000+25*2500) {
		t.Fatalf("pending total = %v", got)
	}
}

func TestReplayReturnsTheOriginalResultAndADifferentPayloadConflicts(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	refer(s, code, "bo")
	first := s.raw("server", "POST", "/conversions", map[string]any{"eventId": "order-1", "refereeId": "bo", "milestone": "purchase", "amount": map[string]any{"amount": 5000, "currency": "USD"}})
	if first.StatusCode != 201 {
		t.Fatalf("first: %d %s", first.StatusCode, first.Body)
	}
	s.advance(time.Hour)
	again := s.raw("server", "POST", "/conversions", map[string]any{"eventId": "order-1", "refereeId": "bo", "milestone": "purchase", "amount": map[string]any{"amount": 5000, "currency": "USD"}})
	if again.StatusCode != 200 || again.Body != first.Body {
		t.Fatalf("replay: %d\n%s\nwant the original body\n%s", again.StatusCode, again.Body, first.Body)
	}
	st, b := convert(s, "order-1", "bo", "purchase", 7000)
	if st != 409 || errCode(b) != "idempotency_conflict" {
		t.Fatalf("different payload: %d %v", st, b)
	}
	_, list := s.do("GET", "/customers/ana/rewards", nil)
	if n := len(list["rewards"].([]any)); n != 1 {
		t.Fatalf("replays created %d rewards, want 1", n)
	}
}

func TestReversalFlipsRewardsOnceAndIsIdempotent(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	refer(s, code, "bo")
	convert(s, "order-1", "bo", "signup", 0)
	convert(s, "order-2", "bo", "purchase", 5000)
	st, first := s.doAs("server", "POST", "/conversions/order-2/reverse", nil)
	if st != 200 {
		t.Fatalf("reverse: %d %v", st, first)
	}
	for _, r := range first["rewards"].([]any) {
		if r.(map[string]any)["status"] != "reversed" {
			t.Fatalf("reward not reversed: %v", r)
		}
	}
	s.advance(time.Minute)
	st, second := s.doAs("server", "POST", "/conversions/order-2/reverse", nil)
	if st != 200 || !reflect.DeepEqual(first, second) {
		t.Fatalf("second reversal: %d %v\nwant %v", st, second, first)
	}
	_, list := s.do("GET", "/customers/ana/rewards", nil)
	usd := list["totals"].(map[string]any)["USD"].(map[string]any)
	if usd["reversed"] != float64(1000) || usd["pending"] != float64(0) {
		t.Fatalf("ana totals after reversal: %v", usd)
	}
	_, bo := s.do("GET", "/customers/bo/rewards", nil)
	if bo["totals"].(map[string]any)["USD"].(map[string]any)["pending"] != float64(1000) {
		t.Fatalf("the signup reward of another conversion must stay: %v", bo)
	}
	if st, b := s.doAs("server", "POST", "/conversions/nope/reverse", nil); st != 404 || errCode(b) != "conversion_not_found" {
		t.Fatalf("unknown event: %d %v", st, b)
	}
}

func TestEachMilestoneOfAReferreeIsRewardedOnce(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	refer(s, code, "bo")
	if st, b := convert(s, "order-1", "bo", "purchase", 5000); st != 201 || len(b["rewards"].([]any)) != 1 {
		t.Fatalf("first purchase: %d %v", st, b)
	}
	st, b := convert(s, "order-2", "bo", "purchase", 5000)
	if st != 201 || len(b["rewards"].([]any)) != 0 {
		t.Fatalf("second purchase: %d %v", st, b)
	}
	d := b["conversion"].(map[string]any)["decisions"].([]any)[0].(map[string]any)
	if d["outcome"] != "skipped" || !strings.Contains(d["reason"].(string), "already") {
		t.Fatalf("decision should explain: %v", d)
	}
}

// TestErrorCodes drives every error code the OpenAPI file lists for the core routes.
func TestErrorCodes(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	refer(s, code, "bo")

	newCustomers := tieredProgram()
	newCustomers["newCustomersOnly"] = true
	newCustomers["codes"] = map[string]any{"prefix": "NEW", "maxUses": 1}
	s.do("PUT", "/programs/newonly", newCustomers)
	_, c2 := s.do("POST", "/programs/newonly/codes", map[string]any{"customerId": "ana"})
	code2 := c2["code"].(string)
	s.do("PUT", "/customers/buyer", map[string]any{"email": "buyer@example.com", "purchaseCount": 2})

	paused := tieredProgram()
	paused["status"] = "paused"
	s.do("PUT", "/programs/paused", tieredProgram())
	_, c3 := s.do("POST", "/programs/paused/codes", map[string]any{"customerId": "ana"})
	s.do("PUT", "/programs/paused", paused)

	windowed := tieredProgram()
	windowed["attributionWindowDays"] = 1
	s.do("PUT", "/programs/short", windowed)
	_, c4 := s.do("POST", "/programs/short/codes", map[string]any{"customerId": "ana"})
	refer(s, c4["code"].(string), "late")

	big := `{"code":"` + strings.Repeat("A", 70000) + `"}`
	cases := []struct {
		name, scope, method, path string
		body                      any
		status                    int
		code, field               string
	}{
		{"unknown code", "server", "POST", "/referrals", map[string]any{"code": "NOPE-NOPE", "referee": map[string]any{"id": "x"}}, 404, "code_not_found", ""},
		{"public check of unknown code", "", "GET", "/codes/NOPE1234", nil, 404, "code_not_found", ""},
		{"inactive program", "server", "POST", "/referrals", map[string]any{"code": c3["code"], "referee": map[string]any{"id": "x"}}, 422, "program_inactive", ""},
		{"self referral by id", "server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "ana"}}, 422, "self_referral", ""},
		{"self referral by gmail dots and tag", "server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "ana2", "email": " analima+friends@GoogleMail.com "}}, 400, "invalid_request", "referee.email"},
		{"self referral by normalized email", "server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "ana2", "email": "a.n.a.lima+friends@googlemail.com"}}, 422, "self_referral", ""},
		{"already referred", "server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "bo"}}, 409, "already_referred", ""},
		{"not a new customer", "server", "POST", "/referrals", map[string]any{"code": code2, "referee": map[string]any{"id": "buyer"}}, 422, "not_new_customer", ""},
		{"not referred", "server", "POST", "/conversions", map[string]any{"eventId": "e1", "refereeId": "stranger", "milestone": "purchase", "programId": "p1"}, 422, "not_referred", ""},
		{"unknown milestone", "server", "POST", "/conversions", map[string]any{"eventId": "e1", "refereeId": "bo", "milestone": "dance", "programId": "p1"}, 400, "invalid_request", "milestone"},
		{"wrong currency", "server", "POST", "/conversions", map[string]any{"eventId": "e1", "refereeId": "bo", "milestone": "purchase", "amount": map[string]any{"amount": 1, "currency": "EUR"}}, 400, "invalid_request", "amount.currency"},
		{"unknown field", "server", "POST", "/conversions", map[string]any{"eventId": "e1", "refereeId": "bo", "milestone": "purchase", "amount": map[string]any{"amount": 1, "currency": "USD", "cents": 1}}, 400, "invalid_request", "amount.cents"},
		{"overflowing amount", "server", "POST", "/conversions", `{"eventId":"e1","refereeId":"bo","milestone":"purchase","amount":{"amount":99999999999999999999,"currency":"USD"}}`, 400, "invalid_request", "amount.amount"},
		{"bad time", "server", "POST", "/conversions", `{"eventId":"e1","refereeId":"bo","milestone":"purchase","occurredAt":"yesterday"}`, 400, "invalid_request", "occurredAt"},
		{"body too large", "server", "POST", "/referrals", big, 413, "payload_too_large", ""},
		{"not JSON", "server", "POST", "/referrals", "{", 400, "invalid_request", ""},
		{"invalid program rule", "admin", "PUT", "/programs/bad", map[string]any{"name": "x", "currency": "USD", "landingUrl": "https://x.example", "milestones": []string{"purchase"}, "advocateRewards": []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": -5, "kind": "cash"}}}, 400, "invalid_request", "advocateRewards[0].amount"},
		{"unknown program field", "admin", "PUT", "/programs/bad", map[string]any{"name": "x", "advocateRewards": []any{map[string]any{"amout": 1}}}, 400, "invalid_request", "advocateRewards[0].amout"},
		{"read-only program field", "admin", "PUT", "/programs/bad", map[string]any{"name": "x", "programId": "y"}, 400, "invalid_request", "programId"},
		{"unknown program", "server", "GET", "/programs/nope", nil, 404, "program_not_found", ""},
		{"unknown customer", "server", "GET", "/customers/nope", nil, 404, "customer_not_found", ""},
		{"code for unknown customer", "server", "POST", "/programs/p1/codes", map[string]any{"customerId": "nope"}, 404, "customer_not_found", ""},
		{"vanity code taken", "server", "POST", "/programs/newonly/codes", map[string]any{"customerId": "bo", "code": code}, 409, "code_taken", "code"},
		{"bad vanity code", "server", "POST", "/programs/p1/codes", map[string]any{"customerId": "bo", "code": "a b"}, 400, "invalid_request", "code"},
		{"bad id", "server", "GET", "/customers/" + strings.Repeat("x", 129), nil, 400, "invalid_request", "customerId"},
		{"bad limit", "server", "GET", "/customers/ana/rewards?limit=0", nil, 400, "invalid_request", "limit"},
		{"forged cursor", "server", "GET", "/customers/ana/referrals?cursor=abc", nil, 400, "invalid_request", "cursor"},
		{"unknown reward", "admin", "POST", "/rewards/NOPE/fulfill", map[string]any{"reference": "GC-1"}, 404, "reward_not_found", ""},
		{"unknown field in a reversal", "server", "POST", "/conversions/order-x/reverse", map[string]any{"why": "refund"}, 400, "invalid_request", "why"},
		{"approval note that is not text", "admin", "POST", "/rewards/NOPE/approve", map[string]any{"note": 5}, 400, "invalid_request", "note"},
		{"no key", "", "GET", "/programs/p1", nil, 401, "unauthorized", ""},
		{"server key on admin route", "server", "PUT", "/programs/p1", tieredProgram(), 403, "forbidden", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, b := s.doAs(c.scope, c.method, c.path, c.body)
			if st != c.status || errCode(b) != c.code || errField(b) != c.field {
				t.Fatalf("%s %s = %d %v, want %d %s field %q", c.method, c.path, st, b, c.status, c.code, c.field)
			}
		})
	}

	// A code used up by its one allowed referral is gone for the next friend.
	if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code2, "referee": map[string]any{"id": "first"}}); st != 201 {
		t.Fatalf("first use: %d %v", st, b)
	}
	if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code2, "referee": map[string]any{"id": "second"}}); st != 410 || errCode(b) != "code_inactive" {
		t.Fatalf("used-up code: %d %v", st, b)
	}
	// already_referred carries the existing referral.
	_, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "bo"}})
	if d := b["error"].(map[string]any)["details"].(map[string]any); d["advocateId"] != "ana" || d["refereeId"] != "bo" {
		t.Fatalf("already_referred details: %v", b)
	}
	// Attribution window: a conversion two days after a one-day window.
	s.advance(48 * time.Hour)
	if st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "late-1", "refereeId": "late", "milestone": "purchase", "programId": "short"}); st != 422 || errCode(b) != "attribution_expired" {
		t.Fatalf("attribution window: %d %v", st, b)
	}
}

func TestRewardLifecycleHoldApproveFulfil(t *testing.T) {
	s := newStack(t)
	p := tieredProgram()
	p["limits"] = map[string]any{"maxConversionsPerAdvocatePerDay": 1}
	code := s.setup(p)
	refer(s, code, "bo")
	refer(s, code, "cy")
	_, first := convert(s, "o1", "bo", "purchase", 5000)
	_, second := convert(s, "o2", "cy", "purchase", 5000)
	held := first["rewards"].([]any)[0].(map[string]any)
	review := second["rewards"].([]any)[0].(map[string]any)
	if held["status"] != "pending" || review["status"] != "review" {
		t.Fatalf("statuses: %v / %v", held["status"], review["status"])
	}
	id := held["rewardId"].(string)
	if st, b := s.do("POST", "/rewards/"+id+"/fulfill", map[string]any{"reference": "GC-1"}); st != 409 || !strings.Contains(b["error"].(map[string]any)["message"].(string), "hold") {
		t.Fatalf("fulfil in hold: %d %v", st, b)
	}
	s.advance(15 * 24 * time.Hour)
	if st, b := s.do("POST", "/rewards/"+id+"/fulfill", map[string]any{"reference": "GC-1"}); st != 200 || b["status"] != "fulfilled" || b["reference"] != "GC-1" {
		t.Fatalf("fulfil: %d %v", st, b)
	}
	if st, _ := s.do("POST", "/rewards/"+id+"/fulfill", map[string]any{"reference": "GC-1"}); st != 200 {
		t.Fatalf("fulfil again with the same reference should answer the same: %d", st)
	}
	if st, b := s.do("POST", "/rewards/"+id+"/fulfill", map[string]any{"reference": "GC-2"}); st != 409 {
		t.Fatalf("fulfil with another reference: %d %v", st, b)
	}
	rid := review["rewardId"].(string)
	if st, b := s.do("POST", "/rewards/"+rid+"/fulfill", map[string]any{"reference": "GC-3"}); st != 409 {
		t.Fatalf("fulfil in review: %d %v", st, b)
	}
	if st, b := s.doAs("server", "POST", "/rewards/"+rid+"/approve", nil); st != 403 {
		t.Fatalf("approve with server key: %d %v", st, b)
	}
	if st, b := s.do("POST", "/rewards/"+rid+"/approve", nil); st != 200 || b["status"] != "approved" {
		t.Fatalf("approve: %d %v", st, b)
	}
	if st, b := s.do("POST", "/rewards/"+id+"/approve", nil); st != 409 {
		t.Fatalf("approve a fulfilled reward: %d %v", st, b)
	}
	// Past its expiry an unfulfilled reward is expired, and the refusal records it.
	s.advance(400 * 24 * time.Hour)
	if st, b := s.do("POST", "/rewards/"+rid+"/fulfill", map[string]any{"reference": "GC-3"}); st != 410 || errCode(b) != "reward_expired" {
		t.Fatalf("fulfil expired: %d %v", st, b)
	}
	_, list := s.do("GET", "/customers/ana/rewards", nil)
	usd := list["totals"].(map[string]any)["USD"].(map[string]any)
	if usd["fulfilled"] != float64(1000) || usd["expired"] != float64(1000) {
		t.Fatalf("totals: %v", usd)
	}
}

func TestCodesAreOnePerAdvocateAndCaseInsensitive(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	if len(code) < 8 {
		t.Fatalf("code %q is shorter than 8 characters", code)
	}
	st, again := s.do("POST", "/programs/p1/codes", map[string]any{"customerId": "ana"})
	if st != 200 || again["code"] != code {
		t.Fatalf("second create: %d %v", st, again)
	}
	st, pub := s.doAs("", "GET", "/codes/"+strings.ToLower(code), nil)
	if st != 200 || pub["advocateFirstName"] != "Ana" || pub["status"] != "active" || pub["code"] != code {
		t.Fatalf("public check: %d %v", st, pub)
	}
	if _, leaked := pub["customerId"]; leaked {
		t.Fatalf("public check leaks the advocate id: %v", pub)
	}
	resp := s.raw("", "GET", "/r/"+strings.ToLower(code), nil)
	if resp.StatusCode != 302 || resp.Headers["Location"] != "https://shop.example.com/invite?ref="+code {
		t.Fatalf("redirect: %d %v", resp.StatusCode, resp.Headers)
	}
	s.do("PUT", "/customers/cy", map[string]any{"name": "Cy"})
	st, v := s.doAs("server", "POST", "/programs/p1/codes", map[string]any{"customerId": "cy", "code": "cy-rocks"})
	if st != 201 || v["code"] != "CY-ROCKS" {
		t.Fatalf("vanity: %d %v", st, v)
	}
	// Concurrent creates for one advocate converge on one code.
	s.do("PUT", "/customers/dee", map[string]any{"name": "Dee"})
	var wg sync.WaitGroup
	codes := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, b := s.doAs("server", "POST", "/programs/p1/codes", map[string]any{"customerId": "dee"})
			codes <- fmt.Sprint(b["code"])
		}()
	}
	wg.Wait()
	close(codes)
	seen := map[string]bool{}
	for c := range codes {
		seen[c] = true
	}
	if len(seen) != 1 {
		t.Fatalf("concurrent creates gave %d codes: %v", len(seen), seen)
	}
}

func TestCheckoutAttributesAndConvertsInOneCall(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "chk-1", "code": strings.ToLower(code),
		"referee": map[string]any{"id": "newbie", "email": "newbie@example.com"}, "milestone": "signup"})
	if st != 201 || b["conversion"].(map[string]any)["advocateId"] != "ana" || len(b["rewards"].([]any)) != 1 {
		t.Fatalf("checkout conversion: %d %v", st, b)
	}
	_, refs := s.do("GET", "/customers/ana/referrals", nil)
	r := refs["referrals"].([]any)[0].(map[string]any)
	if r["refereeId"] != "newbie" || r["channel"] != "checkout" || r["stage"] != "signup" {
		t.Fatalf("referral: %v", r)
	}
}

func TestListsPageWithOpaqueCursors(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	for i := 0; i < 5; i++ {
		refer(s, code, fmt.Sprintf("f%d", i))
		s.advance(time.Second)
		convert(s, fmt.Sprintf("o%d", i), fmt.Sprintf("f%d", i), "purchase", 5000)
	}
	for _, path := range []string{"/customers/ana/referrals", "/customers/ana/rewards"} {
		seen := 0
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			target := path + "?limit=2"
			if cursor != "" {
				target += "&cursor=" + cursor
			}
			st, b := s.doAs("server", "GET", target, nil)
			if st != 200 {
				t.Fatalf("%s: %d %v", target, st, b)
			}
			for k, v := range b {
				if l, ok := v.([]any); ok && k != "nextCursor" {
					seen += len(l)
				}
			}
			next, _ := b["nextCursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if seen != 5 {
			t.Fatalf("%s: paged through %d items, want 5", path, seen)
		}
	}
}

// A program without a landing page but with a shop: its share link is the hosted friend page
// on the API's domain, which /r/{code} serves (no redirect to a page the shop does not have),
// and the page's button leads to the shop with the code. With both missing, the program is
// refused, naming landingUrl.
func TestAProgramWithoutALandingPageSharesTheHostedFriendPage(t *testing.T) {
	s := newStack(t)
	program := tieredProgram()
	delete(program, "landingUrl")
	if st, b := s.do("PUT", "/programs/p1", program); st != 400 || errField(b) != "landingUrl" || !strings.Contains(b["error"].(map[string]any)["message"].(string), "shopUrl") {
		t.Fatalf("neither URL: %d %v", st, b)
	}
	program["shopUrl"] = "https://shop.example.com/store"
	code := s.setup(program)
	req := event("POST /programs/{programId}/codes", map[string]string{"programId": "p1"}, "POST", "/programs/p1/codes", `{"customerId":"ana"}`, "admin")
	req.RequestContext.DomainName = "api.example.com"
	resp, err := s.routers["POST /programs/{programId}/codes"].Handle(context.Background(), req)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"shareUrl":"https://api.example.com/r/`+code+`"`) {
		t.Fatalf("the code's share link: %d %v %s", resp.StatusCode, err, resp.Body)
	}
	page := s.raw("", "GET", "/r/"+code, nil)
	if page.StatusCode != 200 || !strings.Contains(page.Body, "https://shop.example.com/store?ref="+code) || !strings.Contains(page.Body, "Ana") {
		t.Fatalf("the share link: %d %v\n%s", page.StatusCode, page.Headers, page.Body)
	}
}
