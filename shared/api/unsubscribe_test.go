package api

import (
	"github.com/referral/referrals/devkit/samplesecrets"
	"net/url"
	"strings"
	"testing"

	"github.com/referral/referrals/shared/unsubscribe"
)

// sampleSigner signs unsubscribe links in tests and in the sample events of events/.
var sampleSigner = func() *unsubscribe.Signer {
	s, err := unsubscribe.New(samplesecrets.Unsubscribe)
	if err != nil {
		panic(err)
	}
	return s
}()

func unsubscribeTarget(customer, token string) string {
	return "/unsubscribe?" + url.Values{"c": {customer}, "t": {token}}.Encode()
}

func TestUnsubscribeLinkShowsAButtonAndOptsOutOnPost(t *testing.T) {
	s := newStack(t)
	s.setup(askProgram(false))
	s.putCustomer("ana", map[string]any{"email": "ana@example.com", "name": "Ana Lima", "locale": "th"})
	target := unsubscribeTarget("ana", sampleSigner.Token("ana"))

	page := s.raw("", "GET", target, nil)
	if page.StatusCode != 200 || !strings.HasPrefix(page.Headers["Content-Type"], "text/html") ||
		!strings.Contains(page.Body, `<form method="post"`) || !strings.Contains(page.Body, `lang="th"`) ||
		page.Headers["Cache-Control"] != "no-store" || page.Headers["Referrer-Policy"] != "no-referrer" {
		t.Fatalf("GET: %d %v\n%s", page.StatusCode, page.Headers, page.Body)
	}
	if _, c := s.do("GET", "/customers/ana", nil); c["marketingOptOut"] != false {
		t.Fatalf("a GET opted the customer out (link scanners follow GETs): %v", c)
	}
	// The form posts back to the same link; a mail client's one-click POST looks the same.
	action := page.Body[strings.Index(page.Body, `action="`)+len(`action="`):]
	action = strings.ReplaceAll(action[:strings.Index(action, `"`)], "&amp;", "&")
	if "/unsubscribe"+action != target {
		t.Errorf("form action %q, want %q", action, strings.TrimPrefix(target, "/unsubscribe"))
	}
	for i := 0; i < 2; i++ { // opting out twice is the same as once
		done := s.raw("", "POST", target, "List-Unsubscribe=One-Click")
		if done.StatusCode != 200 || !strings.Contains(done.Body, "ยกเลิกเรียบร้อยแล้ว") {
			t.Fatalf("POST %d: %d\n%s", i+1, done.StatusCode, done.Body)
		}
	}
	if _, c := s.do("GET", "/customers/ana", nil); c["marketingOptOut"] != true || c["email"] != "ana@example.com" {
		t.Fatalf("after POST: %v", c)
	}
	if page := s.raw("", "GET", target, nil); page.StatusCode != 200 || strings.Contains(page.Body, "<form") {
		t.Errorf("GET after opting out shows a form again: %d\n%s", page.StatusCode, page.Body)
	}
	if st, b := ask(s, "ana", ""); st != 422 || errCode(b) != "opted_out" {
		t.Errorf("ask after unsubscribing: %d %v", st, b)
	}
}

func TestForgedUnsubscribeLinksAreRefused(t *testing.T) {
	s := newStack(t)
	s.setup(askProgram(false))
	forger, _ := unsubscribe.New(strings.Repeat("guess", 8))
	tests := []struct {
		name, target string
		status       int
		code         string
	}{
		{"another customer's token", unsubscribeTarget("ana", sampleSigner.Token("bo")), 403, "forbidden"},
		{"a token from another secret", unsubscribeTarget("ana", forger.Token("ana")), 403, "forbidden"},
		{"a made-up token", unsubscribeTarget("ana", "AAAAAAAAAAAAAAAAAAAAAA"), 403, "forbidden"},
		{"no token", "/unsubscribe?c=ana", 400, "invalid_request"},
		{"nothing", "/unsubscribe", 400, "invalid_request"},
	}
	for _, tt := range tests {
		if st, b := s.doAs("", "POST", tt.target, nil); st != tt.status || errCode(b) != tt.code {
			t.Errorf("POST %s: %d %v, want %d %s", tt.name, st, b, tt.status, tt.code)
		}
		if page := s.raw("", "GET", tt.target, nil); page.StatusCode != tt.status || !strings.Contains(page.Body, "This unsubscribe link isn") {
			t.Errorf("GET %s: %d, want %d and an explanation\n%s", tt.name, page.StatusCode, tt.status, page.Body)
		}
	}
	if _, c := s.do("GET", "/customers/ana", nil); c["marketingOptOut"] != false {
		t.Fatalf("a forged link opted the customer out: %v", c)
	}
}

func TestUnsubscribeOfAnErasedCustomerSucceeds(t *testing.T) {
	s := newStack(t)
	if st := s.raw("", "POST", unsubscribeTarget("gone", sampleSigner.Token("gone")), nil).StatusCode; st != 200 {
		t.Errorf("POST for a customer who no longer exists: %d, want 200 (nothing left to send to)", st)
	}
}
