package api

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/pagetest"
	"github.com/referral/referrals/shared/advocatelink"
	"github.com/referral/referrals/shared/locale"
)

// TestAdvocatePageInABrowser: Ana's page in each of the five languages (her stored language),
// read by chromium with and without JavaScript: the code, the link to copy, the QR code, the
// share links, her friends by first name, her reward and why a friend's purchase paid nothing;
// at most 60 KB with its stylesheet and script; screenshots in .local/screenshots.
func TestAdvocatePageInABrowser(t *testing.T) {
	if testing.Short() || dynamotest.Engine() != dynamotest.Minidyn {
		t.Skip("a browser test: runs once, on the minidyn pass")
	}
	s := newStack(t)
	code := s.setup(advocatePageProgram())
	for _, f := range []struct{ id, name string }{{"bo", "Bo Chen"}, {"cy", "Cy Wong"}} {
		if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": f.id, "name": f.name}}); st != 201 {
			t.Fatalf("refer %s: %d %v", f.id, st, b)
		}
	}
	for _, c := range []struct {
		event, referee string
		amount         int
	}{{"o-bo", "bo", 5000}, {"o-cy", "cy", 1500}} {
		if st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": c.event, "refereeId": c.referee, "programId": "p1",
			"milestone": "purchase", "amount": map[string]any{"amount": c.amount, "currency": "USD"}}); st != 201 {
			t.Fatalf("convert %s: %d %v", c.referee, st, b)
		}
	}
	url := s.servePages(t, "GET /a/{token}")
	token := samplePageSigner.Token(advocatelink.Claims{ProgramID: "p1", CustomerID: "ana", Expires: s.clock().Add(time.Hour)})
	b := pagetest.StartBrowser(t)
	shots := filepath.Join(pagetest.RepoRoot(t), ".local", "screenshots")
	for _, lang := range locale.Languages {
		s.putCustomer("ana", map[string]any{"email": "ana@example.com", "name": "Ana Lima", "locale": lang})
		for _, js := range []bool{true, false} {
			// The browser asks for English: the advocate's own language wins.
			p := b.Open(t, url+"/a/"+token, pagetest.Options{AcceptLanguage: acceptLanguage["en"], NoJavaScript: !js})
			if p.Status != 200 {
				t.Fatalf("%s: %d", lang, p.Status)
			}
			checkPage(t, p, lang, js)
			text := p.Text(t)
			for _, want := range []string{code, "Bo", "Cy", "WhatsApp", "LINE", "Telegram", "Facebook"} {
				if !strings.Contains(text, want) {
					t.Errorf("%s (js %v): the page does not show %q:\n%s", lang, js, want, text)
				}
			}
			for _, never := range []string{"Chen", "Wong", "Lima"} {
				if strings.Contains(text, never) {
					t.Errorf("%s: the page shows %q (first names only)", lang, never)
				}
			}
			if v := pagetest.Eval[string](t, p, `document.querySelector("input#share-link").value`); !strings.HasSuffix(v, "/r/"+code+"?ch=copy") {
				t.Errorf("%s: the field to copy holds %q", lang, v)
			}
			if n := pagetest.Eval[int](t, p, `document.querySelectorAll(".qr svg path").length`); n != 1 {
				t.Errorf("%s: %d QR paths", lang, n)
			}
			if n := pagetest.Eval[int](t, p, `document.querySelectorAll("ul.share a[href]").length`); n != 6 {
				t.Errorf("%s: %d share links, want 6 (and the field to copy)", lang, n)
			}
			if n := pagetest.Eval[int](t, p, `document.querySelectorAll(".list .why").length`); n < 1 {
				t.Errorf("%s: no reason for Cy's purchase that paid nothing", lang)
			}
			// The copy button is the script's: there with JavaScript, absent without it.
			if n := pagetest.Eval[int](t, p, `document.querySelectorAll(".field button").length`); (n == 1) != js {
				t.Errorf("%s (js %v): %d copy buttons", lang, js, n)
			}
			p.NoTofu(t, ".list .why", lang)
			if js {
				n, urls := p.Transferred()
				t.Logf("%s: %d bytes transferred (%d requests)", lang, n, len(urls))
				t.Logf("screenshot: %s", p.Screenshot(t, filepath.Join(shots, "advocate-"+lang+".png")))
			}
		}
	}
}
