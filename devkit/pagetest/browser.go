package pagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Browser is a headless chromium started for a test (or a test binary): a fresh profile,
// no network beyond what the page asks for, the flags a closed CI machine needs.
type Browser struct {
	ctx    context.Context
	cancel func()
}

// chromium finds the browser: $CHROMIUM, else Debian's chromium on PATH.
func chromium() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on PATH (Debian: apt-get install chromium fonts-noto-core fonts-noto-cjk fonts-thai-tlwg)")
}

// StartBrowser starts chromium for the test and stops it when the test ends. Without
// chromium the test is skipped, unless CI is set: CI installs it, so there it fails.
func StartBrowser(t testing.TB) *Browser {
	t.Helper()
	path, err := chromium()
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	b, err := Launch(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// Launch starts the chromium at path (see StartBrowser) for a command such as `make
// screenshots`; Close stops it. Chromium finds itself with an empty path.
func Launch(path string) (*Browser, error) {
	if path == "" {
		var err error
		if path, err = chromium(); err != nil {
			return nil, err
		}
	}
	profile, err := os.MkdirTemp("", "pagetest-chromium-")
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.WindowSize(1280, 900),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		_ = os.RemoveAll(profile)
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	return &Browser{ctx: bctx, cancel: func() { bcancel(); acancel(); _ = os.RemoveAll(profile) }}, nil
}

// Close stops the browser.
func (b *Browser) Close() { b.cancel() }

// Shoot writes a PNG of the whole page at url, as a phone (390 px wide) whose browser asks
// for acceptLanguage sees it, to path (its folder is made).
func (b *Browser) Shoot(url, acceptLanguage, path string) error {
	ctx, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	ctx, timeout := context.WithTimeout(ctx, 60*time.Second)
	defer timeout()
	err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": acceptLanguage}})
		return err
	}))
	if err != nil {
		return err
	}
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		return fmt.Errorf("open %s: %w", url, err)
	}
	if resp.Status != 200 {
		return fmt.Errorf("open %s: status %d", url, resp.Status)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot of %s: %w", url, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// ShootConsole signs in to the owner's console at consoleURL with key through its sign-in form,
// as a person does, then writes a PNG of the whole page at pageURL, as a wide screen (1280 px)
// shows it, to path (its folder is made).
func (b *Browser) ShootConsole(consoleURL, key, pageURL, path string) error {
	ctx, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	ctx, timeout := context.WithTimeout(ctx, 60*time.Second)
	defer timeout()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		return err
	}
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(consoleURL))
	if err != nil || resp.Status != 200 {
		return fmt.Errorf("open %s: %v (status %d)", consoleURL, err, statusOf(resp))
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#key"), key)); err != nil {
		return fmt.Errorf("the sign-in form: %w", err)
	}
	resp, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action$="console/sign-in"] button`)))
	if err != nil || resp.Status != 200 {
		return fmt.Errorf("sign in: %v (status %d)", err, statusOf(resp))
	}
	resp, err = chromedp.Run(ctx, chromedp.NavigateResponse(pageURL))
	if err != nil || resp.Status != 200 {
		return fmt.Errorf("open %s: %v (status %d)", pageURL, err, statusOf(resp))
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot of %s: %w", pageURL, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// Options of a visit.
type Options struct {
	NoJavaScript   bool   // the page's scripts do not run (the page must work without them)
	AcceptLanguage string // the browser's languages, e.g. "th-TH,th;q=0.9"
	Width, Height  int64  // the viewport (default 390×844, a phone)
}

// Page is a page a test visited, in its own tab.
type Page struct {
	ctx  context.Context
	URL  string
	Opts Options

	// Status and Headers are the document's response.
	Status  int64
	Headers map[string]string

	mu        sync.Mutex
	requests  map[network.RequestID]string
	bytes     map[network.RequestID]float64
	logs      []string
	cspIssues []string
}

// Open visits url in a new tab and waits for it to load. The tab closes when the test ends.
func (b *Browser) Open(t testing.TB, url string, o Options) *Page {
	t.Helper()
	if o.Width == 0 {
		o.Width, o.Height = 390, 844
	}
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	ctx, timeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(timeout)
	p := &Page{ctx: ctx, URL: url, Opts: o, requests: map[network.RequestID]string{}, bytes: map[network.RequestID]float64{}}
	err := chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			p.requests[ev.RequestID] = ev.Request.URL
		case *network.EventLoadingFinished:
			p.bytes[ev.RequestID] = ev.EncodedDataLength
		case *log.EventEntryAdded:
			text := string(ev.Entry.Level) + ": " + ev.Entry.Text
			p.logs = append(p.logs, text)
			if strings.Contains(ev.Entry.Text, "Content Security Policy") {
				p.cspIssues = append(p.cspIssues, ev.Entry.Text)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.EmulateViewport(o.Width, o.Height),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if o.AcceptLanguage != "" {
				if _, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
					Headers: network.Headers{"Accept-Language": o.AcceptLanguage}}); err != nil {
					return err
				}
			}
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: o.NoJavaScript})
			return err
		}),
	}
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("prepare the tab: %v", err)
	}
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	p.Status = resp.Status
	p.Headers = map[string]string{}
	for k, v := range resp.Headers {
		p.Headers[strings.ToLower(k)] = fmt.Sprint(v)
	}
	// Let the stylesheet's and script's loadingFinished events arrive.
	if err := chromedp.Do(ctx, chromedp.Sleep(200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	return p
}

// Transferred is what the visit cost on the network: the bytes every request received
// (headers and bodies, as encoded on the wire), and the URLs requested.
func (p *Page) Transferred() (int64, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var total float64
	var urls []string
	for id, u := range p.requests {
		total += p.bytes[id]
		urls = append(urls, u)
	}
	slices.Sort(urls)
	return int64(total), urls
}

// CSPViolations are the Content-Security-Policy reports the page caused (an inline script or
// style, a foreign resource...).
func (p *Page) CSPViolations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.cspIssues)
}

// Logs are the browser's console and log entries of the visit ("error: ...").
func (p *Page) Logs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.logs)
}

// Eval evaluates a JavaScript expression in the page (DevTools runs it even when the
// page's own scripts are disabled).
func Eval[T any](t testing.TB, p *Page, expr string) T {
	t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Text is the visible text of the page's body.
func (p *Page) Text(t testing.TB) string {
	t.Helper()
	return Eval[string](t, p, `document.body.innerText`)
}

// Screenshot writes a PNG of the whole page to path (its folder is made) and returns path.
func (p *Page) Screenshot(t testing.TB, path string) string {
	t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Violation is an accessibility rule axe-core found broken.
type Violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"` // the offending elements' selectors
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
}

