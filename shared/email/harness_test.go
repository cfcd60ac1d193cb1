package email_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/referral/referrals/devkit/samplesecrets"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/sestest"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/devkit/stripemock"
	"github.com/referral/referrals/shared/advocatelink"
	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/email"
	"github.com/referral/referrals/shared/fulfil"
	"github.com/referral/referrals/shared/pages/advocate"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/unsubscribe"
)

// senderEmail is the deployment's sender address in the tests.
const senderEmail = "referrals@example.com"

// publicURL is the API's public base URL in the tests.
const publicURL = "https://api.example.com"

// env is the email path end to end: the API routers on a minidyn table whose writes become
// stream records, the stream function's handler, and the real SES emulator.
type env struct {
	t       *testing.T
	table   *streamtest.Table
	store   *store.Store
	ses     *sestest.Server
	log     *logBuffer
	signer  *unsubscribe.Signer
	pages   *advocatelink.Signer
	routers map[string]*api.Router
	fulfil  *fulfil.Service // Stripe is not configured until a test points it at stripe-mock (withStripe)
	clock   *clock

	// The event source mapping of template.yaml.
	batchSize int
	filters   []string
}

// clock runs in real time from a fixed start (so leases expire while tests wait) and can be
// moved forward (past a reward's hold).
type clock struct {
	mu     sync.Mutex
	start  time.Time
	base   time.Time
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.start) + c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ses: sestest.Start(t), log: &logBuffer{},
		clock: &clock{start: time.Now(), base: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}}
	e.table = streamtest.Start(t)
	e.table.SetClock(e.clock.now)
	e.store = store.New(e.table.Client, e.table.Table, e.clock.now)
	var err error
	if e.signer, err = unsubscribe.New(samplesecrets.Unsubscribe); err != nil {
		t.Fatal(err)
	}
	if e.pages, err = advocatelink.New(samplesecrets.AdvocatePage); err != nil {
		t.Fatal(err)
	}
	programs := &store.ProgramCache{Store: e.store}
	logger := e.log.logger()
	e.fulfil = &fulfil.Service{Store: e.store, Programs: programs, Log: logger}
	e.routers = map[string]*api.Router{}
	for _, r := range []*api.Router{
		api.NewPrograms(e.store, logger), api.NewCustomers(e.store, logger), api.NewCodes(e.store, programs, logger),
		api.NewReferrals(e.store, programs, e.fulfil, logger), api.NewConversions(e.store, programs, logger),
		api.NewAsks(e.store, programs, logger), api.NewUnsubscribe(e.store, e.signer, logger),
		api.NewRewards(e.store, e.fulfil, logger),
		api.NewAdvocatePage(e.store, programs, e.pages, publicURL, api.AdvocatePages{Page: advocate.Serve, Error: advocate.ErrorPage}, logger),
	} {
		for _, rt := range r.Routes() {
			e.routers[rt.Key] = r
		}
	}
	e.batchSize, e.filters = streamMapping(t)
	t.Cleanup(func() { e.checkLogsHaveNoAddresses() })
	return e
}

// withStripe points the referral and reward routes' fulfilment at stripe-mock.
func (e *env) withStripe() *stripemock.Mock {
	e.t.Helper()
	m := stripemock.ForTest(e.t)
	e.fulfil.Stripe = fulfil.FixedStripeAccount("sk_test_referrals", m.URL)
	return m
}

// streamMapping reads the email function's DynamoDB event from template.yaml.
func streamMapping(t *testing.T) (batchSize int, filters []string) {
	t.Helper()
	props := emailStreamEvent(t)
	batchSize = int(props["BatchSize"].(int64))
	fc, _ := props["FilterCriteria"].(map[string]any)
	for _, f := range fc["Filters"].([]any) {
		filters = append(filters, f.(map[string]any)["Pattern"].(string))
	}
	return batchSize, filters
}

func emailStreamEvent(t *testing.T) map[string]any {
	t.Helper()
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	fn, ok := tpl.Functions()["EmailFunction"]
	if !ok {
		t.Fatal("template.yaml has no EmailFunction")
	}
	for _, ev := range fn.Events() {
		if ev.Type == "DynamoDB" {
			return ev.Properties
		}
	}
	t.Fatal("EmailFunction has no DynamoDB event")
	return nil
}

