package api

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/referral/referrals/shared/store"
)

// askProgram is tieredProgram with the email settings of an ask campaign.
func askProgram(sendOnCodeCreated bool) map[string]any {
	p := tieredProgram()
	p["emails"] = map[string]any{"sendOnCodeCreated": sendOnCodeCreated, "thankAdvocates": true, "senderName": "Ana at Acme",
		"askCooldownDays": 30}
	return p
}

func (s *stack) putCustomer(id string, body map[string]any) {
	s.t.Helper()
	if st, b := s.do("PUT", "/customers/"+id, body); st != 201 && st != 200 {
		s.t.Fatalf("PUT customer %s: %d %v", id, st, b)
	}
}

func ask(s *stack, customer, template string) (int, map[string]any) {
	body := map[string]any{"customerId": customer, "programId": "p1"}
	if template != "" {
		body["template"] = template
	}
	return s.doAs("server", "POST", "/asks", body)
}

func TestAutoAskTemplateFollowsTheCustomer(t *testing.T) {
	s := newStack(t)
	s.setup(askProgram(false)) // ana, current, with a code
	s.putCustomer("bo", map[string]any{"email": "bo@example.com", "name": "Bo", "segment": "current"})
	s.putCustomer("cy", map[string]any{"email": "cy@example.com", "name": "Cy", "segment": "past"})
	s.putCustomer("di", map[string]any{"email": "di@example.com", "name": "Di"})
	tests := []struct {
		customer, template, want string
	}{
		{"ana", "", "ask-promo-code"},                // has a code
		{"bo", "auto", "ask-current"},                // current, no code
		{"cy", "", "ask-past-client"},                // past client
		{"di", "ask-past-client", "ask-past-client"}, // an explicit template is kept
	}
	for _, tt := range tests {
		st, b := ask(s, tt.customer, tt.template)
		if st != 202 || b["template"] != tt.want || b["customerId"] != tt.customer || b["programId"] != "p1" || b["askId"] == "" {
			t.Errorf("ask %s (%q): %d %v, want 202 with template %s", tt.customer, tt.template, st, b, tt.want)
			continue
		}
		a, found, err := s.store.GetAsk(t.Context(), b["askId"].(string))
		if err != nil || !found || a.Template != tt.want || a.CustomerID != tt.customer {
			t.Errorf("stored ask %s: %+v %v %v", tt.customer, a, found, err)
		}
	}
}

// TestEveryAskCreatesTheCodeItNeeds: an ask to a customer without a code makes one.
func TestEveryAskCreatesTheCodeItNeeds(t *testing.T) {
	for _, tmpl := range []string{"ask-current", "ask-past-client"} {
		s := newStack(t)
		if st, b := s.do("PUT", "/programs/p1", askProgram(true)); st != 201 {
			t.Fatalf("program: %d %v", st, b)
		}
		s.putCustomer("bo", map[string]any{"email": "bo@example.com", "name": "Bo"})
		st, b := ask(s, "bo", tmpl)
		if st != 202 || b["template"] != tmpl {
			t.Fatalf("ask: %d %v", st, b)
		}
		a, _, err := s.store.GetAsk(t.Context(), b["askId"].(string))
		if err != nil || a.Code == "" || !a.CodeCreated {
			t.Fatalf("%s: ask without a new code: %+v %v", tmpl, a, err)
		}
	}
}

// TestAskToASuppressedAddressIsRefused: an address that bounced or complained gets no ask.
func TestAskToASuppressedAddressIsRefused(t *testing.T) {
	s := newStack(t)
	s.setup(askProgram(false))
	if err := s.store.Suppress(t.Context(), "ana.lima@GMAIL.com", store.Suppression{Reason: store.SuppressedBounce, At: s.store.Now()}); err != nil {
		t.Fatal(err)
	}
	st, b := ask(s, "ana", "")
	if st != 422 || errCode(b) != "email_suppressed" {
		t.Fatalf("ask to a suppressed address: %d %v", st, b)
	}
}

