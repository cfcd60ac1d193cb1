package pages

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
)

// View is what the layout needs besides the page's own values.
type View struct {
	Lang   string
	Root   string     // the API's root relative to the page ("../" for /a/{token}): see RootOf
	Script bool       // load the page script (assets/pages.js), which only enhances the page
	Langs  []LangLink // the language switcher; none when empty
}

// LangLink is one entry of a language switcher.
type LangLink struct {
	Code, Name, URL string
	Current         bool
}

// dot is data with the layout's values (which win on a name clash).
func (v View) dot(data map[string]any) map[string]any {
	langs := make([]any, 0, len(v.Langs))
	for _, l := range v.Langs {
		langs = append(langs, map[string]any{"Code": l.Code, "Name": l.Name, "URL": l.URL, "Current": l.Current})
	}
	dot := make(map[string]any, len(data)+7)
	for k, x := range data {
		dot[k] = x
	}
	dot["Lang"] = locale.Lang(v.Lang)
	dot["Root"] = v.Root
	dot["CSS"] = Asset("pages.css")
	dot["JS"] = Asset("pages.js")
	dot["Script"] = v.Script
	dot["Langs"] = langs
	return dot
}

// LanguageNames are the languages' names as their readers write them (a language switcher
// shows each in its own script).
var LanguageNames = map[string]string{
	"en": "English", "ms": "Bahasa Melayu", "id": "Bahasa Indonesia", "th": "ไทย", "zh": "中文",
}

// Switcher is a language switcher for the page at rawPath: each language links to the page
// with ?lang=<code> (the other query parameters kept, from query).
func Switcher(current, rawPath string, query map[string]string) []LangLink {
	out := make([]LangLink, 0, len(locale.Languages))
	for _, l := range locale.Languages {
		q := url.Values{}
		for k, v := range query {
			if k != "lang" {
				q.Set(k, v)
			}
		}
		q.Set("lang", l)
		out = append(out, LangLink{Code: l, Name: LanguageNames[l], URL: "?" + q.Encode(), Current: l == current})
	}
	return out
}

// RootOf is the relative path from the page at rawPath back to the API's root ("/a/x" →
// "../", "/console" → "./"), so that pages link to /assets/ wherever the API is mounted (a
// custom domain may add a base path).
func RootOf(rawPath string) string {
	depth := strings.Count(strings.TrimPrefix(rawPath, "/"), "/")
	if depth == 0 {
		return "./"
	}
	return strings.Repeat("../", depth)
}

// Negotiate picks the page language: a supported ?lang= wins, then the Accept-Language
// header's preferences by weight (RFC 9110: "th-TH,th;q=0.9,en;q=0.8"), then fallback.
func Negotiate(lang, acceptLanguage, fallback string) string {
	if l := strings.ToLower(strings.TrimSpace(lang)); locale.Supported(l) {
		return l
	}
	type pref struct {
		lang string
		q    float64
		at   int
	}
	var prefs []pref
	for i, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		if tag == "" || tag == "*" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
		}
		if q == 0 {
			continue
		}
		if l := locale.Lang(tag); locale.Supported(l) && (l != "en" || isEnglish(tag)) {
			prefs = append(prefs, pref{l, q, i})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	if len(prefs) > 0 {
		return prefs[0].lang
	}
	if locale.Supported(fallback) {
		return fallback
	}
	return locale.Languages[0]
}

// isEnglish reports whether a language tag is English (locale.Lang maps anything unknown to
// en, which must not outrank a later supported preference).
func isEnglish(tag string) bool {
	primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
	primary, _, _ = strings.Cut(primary, "_")
	return primary == "en" || primary == "eng"
}