// handler is the email function as main builds it, sending through client.
func (e *env) handler(client email.SESAPI) *email.Stream {
	return &email.Stream{
		Store:       e.store,
		Programs:    &store.ProgramCache{Store: e.store},
		Copies:      &store.CopyCache{Store: e.store},
		Sender:      &email.SES{Client: client, From: senderEmail},
		Unsubscribe: e.signer,
		Pages:       e.pages,
		PublicURL:   publicURL,
		Log:         e.log.logger(),
		Lease:       500 * time.Millisecond,
	}
}

// records returns the stream records written since the last call, all of them.
func (e *env) records() []events.DynamoDBEventRecord { return e.table.Take() }

// batches returns the stream records written since the last call as the event source
// mapping of template.yaml delivers them: filtered, in batches of BatchSize.
func (e *env) batches() [][]events.DynamoDBEventRecord {
	e.t.Helper()
	b, err := streamtest.Batches(e.records(), e.batchSize, e.filters)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// deliver invokes h with one batch.
func deliver(t *testing.T, h *email.Stream, recs []events.DynamoDBEventRecord) events.DynamoDBEventResponse {
	t.Helper()
	resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: recs})
	if err != nil {
		t.Fatalf("handler error: %v", err)
	}
	return resp
}

// call sends a request to the route with path parameters and a JSON body, as API Gateway
// would with a server key (or none for public routes).
func (e *env) call(routeKey string, params map[string]string, target string, body any) (int, map[string]any) {
	e.t.Helper()
	r, ok := e.routers[routeKey]
	if !ok {
		e.t.Fatalf("no router for %s", routeKey)
	}
	method, _, _ := strings.Cut(routeKey, " ")
	u, _ := url.Parse(target)
	q := map[string]string{}
	for k, v := range u.Query() {
		q[k] = v[0]
	}
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: routeKey, RawPath: u.Path, RawQueryString: u.RawQuery,
		Headers: map[string]string{"content-type": "application/json"}, QueryStringParameters: q, PathParameters: params}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.RequestID = "test"
	if body != nil {
		b, _ := json.Marshal(body)
		req.Body = string(b)
	}
	if !strings.Contains(routeKey, "unsubscribe") {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			Lambda: map[string]any{"scope": "admin", "keyId": "test-admin"}}
	}
	resp, err := r.Handle(context.Background(), req)
	if err != nil {
		e.t.Fatalf("%s: %v", routeKey, err)
	}
	var out map[string]any
	if strings.HasPrefix(resp.Headers["Content-Type"], "application/json") {
		_ = json.Unmarshal([]byte(resp.Body), &out)
	}
	return resp.StatusCode, out
}

func (e *env) must(routeKey string, params map[string]string, target string, body any) map[string]any {
	e.t.Helper()
	st, out := e.call(routeKey, params, target, body)
	if st >= 300 {
		e.t.Fatalf("%s %s: %d %v", routeKey, target, st, out)
	}
	return out
}

// demoProgram is the seeds' program: $10 gift cards for the first five referees' purchases,
// then $25, held 14 days; a $10 discount for the friend at signup; codes and thank-yous
// emailed, replies to the business.
func demoProgram() map[string]any {
	return map[string]any{
		"name": "Give $10, get $10", "currency": "USD", "landingUrl": "https://shop.example.com/invite",
		"attributionWindowDays": 60, "holdDays": 14, "milestones": []string{"signup", "purchase"},
		"advocateRewards": []any{map[string]any{"milestone": "purchase", "type": "tiered",
			"tiers": []any{map[string]any{"upTo": 5, "amount": 1000}, map[string]any{"amount": 2500}}, "kind": "gift_card"}},
		"refereeRewards": []any{map[string]any{"milestone": "signup", "type": "fixed", "amount": 1000, "kind": "discount"}},
		"emails": map[string]any{"sendOnCodeCreated": true, "thankAdvocates": true, "loyalAfterPurchases": 2, "loyalAfterDays": 365,
			"senderName": "Sam at Acme Coffee", "valueProposition": map[string]any{"en": "enjoy fresh beans every week"}, "askCooldownDays": 30},
		"business": map[string]any{"name": "Acme Coffee", "address": "1 Main Street\nSpringfield", "replyTo": "hello@acme.example.com"},
	}
}