func TestPromoCodeAskCreatesTheCodeItNeeds(t *testing.T) {
	for _, sendOnCodeCreated := range []bool{false, true} {
		t.Run(fmt.Sprintf("sendOnCodeCreated=%v", sendOnCodeCreated), func(t *testing.T) {
			s := newStack(t)
			if st, b := s.do("PUT", "/programs/p1", askProgram(sendOnCodeCreated)); st != 201 {
				t.Fatalf("program: %d %v", st, b)
			}
			s.putCustomer("bo", map[string]any{"email": "bo@example.com", "name": "Bo"})
			st, b := ask(s, "bo", "ask-promo-code")
			if st != 202 || b["template"] != "ask-promo-code" {
				t.Fatalf("ask: %d %v", st, b)
			}
			a, _, err := s.store.GetAsk(t.Context(), b["askId"].(string))
			if err != nil || a.Code == "" {
				t.Fatalf("ask without its code: %+v %v", a, err)
			}
			// The code exists now, and is the advocate's (asking for it again returns it).
			st, code := s.doAs("server", "POST", "/programs/p1/codes", map[string]any{"customerId": "bo"})
			if st != 200 || code["code"] != a.Code {
				t.Fatalf("code after the ask: %d %v, want 200 %s", st, code, a.Code)
			}
			// The ask made the code: its email announces it, the code's insert sends none.
			if !a.CodeCreated || a.ViaCode {
				t.Errorf("codeCreated = %v, viaCode = %v; want the ask to send the email", a.CodeCreated, a.ViaCode)
			}
		})
	}
}

func TestAskInsideTheCooldownIsRateLimited(t *testing.T) {
	s := newStack(t)
	s.setup(askProgram(false))
	if st, b := ask(s, "ana", ""); st != 202 {
		t.Fatalf("first ask: %d %v", st, b)
	}
	s.advance(29 * 24 * time.Hour)
	resp := s.raw("server", "POST", "/asks", map[string]any{"customerId": "ana", "programId": "p1", "template": "ask-current"})
	if resp.StatusCode != 429 {
		t.Fatalf("ask after 29 days: %d %s", resp.StatusCode, resp.Body)
	}
	if ra, err := strconv.Atoi(resp.Headers["Retry-After"]); err != nil || ra != 24*3600 {
		t.Errorf("Retry-After %q, want %d (one day left)", resp.Headers["Retry-After"], 24*3600)
	}
	_, b := s.doAs("server", "POST", "/asks", map[string]any{"customerId": "ana", "programId": "p1"})
	if errCode(b) != "rate_limited" {
		t.Errorf("error %v, want rate_limited", b)
	}
	s.advance(24 * time.Hour)
	if st, b := ask(s, "ana", ""); st != 202 {
		t.Fatalf("ask after 30 days: %d %v", st, b)
	}
}

func TestConcurrentAsksAcceptOne(t *testing.T) {
	s := newStack(t)
	s.setup(askProgram(false))
	const n = 5
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = ask(s, "ana", "")
		}()
	}
	wg.Wait()
	accepted := 0
	for _, st := range statuses {
		switch st {
		case 202:
			accepted++
		case 429:
		default:
			t.Errorf("status %d, want 202 or 429", st)
		}
	}
	if accepted != 1 {
		t.Errorf("%d of %d concurrent asks accepted, want 1: %v", accepted, n, statuses)
	}
}

func TestAskRefusals(t *testing.T) {
	s := newStack(t)
	s.setup(askProgram(false))
	s.putCustomer("out", map[string]any{"email": "out@example.com", "name": "Out", "marketingOptOut": true})
	s.putCustomer("nomail", map[string]any{"name": "No Mail"})
	tests := []struct {
		name   string
		scope  string
		body   any
		status int
		code   string
		field  string
	}{
		{"opted out", "server", map[string]any{"customerId": "out", "programId": "p1"}, 422, "opted_out", ""},
		{"no email address", "server", map[string]any{"customerId": "nomail", "programId": "p1"}, 422, "no_email", ""},
		{"unknown customer", "server", map[string]any{"customerId": "zed", "programId": "p1"}, 404, "customer_not_found", ""},
		{"unknown program", "server", map[string]any{"customerId": "ana", "programId": "p9"}, 404, "program_not_found", ""},
		{"a thank-you template", "server", map[string]any{"customerId": "ana", "programId": "p1", "template": "thanks-loyal"}, 400, "invalid_request", "template"},
		{"unknown field", "server", map[string]any{"customerId": "ana", "programId": "p1", "channel": "sms"}, 400, "invalid_request", "channel"},
		{"missing customer", "server", map[string]any{"programId": "p1"}, 400, "invalid_request", "customerId"},
		{"no key", "", map[string]any{"customerId": "ana", "programId": "p1"}, 401, "unauthorized", ""},
	}
	for _, tt := range tests {
		st, b := s.doAs(tt.scope, "POST", "/asks", tt.body)
		if st != tt.status || errCode(b) != tt.code || errField(b) != tt.field {
			t.Errorf("%s: %d %v, want %d %s (field %q)", tt.name, st, b, tt.status, tt.code, tt.field)
		}
	}
	// A paused program asks nobody.
	p := askProgram(false)
	p["status"] = "paused"
	s.advance(time.Minute)
	if st, b := s.do("PUT", "/programs/p1", p); st != 200 {
		t.Fatalf("pause: %d %v", st, b)
	}
	if st, b := ask(s, "ana", ""); st != 422 || errCode(b) != "program_inactive" {
		t.Errorf("paused program: %d %v", st, b)
	}
}

