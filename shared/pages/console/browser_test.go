package console_test

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"github.com/referral/referrals/devkit/samplesecrets"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/httpapi"
	"github.com/referral/referrals/devkit/pagetest"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/sestest"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/email"
	"github.com/referral/referrals/shared/fulfil"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/pages"
	"github.com/referral/referrals/shared/pages/console"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/webhook"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// rig is the console over a table whose writes feed the stats function, with the API's
// routers for the test to act as the merchant's backend.
type rig struct {
	t        *testing.T
	table    *streamtest.Table
	store    *store.Store
	routers  map[string]*api.Router
	stats    *insights.Consumer
	patterns []string
	srv      *httptest.Server
	console  *api.Router
	ses      *lazySES
	key      string // an admin key's secret
}

func newRig(t *testing.T) *rig {
	t.Helper()
	tb := streamtest.Start(t)
	s := store.New(tb.DB.Client, tb.DB.Table, nil)
	programs := &store.ProgramCache{Store: s}
	svc := &fulfil.Service{Store: s, Programs: programs, Log: quiet}
	ses := &lazySES{t: t}
	sealer, err := webhook.NewSealer(samplesecrets.WebhookSealKey)
	if err != nil {
		t.Fatal(err)
	}
	previewer, guard, queue := &email.Previewer{Sender: ses}, &webhook.Guard{Private: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, &recordingQueue{}
	called := console.Handlers{Store: s, Programs: programs, Fulfil: svc, Emails: previewer, Log: quiet,
		Sealer: sealer, Guard: guard, Queue: queue}.Routers()
	all := append(called, api.NewCustomers(s, quiet), api.NewCodes(s, programs, quiet), api.NewReferrals(s, programs, svc, quiet))
	r := &rig{t: t, table: tb, store: s, routers: map[string]*api.Router{}, ses: ses,
		stats: &insights.Consumer{Store: s, Programs: &store.ProgramCache{Store: s}, Log: quiet}, patterns: statsFilters(t)}
	for _, router := range all {
		for _, rt := range router.Routes() {
			r.routers[rt.Key] = router
		}
	}
	sessionKey := make([]byte, 32)
	_, _ = rand.Read(sessionKey)
	var c *api.Router
	// The console as its function wires it: the table's routes in-process, the others sent to
	// the API functions that serve them (here their routers, through the JSON an invocation
	// carries).
	remote, err := console.Remotes(functions{
		"RewardsFunction":   api.NewRewards(s, svc, quiet),
		"EmailCopyFunction": api.NewEmailCopy(s, previewer, "", quiet),
		"WebhooksFunction":  api.NewWebhooks(s, sealer, guard, queue, quiet),
	}, map[string]string{console.RewardsFunction: "RewardsFunction", console.EmailCopyFunction: "EmailCopyFunction",
		console.WebhooksFunction: "WebhooksFunction"})
	if err != nil {
		t.Fatal(err)
	}
	c, err = console.New(console.Config{Auth: &auth.Authorizer{Keys: s, Log: quiet}, SessionKey: sessionKey,
		API: console.Local(s, programs, quiet), Remote: remote, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	handlers := map[string]httpapi.Handler{
		"GET /assets/{file}": func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return pages.ServeAsset(req.PathParameters["file"]), nil
		},
	}
	for _, rt := range c.Routes() {
		handlers[rt.Key] = c.Handle
	}
	r.srv, r.console = pagetest.Serve(t, handlers), c
	_, key := r.api("POST /keys", nil, map[string]any{"scope": "admin", "name": "console test"}, 201)
	r.key = key["secret"].(string)
	return r
}

// functions are API functions by name, each its router, invoked with the JSON of the event as
// Lambda carries it (console.Invoker).
type functions map[string]*api.Router

func (f functions) Invoke(ctx context.Context, name string, payload []byte) ([]byte, error) {
	r := f[name]
	if r == nil {
		return nil, fmt.Errorf("ResourceNotFoundException: Function not found: %s", name)
	}
	var req api.Request
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, err
	}
	resp, err := r.Handle(ctx, req)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// lazySES sends through the real SES emulator (aws-ses-v2-local), started on the first email
// of the test.
type lazySES struct {
	t    testing.TB
	once sync.Once
	srv  *sestest.Server
	ses  *email.SES
}

func (l *lazySES) Send(ctx context.Context, o email.Outgoing) (string, error) {
	l.once.Do(func() {
		l.srv = sestest.Start(l.t)
		l.ses = &email.SES{Client: l.srv.Client, From: "referrals@example.com"}
	})
	return l.ses.Send(ctx, o)
}

// recordingQueue keeps what the webhook routes queue for the delivery function (the queue
// itself is SQS, tested in shared/webhook).
type recordingQueue struct {
	mu   sync.Mutex
	sent []webhook.Message
}

func (q *recordingQueue) Send(_ context.Context, m webhook.Message, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent = append(q.sent, m)
	return nil
}

// statsFilters are the stats function's stream filter patterns in template.yaml.
func statsFilters(t *testing.T) []string {
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range tpl.Functions()["InsightsStreamFunction"].Events() {
		fc, _ := e.Properties["FilterCriteria"].(map[string]any)
		fs, _ := fc["Filters"].([]any)
		for _, f := range fs {
			m, _ := f.(map[string]any)
			p, _ := m["Pattern"].(string)
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatal("no stream filters for InsightsStreamFunction")
	}
	return out
}

// api calls an API route as an admin key would and wants status.
func (r *rig) api(routeKey string, params map[string]string, body any, status int) (events.APIGatewayV2HTTPResponse, map[string]any) {
	r.t.Helper()
	method, path, _ := strings.Cut(routeKey, " ")
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	req := events.APIGatewayV2HTTPRequest{RouteKey: routeKey, RawPath: path, PathParameters: params, Headers: map[string]string{}}
	if body != nil {
		b, _ := json.Marshal(body)
		req.Body, req.Headers["content-type"] = string(b), "application/json"
	}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{"scope": "admin", "keyId": "test"}}
	resp, err := r.routers[routeKey].Handle(context.Background(), req)
	if err != nil || resp.StatusCode != status {
		r.t.Fatalf("%s: %d %v, want %d: %s", routeKey, resp.StatusCode, err, status, resp.Body)
	}
	var out map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &out)
	return resp, out
}

// drain delivers the stream so far to the stats function, filtered as its event source is.
func (r *rig) drain() {
	r.t.Helper()
	batches, err := streamtest.Batches(r.table.Take(), 100, r.patterns)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, b := range batches {
		resp, err := r.stats.Handle(context.Background(), streamtest.WindowEvent("shard-0", b))
		if err != nil || len(resp.BatchItemFailures) > 0 {
			r.t.Fatalf("stats: %v %v", err, resp.BatchItemFailures)
		}
	}
}

// checkPage holds every console page to the same bar: the CSP header, no inline script, no
// policy report, and no serious or critical axe-core violation.
func checkPage(t *testing.T, p *pagetest.Page, what string) {
	t.Helper()
	if p.Headers["content-security-policy"] != pages.CSP || !strings.Contains(p.Headers["content-security-policy"], "script-src 'self'") ||
		!strings.Contains(p.Headers["content-security-policy"], "frame-ancestors 'none'") {
		t.Errorf("%s: CSP %q", what, p.Headers["content-security-policy"])
	}
	for _, h := range []string{"x-content-type-options", "x-frame-options", "referrer-policy"} {
		if p.Headers[h] == "" {
			t.Errorf("%s: no %s header", what, h)
		}
	}
	if n := pagetest.Eval[int](t, p, `[...document.scripts].filter(s => !s.src || s.textContent.trim() !== "").length +
		document.querySelectorAll("[onclick],[onload],[onerror],[onsubmit],[onchange],[oninput],[style]").length +
		[...document.querySelectorAll("a[href]")].filter(a => a.href.startsWith("javascript:")).length`); n != 0 {
		t.Errorf("%s: %d inline scripts, handlers or styles", what, n)
	}
	if v := p.CSPViolations(); len(v) > 0 {
		t.Errorf("%s: the policy refused %v", what, v)
	}
	for _, v := range p.Axe(t) {
		t.Errorf("%s: %s", what, v)
	}
}

var wide = pagetest.Options{Width: 1280, Height: 900}

// The owner's whole round in a real browser: sign in, create a program (a bad value first:
// the API's message shows next to its input), see a conversion made through the API on the
// dashboard, approve a reward held for review, export the payout queue as CSV, sign out.
func TestConsoleInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium")
	}
	r := newRig(t)
	b := pagetest.StartBrowser(t)

	p := b.Open(t, r.srv.URL+"/console", wide)
	if p.Status != 200 || !strings.Contains(p.Text(t), "Sign in") {
		t.Fatalf("sign-in page: %d %q", p.Status, p.Text(t))
	}
	checkPage(t, p, "sign-in")
	p.Fill(t, "#key", "rk_live_not-a-key")
	p.Click(t, "form button[type=submit]")
	if p.Status != 401 || !strings.Contains(pagetest.Eval[string](t, p, `document.querySelector("#key-error").textContent`), "not a valid admin key") {
		t.Fatalf("wrong key: %d %q", p.Status, p.Text(t))
	}
	p.Fill(t, "#key", r.key)
	p.Click(t, "form button[type=submit]")
	if p.Status != 200 || !strings.Contains(p.Text(t), "No programs yet") {
		t.Fatalf("after sign-in: %d %q", p.Status, p.Text(t))
	}
	checkPage(t, p, "programs (empty)")
	var session string
	for _, c := range p.Cookies(t) {
		if c.Name == console.SessionCookie {
			session = c.Value
			if !c.HTTPOnly || !c.Secure || c.SameSite != "Strict" || c.Path != "/console" || c.Expires <= 0 {
				t.Errorf("session cookie flags: httpOnly %v secure %v sameSite %q path %q expires %v", c.HTTPOnly, c.Secure, c.SameSite, c.Path, c.Expires)
			}
		}
	}
	if session == "" {
		t.Fatal("no session cookie after sign-in")
	}

	// Create a program; the API refuses the currency first.
	p.Click(t, `a[href$="console/programs/new"]`)
	checkPage(t, p, "new program")
	p.Fill(t, "#programId", "acme")
	p.Fill(t, "#name", "Acme Coffee")
	p.Fill(t, "#currency", "dollars")
	p.Fill(t, "#landingUrl", "https://acme.example.com/join")
	p.Fill(t, "#holdDays", "0")
	p.Fill(t, "#settings", `{"milestones": ["purchase"],
		"advocateRewards": [{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "store_credit"}],
		"limits": {"maxConversionsPerAdvocatePerDay": 1},
		"contest": {"prizes": [{"rank": 1, "kind": "store_credit", "amount": 5000}]}}`)
	p.Click(t, "form.form button[type=submit]")
	if p.Status != 400 {
		t.Fatalf("bad currency: %d %q", p.Status, p.Text(t))
	}
	if msg := pagetest.Eval[string](t, p, `document.querySelector("#currency-error").textContent`); msg == "" ||
		pagetest.Eval[string](t, p, `document.querySelector("#currency").getAttribute("aria-invalid")`) != "true" ||
		pagetest.Eval[string](t, p, `document.querySelector("#name").value`) != "Acme Coffee" {
		t.Errorf("the currency's message is not beside it (or the form lost its values): %q", p.Text(t))
	}
	checkPage(t, p, "program form with an error")
	p.Fill(t, "#currency", "USD")
	p.Click(t, "form.form button[type=submit]")
	if p.Status != 200 || !strings.Contains(p.Text(t), "The program was saved") || !strings.Contains(p.Text(t), "Acme Coffee") {
		t.Fatalf("create: %d %q", p.Status, p.Text(t))
	}
	checkPage(t, p, "programs")

	// Edit it: the form holds the program as the API has it; a rule the API refuses is
	// reported beside the JSON editor, naming its path.
	p.Click(t, `a[href$="console/programs/acme/edit"]`)
	checkPage(t, p, "edit program")
	if got := pagetest.Eval[string](t, p, `document.querySelector("#name").value + "|" + document.querySelector("#holdDays").value + "|" +
		JSON.parse(document.querySelector("#settings").value).limits.maxConversionsPerAdvocatePerDay`); got != "Acme Coffee|0|1" {
		t.Errorf("the edit form shows %q", got)
	}
	settings := pagetest.Eval[string](t, p, `document.querySelector("#settings").value`)
	p.Fill(t, "#settings", strings.Replace(settings, `"amount": 1000`, `"amount": -5`, 1))
	p.Click(t, "form.form button[type=submit]")
	if msg := pagetest.Eval[string](t, p, `document.querySelector("#settings-error").textContent`); p.Status != 400 || !strings.Contains(msg, "advocateRewards[0]") {
		t.Errorf("a bad rule: %d %q", p.Status, msg)
	}
	p.Fill(t, "#settings", settings)
	p.Click(t, "form.form button[type=submit]")
	if p.Status != 200 || !strings.Contains(p.Text(t), "The program was saved") {
		t.Fatalf("save: %d %q", p.Status, p.Text(t))
	}

	// A forged pause (the form's token replaced) is refused with a page, and the program stays
	// active; the real form pauses it, and resumes it.
	pagetest.Eval[bool](t, p, `(document.querySelector('form[action$="/status"] input[name=csrf]').value = "forged", true)`)
	p.Click(t, `form[action$="/status"] button`)
	if p.Status != 403 || !strings.Contains(p.Text(t), "This form was refused") {
		t.Errorf("a forged form: %d %q", p.Status, p.Text(t))
	}
	checkPage(t, p, "refused form")
	if _, prog := r.api("GET /programs/{programId}", map[string]string{"programId": "acme"}, nil, 200); prog["status"] != "active" {
		t.Errorf("the forged form changed the program: %v", prog["status"])
	}
	p.Click(t, ".brand a")
	p.Click(t, `form[action$="/status"] button`)
	if p.Status != 200 || !strings.Contains(p.Text(t), "The program was paused") {
		t.Errorf("pause: %d %q", p.Status, p.Text(t))
	}
	p.Click(t, `form[action$="/status"] button`)
	if p.Status != 200 || !strings.Contains(p.Text(t), "The program was resumed") {
		t.Errorf("resume: %d %q", p.Status, p.Text(t))
	}

	// A program that does not exist: the API's answer as a page.
	missing := b.Open(t, r.srv.URL+"/console/programs/nope", wide)
	if missing.Status != 404 || !strings.Contains(missing.Text(t), "could not be shown") {
		t.Errorf("a missing program: %d %q", missing.Status, missing.Text(t))
	}
	checkPage(t, missing, "notice")

	// The merchant's backend: Ana refers Bo and Cy; both buy today. Cy's reward is the
	// second of the day, over the program's daily limit: held for review.
	r.api("PUT /customers/{customerId}", map[string]string{"customerId": "ana"}, map[string]any{"email": "ana@example.com", "name": "Ana Lima"}, 201)
	_, code := r.api("POST /programs/{programId}/codes", map[string]string{"programId": "acme"}, map[string]any{"customerId": "ana"}, 201)
	for i, friend := range []string{"bo", "cy"} {
		r.api("POST /referrals", nil, map[string]any{"code": code["code"], "referee": map[string]any{"id": friend, "email": friend + "@example.com", "name": friend}}, 201)
		r.api("POST /conversions", nil, map[string]any{"eventId": "order-" + friend, "refereeId": friend, "milestone": "purchase",
			"amount": map[string]any{"amount": 4200 + i*100, "currency": "USD"}}, 201)
	}
	r.drain()

	p.Click(t, `a[href$="console/programs/acme"]`)
	text := p.Text(t)
	if p.Status != 200 || !strings.Contains(text, "Referrals per month") {
		t.Fatalf("dashboard: %d %q", p.Status, text)
	}
	checkPage(t, p, "dashboard")
	figures := pagetest.Eval[string](t, p, `[...document.querySelectorAll(".stats li")].map(li => li.textContent.trim()).join("|")`)
	if figures != "2 Referrals|2 Conversions|$85 Referred revenue|1 Active advocates" {
		t.Errorf("dashboard figures: %q", figures)
	}
	if n := pagetest.Eval[int](t, p, `document.querySelectorAll("figure svg[role=img] rect").length`); n < 6 {
		t.Errorf("the charts draw %d bars", n)
	}
	if alt := pagetest.Eval[string](t, p, `document.querySelectorAll("figure svg")[1].getAttribute("aria-label")`); !strings.Contains(alt, ": 2.") {
		t.Errorf("conversions per month chart says %q", alt)
	}
	p.Screenshot(t, screenshotPath(t, "console-dashboard.png"))

	// The review queue: approve Cy's advocate reward.
	p.Click(t, `a[href*="rewards?status=review"]`)
	checkPage(t, p, "review queue")
	if n := pagetest.Eval[int](t, p, `document.querySelectorAll("tbody tr").length`); n != 1 {
		t.Fatalf("review queue has %d rewards: %q", n, p.Text(t))
	}
	p.Click(t, `form[action$="/approve"] button`)
	if p.Status != 200 || !strings.Contains(p.Text(t), "The reward was approved") || !strings.Contains(p.Text(t), "This queue is empty") {
		t.Fatalf("approve: %d %q", p.Status, p.Text(t))
	}

	// The payout queue holds both rewards now; its CSV has them.
	p.Click(t, `nav[aria-label="Reward queues"] a[href="?status=approved"]`)
	checkPage(t, p, "payout queue")
	href := pagetest.Eval[string](t, p, `document.querySelector("a[download]").href`)
	rows := fetchCSV(t, href, session)
	if len(rows) != 3 || rows[0][0] != "rewardId" {
		t.Fatalf("CSV: %v", rows)
	}
	status := -1
	for i, h := range rows[0] {
		if h == "status" {
			status = i
		}
	}
	for _, row := range rows[1:] {
		if status < 0 || row[status] != "approved" || row[1] != "acme" {
			t.Errorf("CSV row %v (header %v)", row, rows[0])
		}
	}

	// Pay one out: fulfilled with a reference, it leaves the payout queue.
	p.Fill(t, `form[action$="/fulfil"] input[name=reference]`, "GIFT-0001")
	p.Click(t, `form[action$="/fulfil"] button`)
	if p.Status != 200 || !strings.Contains(p.Text(t), "The reward was marked fulfilled") ||
		pagetest.Eval[int](t, p, `document.querySelectorAll("tbody tr").length`) != 1 {
		t.Errorf("fulfil: %d %q", p.Status, p.Text(t))
	}

	// This month's contest: Ana leads; the month has not ended, so the API refuses to close it.
	p.Click(t, `a[href$="console/programs/acme"]`)
	p.Click(t, `a[href$="console/programs/acme/contests"]`)
	checkPage(t, p, "contest")
	if got := pagetest.Eval[string](t, p, `[...document.querySelectorAll("tbody tr > *")].map(c => c.textContent.trim()).join(" ")`); got != "1 Ana ana 2" {
		t.Errorf("leaderboard row %q", got)
	}
	p.Click(t, `form[action$="/close"] button`)
	if p.Status < 400 || !strings.Contains(p.Text(t), "The contest was not closed") {
		t.Errorf("closing a running month: %d %q", p.Status, p.Text(t))
	}

	// Emails: the Thai friend-welcome as the API previews it, its HTML under the preview
	// route's own policy, and a test send (a bad address first).
	p.Click(t, ".brand a")
	p.Click(t, `a[href$="console/programs/acme"]`)
	p.Click(t, `a[href$="console/programs/acme/emails"]`)
	checkPage(t, p, "emails")
	pagetest.Eval[bool](t, p, `(document.querySelector("#template").value = "friend-welcome", document.querySelector("#lang").value = "th", true)`)
	p.Click(t, "form.pick button")
	checkPage(t, p, "emails (th)")
	if subject := pagetest.Eval[string](t, p, `document.querySelector(".subject").textContent`); p.Status != 200 || subject == "" ||
		!strings.Contains(p.Text(t), "friend-welcome in th") {
		t.Errorf("preview: %d %q", p.Status, p.Text(t))
	}
	preview := b.Open(t, pagetest.Eval[string](t, p, `document.querySelector("a[target=_blank]").href`), wide)
	if preview.Status != 200 || !strings.HasPrefix(preview.Headers["content-security-policy"], "default-src 'none'; style-src 'unsafe-inline'") ||
		!strings.Contains(preview.Text(t), "นภัส") {
		t.Errorf("HTML preview: %d %v %q", preview.Status, preview.Headers, preview.Text(t))
	}
	p.Fill(t, "#to", "not an address")
	p.Click(t, `form[action$="test-send"] button`)
	if msg := pagetest.Eval[string](t, p, `document.querySelector("#to-error") ? document.querySelector("#to-error").textContent : ""`); p.Status != 400 || msg == "" {
		t.Errorf("a bad test address: %d %q", p.Status, p.Text(t))
	}
	p.Fill(t, "#to", "owner@example.com")
	p.Click(t, `form[action$="test-send"] button`)
	if p.Status != 200 || !strings.Contains(p.Text(t), "The test email was sent to owner@example.com") {
		t.Errorf("test send: %d %q", p.Status, p.Text(t))
	}
	if sent := r.ses.srv.Emails(t); len(sent) != 1 || !strings.Contains(sent[0].Subject, "[TEST]") || sent[0].Destination.To[0] != "owner@example.com" {
		t.Errorf("SES received %+v", sent)
	}

	// Webhooks: a bad URL first (the API's message beside it), then an endpoint whose signing
	// secret shows once; its delivery log; a rotation (a new secret); deletion.
	p.Click(t, `a[href$="console/webhooks"]`)
	checkPage(t, p, "webhooks")
	p.Fill(t, "#url", "ftp://hooks.example.com/x")
	p.Click(t, `form[action$="console/webhooks"] button`)
	if msg := pagetest.Eval[string](t, p, `document.querySelector("#url-error") ? document.querySelector("#url-error").textContent : ""`); p.Status != 400 || msg == "" {
		t.Errorf("a bad webhook URL: %d %q", p.Status, p.Text(t))
	}
	p.Fill(t, "#url", "http://127.0.0.1:9/hooks")
	pagetest.Eval[bool](t, p, `(document.querySelector("input[value='reward.created']").checked = true)`)
	p.Fill(t, "#description", "CRM sync")
	p.Click(t, `form[action$="console/webhooks"] button`)
	whsec := pagetest.Eval[string](t, p, `document.querySelector("#secret").value`)
	if p.Status != 201 || !strings.HasPrefix(whsec, "whsec_") || !strings.Contains(p.Text(t), "CRM sync") {
		t.Fatalf("register a webhook: %d %q", p.Status, p.Text(t))
	}
	checkPage(t, p, "webhook registered")
	p.Click(t, `a[href$="/deliveries"]`)
	checkPage(t, p, "deliveries")
	if !strings.Contains(p.Text(t), "No deliveries yet") {
		t.Errorf("deliveries: %q", p.Text(t))
	}
	p.Click(t, `a[href$="console/webhooks"]`)
	p.Click(t, `form[action$="/rotate"] button`)
	if rotated := pagetest.Eval[string](t, p, `document.querySelector("#secret").value`); p.Status != 200 || rotated == whsec || !strings.HasPrefix(rotated, "whsec_") {
		t.Errorf("rotate: %d %q", p.Status, p.Text(t))
	}
	p.Click(t, `form[action$="/delete"] button`)
	if !strings.Contains(p.Text(t), "The endpoint was deleted") || !strings.Contains(p.Text(t), "No webhook endpoints yet") {
		t.Errorf("delete: %d %q", p.Status, p.Text(t))
	}

	// API keys: a server key is issued (its secret shown once, and it works), then revoked.
	p.Click(t, `a[href$="console/keys"]`)
	checkPage(t, p, "keys")
	p.Fill(t, "#key-name", "Shop backend")
	p.Click(t, `form[action$="console/keys"] button`)
	secret := pagetest.Eval[string](t, p, `document.querySelector("#secret").value`)
	keyID := pagetest.Eval[string](t, p, `document.querySelector(".issued code").textContent`)
	if p.Status != 201 || !strings.HasPrefix(secret, auth.SecretPrefix) || keyID == "" {
		t.Fatalf("issue a key: %d %q", p.Status, p.Text(t))
	}
	checkPage(t, p, "key issued")
	authz := &auth.Authorizer{Keys: r.store, Log: quiet}
	if d, err := authz.Decide(context.Background(), "Bearer "+secret); err != nil || d.Scope != auth.ScopeServer {
		t.Errorf("the issued key: %+v %v", d, err)
	}
	// The list shows it by name, id and the secret's last 4 characters, never the secret; its
	// row's button revokes it.
	p.Click(t, `a[href$="console/keys"]`)
	if text := p.Text(t); !strings.Contains(text, "Shop backend") || !strings.Contains(text, keyID) ||
		!strings.Contains(text, "secret ending "+secret[len(secret)-4:]) || strings.Contains(text, secret) {
		t.Errorf("the key list: %q", text)
	}
	p.Click(t, `button[aria-label="Revoke Shop backend (`+keyID+`)"]`)
	if !strings.Contains(p.Text(t), "The key was revoked") || strings.Contains(p.Text(t), secret) || !strings.Contains(p.Text(t), "revoked 2") {
		t.Errorf("revoke: %d %q", p.Status, p.Text(t))
	}
	checkPage(t, p, "keys listed")
	if d, _ := authz.Decide(context.Background(), "Bearer "+secret); d.Scope != "" {
		t.Errorf("the revoked key still decides %+v", d)
	}

	// Sign out: the cookie is gone and the console asks for a key again.
	p.Click(t, `form[action$="sign-out"] button`)
	if !strings.Contains(p.Text(t), "Admin API key") {
		t.Errorf("after sign-out: %q", p.Text(t))
	}
	for _, c := range p.Cookies(t) {
		if c.Name == console.SessionCookie {
			t.Errorf("the session cookie outlived sign-out")
		}
	}
}

