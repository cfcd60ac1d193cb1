package pagetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Fill sets the value of the form field selector matches (an input, a textarea, a select).
func (p *Page) Fill(t testing.TB, selector, value string) {
	t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.SetValue(chromedp.CSS(selector), value)); err != nil {
		t.Fatalf("fill %s: %v", selector, err)
	}
}

// Click clicks the element selector matches and waits for the page it loads (a link, a form's
// submit button): Status, Headers and URL are then the new document's.
func (p *Page) Click(t testing.TB, selector string) {
	t.Helper()
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Click(chromedp.CSS(selector)))
	if err != nil {
		t.Fatalf("click %s: %v", selector, err)
	}
	p.mu.Lock()
	p.cspIssues = nil
	p.mu.Unlock()
	p.URL, p.Status = resp.URL, resp.Status
	p.Headers = map[string]string{}
	for k, v := range resp.Headers {
		p.Headers[strings.ToLower(k)] = fmt.Sprint(v)
	}
}

// Cookies are the browser's cookies for the page's URL, with their flags.
func (p *Page) Cookies(t testing.TB) []*network.Cookie {
	t.Helper()
	var cs []*network.Cookie
	err := chromedp.Do(p.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{p.URL}})
		cs = res.Cookies
		return err
	}))
	if err != nil {
		t.Fatalf("cookies: %v", err)
	}
	return cs
}
