package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/auth"
)

// Fuzz targets for every request decoder and validator: each drives the real router (on a
// minidyn table holding a small scenario, so valid inputs reach the store) and holds it to
// "no panic, no 5xx, every answer is the API's JSON". The seeds are the bodies of the sample
// events in events/ plus a few edge cases; `go test` runs them, `make fuzz` explores.

// fuzzWorld is the scenario fuzzed requests land in: program p1, advocate ana with a code,
// referee bo with a purchase (so a reward exists), and ids to aim at.
type fuzzWorld struct {
	s        *stack
	code     string
	rewardID string
}

func newFuzzWorld(f *testing.F) *fuzzWorld {
	f.Helper()
	s := newStack(f)
	w := &fuzzWorld{s: s, code: s.setup(tieredProgram())}
	refer(s, w.code, "bo")
	st, b := convert(s, "order-1", "bo", "purchase", 5000)
	if st != 201 {
		f.Fatalf("scenario conversion: %d %v", st, b)
	}
	w.rewardID = b["rewards"].([]any)[0].(map[string]any)["rewardId"].(string)
	return w
}

// call sends one fuzzed request to the router of route, as API Gateway would with an admin key.
func (w *fuzzWorld) call(t *testing.T, route string, params map[string]string, rawQuery, body string, b64 bool) events.APIGatewayV2HTTPResponse {
	t.Helper()
	r, ok := w.s.routers[route]
	if !ok {
		t.Skipf("no router serves %s", route)
	}
	path := strings.SplitN(route, " ", 2)[1]
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	method := strings.SplitN(route, " ", 2)[0]
	ev := event(route, params, method, path, body, auth.ScopeAdmin)
	ev.RawQueryString = rawQuery
	ev.QueryStringParameters = nil
	if q, err := url.ParseQuery(rawQuery); err == nil && len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		for k, v := range q {
			ev.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	if b64 {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
	}
	resp, err := r.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("%s: handler returned an error: %v", route, err)
	}
	checkFuzzAnswer(t, route, body, resp)
	return resp
}

