package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	valerrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/pages"
	"gopkg.in/yaml.v3"
)

// notYetImplemented are operations of docs/openapi.yaml that no router serves yet (the
// test prints them). A route leaves this list when its router lands in newStack.
var notYetImplemented = []string{}

func openAPIPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "openapi.yaml")
}

var openAPI struct {
	once sync.Once
	v    validator.Validator
	err  error
}

// openAPIValidator is docs/openapi.yaml loaded once into libopenapi-validator, with format
// assertions (date-time, uri, email) on.
func openAPIValidator(t testing.TB) validator.Validator {
	t.Helper()
	openAPI.once.Do(func() {
		b, err := os.ReadFile(openAPIPath())
		if err != nil {
			openAPI.err = err
			return
		}
		doc, err := libopenapi.NewDocument(b)
		if err != nil {
			openAPI.err = fmt.Errorf("parse docs/openapi.yaml: %w", err)
			return
		}
		v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
		if len(errs) > 0 {
			openAPI.err = fmt.Errorf("build validator: %v", errs)
			return
		}
		openAPI.v = v
	})
	if openAPI.err != nil {
		t.Fatal(openAPI.err)
	}
	return openAPI.v
}

// httpRequest is the request a client sent for a payload 2.0 event, as net/http sees it.
func httpRequest(ev events.APIGatewayV2HTTPRequest) *http.Request {
	target := "http://127.0.0.1:3000" + ev.RawPath
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	var body io.Reader = http.NoBody
	if ev.Body != "" {
		body = strings.NewReader(ev.Body)
	}
	req, err := http.NewRequest(ev.RequestContext.HTTP.Method, target, body)
	if err != nil {
		panic(err) // events are built by the tests from valid parts
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	return req
}

// httpResponse is a function's response as the client receives it through API Gateway.
func httpResponse(req *http.Request, resp events.APIGatewayV2HTTPResponse) *http.Response {
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return &http.Response{StatusCode: resp.StatusCode, Status: fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Request: req,
		Body: io.NopCloser(strings.NewReader(resp.Body)), ContentLength: int64(len(resp.Body))}
}

// checkAgainstOpenAPI validates a response (always) and its request against docs/openapi.yaml;
// requestValid says whether the request is meant to follow the contract (a test of a 400 sends
// one that does not, and then the validator must reject it too).
func checkAgainstOpenAPI(t testing.TB, label string, ev events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse, requestValid bool) {
	t.Helper()
	v := openAPIValidator(t)
	ok, errs := v.ValidateHttpRequestSync(httpRequest(ev))
	switch {
	case requestValid && !ok:
		t.Errorf("%s: the request breaks docs/openapi.yaml:\n%s", label, validationErrors(errs))
	case !requestValid && ok:
		t.Errorf("%s: the request is meant to break the contract, but docs/openapi.yaml accepts it (is the schema too loose?)", label)
	}
	req := httpRequest(ev)
	if ok, errs := v.ValidateHttpResponse(req, httpResponse(req, resp)); !ok {
		t.Errorf("%s: the %d response breaks docs/openapi.yaml:\n%s\nbody: %s", label, resp.StatusCode, validationErrors(errs), clip(resp.Body))
	}
}

func validationErrors(errs []*valerrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  - %s: %s", e.Message, e.Reason)
		for _, s := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n      %s (at %s, schema %s)", s.Reason, s.FieldPath, s.KeywordLocation)
		}
		if e.HowToFix != "" {
			fmt.Fprintf(&b, "\n      fix: %s", e.HowToFix)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func clip(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	b, err := os.ReadFile(openAPIPath())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatalf("docs/openapi.yaml is not a valid OpenAPI 3.1 document:\n%s", validationErrors(verrs))
	}
}

// openAPIOperations lists the operations of docs/openapi.yaml as route keys.
func openAPIOperations(t testing.TB) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(openAPIPath())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for p, item := range doc.Paths {
		for m := range item {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options":
				out[strings.ToUpper(m)+" "+p] = true
			}
		}
	}
	return out
}

