package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tests named for the behaviours of the rules-and-edges issue, one per item, through the HTTP
// handlers on minidyn.

func purchase(s *stack, eventID, referee string) (int, map[string]any) {
	return convert(s, eventID, referee, "purchase", 5000)
}

func rewardsOf(s *stack, customer string) []any {
	_, b := s.do("GET", "/customers/"+customer+"/rewards", nil)
	list, _ := b["rewards"].([]any)
	return list
}

// Item 1.
func TestPausedArchivedAndEndedProgramsStopPayingConversions(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(p map[string]any)
	}{
		{"paused", func(p map[string]any) { p["status"] = "paused" }},
		{"archived", func(p map[string]any) { p["status"] = "archived" }},
		{"ended", func(p map[string]any) { p["endsAt"] = "2026-11-20T12:01:00Z" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStack(t)
			code := s.setup(tieredProgram())
			if st, b := refer(s, code, "bo"); st != 201 {
				t.Fatalf("refer: %d %v", st, b)
			}
			p := tieredProgram()
			c.change(p)
			if st, b := s.do("PUT", "/programs/p1", p); st != 200 {
				t.Fatalf("change program: %d %v", st, b)
			}
			s.advance(5 * time.Minute)
			if st, b := purchase(s, "o-1", "bo"); st != 422 || errCode(b) != "program_inactive" {
				t.Fatalf("conversion after the program stopped: %d %v", st, b)
			}
			if n := len(rewardsOf(s, "ana")); n != 0 {
				t.Fatalf("%d rewards paid by a stopped program", n)
			}
		})
	}
	t.Run("honorReferralsDays keeps paying referees referred before", func(t *testing.T) {
		s := newStack(t)
		p := tieredProgram()
		p["honorReferralsDays"] = 7
		code := s.setup(p)
		refer(s, code, "bo")
		refer(s, code, "cy")
		p["status"] = "paused"
		s.advance(time.Hour)
		if st, b := s.do("PUT", "/programs/p1", p); st != 200 || b["endedAt"] == nil {
			t.Fatalf("pause: %d %v", st, b)
		}
		s.advance(6 * 24 * time.Hour)
		if st, b := purchase(s, "o-1", "bo"); st != 201 {
			t.Fatalf("within the honour period: %d %v", st, b)
		}
		s.advance(2 * 24 * time.Hour)
		if st, b := purchase(s, "o-2", "cy"); st != 422 || errCode(b) != "program_inactive" {
			t.Fatalf("after the honour period: %d %v", st, b)
		}
	})
}

// Item 2.
func TestConversionBeforeItsReferralIsRefused(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	refer(s, code, "bo")
	st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "o-2001", "refereeId": "bo", "milestone": "purchase",
		"occurredAt": "2001-06-01T10:00:00Z", "amount": map[string]any{"amount": 5000, "currency": "USD"}})
	if st != 422 || errCode(b) != "conversion_before_referral" {
		t.Fatalf("a 2001 purchase for a referral made today: %d %v", st, b)
	}
	st, b = s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "o-future", "refereeId": "bo", "milestone": "purchase",
		"occurredAt": "2026-11-20T13:00:00Z"})
	if st != 400 || errCode(b) != "invalid_field" || errField(b) != "occurredAt" {
		t.Fatalf("a purchase an hour in the future: %d %v", st, b)
	}
	if n := len(rewardsOf(s, "ana")); n != 0 {
		t.Fatalf("%d rewards paid", n)
	}
}