// TestAnAskWithSendAtIsScheduled: sendAt answers 202 "scheduled" and records no ask yet (no
// email goes out until the scheduler sends it); what can be refused now is refused now; sendAt
// must be RFC 3339, in the future, and at most 90 days ahead.
func TestAnAskWithSendAtIsScheduled(t *testing.T) {
	s := newStack(t)
	s.setup(askProgram(false))
	s.putCustomer("out", map[string]any{"email": "out@example.com", "name": "Out", "marketingOptOut": true})
	sendAt := s.store.Now().Add(48 * time.Hour).Format(time.RFC3339)
	st, b := s.doAs("server", "POST", "/asks", map[string]any{"customerId": "ana", "programId": "p1", "sendAt": sendAt})
	if st != 202 || b["status"] != "scheduled" || b["sendAt"] != sendAt || b["template"] != "auto" || b["askId"] == "" {
		t.Fatalf("scheduled ask: %d %v, want 202 scheduled for %s", st, b, sendAt)
	}
	id := b["askId"].(string)
	if _, found, err := s.store.GetAsk(t.Context(), id); err != nil || found {
		t.Fatalf("a scheduled ask was recorded as sent: %v %v", found, err)
	}
	a, found, err := s.store.GetScheduledAsk(t.Context(), id)
	if err != nil || !found || a.Status != "scheduled" || a.SendAt.Format(time.RFC3339) != sendAt || a.CustomerID != "ana" {
		t.Fatalf("stored scheduled ask: %+v %v %v", a, found, err)
	}
	// Without sendAt nothing changes: sent now, no status.
	if st, b := ask(s, "ana", ""); st != 202 || b["status"] != nil || b["sendAt"] != nil {
		t.Fatalf("ask now: %d %v", st, b)
	}

	now := s.store.Now()
	tests := []struct {
		name   string
		sendAt any
		status int
		code   string
		field  string
	}{
		{"in the past", now.Add(-time.Minute).Format(time.RFC3339), 400, "invalid_field", "sendAt"},
		{"now", now.Format(time.RFC3339), 400, "invalid_field", "sendAt"},
		{"over 90 days ahead", now.Add(90*24*time.Hour + time.Minute).Format(time.RFC3339), 400, "invalid_field", "sendAt"},
		{"not RFC 3339", "next tuesday", 400, "invalid_request", "sendAt"},
		{"a number", 1700000000, 400, "invalid_request", "sendAt"},
	}
	for _, tt := range tests {
		st, b := s.doAs("server", "POST", "/asks", map[string]any{"customerId": "bo", "programId": "p1", "sendAt": tt.sendAt})
		if st != tt.status || errCode(b) != tt.code || errField(b) != tt.field {
			t.Errorf("sendAt %s: %d %v, want %d %s (field %q)", tt.name, st, b, tt.status, tt.code, tt.field)
		}
	}
	if st, b := s.doAs("server", "POST", "/asks", map[string]any{"customerId": "ana", "programId": "p1",
		"sendAt": now.Add(90 * 24 * time.Hour).Format(time.RFC3339)}); st != 202 {
		t.Errorf("sendAt 90 days ahead: %d %v", st, b)
	}
	// Refused now what would be refused then: an opted-out customer, an ask inside the cooldown
	// of the one just sent.
	if st, b := s.doAs("server", "POST", "/asks", map[string]any{"customerId": "out", "programId": "p1", "sendAt": sendAt}); st != 422 || errCode(b) != "opted_out" {
		t.Errorf("scheduled ask to an opted-out customer: %d %v", st, b)
	}
	if st, b := s.doAs("server", "POST", "/asks", map[string]any{"customerId": "ana", "programId": "p1", "sendAt": sendAt}); st != 429 || errCode(b) != "rate_limited" {
		t.Errorf("scheduled ask inside the cooldown: %d %v", st, b)
	}
}