// TestOpenAPIListsEveryRoute: every route a router serves is an operation of docs/openapi.yaml,
// and every operation is served or explicitly not yet implemented.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	ops := openAPIOperations(t)
	s := newStack(t)
	for rk := range s.routers {
		if !ops[rk] {
			t.Errorf("%q is served but docs/openapi.yaml does not describe it", rk)
		}
		if slices.Contains(notYetImplemented, rk) {
			t.Errorf("%q is served now: take it off notYetImplemented", rk)
		}
	}
	var pending []string
	for op := range ops {
		if _, served := s.routers[op]; served {
			continue
		}
		if slices.Contains(notYetImplemented, op) {
			pending = append(pending, op)
			continue
		}
		t.Errorf("docs/openapi.yaml describes %q, which no router serves and notYetImplemented does not list", op)
	}
	for _, op := range notYetImplemented {
		if !ops[op] {
			t.Errorf("notYetImplemented lists %q, which docs/openapi.yaml does not describe", op)
		}
	}
	sort.Strings(pending)
	t.Logf("documented, not yet implemented (%d):\n  %s", len(pending), strings.Join(pending, "\n  "))
}

// contract drives requests through the routers and validates each exchange against the
// OpenAPI document, remembering which routes answered with success.
type contract struct {
	t         *testing.T
	s         *stack
	succeeded map[string]bool
}

// call sends a request that follows the contract and wants status; it returns the decoded body.
func (c *contract) call(scope, method, target string, body any, status int) map[string]any {
	c.t.Helper()
	return c.exchange(scope, method, target, body, status, true)
}

// bad sends a request that breaks the contract on purpose: the validator must reject it and
// the handler answer status (with a response that follows the contract).
func (c *contract) bad(scope, method, target string, body any, status int) map[string]any {
	c.t.Helper()
	return c.exchange(scope, method, target, body, status, false)
}

// patch sends a JSON merge patch (application/merge-patch+json) that follows the contract.
func (c *contract) patch(scope, target string, body any, status int) map[string]any {
	c.t.Helper()
	return c.exchangeAs(scope, "PATCH", target, body, status, true, mergePatchJSON)
}

func (c *contract) exchange(scope, method, target string, body any, status int, valid bool) map[string]any {
	c.t.Helper()
	return c.exchangeAs(scope, method, target, body, status, valid, "application/json")
}