// fetchCSV downloads the CSV at href with the session cookie, as the browser's download does.
func fetchCSV(t *testing.T, href, session string) [][]string {
	t.Helper()
	req, _ := http.NewRequest("GET", href, nil)
	req.AddCookie(&http.Cookie{Name: console.SessionCookie, Value: session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="rewards-approved`) {
		t.Fatalf("CSV download: %d %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// screenshotPath is where a screenshot goes: $SCREENSHOTS (make screenshots), else the
// test's temporary folder.
func screenshotPath(t *testing.T, name string) string {
	if dir := os.Getenv("SCREENSHOTS"); dir != "" {
		return filepath.Join(dir, name)
	}
	return filepath.Join(t.TempDir(), name)
}

// A form posted without the session's CSRF token, or with another's, is refused with a page
// that says so, and nothing changes; so is one without a session, and a cross-site one.
func TestForgedFormsAreRefused(t *testing.T) {
	r := newRig(t)
	r.api("PUT /programs/{programId}", map[string]string{"programId": "acme"}, map[string]any{"name": "Acme", "currency": "USD", "landingUrl": "https://acme.example.com/",
		"milestones": []string{"purchase"}, "advocateRewards": []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "store_credit"}}}, 201)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form string, cookie string, headers map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", r.srv.URL+path, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: console.SessionCookie, Value: cookie})
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := post("/console/sign-in", "key="+r.key, "", nil)
	var session string
	for _, c := range resp.Cookies() {
		if c.Name == console.SessionCookie {
			session = c.Value
		}
	}
	if resp.StatusCode != 303 || session == "" {
		t.Fatalf("sign-in: %d %v", resp.StatusCode, resp.Header)
	}
	// A second session's token is not this session's.
	other := post("/console/sign-in", "key="+r.key, "", nil).Cookies()[0].Value
	otherToken := csrfOf(t, r, other)
	for name, tc := range map[string]struct {
		form, cookie string
		headers      map[string]string
	}{
		"no token":            {"status=paused", session, nil},
		"a wrong token":       {"status=paused&csrf=abc", session, nil},
		"another's token":     {"status=paused&csrf=" + otherToken, session, nil},
		"no session":          {"status=paused&csrf=" + csrfOf(t, r, session), "", nil},
		"a cross-site post":   {"status=paused&csrf=" + csrfOf(t, r, session), session, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		"another origin":      {"status=paused&csrf=" + csrfOf(t, r, session), session, map[string]string{"Origin": "https://evil.example"}},
		"a tampered cookie":   {"status=paused&csrf=" + csrfOf(t, r, session), session[:len(session)-2] + "xx", nil},
		"a sign-in elsewhere": {"key=" + r.key, "", map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		path := "/console/programs/acme/status"
		if strings.HasPrefix(tc.form, "key=") {
			path = "/console/sign-in"
		}
		resp := post(path, tc.form, tc.cookie, tc.headers)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 403 || !strings.Contains(string(body), "nothing was changed") && !strings.Contains(string(body), "Nothing was changed") &&
			!strings.Contains(string(body), "did not come from") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
		if resp.Header.Get("Content-Security-Policy") != pages.CSP {
			t.Errorf("%s: CSP %q", name, resp.Header.Get("Content-Security-Policy"))
		}
	}
	_, p := r.api("GET /programs/{programId}", map[string]string{"programId": "acme"}, nil, 200)
	if p["status"] != "active" {
		t.Errorf("a refused form changed the program: %v", p["status"])
	}
	// The real token works, and revoking the key ends the session.
	if resp := post("/console/programs/acme/status", "status=paused&csrf="+csrfOf(t, r, session), session, nil); resp.StatusCode != 303 {
		t.Errorf("the session's own form: %d", resp.StatusCode)
	}
	if _, p := r.api("GET /programs/{programId}", map[string]string{"programId": "acme"}, nil, 200); p["status"] != "paused" {
		t.Errorf("pause did not pause: %v", p["status"])
	}
	_, keys := r.api("POST /keys", nil, map[string]any{"scope": "admin", "name": "short-lived"}, 201)
	resp = post("/console/sign-in", "key="+keys["secret"].(string), "", nil)
	short := resp.Cookies()[0].Value
	r.api("DELETE /keys/{keyId}", map[string]string{"keyId": keys["keyId"].(string)}, nil, 204)
	if resp := post("/console/programs/acme/status", "status=active&csrf="+csrfOf(t, r, short), short, nil); resp.StatusCode != 403 {
		t.Errorf("a revoked key's session still posts: %d", resp.StatusCode)
	}
}

// csrfOf reads the CSRF token of a session from its programs page.
func csrfOf(t *testing.T, r *rig, session string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", r.srv.URL+"/console", nil)
	req.AddCookie(&http.Cookie{Name: console.SessionCookie, Value: session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	_, rest, ok := strings.Cut(string(body), `name="csrf" value="`)
	if !ok {
		return ""
	}
	token, _, _ := strings.Cut(rest, `"`)
	return token
}