// Item 3: the numbers. Six referees buy, two are refunded: four stand. The 7th purchase
// is the 5th standing (tier 1), and a refunded referee who buys again is the 6th (tier 2).
func TestReversedConversionsStopCountingTowardTiers(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	for i := 1; i <= 7; i++ {
		refer(s, code, fmt.Sprintf("f%d", i))
	}
	for i := 1; i <= 6; i++ {
		if st, b := purchase(s, fmt.Sprintf("o-%d", i), fmt.Sprintf("f%d", i)); st != 201 {
			t.Fatalf("purchase %d: %d %v", i, st, b)
		}
	}
	for _, e := range []string{"o-2", "o-4"} {
		if st, b := s.doAs("server", "POST", "/conversions/"+e+"/reverse", nil); st != 200 {
			t.Fatalf("reverse %s: %d %v", e, st, b)
		}
	}
	reason := func(b map[string]any) string {
		d := b["conversion"].(map[string]any)["decisions"].([]any)[0].(map[string]any)
		return d["reason"].(string)
	}
	st, b := purchase(s, "o-7", "f7")
	if st != 201 || reason(b) != "tier 1 of 2 (referral 5)" {
		t.Fatalf("7th purchase with 5 standing: %d %v", st, reason(b))
	}
	st, b = purchase(s, "o-2b", "f2")
	if st != 201 || reason(b) != "tier 2 of 2 (referral 6)" || len(b["rewards"].([]any)) != 1 {
		t.Fatalf("a refunded referee buying again: %d %v", st, b)
	}
	_, ref := s.do("GET", "/customers/ana/referrals", nil)
	for _, r := range ref["referrals"].([]any) {
		r := r.(map[string]any)
		if r["refereeId"] == "f4" && r["stage"] != "" {
			t.Fatalf("a refunded referee's stage is still %v", r["stage"])
		}
	}
}

// Item 4.
func TestCheckoutWithAnotherAdvocatesCodeIsRefused(t *testing.T) {
	s := newStack(t)
	anaCode := s.setup(tieredProgram())
	s.do("PUT", "/customers/bob", map[string]any{"email": "bob@example.com", "name": "Bob"})
	_, bc := s.do("POST", "/programs/p1/codes", map[string]any{"customerId": "bob"})
	refer(s, anaCode, "carl")
	st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "o-1", "code": bc["code"], "milestone": "purchase",
		"referee": map[string]any{"id": "carl"}, "amount": map[string]any{"amount": 5000, "currency": "USD"}})
	if st != 409 || errCode(b) != "already_referred" {
		t.Fatalf("checkout with Bob's code for Alice's referee: %d %v", st, b)
	}
	if n := len(rewardsOf(s, "ana")) + len(rewardsOf(s, "bob")) + len(rewardsOf(s, "carl")); n != 0 {
		t.Fatalf("%d rewards paid", n)
	}
	// With the advocate's own code the checkout proceeds.
	if st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "o-2", "code": anaCode, "milestone": "purchase",
		"referee": map[string]any{"id": "carl"}, "amount": map[string]any{"amount": 5000, "currency": "USD"}}); st != 201 {
		t.Fatalf("checkout with the same advocate's code: %d %v", st, b)
	}
}

// Item 5.
func TestTheSameMailboxUnderNewRefereeIdsIsReferredOnce(t *testing.T) {
	s := newStack(t)
	p := tieredProgram()
	p["blockedEmailDomains"] = []string{"mailinator.com"}
	code := s.setup(p)
	first := map[string]any{"code": code, "referee": map[string]any{"id": "carol", "email": "carol.jones@gmail.com"}}
	if st, b := s.doAs("server", "POST", "/referrals", first); st != 201 {
		t.Fatalf("first: %d %v", st, b)
	}
	for i, email := range []string{"carol.jones@gmail.com", "CarolJones+2@googlemail.com", "c.a.r.o.l.jones@gmail.com"} {
		id := fmt.Sprintf("carol%d", i+3)
		st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": id, "email": email}})
		if st != 409 || errCode(b) != "already_referred" {
			t.Fatalf("%s as %s: %d %v", email, id, st, b)
		}
	}
	// A +tag is stripped for every domain, not only Gmail.
	s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "dan", "email": "dan@shop.example"}})
	if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "dan2", "email": "dan+x@shop.example"}}); st != 409 {
		t.Fatalf("a +tag on another domain: %d %v", st, b)
	}
	if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "eve", "email": "eve@mailinator.com"}}); st != 422 || errCode(b) != "email_domain_blocked" {
		t.Fatalf("a blocked domain: %d %v", st, b)
	}
}

