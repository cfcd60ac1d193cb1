package api

import (
	"github.com/referral/referrals/devkit/samplesecrets"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/referral/referrals/shared/advocatelink"
	"github.com/referral/referrals/shared/pages"
)

// samplePageSigner signs advocate page links in tests and in the sample events of events/.
var samplePageSigner = func() *advocatelink.Signer {
	s, err := advocatelink.New(samplesecrets.AdvocatePage)
	if err != nil {
		panic(err)
	}
	return s
}()

// advocatePageProgram pays $10 per purchase of $20 or more for the first three friends, then $25.
func advocatePageProgram() map[string]any {
	p := tieredProgram()
	p["advocateRewards"] = []any{map[string]any{"milestone": "purchase", "type": "tiered", "minAmount": 2000,
		"tiers": []any{map[string]any{"upTo": 3, "amount": 1000}, map[string]any{"amount": 2500}}, "kind": "gift_card"}}
	return p
}

// TestAdvocatePageShowsTheAdvocatesStanding seeds Ana with three friends (Bo bought, Cy bought
// under the minimum, Dee bought after the 60-day window) and reads her page.
func TestAdvocatePageShowsTheAdvocatesStanding(t *testing.T) {
	s := newStack(t)
	code := s.setup(advocatePageProgram())
	s.putCustomer("ana", map[string]any{"email": "ana@example.com", "name": "Ana Lima", "locale": "en"})
	for _, f := range []struct{ id, name string }{{"bo", "Bo Chen"}, {"cy", "Cy Wong"}, {"dee", "Dee Tan"}} {
		if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": f.id, "name": f.name}}); st != 201 {
			t.Fatalf("refer %s: %d %v", f.id, st, b)
		}
	}
	convert := func(event, referee string, amount int) (int, map[string]any) {
		return s.doAs("server", "POST", "/conversions", map[string]any{"eventId": event, "refereeId": referee, "programId": "p1",
			"milestone": "purchase", "amount": map[string]any{"amount": amount, "currency": "USD"}})
	}
	if st, b := convert("o-bo", "bo", 5000); st != 201 {
		t.Fatalf("bo: %d %v", st, b)
	}
	if st, b := convert("o-cy", "cy", 1500); st != 201 {
		t.Fatalf("cy: %d %v", st, b)
	}
	s.advance(61 * 24 * time.Hour)
	if st, b := convert("o-dee", "dee", 5000); st != 422 || errCode(b) != "attribution_expired" {
		t.Fatalf("dee: %d %v", st, b)
	}

	target := "/a/" + samplePageSigner.Token(advocatelink.Claims{ProgramID: "p1", CustomerID: "ana", Expires: s.clock().Add(advocatelink.Lifetime)})
	page := s.raw("", "GET", target, nil)
	if page.StatusCode != 200 || page.Headers["Content-Security-Policy"] != pages.CSP || page.Headers["Cache-Control"] != "no-store" ||
		page.Headers["Content-Language"] != "en" {
		t.Fatalf("GET %s: %d %v\n%s", target, page.StatusCode, page.Headers, page.Body)
	}
	body := page.Body
	for _, want := range []string{
		code, `value="https://api.example.com/r/` + code + `?ch=copy"`, "<svg", `<path d="M`,
		"Bo", "Cy", "Dee", "Made a purchase",
		"Cy’s purchase was under the $20 minimum",
		"Dee’s purchase came after the 60-day window",
		"a $10 gift card", "Approved",
		"1 more friend to reach <strong>$25</strong> per friend",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, ch := range []string{"whatsapp", "line", "telegram", "facebook", "x", "email", "copy"} {
		if !strings.Contains(body, "ch%3D"+ch) && !strings.Contains(body, "ch="+ch) {
			t.Errorf("no share link for %s", ch)
		}
	}
	if share := regexp.MustCompile(`<ul class="share"[^>]*>(?s:.*?)</ul>`).FindString(body); strings.Count(share, "<a ") != 6 {
		t.Errorf("want 6 share links besides the copy field:\n%s", share)
	}
	for _, never := range []string{"Chen", "Wong", "Tan", "ana@example.com", "<script>"} {
		if strings.Contains(body, never) {
			t.Errorf("the page shows %q (friends by first name only, no address, no inline script)", never)
		}
	}
	if th := s.raw("", "GET", target+"?lang=th", nil); th.StatusCode != 200 || th.Headers["Content-Language"] != "th" ||
		!strings.Contains(th.Body, "หลังครบกำหนด 60 วัน") {
		t.Errorf("?lang=th: %d %s", th.StatusCode, th.Headers["Content-Language"])
	}

	// The advocate's stored language wins over the browser's.
	s.putCustomer("ana", map[string]any{"email": "ana@example.com", "name": "Ana Lima", "locale": "zh"})
	if zh := s.raw("", "GET", target, nil); zh.Headers["Content-Language"] != "zh" || !strings.Contains(zh.Body, "您的朋友") {
		t.Errorf("zh advocate: %s", zh.Headers["Content-Language"])
	}
}