func (c *contract) exchangeAs(scope, method, target string, body any, status int, valid bool, contentType string) map[string]any {
	c.t.Helper()
	b := bodyString(c.t, body)
	u, err := url.Parse(target)
	if err != nil {
		c.t.Fatal(err)
	}
	key, params := c.s.match(method, u.Path)
	if key == "" {
		c.t.Fatalf("no route for %s %s", method, target)
	}
	ev := event(key, params, method, target, b, scope)
	ev.Headers["content-type"] = contentType
	if b == "" {
		delete(ev.Headers, "content-type")
	}
	if scope != "" {
		ev.Headers["authorization"] = "Bearer test-" + scope + "-key"
	}
	resp, err := c.s.routers[key].Handle(context.Background(), ev)
	if err != nil {
		c.t.Fatalf("%s %s: handler error: %v", method, target, err)
	}
	c.s.advance(time.Second) // calls do not happen in the same instant
	label := fmt.Sprintf("%s %s (%s key)", method, target, scope)
	if scope == "" {
		label = fmt.Sprintf("%s %s (no key)", method, target)
	}
	if resp.StatusCode != status {
		c.t.Fatalf("%s: status %d, want %d\n%s", label, resp.StatusCode, status, clip(resp.Body))
	}
	checkAgainstOpenAPI(c.t, label, ev, resp, valid)
	if status < 400 {
		c.succeeded[key] = true
	}
	var out map[string]any
	if strings.HasPrefix(resp.Headers["Content-Type"], "application/json") {
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
			c.t.Fatalf("%s: body is not JSON: %v", label, err)
		}
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

// TestHandlersAnswerWhatOpenAPISays drives a program's whole life through every route,
// successes and the main errors, and validates every request and response against
// docs/openapi.yaml with libopenapi-validator.
func TestHandlersAnswerWhatOpenAPISays(t *testing.T) {
	s := newStack(t)
	c := &contract{t: t, s: s, succeeded: map[string]bool{}}
	const admin, server, public = auth.ScopeAdmin, auth.ScopeServer, ScopePublic

	// Programs: a minimal one (every default must still fit the schema) and a rich one.
	c.call(admin, "PUT", "/programs/p-min", map[string]any{"name": "Minimal", "currency": "EUR",
		"landingUrl": "https://shop.example.com/", "milestones": []string{"purchase"}}, 201)
	rich := map[string]any{
		"name": "Everything", "status": "active", "startsAt": "2026-11-01T00:00:00Z", "endsAt": nil, "currency": "USD",
		"landingUrl": "https://shop.example.com/invite?utm_source=referral", "attributionWindowDays": 60,
		"newCustomersOnly": false, "holdDays": 14, "rewardExpiresInDays": 365,
		"codes":      map[string]any{"prefix": "ACME-", "maxUses": 0, "expiresInDays": 0},
		"milestones": []string{"signup", "demo", "purchase"},
		"advocateRewards": []any{
			map[string]any{"milestone": "purchase", "type": "tiered", "tiers": []any{map[string]any{"upTo": 5, "amount": 1000}, map[string]any{"amount": 2500}}, "kind": "gift_card"},
			map[string]any{"milestone": "purchase", "type": "percent", "percent": 10, "maxAmount": 5000, "minAmount": 1000, "kind": "store_credit"},
			map[string]any{"milestone": "purchase", "type": "threshold", "atCount": 1, "kind": "free_product", "description": "A bag of beans"},
			map[string]any{"milestone": "demo", "type": "fixed", "amount": 500, "kind": "donation", "charity": "Code Club"},
		},
		"refereeRewards": []any{map[string]any{"milestone": "signup", "type": "fixed", "amount": 1000, "kind": "discount"}},
		"multipliers":    []any{map[string]any{"name": "Black Friday", "from": "2026-11-27T00:00:00Z", "to": "2026-12-01T00:00:00Z", "factor": 2}},
		"limits":         map[string]any{"maxRewardsPerAdvocate": 0, "maxAmountPerAdvocate": 0, "maxConversionsPerAdvocatePerDay": 0},
		"contest":        map[string]any{"prizes": []any{map[string]any{"rank": 1, "kind": "gift_card", "amount": 10000, "description": "Top referrer"}}},
		"emails": map[string]any{"sendOnCodeCreated": true, "thankAdvocates": true, "loyalAfterPurchases": 2, "loyalAfterDays": 365,
			"senderName": "Ana at Acme", "valueProposition": map[string]any{"en": "enjoy better coffee"}, "askCooldownDays": 30},
	}
	c.call(admin, "PUT", "/programs/p1", rich, 201)
	c.call(admin, "PUT", "/programs/p1", rich, 200)
	c.call(server, "GET", "/programs/p1", nil, 200)
	c.call(server, "GET", "/programs/nope", nil, 404)
	page := c.call(admin, "GET", "/programs?limit=1", nil, 200)
	if next := str(page["nextCursor"]); next == "" {
		t.Errorf("GET /programs?limit=1 of 2 programs: no nextCursor: %v", page)
	} else {
		c.call(admin, "GET", "/programs?limit=1&cursor="+url.QueryEscape(next), nil, 200)
	}
	c.call(server, "GET", "/programs", nil, 403)
	c.bad(admin, "GET", "/programs?limit=0", nil, 400)
	c.bad(public, "PUT", "/programs/p1", rich, 401)
	c.call(server, "PUT", "/programs/p1", rich, 403)
	c.bad(admin, "PUT", "/programs/p2", map[string]any{"name": "x", "currency": "usd", "landingUrl": "https://shop.example.com/", "milestones": []string{"purchase"}}, 400)
	c.bad(admin, "PUT", "/programs/p2", map[string]any{"name": "x", "currency": "USD", "landingUrl": "https://shop.example.com/", "milestones": []string{"purchase"}, "colour": "red"}, 400)
	c.bad(admin, "PUT", "/programs/p2", `{"name": "`+strings.Repeat("x", MaxBody)+`"}`, 413)

	// Customers.
	c.call(server, "PUT", "/customers/ana", map[string]any{"email": "ana.souza@gmail.com", "name": "Ana Souza", "locale": "pt-BR",
		"segment": "current", "purchaseCount": 3, "firstPurchaseAt": "2025-03-14T09:30:00Z", "marketingOptOut": false}, 201)
	c.call(server, "PUT", "/customers/ana", map[string]any{"email": "ana.souza@gmail.com", "name": "Ana Souza", "purchaseCount": 4}, 200)
	c.call(server, "PUT", "/customers/bo", map[string]any{}, 201)
	c.call(server, "GET", "/customers/ana", nil, 200)
	c.call(server, "GET", "/customers/bo", nil, 200)
	c.call(server, "GET", "/customers/zoe", nil, 404)
	c.bad(server, "PUT", "/customers/cy", map[string]any{"segment": "vip"}, 400)
	c.bad(server, "PUT", "/customers/cy", map[string]any{"email": "not-an-email"}, 400)
	c.patch(server, "/customers/ana", map[string]any{"purchaseCount": 5, "firstPurchaseAt": nil, "name": nil}, 200)
	c.patch(server, "/customers/ana", map[string]any{}, 200)
	c.patch(server, "/customers/zoe", map[string]any{"purchaseCount": 1}, 404)
	c.exchangeAs(server, "PATCH", "/customers/ana", map[string]any{"email": "not-an-email"}, 400, false, mergePatchJSON)
	c.exchangeAs(server, "PATCH", "/customers/ana", map[string]any{"colour": "red"}, 400, false, mergePatchJSON)
	c.call(server, "PUT", "/customers/ana", map[string]any{"email": "ana.souza@gmail.com", "name": "Ana Souza", "purchaseCount": 4}, 200)

	// Codes.
	code := str(c.call(server, "POST", "/programs/p1/codes", map[string]any{"customerId": "ana"}, 201)["code"])
	c.call(server, "POST", "/programs/p1/codes", map[string]any{"customerId": "ana"}, 200)
	c.call(server, "POST", "/programs/p1/codes", map[string]any{"customerId": "bo", "code": "bo-beans"}, 201)
	c.call(server, "POST", "/programs/p-min/codes", map[string]any{"customerId": "bo", "code": "BO-BEANS"}, 409)
	c.call(server, "POST", "/programs/p1/codes", map[string]any{"customerId": "zoe"}, 404)
	c.call(server, "POST", "/programs/nope/codes", map[string]any{"customerId": "ana"}, 404)
	c.bad(server, "POST", "/programs/p1/codes", map[string]any{"customerId": "ana", "code": "no spaces!"}, 400)
	c.bad(server, "POST", "/programs/p1/codes", map[string]any{}, 400)
	c.bad(public, "POST", "/programs/p1/codes", map[string]any{"customerId": "ana"}, 401)

	// Public code check and redirect.
	c.call(public, "GET", "/codes/"+code, nil, 200)
	c.call(public, "GET", "/codes/"+strings.ToLower(code), nil, 200)
	c.call(public, "GET", "/codes/NOPE-2026", nil, 404)
	c.call(public, "GET", "/r/"+code, nil, 302)
	c.call(public, "GET", "/r/"+code+"?ch=whatsapp&page=1", nil, 200)
	c.call(public, "GET", "/r/NOPE-2026", nil, 404)
	c.call(public, "GET", "/assets/"+pages.Asset("pages.css"), nil, 200)

	// Referrals.
	bo := map[string]any{"id": "bo", "email": "bo.chen@example.com", "name": "Bo Chen", "locale": "en"}
	c.call(server, "POST", "/referrals", map[string]any{"code": code, "referee": bo, "channel": "email"}, 201)
	c.call(server, "POST", "/referrals", map[string]any{"code": code, "referee": bo, "channel": "email"}, 409)
	c.call(server, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "eve"}}, 201)
	c.call(server, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "ana-2", "email": "anasouza+x@gmail.com"}}, 422)
	c.call(server, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "ana"}}, 422)
	c.call(server, "POST", "/referrals", map[string]any{"code": "NOPE-2026", "referee": bo}, 404)
	c.bad(server, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "cy", "email": "cy-at-example.com"}}, 400)
	c.bad(server, "POST", "/referrals", map[string]any{"code": code, "referee": bo, "channel": "E-Mail"}, 400)

	// Conversions: multi-rule purchase (tiered + percent + non-monetary threshold), signup for
	// the friend, a donation at demo, replay, conflict, checkout, errors.
	order := map[string]any{"eventId": "order-1", "refereeId": "bo", "milestone": "purchase", "amount": map[string]any{"amount": 20000, "currency": "USD"}}
	res := c.call(server, "POST", "/conversions", order, 201)
	if rw, _ := res["rewards"].([]any); len(rw) < 3 {
		t.Errorf("purchase on the rich program: want tiered, percent and threshold rewards, got %v", res["rewards"])
	}
	c.call(server, "POST", "/conversions", order, 200)
	c.call(server, "POST", "/conversions", map[string]any{"eventId": "order-1", "refereeId": "bo", "milestone": "purchase"}, 409)
	c.call(server, "POST", "/conversions", map[string]any{"eventId": "signup-bo", "refereeId": "bo", "milestone": "signup", "occurredAt": "2026-11-20T12:00:00Z"}, 201)
	c.call(server, "POST", "/conversions", map[string]any{"eventId": "demo-bo", "refereeId": "bo", "milestone": "demo"}, 201)
	c.call(server, "POST", "/conversions", map[string]any{"eventId": "order-2", "code": code, "referee": map[string]any{"id": "cy", "email": "cy.park@example.com", "name": "Cy Park"},
		"milestone": "purchase", "amount": map[string]any{"amount": 500, "currency": "USD"}}, 201)
	c.call(server, "POST", "/conversions", map[string]any{"eventId": "order-3", "refereeId": "dan", "milestone": "purchase"}, 422)
	c.call(server, "POST", "/conversions", map[string]any{"eventId": "order-4", "refereeId": "bo", "milestone": "training"}, 400)
	c.bad(server, "POST", "/conversions", map[string]any{"eventId": "order-5", "refereeId": "bo", "milestone": "purchase", "amount": map[string]any{"amount": -1, "currency": "USD"}}, 400)
	c.bad(server, "POST", "/conversions", map[string]any{"eventId": "order-6", "refereeId": "bo", "milestone": "purchase", "coupon": "X"}, 400)
	c.bad(public, "POST", "/conversions", order, 401)

	// Lists, with pagination.
	refs := c.call(server, "GET", "/customers/ana/referrals?limit=1", nil, 200)
	if next := str(refs["nextCursor"]); next != "" {
		c.call(server, "GET", "/customers/ana/referrals?limit=1&cursor="+url.QueryEscape(next), nil, 200)
	} else {
		t.Errorf("ana has 3 referrals but limit=1 gave no nextCursor: %v", refs)
	}
	c.call(server, "GET", "/customers/nobody/referrals", nil, 200)
	rewards := c.call(server, "GET", "/customers/ana/rewards", nil, 200)
	page = c.call(server, "GET", "/customers/ana/rewards?limit=1", nil, 200)
	if next := str(page["nextCursor"]); next != "" {
		c.call(server, "GET", "/customers/ana/rewards?limit=1&cursor="+url.QueryEscape(next), nil, 200)
	} else {
		t.Errorf("ana has several rewards but limit=1 gave no nextCursor: %v", page)
	}
	c.call(server, "GET", "/customers/bo/rewards", nil, 200)
	c.bad(server, "GET", "/customers/ana/rewards?limit=500", nil, 400)

	// Rewards: on hold, then fulfilled after the hold; approve only from review.
	var order1Reward string
	for _, r := range rewards["rewards"].([]any) {
		m := r.(map[string]any)
		if m["eventId"] == "order-1" && m["rule"] == "tiered" {
			order1Reward = str(m["rewardId"])
		}
	}
	if order1Reward == "" {
		t.Fatalf("no tiered reward for order-1 in %v", rewards)
	}
	fulfil := map[string]any{"reference": "GC-1234"}
	c.call(admin, "POST", "/rewards/"+order1Reward+"/fulfill", fulfil, 409)
	c.call(admin, "POST", "/rewards/"+order1Reward+"/approve", nil, 409)
	c.call(server, "POST", "/rewards/"+order1Reward+"/fulfill", fulfil, 403)
	c.bad(public, "POST", "/rewards/"+order1Reward+"/fulfill", fulfil, 401)
	c.bad(admin, "POST", "/rewards/"+order1Reward+"/fulfill", map[string]any{"reference": ""}, 400)
	c.call(admin, "POST", "/rewards/"+order1Reward+"/fulfill", map[string]any{}, 400) // a manual reward needs its reference
	c.call(admin, "POST", "/rewards/NOPE/fulfill", fulfil, 404)
	c.call(admin, "POST", "/rewards/NOPE/approve", nil, 404)
	s.advance(15 * 24 * time.Hour)
	c.call(admin, "POST", "/rewards/"+order1Reward+"/fulfill", fulfil, 200)
	c.call(admin, "POST", "/rewards/"+order1Reward+"/fulfill", fulfil, 200) // the same again: the same answer
	c.call(admin, "POST", "/rewards/"+order1Reward+"/fulfill", map[string]any{"reference": "GC-9999"}, 409)
	c.call(server, "GET", "/customers/ana/rewards", nil, 200)

	// Velocity: over the program's daily rate, rewards wait in review for an admin.
	velocity := map[string]any{"name": "Velocity", "currency": "USD", "landingUrl": "https://shop.example.com/", "milestones": []string{"purchase"},
		"advocateRewards": []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "cash"}},
		"limits":          map[string]any{"maxConversionsPerAdvocatePerDay": 1}}
	c.call(admin, "PUT", "/programs/pv", velocity, 201)
	c.call(server, "PUT", "/customers/vic", map[string]any{"name": "Vic"}, 201)
	vcode := str(c.call(server, "POST", "/programs/pv/codes", map[string]any{"customerId": "vic"}, 201)["code"])
	for i, ref := range []string{"r1", "r2"} {
		c.call(server, "POST", "/referrals", map[string]any{"code": vcode, "referee": map[string]any{"id": ref}}, 201)
		c.call(server, "POST", "/conversions", map[string]any{"eventId": "pv-" + ref, "refereeId": ref, "programId": "pv", "milestone": "purchase",
			"amount": map[string]any{"amount": 1000 * (i + 1), "currency": "USD"}}, 201)
	}
	var review string
	for _, r := range c.call(server, "GET", "/customers/vic/rewards", nil, 200)["rewards"].([]any) {
		if m := r.(map[string]any); m["status"] == "review" {
			review = str(m["rewardId"])
		}
	}
	if review == "" {
		t.Errorf("the second conversion of the day on a 1-a-day program left no reward in review")
	} else {
		c.call(admin, "POST", "/rewards/"+review+"/approve", map[string]any{"note": "checked"}, 200)
		c.call(admin, "POST", "/rewards/"+review+"/approve", nil, 200) // approving again answers the same
	}

	// Reversal, idempotent; then a reward that expired unfulfilled.
	c.call(server, "POST", "/conversions/order-2/reverse", map[string]any{"reason": "refund"}, 200)
	c.call(server, "POST", "/conversions/order-2/reverse", nil, 200)
	c.call(server, "POST", "/conversions/nope/reverse", nil, 404)
	c.bad(server, "POST", "/conversions/order-2/reverse", map[string]any{"why": "refund"}, 400)

	// A paused program: its codes stop working, and say so.
	paused := map[string]any{}
	for k, v := range rich {
		paused[k] = v
	}
	paused["status"] = "paused"
	c.call(admin, "PUT", "/programs/p1", paused, 200)
	c.call(public, "GET", "/codes/"+code, nil, 200)
	c.call(public, "GET", "/r/"+code, nil, 410)
	c.call(server, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "fay"}}, 422)
	c.call(server, "POST", "/programs/p1/codes", map[string]any{"customerId": "eve"}, 422)

	s.advance(400 * 24 * time.Hour)
	var expiring string
	for _, r := range c.call(server, "GET", "/customers/bo/rewards", nil, 200)["rewards"].([]any) {
		if m := r.(map[string]any); m["eventId"] == "signup-bo" {
			expiring = str(m["rewardId"])
		}
	}
	if expiring != "" {
		c.call(admin, "POST", "/rewards/"+expiring+"/fulfill", fulfil, 410)
	} else {
		t.Errorf("bo's signup reward is missing")
	}

	// Erasure: the personal data goes, the ledger stays.
	c.call(admin, "DELETE", "/customers/vic", nil, 204)
	c.call(server, "GET", "/customers/vic/rewards", nil, 200)
	c.call(server, "DELETE", "/customers/bo", nil, 403)

	// Every route served has answered with success here or in a sample event (which
	// TestSampleEvents validates the same way).
	samples := successfulSampleRoutes(t)
	var missing []string
	for rk := range s.routers {
		if !c.succeeded[rk] && !samples[rk] {
			missing = append(missing, rk)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no successful response validated against docs/openapi.yaml for: %s", strings.Join(missing, ", "))
	}
}

// successfulSampleRoutes are the routes with a sample event that answers 2xx or 3xx.
func successfulSampleRoutes(t *testing.T) map[string]bool {
	t.Helper()
	f := loadFixtures(t)
	out := map[string]bool{}
	for name, c := range f.Events {
		if c.TestedBy != "" || c.Status >= 400 {
			continue
		}
		if _, err := os.Stat(filepath.Join(eventsDir(), name)); err != nil {
			continue
		}
		out[loadSampleEvent(t, name).RouteKey] = true
	}
	return out
}