// Axe runs axe-core (node_modules/axe-core, pinned in package.json) on the page against WCAG
// 2.x A and AA and best practice, and returns the serious and critical violations.
func (p *Page) Axe(t testing.TB) []Violation {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(RepoRoot(t), "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("axe-core is not installed (npm ci): %v", err)
		}
		t.Fatalf("axe-core is not installed (npm ci): %v", err)
	}
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[chromedp.Void](string(src)+";undefined")); err != nil && err != chromedp.ErrJSUndefined {
		t.Fatalf("inject axe-core: %v", err)
	}
	const run = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}})
		.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.map(n => n.target.join(" "))}))))`
	out, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	var all []Violation
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatal(err)
	}
	var bad []Violation
	for _, v := range all {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, v)
		}
	}
	return bad
}

// Fonts are the families of the platform fonts that drew the text of the first element
// selector matches (with the glyphs each drew), as the browser reports them.
func (p *Page) Fonts(t testing.TB, selector string) map[string]float64 {
	t.Helper()
	ids, err := chromedp.Run(p.ctx, chromedp.QueryNodeIDs(chromedp.CSS(selector)))
	if err != nil || len(ids) == 0 {
		t.Fatalf("fonts of %s: %v", selector, err)
	}
	out := map[string]float64{}
	err = chromedp.Do(p.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: ids[0]})
		if err != nil {
			return err
		}
		for _, f := range res.Fonts {
			out[f.FamilyName] += f.GlyphCount
		}
		return nil
	}))
	if err != nil {
		t.Fatalf("fonts of %s: %v", selector, err)
	}
	return out
}

// scriptFonts are the font families that have the glyphs of a script, among those Debian
// ships (fonts-noto-core, fonts-noto-cjk, fonts-thai-tlwg) and the usual others.
var scriptFonts = map[string]*regexp.Regexp{
	"th": regexp.MustCompile(`(?i)thai|tlwg|garuda|loma|kinnari|norasi|sawasdee|umpush|waree|purisa|laksaman|leelawadee|tahoma`),
	"zh": regexp.MustCompile(`(?i)cjk|hei|song|ming|kai|wenquanyi|droid sans fallback|pingfang|yahei|simsun`),
}

// NoTofu fails the test unless the text of the element selector matches is drawn with fonts
// that have lang's script (th, zh): text drawn with a font without its glyphs shows as boxes
// ("tofu"), which the browser reports as glyphs of the page's Latin font.
func (p *Page) NoTofu(t testing.TB, selector, lang string) {
	t.Helper()
	re, ok := scriptFonts[lang]
	if !ok {
		return
	}
	fonts := p.Fonts(t, selector)
	var scriptGlyphs float64
	for family, n := range fonts {
		if re.MatchString(family) {
			scriptGlyphs += n
		}
	}
	if scriptGlyphs == 0 {
		t.Errorf("%s: the %s text of %s is drawn with %v, none of which has its script: the glyphs show as boxes", p.URL, lang, selector, fonts)
	}
}

// statusOf is a response's status, 0 without one.
func statusOf(resp *network.Response) int64 {
	if resp == nil {
		return 0
	}
	return resp.Status
}
