package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/sestest"
	"github.com/referral/referrals/shared/email"
	"github.com/referral/referrals/shared/fulfil"
	"github.com/referral/referrals/shared/pages"
	"github.com/referral/referrals/shared/pages/advocate"
	"github.com/referral/referrals/shared/pages/friend"
	"github.com/referral/referrals/shared/store"
)

// stack is every router of the API over one minidyn table, dispatched by route key as API
// Gateway would, with a clock the test controls.
type stack struct {
	t       testing.TB
	db      *dynamotest.DB
	store   *store.Store
	fulfil  *fulfil.Service    // Stripe is not configured until a test points it at stripe-mock
	routers map[string]*Router // route key → router
	queue   *recordingQueue    // what the webhooks routes queued for delivery
	mu      sync.Mutex
	now     time.Time
}

var quietLog = slog.New(slog.NewTextHandler(logSink(), nil))

func newStack(t testing.TB) *stack {
	t.Helper()
	return newStackOn(t, dynamotest.Start(t))
}

// newStackOn is newStack over a table the test started (streamtest's, to see the stream).
func newStackOn(t testing.TB, db *dynamotest.DB) *stack {
	t.Helper()
	st := &stack{t: t, db: db, now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), queue: &recordingQueue{}}
	st.store = store.New(st.db.Client, st.db.Table, st.clock)
	programs := &store.ProgramCache{Store: st.store, TTL: 0}
	st.fulfil = &fulfil.Service{Store: st.store, Programs: programs, Log: quietLog}
	st.routers = map[string]*Router{}
	for _, r := range []*Router{
		NewPrograms(st.store, quietLog), NewCustomers(st.store, quietLog), NewCodes(st.store, programs, quietLog),
		NewPublicCodes(st.store, programs, testSharePages, quietLog), NewReferrals(st.store, programs, st.fulfil, quietLog),
		NewConversions(st.store, programs, quietLog), NewRewards(st.store, st.fulfil, quietLog), NewCouponPools(st.store, quietLog),
		NewKeys(st.store, quietLog),
		NewAsks(st.store, programs, quietLog), NewUnsubscribe(st.store, sampleSigner, quietLog),
		NewInsights(st.store, programs, quietLog),
		NewEmailCopy(st.store, &email.Previewer{Sender: &lazySES{t: t}}, "", quietLog),
		NewWebhooks(st.store, sampleSealer, testGuard, st.queue, quietLog),
		NewAdvocatePage(st.store, programs, samplePageSigner, "https://api.example.com", testAdvocatePages, quietLog),
	} {
		for _, rt := range r.Routes() {
			st.routers[rt.Key] = r
		}
	}
	return st
}

// lazySES sends through the real SES emulator, started on the first email of the test (most
// tests send none).
type lazySES struct {
	t    testing.TB
	once sync.Once
	ses  *email.SES
}

func (l *lazySES) Send(ctx context.Context, o email.Outgoing) (string, error) {
	l.once.Do(func() { l.ses = &email.SES{Client: sestest.Start(l.t).Client, From: "referrals@example.com"} })
	return l.ses.Send(ctx, o)
}

func (s *stack) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *stack) advance(d time.Duration) {
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}

// match finds the route key for method and path, and its path parameters, with the route
// matcher the local HTTP API uses.
func (s *stack) match(method, path string) (string, map[string]string) {
	keys := make([]string, 0, len(s.routers))
	for key := range s.routers {
		keys = append(keys, key)
	}
	routes, err := samtemplate.NewRoutes(keys...)
	if err != nil {
		s.t.Fatal(err)
	}
	r, params := routes.Match(method, path)
	if r == nil {
		return "", nil
	}
	return r.Key(), params
}