// Item 6.
func TestReferralNeverOverwritesAStoredCustomer(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	s.do("PUT", "/customers/bo", map[string]any{"email": "bo.chen@example.com", "name": "Bo Chen", "locale": "th"})
	st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code,
		"referee": map[string]any{"id": "bo", "email": "someone.else@example.com", "name": "Mallory", "locale": "en"}})
	if st != 201 {
		t.Fatalf("refer: %d %v", st, b)
	}
	_, c := s.do("GET", "/customers/bo", nil)
	if c["email"] != "bo.chen@example.com" || c["name"] != "Bo Chen" || c["locale"] != "th" {
		t.Fatalf("the stored customer was overwritten: %v", c)
	}
	// Empty fields are filled.
	s.do("PUT", "/customers/cy", map[string]any{"email": "cy@example.com"})
	s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "cy", "name": "Cy Park", "locale": "ms"}})
	if _, c := s.do("GET", "/customers/cy", nil); c["email"] != "cy@example.com" || c["name"] != "Cy Park" || c["locale"] != "en" {
		t.Fatalf("cy: %v", c)
	}
}

// Item 9: 80 conversions of one advocate at once, each with a short deadline, through the real
// handler: every answer is 201, 200 or 503 with Retry-After (never a 500 or a timeout), the
// 503s come at least a second before the deadline, and what committed is exactly counted.
func TestContendedConversionsUnderAShortDeadlineAnswer503NeverATimeout(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	const n = 80
	for i := 0; i < n; i++ {
		refer(s, code, fmt.Sprintf("f%d", i))
	}
	routers := s.containers(4)
	const deadline = 4 * time.Second
	statuses := make([]int, n)
	early := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			dl, _ := ctx.Deadline()
			body, _ := json.Marshal(map[string]any{"eventId": fmt.Sprintf("o-%d", i), "refereeId": fmt.Sprintf("f%d", i),
				"milestone": "purchase", "amount": map[string]any{"amount": 5000, "currency": "USD"}})
			resp, err := routers[i%len(routers)].Handle(ctx, event("POST /conversions", nil, "POST", "/conversions", string(body), "server"))
			early[i] = time.Until(dl)
			if err != nil {
				t.Errorf("conversion %d: handler error %v", i, err)
			}
			statuses[i] = resp.StatusCode
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Headers["Retry-After"] == "" {
				t.Errorf("conversion %d: 503 without Retry-After", i)
			}
		}(i)
	}
	wg.Wait()
	count := map[int]int{}
	for i, st := range statuses {
		count[st]++
		if st != 201 && st != 200 && st != 503 {
			t.Errorf("conversion %d answered %d", i, st)
		}
		if st == 503 && early[i] < time.Second {
			t.Errorf("conversion %d answered 503 only %v before its deadline", i, early[i])
		}
	}
	t.Logf("80 contended conversions, %v deadline: %d × 201, %d × 200, %d × 503, others %d", deadline,
		count[201], count[200], count[503], n-count[201]-count[200]-count[503])
	l := readLedger(t, s)
	if len(l.events) < count[201]+count[200] {
		t.Fatalf("%d events stored for %d successful answers", len(l.events), count[201]+count[200])
	}
	// Clients retry what got 503 with the same eventId: every conversion then counts once.
	for i, st := range statuses {
		if st == 503 {
			if st, b := purchase(s, fmt.Sprintf("o-%d", i), fmt.Sprintf("f%d", i)); st != 201 && st != 200 {
				t.Fatalf("retry of %d: %d %v", i, st, b)
			}
		}
	}
	l = readLedger(t, s)
	adv := l.standings["ana|p1"]
	counts, _ := adv["counts"].(map[string]any)
	if len(l.events) != n || fmt.Sprint(counts["purchase"]) != fmt.Sprint(n) {
		t.Fatalf("after retries: %d events, standing %v; want %d", len(l.events), adv["counts"], n)
	}
}

