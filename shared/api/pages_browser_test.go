package api

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/httpapi"
	"github.com/referral/referrals/devkit/pagetest"
	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/pages"
)

// acceptLanguage is what a browser set to each language sends.
var acceptLanguage = map[string]string{"en": "en-US,en;q=0.9", "ms": "ms-MY,ms;q=0.9,en;q=0.5", "id": "id-ID,id;q=0.9,en;q=0.5",
	"th": "th-TH,th;q=0.9,en;q=0.5", "zh": "zh-CN,zh;q=0.9,en;q=0.5"}

// servePages serves the stack's public page routes over HTTP, as API Gateway would.
func (s *stack) servePages(t *testing.T, keys ...string) string {
	t.Helper()
	handlers := map[string]httpapi.Handler{}
	for _, k := range append(keys, "GET /assets/{file}") {
		handlers[k] = s.routers[k].Handle
	}
	return pagetest.Serve(t, handlers).URL
}

// checkPage holds a page a browser opened to what every page promises: served with the
// policy, nothing refused by it, no inline script or style, the stylesheet applied, the
// text in fonts that have its script, no serious accessibility barrier, small.
func checkPage(t *testing.T, p *pagetest.Page, lang string, js bool) {
	t.Helper()
	if p.Headers["content-security-policy"] != pages.CSP || p.Headers["content-language"] != lang {
		t.Errorf("%s: headers %v", p.URL, p.Headers)
	}
	if v := p.CSPViolations(); len(v) > 0 {
		t.Errorf("%s: the policy refused %v", p.URL, v)
	}
	if n := pagetest.Eval[int](t, p, `document.querySelectorAll("script:not([src]), [style], style").length`); n != 0 {
		t.Errorf("%s: %d inline scripts or styles", p.URL, n)
	}
	if got := pagetest.Eval[string](t, p, `getComputedStyle(document.querySelector(".card")).borderTopLeftRadius`); got == "0px" || got == "" {
		t.Errorf("%s: the stylesheet did not apply (js %v)", p.URL, js)
	}
	if got := pagetest.Eval[string](t, p, `document.documentElement.lang`); got != lang {
		t.Errorf("%s: <html lang=%q>, want %q", p.URL, got, lang)
	}
	p.NoTofu(t, "h1", lang)
	if js {
		for _, v := range p.Axe(t) {
			t.Errorf("%s (%s): %s", p.URL, lang, v)
		}
	}
	if n, urls := p.Transferred(); n > 60<<10 {
		t.Errorf("%s: %d bytes transferred (%v), want at most 60 KB", p.URL, n, urls)
	}
}

// TestFriendPageInABrowser: the friend page in every language, read by chromium with and
// without JavaScript.
func TestFriendPageInABrowser(t *testing.T) {
	if testing.Short() || dynamotest.Engine() != dynamotest.Minidyn {
		t.Skip("a browser test: runs once, on the minidyn pass")
	}
	s := newStack(t)
	code := s.setup(tieredProgram())
	url := s.servePages(t, "GET /r/{code}")
	b := pagetest.StartBrowser(t)
	shots := filepath.Join(pagetest.RepoRoot(t), ".local", "screenshots")
	for _, lang := range locale.Languages {
		for _, js := range []bool{true, false} {
			p := b.Open(t, url+"/r/"+code+"?page=1&ch=whatsapp", pagetest.Options{AcceptLanguage: acceptLanguage[lang], NoJavaScript: !js})
			if p.Status != 200 {
				t.Fatalf("%s: %d", lang, p.Status)
			}
			checkPage(t, p, lang, js)
			text := p.Text(t)
			if !strings.Contains(text, "Ana") || !strings.Contains(text, code) || strings.Contains(text, "Lima") {
				t.Errorf("%s: the page should name Ana by her first name only and show %s:\n%s", lang, code, text)
			}
			href := pagetest.Eval[string](t, p, `document.querySelector("a.button").href`)
			if href != "https://shop.example.com/invite?ref="+code {
				t.Errorf("%s: the button leads to %q", lang, href)
			}
			if js {
				t.Logf("screenshot: %s", p.Screenshot(t, filepath.Join(shots, "friend-"+lang+".png")))
			}
		}
	}
}