func (e *env) putProgram(p map[string]any) {
	e.t.Helper()
	e.must("PUT /programs/{programId}", map[string]string{"programId": "demo"}, "/programs/demo", p)
}

func (e *env) putCustomer(id string, c map[string]any) {
	e.t.Helper()
	e.must("PUT /customers/{customerId}", map[string]string{"customerId": id}, "/customers/"+id, c)
}

func (e *env) createCode(customer, vanity string) string {
	e.t.Helper()
	body := map[string]any{"customerId": customer}
	if vanity != "" {
		body["code"] = vanity
	}
	return e.must("POST /programs/{programId}/codes", map[string]string{"programId": "demo"}, "/programs/demo/codes", body)["code"].(string)
}

func (e *env) refer(code, referee string) {
	e.t.Helper()
	e.must("POST /referrals", nil, "/referrals", map[string]any{"code": code, "channel": "email",
		"referee": map[string]any{"id": referee, "email": referee + ".friend@example.net", "name": strings.ToUpper(referee[:1]) + referee[1:] + " Friend"}})
}

func (e *env) convert(eventID, referee, milestone string) map[string]any {
	e.t.Helper()
	return e.must("POST /conversions", nil, "/conversions", map[string]any{"eventId": eventID, "refereeId": referee,
		"milestone": milestone, "amount": map[string]any{"amount": 5000, "currency": "USD"}})
}

// approve approves a reward through the admin route (what the scheduler will do when a hold
// ends), and answers the reward.
func (e *env) approve(rewardID string) map[string]any {
	e.t.Helper()
	return e.must("POST /rewards/{rewardId}/approve", map[string]string{"rewardId": rewardID}, "/rewards/"+rewardID+"/approve", nil)
}

// rewardsOf lists a customer's rewards (GET /customers/{id}/rewards).
func (e *env) rewardsOf(customer string) []map[string]any {
	e.t.Helper()
	out := e.must("GET /customers/{customerId}/rewards", map[string]string{"customerId": customer}, "/customers/"+customer+"/rewards", nil)
	var list []map[string]any
	for _, r := range out["rewards"].([]any) {
		list = append(list, r.(map[string]any))
	}
	return list
}

// deliverAll delivers what the stream holds as the event source mapping would, and fails the
// test on a reported failure.
func (e *env) deliverAll(h *email.Stream) {
	e.t.Helper()
	for _, b := range e.batches() {
		if resp := deliver(e.t, h, b); len(resp.BatchItemFailures) != 0 {
			e.t.Fatalf("batch failures: %v", resp.BatchItemFailures)
		}
	}
}

func (e *env) ask(customer, template string) (int, map[string]any) {
	e.t.Helper()
	body := map[string]any{"customerId": customer, "programId": "demo"}
	if template != "" {
		body["template"] = template
	}
	return e.call("POST /asks", nil, "/asks", body)
}

// addresses lists every customer email address the tests use, to look for in the logs.
var addresses = []string{"ana.souza@example.com", "bo.friend@example.net", "cy.park@example.com", "di@example.com", "@"}

// logBuffer collects the JSON logs of handlers and routers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// checkLogsHaveNoAddresses fails the test when any log line holds an email address.
func (e *env) checkLogsHaveNoAddresses() {
	logs := e.log.String()
	for _, a := range addresses {
		if strings.Contains(logs, a) {
			e.t.Errorf("the logs contain %q (personal data):\n%s", a, logs)
			return
		}
	}
}

// sent lists what the SES emulator received.
func (e *env) sent() []sestest.Email { return e.ses.Emails(e.t) }

// recordingSES passes calls to the real client and keeps the requests, for what the emulator
// does not store (message tags, configuration set).
type recordingSES struct {
	email.SESAPI
	mu    sync.Mutex
	calls []*sesv2.SendEmailInput
}

func (r *recordingSES) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, o ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	r.mu.Lock()
	r.calls = append(r.calls, in)
	r.mu.Unlock()
	return r.SESAPI.SendEmail(ctx, in, o...)
}

func (r *recordingSES) inputs() []*sesv2.SendEmailInput {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*sesv2.SendEmailInput(nil), r.calls...)
}
