package pages_test

import (
	"flag"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/pagetest"
	"github.com/referral/referrals/shared/pages"
	"github.com/referral/referrals/shared/referral"
)

var update = flag.Bool("update", false, "rewrite compiled/ from templates/")

func messageSample(kind string) pagetest.Sample {
	return func(lang, page string) (pages.View, map[string]any) {
		v := pages.View{Lang: lang, Root: "../",
			Langs: pages.Switcher(lang, "/a/x", map[string]string{"ch": `a&b`})}
		return v, map[string]any{"Kind": kind}
	}
}

func TestFrameIsCompiled(t *testing.T) {
	pagetest.Compiled(t, pages.Frame, []string{"message"}, messageSample("gone"), *update)
	pagetest.SameWords(t)
}

func TestFrameRendersAsHTMLTemplateDoes(t *testing.T) {
	samples := map[string]pagetest.Sample{}
	for _, k := range []string{"not-found", "gone", "busy", "broken"} {
		samples[k] = messageSample(k)
	}
	pagetest.MatchesHTMLTemplate(t, pages.Frame, "message", samples)
}

func TestNegotiatePicksTheBrowsersLanguage(t *testing.T) {
	for _, tc := range []struct {
		lang, accept, fallback, want string
	}{
		{"", "th-TH,th;q=0.9,en;q=0.8", "en", "th"},
		{"", "fr-FR,fr;q=0.9,zh-CN;q=0.8,en;q=0.7", "en", "zh"}, // French is not ours: the next preference, not English
		{"", "en;q=0.5,ms;q=0.9", "en", "ms"},
		{"", "id", "en", "id"},
		{"", "in-ID", "en", "id"}, // the legacy code older Android systems send
		{"", "zh-Hant-TW;q=0,de", "th", "th"},
		{"", "*", "ms", "ms"},
		{"", "", "xx", "en"},
		{"TH", "zh", "en", "th"}, // ?lang= wins
		{"fr", "zh", "en", "zh"}, // an unsupported ?lang= is ignored
		{"", "en-GB,th;q=0.9", "zh", "en"},
		{"", "th;q=abc,zh;q=0.5", "en", "th"}, // a malformed weight counts as 1
	} {
		if got := pages.Negotiate(tc.lang, tc.accept, tc.fallback); got != tc.want {
			t.Errorf("Negotiate(%q, %q, %q) = %q, want %q", tc.lang, tc.accept, tc.fallback, got, tc.want)
		}
	}
}

func TestRootOfLeadsBackToTheAPIRoot(t *testing.T) {
	for path, want := range map[string]string{"/a/TOKEN": "../", "/r/CODE": "../", "/console": "./", "/console/programs/p1": "../../", "": "./"} {
		if got := pages.RootOf(path); got != want {
			t.Errorf("RootOf(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestErrorPagesSpeakTheVisitorsLanguage(t *testing.T) {
	req := events.APIGatewayV2HTTPRequest{RawPath: "/a/abc", Headers: map[string]string{"accept-language": "th-TH,th;q=0.9"}}
	for _, tc := range []struct {
		err    *referral.Error
		status int
		words  string
	}{
		{referral.ErrCodeNotFound, http.StatusNotFound, "ไม่พบหน้านี้"},
		{referral.Invalid("c", "bad"), http.StatusNotFound, "ไม่พบหน้านี้"},
		{referral.ErrCodeInactive, http.StatusGone, "ใช้งานไม่ได้แล้ว"},
		{referral.ErrUnavailable, http.StatusServiceUnavailable, "โปรดลองใหม่อีกครั้งในอีกสักครู่"},
		{referral.ErrInternal, http.StatusInternalServerError, "ขออภัย เกิดข้อผิดพลาด"},
	} {
		resp := pages.ErrorPage(req, tc.err)
		if resp.StatusCode != tc.status || !strings.Contains(resp.Body, tc.words) || !strings.Contains(resp.Body, `<html lang="th">`) {
			t.Errorf("%s: %d, want %d with %q:\n%s", tc.err.Code, resp.StatusCode, tc.status, tc.words, resp.Body)
		}
		if resp.Headers["Content-Security-Policy"] != pages.CSP || resp.Headers["Cache-Control"] != "no-store" ||
			!strings.HasPrefix(resp.Headers["Content-Type"], "text/html") || resp.Headers["Content-Language"] != "th" {
			t.Errorf("%s: headers %v", tc.err.Code, resp.Headers)
		}
		if !strings.Contains(resp.Body, `href="../assets/`+pages.Asset("pages.css")+`"`) {
			t.Errorf("%s: the stylesheet is not linked relative to the page:\n%s", tc.err.Code, resp.Body)
		}
	}
}

func TestAssetsAreVersionedAndCachedForAYear(t *testing.T) {
	for _, name := range []string{"pages.css", "pages.js"} {
		file := pages.Asset(name)
		if !strings.HasPrefix(file, strings.TrimSuffix(name, name[strings.LastIndex(name, "."):])+".") || file == name {
			t.Fatalf("Asset(%q) = %q, want a name with its content's hash", name, file)
		}
		resp := pages.ServeAsset(file)
		if resp.StatusCode != 200 || resp.Headers["Cache-Control"] != "public, max-age=31536000, immutable" || resp.Body == "" ||
			resp.Headers["X-Content-Type-Options"] != "nosniff" {
			t.Errorf("%s: %d %v", file, resp.StatusCode, resp.Headers)
		}
	}
	if resp := pages.ServeAsset("pages.css"); resp.StatusCode != 200 || resp.Headers["Cache-Control"] != "public, max-age=300" {
		t.Errorf("the plain name answers %d %v; want the current version, cached briefly", resp.StatusCode, resp.Headers)
	}
	if resp := pages.ServeAsset("pages.0123456789ab.css"); resp.StatusCode != 404 {
		t.Errorf("another version answers %d", resp.StatusCode)
	}
	if resp := pages.ServeAsset("../pages.go"); resp.StatusCode != 404 {
		t.Errorf("a path outside the assets answers %d", resp.StatusCode)
	}
	if ct := pages.ServeAsset(pages.Asset("pages.js")).Headers["Content-Type"]; ct != "text/javascript; charset=utf-8" {
		t.Errorf("the script is served as %q", ct)
	}
}

func TestSwitcherKeepsTheQueryAndMarksTheCurrentLanguage(t *testing.T) {
	links := pages.Switcher("th", "/a/x", map[string]string{"ch": "wa", "lang": "en"})
	if len(links) != 5 || links[3].Code != "th" || !links[3].Current || links[0].Current || links[0].URL != "?ch=wa&lang=en" || links[4].Name != "中文" {
		t.Errorf("%+v", links)
	}
}