// checkFuzzAnswer is what any input must get: a status below 500 and, for errors (other than
// the HTML pages people see), the API's JSON error envelope with a snake_case code.
func checkFuzzAnswer(t *testing.T, route, body string, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if resp.StatusCode < 200 || resp.StatusCode >= 500 {
		t.Fatalf("%s answered %d for body %q:\n%s", route, resp.StatusCode, truncateFuzz(body), resp.Body)
	}
	if resp.StatusCode < 400 || strings.HasPrefix(resp.Headers["Content-Type"], "text/html") {
		return // the unsubscribe page answers people in HTML
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || !errorCodeRE.MatchString(e.Error.Code) || e.Error.Message == "" {
		t.Fatalf("%s answered %d without the error envelope for body %q:\n%s", route, resp.StatusCode, truncateFuzz(body), resp.Body)
	}
}

var errorCodeRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func truncateFuzz(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// seedBodies adds the bodies of the sample events of route, then extra.
func seedBodies(f *testing.F, route string, extra ...string) {
	f.Helper()
	dir := samtemplate.EventsDir()
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(names)
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var ev struct {
			RouteKey string `json:"routeKey"`
			Body     string `json:"body"`
		}
		if json.Unmarshal(b, &ev) == nil && ev.RouteKey == route && ev.Body != "" {
			f.Add(ev.Body)
		}
	}
	for _, e := range append(extra, "", "{}", "null", "[]", `"x"`, "{", `{"a":1}`, strings.Repeat("[", 64)) {
		f.Add(e)
	}
}

// fuzzBody is the shape of the single-body targets.
func (w *fuzzWorld) fuzzBody(f *testing.F, route string, params map[string]string) {
	f.Fuzz(func(t *testing.T, body string) {
		w.call(t, route, params, "", body, false)
		if utf8.ValidString(body) && len(body)%7 == 0 { // now and then, the same body base64-encoded
			w.call(t, route, params, "", body, true)
		}
	})
}

func FuzzProgramPut(f *testing.F) {
	w := newFuzzWorld(f)
	full, _ := json.Marshal(tieredProgram())
	seedBodies(f, "PUT /programs/{programId}", string(full),
		`{"name":"x","currency":"usd","landingUrl":"https://x.example","milestones":["a"]}`,
		`{"name":"x","currency":"USD","landingUrl":"https://x.example","milestones":["a"],"advocateRewards":[{"milestone":"a","type":"tiered","tiers":[{"upTo":9223372036854775807,"amount":1}],"kind":"cash"}]}`,
		`{"name":"x","currency":"USD","landingUrl":"https://x.example","milestones":["a"],"multipliers":[{"name":"m","from":"0001-01-01T00:00:00Z","to":"9999-12-31T23:59:59Z","factor":100}]}`,
		`{"name":"x","startsAt":"2026-13-01T00:00:00Z"}`)
	w.fuzzBody(f, "PUT /programs/{programId}", map[string]string{"programId": "fz"})
}

func FuzzCustomerPut(f *testing.F) {
	w := newFuzzWorld(f)
	seedBodies(f, "PUT /customers/{customerId}",
		`{"email":"ana@example.com","name":"Ana","locale":"zh-Hant-TW","segment":"past","purchaseCount":2,"firstPurchaseAt":"2025-01-01T00:00:00Z","marketingOptOut":true}`,
		`{"email":"\"a b\"@example.com"}`, `{"email":"Ana <ana@example.com>"}`, `{"name":"a\u0000b"}`, `{"locale":"x"}`,
		`{"purchaseCount":1e3}`, `{"firstPurchaseAt":"2999-01-01T00:00:00Z"}`)
	w.fuzzBody(f, "PUT /customers/{customerId}", map[string]string{"customerId": "fz-c"})
}

func FuzzCodeCreate(f *testing.F) {
	w := newFuzzWorld(f)
	seedBodies(f, "POST /programs/{programId}/codes", `{"customerId":"ana"}`, `{"customerId":"bo","code":"bo-vanity"}`,
		`{"customerId":"bo","code":"--"}`, `{"customerId":"bo","code":"ÄÖÜ1"}`)
	w.fuzzBody(f, "POST /programs/{programId}/codes", map[string]string{"programId": "p1"})
}

func FuzzReferralCreate(f *testing.F) {
	w := newFuzzWorld(f)
	seedBodies(f, "POST /referrals",
		`{"code":"`+w.code+`","referee":{"id":"new-1","email":"new@example.com","name":"New","locale":"th"},"channel":"sms"}`,
		`{"code":"`+strings.ToLower(w.code)+`","referee":{"id":"ana"}}`,
		`{"code":"`+w.code+`","referee":{"id":"x","email":"Ana.Lima+1@googlemail.com"}}`,
		`{"code":"`+w.code+`","referee":{"id":"x"},"channel":"Email Blast"}`)
	w.fuzzBody(f, "POST /referrals", nil)
}

func FuzzConversionRecord(f *testing.F) {
	w := newFuzzWorld(f)
	seedBodies(f, "POST /conversions",
		`{"eventId":"order-1","refereeId":"bo","milestone":"purchase","amount":{"amount":5000,"currency":"USD"}}`,
		`{"eventId":"e2","code":"`+w.code+`","referee":{"id":"cy"},"milestone":"signup","occurredAt":"2026-11-20T11:00:00Z"}`,
		`{"eventId":"e3","refereeId":"bo","milestone":"purchase","amount":{"amount":1000000000001,"currency":"USD"}}`,
		`{"eventId":"e4","refereeId":"bo","milestone":"purchase","amount":{"amount":1,"currency":"XXX"}}`,
		`{"eventId":"e5","refereeId":"bo","milestone":"purchase","occurredAt":"1999-12-31T23:59:59Z","programId":"p1"}`)
	w.fuzzBody(f, "POST /conversions", nil)
}

func FuzzRewardFulfill(f *testing.F) {
	w := newFuzzWorld(f)
	seedBodies(f, "POST /rewards/{rewardId}/fulfill", `{"reference":"GC-1"}`, `{"reference":""}`, `{"reference":"a\u2028b"}`)
	w.fuzzBody(f, "POST /rewards/{rewardId}/fulfill", map[string]string{"rewardId": w.rewardID})
}

func FuzzRewardApprove(f *testing.F) {
	w := newFuzzWorld(f)
	seedBodies(f, "POST /rewards/{rewardId}/approve", `{"note":"checked by hand"}`)
	w.fuzzBody(f, "POST /rewards/{rewardId}/approve", map[string]string{"rewardId": w.rewardID})
}

func FuzzConversionReverse(f *testing.F) {
	w := newFuzzWorld(f)
	seedBodies(f, "POST /conversions/{eventId}/reverse", `{"reason":"refund"}`)
	w.fuzzBody(f, "POST /conversions/{eventId}/reverse", map[string]string{"eventId": "order-1"})
}

func FuzzKeyCreate(f *testing.F) {
	w := newFuzzWorld(f)
	seedBodies(f, "POST /keys", `{"scope":"admin","name":"ops"}`, `{"scope":"server"}`, `{"scope":"root"}`, `{"scope":"server","name":"\t"}`)
	w.fuzzBody(f, "POST /keys", nil)
}

func FuzzAskCreate(f *testing.F) {
	w := newFuzzWorld(f)
	seedBodies(f, "POST /asks", `{"customerId":"ana","programId":"p1"}`, `{"customerId":"ana","programId":"p1","template":"ask-past-client"}`,
		`{"customerId":"ana","programId":"p1","template":"thanks-loyal"}`)
	w.fuzzBody(f, "POST /asks", nil)
}

// FuzzPathAndQuery fuzzes what is not a body: path parameters (ids, codes, periods) and query
// strings (limit, cursor, period, the unsubscribe link's c and t) on every route.
func FuzzPathAndQuery(f *testing.F) {
	w := newFuzzWorld(f)
	routes := make([]string, 0, len(w.s.routers))
	for k := range w.s.routers {
		routes = append(routes, k)
	}
	sort.Strings(routes)
	for i := range routes {
		f.Add(uint8(i), "ana", "")
		f.Add(uint8(i), w.code, "limit=1")
		f.Add(uint8(i), "p1", "limit=100&cursor=eyJQSyI6IngifQ")
		f.Add(uint8(i), "2026-11", "period=2026-11&limit=10")
		f.Add(uint8(i), strings.Repeat("x", 200), "cursor="+strings.Repeat("A", 2000))
		f.Add(uint8(i), "a/b", "c=ana&t=abc")
		f.Add(uint8(i), "", "limit=-1&limit=2")
	}
	f.Fuzz(func(t *testing.T, which uint8, param, rawQuery string) {
		route := routes[int(which)%len(routes)]
		params := map[string]string{}
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(route, -1) {
			params[m[1]] = param
		}
		body := ""
		if strings.HasPrefix(route, "PUT ") || route == "POST /keys" || route == "POST /referrals" || route == "POST /conversions" || route == "POST /asks" {
			body = "{}"
		}
		w.call(t, route, params, rawQuery, body, false)
	})
}

// TestDeeplyNestedBodiesAreRefused: nesting beyond what encoding/json accepts, and deep nesting
// it accepts, are 400s (kept out of the fuzz seeds: large seeds make minimization slow).
func TestDeeplyNestedBodiesAreRefused(t *testing.T) {
	s := newStack(t)
	for _, body := range []string{
		strings.Repeat("[", 20000),
		strings.Repeat(`{"a":`, 9000) + "1" + strings.Repeat("}", 9000),
		`{"name":` + strings.Repeat(`{"x":`, 9000) + "1" + strings.Repeat("}", 9001),
		`{"advocateRewards":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "}",
	} {
		if st, b := s.do("PUT", "/programs/deep", body); st != 400 || errCode(b) != "invalid_request" {
			t.Errorf("nested body of %d bytes: %d %v", len(body), st, b)
		}
	}
}