// event builds the payload 2.0 request API Gateway would send for method, target and body,
// with the scope the authorizer would have put in its context ("" = no key).
func event(routeKey string, params map[string]string, method, target, body, scope string) events.APIGatewayV2HTTPRequest {
	u, _ := url.Parse(target)
	q := map[string]string{}
	for k, v := range u.Query() {
		q[k] = strings.Join(v, ",")
	}
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: routeKey, RawPath: u.Path, RawQueryString: u.RawQuery,
		Headers: map[string]string{"content-type": "application/json"}, QueryStringParameters: q, PathParameters: params, Body: body}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.HTTP.Path = u.Path
	req.RequestContext.RequestID = "test-request"
	if scope != "" {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			Lambda: map[string]any{"scope": scope, "keyId": "test-" + scope}}
	}
	return req
}

// do sends a request with an admin key.
func (s *stack) do(method, target string, body any) (int, map[string]any) {
	return s.doAs("admin", method, target, body)
}

func (s *stack) doAs(scope, method, target string, body any) (int, map[string]any) {
	s.t.Helper()
	resp := s.raw(scope, method, target, body)
	var out map[string]any
	if resp.Body != "" && strings.HasPrefix(resp.Headers["Content-Type"], "application/json") {
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
			s.t.Fatalf("%s %s: response is not JSON: %v\n%s", method, target, err, resp.Body)
		}
	}
	return resp.StatusCode, out
}

func (s *stack) raw(scope, method, target string, body any) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	b := bodyString(s.t, body)
	u, _ := url.Parse(target)
	key, params := s.match(method, u.Path)
	if key == "" {
		s.t.Fatalf("no route for %s %s", method, target)
	}
	resp, err := s.routers[key].Handle(context.Background(), event(key, params, method, target, b, scope))
	if err != nil {
		s.t.Fatalf("%s %s: handler error: %v", method, target, err)
	}
	return resp
}

// errCode is the error code of an error body.
func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func errField(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["field"].(string)
	return c
}

// tieredProgram is the seeds' "$10 for each of the first five referrals, then $25 each".
func tieredProgram() map[string]any {
	return map[string]any{
		"name": "Give $10, get $10", "currency": "USD", "landingUrl": "https://shop.example.com/invite",
		"attributionWindowDays": 60, "holdDays": 14, "rewardExpiresInDays": 365,
		"milestones": []string{"signup", "purchase"},
		"advocateRewards": []any{map[string]any{"milestone": "purchase", "type": "tiered",
			"tiers": []any{map[string]any{"upTo": 5, "amount": 1000}, map[string]any{"amount": 2500}}, "kind": "gift_card"}},
		"refereeRewards": []any{map[string]any{"milestone": "signup", "type": "fixed", "amount": 1000, "kind": "discount"}},
	}
}

// setup creates program p1, advocate ana with a code, and returns the code.
func (s *stack) setup(program map[string]any) string {
	s.t.Helper()
	if st, b := s.do("PUT", "/programs/p1", program); st != 201 {
		s.t.Fatalf("PUT program: %d %v", st, b)
	}
	if st, b := s.do("PUT", "/customers/ana", map[string]any{"email": "Ana.Lima@gmail.com", "name": "Ana Lima", "purchaseCount": 3}); st != 201 {
		s.t.Fatalf("PUT customer: %d %v", st, b)
	}
	st, b := s.do("POST", "/programs/p1/codes", map[string]any{"customerId": "ana"})
	if st != 201 {
		s.t.Fatalf("POST code: %d %v", st, b)
	}
	return b["code"].(string)
}

// logSink is where handler logs go in tests: discarded unless REFERRALS_TEST_LOG is set.
func logSink() io.Writer {
	if os.Getenv("REFERRALS_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

// bodyString is a request body as sent: nil is none, a string is sent as it is, anything else
// as JSON.
func bodyString(t testing.TB, body any) string {
	t.Helper()
	switch v := body.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(j)
	}
}

// testSharePages are the share link's pages as the public codes function wires them.
var testSharePages = SharePages{Friend: friend.Serve, Error: pages.ErrorPage, Asset: pages.ServeAsset}

// testAdvocatePages are the advocate page's pages as its function wires them.
var testAdvocatePages = AdvocatePages{Page: advocate.Serve, Error: advocate.ErrorPage}