func TestAdvocatePageRefusesBadAndRevokedLinks(t *testing.T) {
	s := newStack(t)
	code := s.setup(advocatePageProgram())
	token := func(customer string, exp time.Time) string {
		return "/a/" + samplePageSigner.Token(advocatelink.Claims{ProgramID: "p1", CustomerID: customer, Expires: exp})
	}
	later := s.clock().Add(time.Hour)
	other, _ := advocatelink.New(strings.Repeat("k", advocatelink.MinSecretLen))
	forged := "/a/" + other.Token(advocatelink.Claims{ProgramID: "p1", CustomerID: "ana", Expires: later})
	page := func(target string, status int, words string) {
		t.Helper()
		r := s.raw("", "GET", target, nil)
		if r.StatusCode != status || !strings.HasPrefix(r.Headers["Content-Type"], "text/html") || !strings.Contains(r.Body, words) ||
			r.Headers["Content-Security-Policy"] != pages.CSP {
			t.Errorf("GET %s: %d %v, want %d with %q\n%s", target, r.StatusCode, r.Headers["Content-Type"], status, words, r.Body)
		}
	}
	page(token("ana", later), 200, code)
	page(token("ana", s.clock()), 410, "expired or been withdrawn")
	page(forged, 403, "doesn’t lead anywhere")
	page("/a/not-a-token", 404, "doesn’t lead anywhere")
	page(token("nobody", later), 404, "doesn’t lead anywhere")
	page("/a/"+samplePageSigner.Token(advocatelink.Claims{ProgramID: "nope", CustomerID: "ana", Expires: later}), 404, "doesn’t lead anywhere")

	if st, b := s.do("POST", "/codes/"+code+"/pause", nil); st != 200 {
		t.Fatalf("pause: %d %v", st, b)
	}
	page(token("ana", later), 410, "expired or been withdrawn")
	if st, b := s.do("POST", "/codes/"+code+"/resume", nil); st != 200 {
		t.Fatalf("resume: %d %v", st, b)
	}
	page(token("ana", later), 200, code)
	archived := advocatePageProgram()
	archived["status"] = "archived"
	if st, b := s.do("PUT", "/programs/p1", archived); st != 200 {
		t.Fatalf("archive: %d %v", st, b)
	}
	page(token("ana", later), 410, "expired or been withdrawn")
	paused := advocatePageProgram()
	paused["status"] = "paused"
	if st, b := s.do("PUT", "/programs/p1", paused); st != 200 {
		t.Fatalf("pause the program: %d %v", st, b)
	}
	page(token("ana", later), 200, code) // a paused program's advocates keep their page
	if st, b := s.do("DELETE", "/customers/ana", nil); st != 204 && st != 200 {
		t.Fatalf("erase: %d %v", st, b)
	}
	page(token("ana", later), 410, "expired or been withdrawn")
}