// CSP is the pages' Content-Security-Policy: nothing but this API's own stylesheet and script
// (no inline script or style, no eval), images inline (data:) or our own, forms posted only
// back here, no framing, no <base>.
const CSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// HTML is a page response with the pages' security headers. Pages are personal or count a
// visit, so nothing caches them, and they send no Referer (an advocate's page has its token in
// its URL; links it holds lead to other sites).
func HTML(status int, lang, body string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Body: body, Headers: map[string]string{
		"Content-Type":               "text/html; charset=utf-8",
		"Content-Language":           locale.Lang(lang),
		"Content-Security-Policy":    CSP,
		"Cache-Control":              "no-store",
		"Referrer-Policy":            "no-referrer",
		"X-Content-Type-Options":     "nosniff",
		"X-Frame-Options":            "DENY",
		"X-Robots-Tag":               "noindex",
		"Cross-Origin-Opener-Policy": "same-origin",
	}}
}

// Message is the frame's message page: what every set shows for an error it has no page of
// its own for, in lang. kind is one of the frame's message words: "not-found", "gone",
// "busy", "broken".
func Message(status int, lang, root, kind string) events.APIGatewayV2HTTPResponse {
	body, err := Frame.HTML("message", View{Lang: lang, Root: root}, map[string]any{"Kind": kind})
	if err != nil {
		return brokenBuild
	}
	return HTML(status, lang, body)
}

// brokenBuild answers when the embedded (and tested) templates fail, which only a broken build
// can make happen.
var brokenBuild = events.APIGatewayV2HTTPResponse{StatusCode: http.StatusInternalServerError, Body: "internal error\n",
	Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}}

// ErrorPage answers an API error as a page in the visitor's language (their ?lang=, else
// their browser's): plug it into api.Router.ErrorPage.
func ErrorPage(req events.APIGatewayV2HTTPRequest, err *referral.Error) events.APIGatewayV2HTTPResponse {
	lang := Negotiate(req.QueryStringParameters["lang"], req.Headers["accept-language"], "en")
	kind := "broken"
	switch {
	case err.Status == http.StatusNotFound:
		kind = "not-found"
	case err.Status == http.StatusGone:
		kind = "gone"
	case err.Status == http.StatusServiceUnavailable || err.Status == http.StatusTooManyRequests:
		kind = "busy"
	case err.Status < 500:
		kind = "not-found" // a malformed link is a page that does not exist
	}
	status := err.Status
	if status < 500 && status != http.StatusGone && status != http.StatusTooManyRequests {
		status = http.StatusNotFound
	}
	return Message(status, lang, RootOf(req.RawPath), kind)
}

// Assets: the stylesheet and the script, served from /assets/<name>.<hash>.<ext> so that a
// browser caches each version for a year and a new deploy's files are new URLs.
var assets = func() map[string]asset {
	out := map[string]asset{}
	entries, err := fs.ReadDir(files, "assets")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	for _, e := range entries {
		b, err := fs.ReadFile(files, "assets/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:])[:12] + ext
		out[e.Name()] = asset{name: hashed, body: string(b), contentType: assetTypes[ext]}
	}
	return out
}()

// assetTypes are the assets' media types.
var assetTypes = map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

type asset struct {
	name, body, contentType string
}

// Asset is the versioned file name under /assets/ of the asset name ("pages.css").
func Asset(name string) string { return assets[name].name }

// ServeAsset answers GET /assets/{file}: a versioned asset, cached for a year; the current
// version under its plain name (pages.css), cached for five minutes (for a page cached
// before a deploy, and for tools); or 404.
func ServeAsset(file string) events.APIGatewayV2HTTPResponse {
	for plain, a := range assets {
		if a.name == file || plain == file {
			cache := "public, max-age=31536000, immutable"
			if plain == file {
				cache = "public, max-age=300"
			}
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: a.body, Headers: map[string]string{
				"Content-Type":                 a.contentType,
				"Cache-Control":                cache,
				"X-Content-Type-Options":       "nosniff",
				"Cross-Origin-Resource-Policy": "same-origin",
			}}
		}
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotFound, Body: "no such asset\n", Headers: map[string]string{
		"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}}
}
