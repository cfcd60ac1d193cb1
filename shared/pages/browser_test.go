package pages_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/httpapi"
	"github.com/referral/referrals/devkit/pagetest"
	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/pages"
	"github.com/referral/referrals/shared/referral"
)

// The frame's message page in a real browser: every language renders in fonts that have its
// script, the policy refuses nothing the page needs, and axe-core finds no serious barrier.
func TestMessagePageInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium")
	}
	srv := pagetest.Serve(t, map[string]httpapi.Handler{
		"GET /assets/{file}": func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return pages.ServeAsset(req.PathParameters["file"]), nil
		},
		"GET /a/{token}": func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return pages.ErrorPage(req, referral.ErrCodeNotFound), nil
		},
	})
	b := pagetest.StartBrowser(t)
	for _, lang := range locale.Languages {
		for _, js := range []bool{true, false} {
			p := b.Open(t, srv.URL+"/a/nope?lang="+lang, pagetest.Options{NoJavaScript: !js})
			if p.Status != 404 || p.Headers["content-security-policy"] != pages.CSP {
				t.Errorf("%s: %d %v", lang, p.Status, p.Headers)
			}
			if got := pagetest.Eval[string](t, p, `getComputedStyle(document.querySelector(".card")).borderRadius`); got == "0px" {
				t.Errorf("%s: the stylesheet did not apply (js %v)", lang, js)
			}
			if v := p.CSPViolations(); len(v) > 0 {
				t.Errorf("%s: the policy refused: %v", lang, v)
			}
			if text := p.Text(t); !strings.Contains(text, strings.TrimSpace(mustText(t, lang))) {
				t.Errorf("%s: the page reads %q", lang, text)
			}
			p.NoTofu(t, "h1", lang)
			if js {
				for _, v := range p.Axe(t) {
					t.Errorf("%s: %s", lang, v)
				}
				p.Screenshot(t, filepath.Join(t.TempDir(), lang+".png"))
			}
		}
	}
}

// mustText is the not-found title in lang.
func mustText(t *testing.T, lang string) string {
	t.Helper()
	s, err := pages.Frame.Text(lang, "title", map[string]any{"Kind": "not-found"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