// Item 8.
func TestBadJSONIsRefusedWithTheFieldNamedAndNothingStored(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	cases := []struct {
		name, method, path, body string
		field                    string
	}{
		{"raw invalid UTF-8", "PUT", "/customers/zed", "{\"name\":\"Ann \xff\xfe Lee\"}", ""},
		{"a lone surrogate", "PUT", "/customers/zed", `{"name":"Ann \ud800 Lee"}`, ""},
		{"a lone low surrogate", "PUT", "/customers/zed", `{"name":"Ann \udc00 Lee"}`, ""},
		{"a duplicate key", "PUT", "/customers/zed", `{"name":"Ann","name":"Bob"}`, "name"},
		{"a duplicate nested key", "POST", "/referrals", `{"code":"` + code + `","referee":{"id":"zed","id":"zed2"}}`, "referee.id"},
		{"a number for a time", "PUT", "/customers/zed", `{"firstPurchaseAt":1700000000}`, "firstPurchaseAt"},
		{"a string for a number in a list", "PUT", "/programs/p2", `{"name":"x","currency":"USD","landingUrl":"https://x.example","milestones":["purchase"],` +
			`"advocateRewards":[{"milestone":"purchase","type":"fixed","kind":"cash","amount":"ten"}]}`, "advocateRewards[0].amount"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, b := s.do(c.method, c.path, c.body)
			msg, _ := b["error"].(map[string]any)["message"].(string)
			if st != 400 || errCode(b) != "invalid_request" || errField(b) != c.field {
				t.Fatalf("%d %v, want 400 invalid_request field %q", st, b, c.field)
			}
			for _, goType := range []string{"Time.UnmarshalJSON", "int64", "Go value", "json:"} {
				if strings.Contains(msg, goType) {
					t.Fatalf("the message leaks a Go type: %q", msg)
				}
			}
		})
	}
	if st, _ := s.do("GET", "/customers/zed", nil); st != 404 {
		t.Fatalf("a refused body stored a customer: %d", st)
	}
	// A pair of surrogates is a valid character.
	if st, b := s.do("PUT", "/customers/zed", `{"name":"Ann \ud83d\ude00 Lee"}`); st != 201 || b["name"] != "Ann 😀 Lee" {
		t.Fatalf("a surrogate pair: %d %v", st, b)
	}
	// The reversal reason limit is the documented 200 characters.
	refer(s, code, "bo")
	purchase(s, "o-1", "bo")
	if st, b := s.doAs("server", "POST", "/conversions/o-1/reverse", map[string]any{"reason": strings.Repeat("r", 201)}); st != 400 || errField(b) != "reason" {
		t.Fatalf("a 201-character reason: %d %v", st, b)
	}
	// The share URL keeps ?ref= before a fragment; a taken vanity code names its field.
	p := tieredProgram()
	p["landingUrl"] = "https://shop.example.com/invite#top"
	s.do("PUT", "/programs/p3", p)
	if _, c := s.do("POST", "/programs/p3/codes", map[string]any{"customerId": "ana", "code": "ANA-TOP"}); c["shareUrl"] != "https://shop.example.com/invite?ref=ANA-TOP#top" {
		t.Fatalf("share URL %v", c["shareUrl"])
	}
	s.do("PUT", "/customers/bea", map[string]any{"name": "Bea"})
	if st, b := s.do("POST", "/programs/p3/codes", map[string]any{"customerId": "bea", "code": "ANA-TOP"}); st != 409 || errCode(b) != "code_taken" || errField(b) != "code" {
		t.Fatalf("a taken vanity code: %d %v", st, b)
	}
}
