package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/shared/fulfil"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/metrics"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
)

// perfEnv is a minidyn table with the demo program, seeded through the test harness's own
// client, and the functions' routers built over a metered client with the production metrics
// middleware, so each measured request reports its round trips and request units.
type perfEnv struct {
	tb    testing.TB
	db    *dynamotest.DB
	seed  *stack
	meter *meteredDB
	store *store.Store
	n     int

	stream *streamtest.Table // when set, aggregate feeds its records to the insights stream function
}

// demoProgram is the program `make dev` seeds (devkit/devstack/seed/program-demo.json): tiered advocate
// rewards, a threshold prize, a referee discount, thank-you emails.
func demoProgram(tb testing.TB) map[string]any {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "devkit", "devstack", "seed", "program-demo.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		tb.Fatal(err)
	}
	return p
}

func newPerfEnv(tb testing.TB, db *dynamotest.DB) *perfEnv {
	tb.Helper()
	e := &perfEnv{tb: tb, db: db, seed: newStackOn(tb, db)}
	e.meter = newMeteredClient(tb, db.URL, db.Table)
	e.store = store.New(e.meter, db.Table, e.seed.clock)
	if st, b := e.seed.do("PUT", "/programs/demo", demoProgram(tb)); st != 201 {
		tb.Fatalf("PUT program: %d %v", st, b)
	}
	return e
}

// id returns a fresh id with prefix.
func (e *perfEnv) id(prefix string) string {
	e.n++
	return fmt.Sprintf("%s%05d", prefix, e.n)
}

// container is a fresh execution environment of the function serving routeKey, built as its
// main builds it: its own program cache (platform.ProgramCacheTTL) and conversion caches.
func (e *perfEnv) container(routeKey string) *Router {
	programs := &store.ProgramCache{Store: e.store, TTL: platform.ProgramCacheTTL}
	var r *Router
	switch {
	case strings.HasPrefix(routeKey, "POST /conversions"):
		r = NewConversions(e.store, programs, quietLog)
	case strings.HasSuffix(routeKey, "/codes"):
		r = NewCodes(e.store, programs, quietLog)
	case strings.HasPrefix(routeKey, "GET /codes/"), strings.HasPrefix(routeKey, "GET /r/"):
		r = NewPublicCodes(e.store, programs, testSharePages, quietLog)
	case strings.HasSuffix(routeKey, "/referrals"):
		r = NewReferrals(e.store, programs, &fulfil.Service{Store: e.store, Programs: programs, Log: quietLog}, quietLog)
	case strings.HasSuffix(routeKey, "/rewards"):
		r = NewRewards(e.store, &fulfil.Service{Store: e.store, Programs: programs, Log: quietLog}, quietLog)
	case strings.Contains(routeKey, "/customers/"):
		r = NewCustomers(e.store, quietLog)
	case strings.Contains(routeKey, "/stats"), strings.Contains(routeKey, "/leaderboard"):
		r = NewInsights(e.store, programs, quietLog)
	case strings.Contains(routeKey, "/programs"):
		r = NewPrograms(e.store, quietLog)
	default:
		e.tb.Fatalf("no function for %s", routeKey)
	}
	return r
}

// opResult is one measured request.
type opResult struct {
	status     int
	body       string
	roundTrips float64 // HTTP requests to DynamoDB (metrics middleware)
	calls      float64 // SDK operations (metrics middleware)
	reqs       []pricedRequest
}

func (r opResult) units() (rru, wru, gsi float64) {
	for _, q := range r.reqs {
		rru += q.RRU
		wru += q.WRU
		gsi += q.GSIWRU
	}
	return
}

// call sends method target (body: nil, a string or a value to encode) to router r with a
// server key, with fresh per-invocation counters as platform.Start gives each invocation.
func (e *perfEnv) call(r *Router, method, target string, body any) opResult {
	e.tb.Helper()
	var b string
	switch v := body.(type) {
	case nil:
	case string:
		b = v
	default:
		j, _ := json.Marshal(v)
		b = string(j)
	}
	u, _ := url.Parse(target)
	key, params := e.seed.match(method, u.Path)
	if key == "" {
		e.tb.Fatalf("no route for %s %s", method, target)
	}
	e.meter.take()
	ctx, c := metrics.With(context.Background())
	resp, err := r.Handle(ctx, event(key, params, method, target, b, "admin"))
	if err != nil {
		e.tb.Fatalf("%s %s: %v", method, target, err)
	}
	return opResult{status: resp.StatusCode, body: resp.Body, roundTrips: c.Get(metrics.DynamoDBRoundTrips),
		calls: c.Get(metrics.DynamoDBCalls), reqs: e.meter.take()}
}

// must is a seeding request that has to succeed; it returns the decoded body.
func (e *perfEnv) must(method, target string, body any) map[string]any {
	e.tb.Helper()
	st, b := e.seed.do(method, target, body)
	if st >= 300 {
		e.tb.Fatalf("%s %s: %d %v", method, target, st, b)
	}
	return b
}

func customerBody(id string, purchases int) map[string]any {
	return map[string]any{"email": id + "@example.com", "name": "Customer " + strings.ToUpper(id[:1]) + id[1:], "locale": "en", "purchaseCount": purchases}
}

// advocate creates a customer with a code in the demo program and returns both.
func (e *perfEnv) advocate() (id, code string) {
	id = e.id("adv")
	e.must("PUT", "/customers/"+id, customerBody(id, 3))
	b := e.must("POST", "/programs/demo/codes", map[string]any{"customerId": id})
	return id, b["code"].(string)
}

func referralBody(code, referee string) map[string]any {
	return map[string]any{"code": code, "channel": "email",
		"referee": map[string]any{"id": referee, "email": referee + "@example.com", "name": "Friend " + referee}}
}

// referee attributes a new referee to code.
func (e *perfEnv) referee(code string) string {
	id := e.id("ref")
	e.must("POST", "/referrals", referralBody(code, id))
	return id
}

func conversionBody(eventID, referee string) map[string]any {
	return map[string]any{"eventId": eventID, "programId": "demo", "refereeId": referee, "milestone": "purchase",
		"amount": map[string]any{"amount": 5000, "currency": "USD"}}
}

// opCase is one API operation in one container state.
type opCase struct {
	name  string  // "conversion"
	route string  // route key
	state string  // cold (fresh container) or warm (it served this kind of request before)
	goal  float64 // the round-trip goal on the usual path (docs/PERFORMANCE.md); 0 = none for this row
	note  string
	run   func(e *perfEnv) opResult
}

// opCases are the API operations docs/PERFORMANCE.md reports, each measured on fresh data.
func opCases() []opCase {
	return []opCase{
		{name: "create a code (new advocate)", route: "POST /programs/{programId}/codes", state: "warm", goal: 1,
			note: "1 BatchGetItem (customer + standing) + 1 TransactWriteItems (code + standing): the first name is read to copy it onto the code",
			run: func(e *perfEnv) opResult {
				r := e.container("POST /programs/{programId}/codes")
				e.primeCodes(r)
				id := e.id("adv")
				e.must("PUT", "/customers/"+id, customerBody(id, 1))
				return e.call(r, "POST", "/programs/demo/codes", map[string]any{"customerId": id})
			}},
		{name: "create a code (new advocate)", route: "POST /programs/{programId}/codes", state: "cold",
			note: "+1 GetItem: the program, then cached for 30 s",
			run: func(e *perfEnv) opResult {
				id := e.id("adv")
				e.must("PUT", "/customers/"+id, customerBody(id, 1))
				return e.call(e.container("POST /programs/{programId}/codes"), "POST", "/programs/demo/codes", map[string]any{"customerId": id})
			}},
		{name: "get an advocate's existing code", route: "POST /programs/{programId}/codes", state: "warm",
			note: "1 BatchGetItem + 1 GetItem (the code)",
			run: func(e *perfEnv) opResult {
				r := e.container("POST /programs/{programId}/codes")
				e.primeCodes(r)
				id, _ := e.advocate()
				return e.call(r, "POST", "/programs/demo/codes", map[string]any{"customerId": id})
			}},
		{name: "public code check", route: "GET /codes/{code}", state: "warm", goal: 1,
			run: func(e *perfEnv) opResult {
				r := e.container("GET /codes/{code}")
				_, first := e.advocate()
				e.call(r, "GET", "/codes/"+first, nil)
				_, code := e.advocate()
				return e.call(r, "GET", "/codes/"+code, nil)
			}},
		{name: "public code check", route: "GET /codes/{code}", state: "cold", note: "+1 GetItem: the program",
			run: func(e *perfEnv) opResult {
				_, code := e.advocate()
				return e.call(e.container("GET /codes/{code}"), "GET", "/codes/"+code, nil)
			}},
		{name: "referral (attribution)", route: "POST /referrals", state: "warm",
			note: "1 GetItem (code) + 1 BatchGetItem + 1 TransactWriteItems",
			run: func(e *perfEnv) opResult {
				r := e.container("POST /referrals")
				_, code := e.advocate()
				e.call(r, "POST", "/referrals", referralBody(code, e.id("ref")))
				return e.call(r, "POST", "/referrals", referralBody(code, e.id("ref")))
			}},
		{name: "referral (attribution)", route: "POST /referrals", state: "cold",
			run: func(e *perfEnv) opResult {
				_, code := e.advocate()
				return e.call(e.container("POST /referrals"), "POST", "/referrals", referralBody(code, e.id("ref")))
			}},
		{name: "conversion", route: "POST /conversions", state: "warm", goal: 2,
			note: "1 BatchGetItem (event, referral; the standing this container wrote last, version-checked) + 1 TransactWriteItems",
			run: func(e *perfEnv) opResult {
				r := e.container("POST /conversions")
				_, code := e.advocate()
				a, b := e.referee(code), e.referee(code)
				e.call(r, "POST", "/conversions", conversionBody(e.id("order"), a))
				return e.call(r, "POST", "/conversions", conversionBody(e.id("order"), b))
			}},
		{name: "conversion, advocate new to this container", route: "POST /conversions", state: "warm",
			note: "+1 GetItem: the advocate's standing, which the batch could not name before the referral was read",
			run: func(e *perfEnv) opResult {
				r := e.container("POST /conversions")
				_, c1 := e.advocate()
				e.call(r, "POST", "/conversions", conversionBody(e.id("order"), e.referee(c1)))
				_, c2 := e.advocate()
				return e.call(r, "POST", "/conversions", conversionBody(e.id("order"), e.referee(c2)))
			}},
		{name: "conversion", route: "POST /conversions", state: "cold",
			note: "+1 GetItem program, +1 GetItem standing",
			run: func(e *perfEnv) opResult {
				_, code := e.advocate()
				return e.call(e.container("POST /conversions"), "POST", "/conversions", conversionBody(e.id("order"), e.referee(code)))
			}},
		{name: "conversion without programId", route: "POST /conversions", state: "warm", goal: 2,
			note: "+1 Query: the referee's programs (a client that sends programId saves it)",
			run: func(e *perfEnv) opResult {
				r := e.container("POST /conversions")
				_, code := e.advocate()
				a, b := e.referee(code), e.referee(code)
				e.call(r, "POST", "/conversions", conversionBody(e.id("order"), a))
				body := conversionBody(e.id("order"), b)
				delete(body, "programId")
				return e.call(r, "POST", "/conversions", body)
			}},
		{name: "conversion replay (same eventId)", route: "POST /conversions", state: "warm", goal: 2,
			note: "1 BatchGetItem finds the stored result",
			run: func(e *perfEnv) opResult {
				r := e.container("POST /conversions")
				_, code := e.advocate()
				body := conversionBody(e.id("order"), e.referee(code))
				e.call(r, "POST", "/conversions", body)
				return e.call(r, "POST", "/conversions", body)
			}},
		{name: "reverse a conversion", route: "POST /conversions/{eventId}/reverse", state: "warm",
			note: "1 GetItem (event) + 1 TransactWriteItems",
			run: func(e *perfEnv) opResult {
				r := e.container("POST /conversions")
				_, code := e.advocate()
				ev := e.id("order")
				e.call(r, "POST", "/conversions", conversionBody(ev, e.referee(code)))
				return e.call(r, "POST", "/conversions/"+ev+"/reverse", map[string]any{"reason": "refund"})
			}},
		{name: "upsert a customer (existing)", route: "PUT /customers/{customerId}", state: "warm",
			run: func(e *perfEnv) opResult {
				id := e.id("cus")
				e.must("PUT", "/customers/"+id, customerBody(id, 0))
				return e.call(e.container("PUT /customers/{customerId}"), "PUT", "/customers/"+id, customerBody(id, 1))
			}},
		{name: "upsert a customer (new)", route: "PUT /customers/{customerId}", state: "warm",
			note: "the UpdateItem's existence check fails, then 1 PutItem",
			run: func(e *perfEnv) opResult {
				id := e.id("cus")
				return e.call(e.container("PUT /customers/{customerId}"), "PUT", "/customers/"+id, customerBody(id, 0))
			}},
		{name: "get a customer", route: "GET /customers/{customerId}", state: "cold", goal: 1,
			note: "1 GetItem (the customer) + 1 Query (their referrals as a referee: referredBy)",
			run: func(e *perfEnv) opResult {
				id := e.id("cus")
				e.must("PUT", "/customers/"+id, customerBody(id, 0))
				return e.call(e.container("GET /customers/{customerId}"), "GET", "/customers/"+id, nil)
			}},
		{name: "get a program", route: "GET /programs/{programId}", state: "cold", goal: 1,
			run: func(e *perfEnv) opResult {
				return e.call(e.container("GET /programs/{programId}"), "GET", "/programs/demo", nil)
			}},
		{name: "list an advocate's rewards (10)", route: "GET /customers/{customerId}/rewards", state: "cold", goal: 1,
			note: "1 Query on GSI5 (the ledger's keys) + 1 eventually consistent BatchGetItem (the rewards as stored: GSI5 holds keys only, as DynamoDB's 20 projected attributes per index cannot hold a reward's)",
			run: func(e *perfEnv) opResult {
				id, _ := e.advocateWithConversions(10)
				return e.call(e.container("GET /customers/{customerId}/rewards"), "GET", "/customers/"+id+"/rewards", nil)
			}},
		{name: "list an advocate's referrals (10)", route: "GET /customers/{customerId}/referrals", state: "cold", goal: 1,
			note: "1 Query on GSI5 (the page's keys) + 1 eventually consistent BatchGetItem (the referrals as stored: GSI5 holds keys only, so a conversion does not rewrite the referral's entry)",
			run: func(e *perfEnv) opResult {
				id, code := e.advocate()
				for range 10 {
					e.referee(code)
				}
				return e.call(e.container("GET /customers/{customerId}/referrals"), "GET", "/customers/"+id+"/referrals", nil)
			}},
		{name: "leaderboard", route: "GET /programs/{programId}/leaderboard", state: "warm", goal: 1,
			note: "1 GetItem (the month's board, kept by the insights stream function) + 1 BatchGetItem of first names (read at display time so erasure erases them)",
			run: func(e *perfEnv) opResult {
				e.advocateWithConversions(2)
				e.aggregate()
				r := e.container("GET /programs/{programId}/leaderboard")
				e.call(r, "GET", "/programs/demo/leaderboard", nil)
				return e.call(r, "GET", "/programs/demo/leaderboard", nil)
			}},
		{name: "program stats", route: "GET /programs/{programId}/stats", state: "warm", goal: 1,
			note: "1 Query (monthly aggregates) + 1 GetItem (business-wide totals) + 1 Query on GSI4 per reward queue, side by side (pending, review, approved, failed: the keys of rewards whose hold or validity has just ended) + 1 eventually consistent BatchGetItem of those rewards when there are any, shown in their status now",
			run: func(e *perfEnv) opResult {
				e.aggregate()
				r := e.container("GET /programs/{programId}/stats")
				e.call(r, "GET", "/programs/demo/stats", nil)
				return e.call(r, "GET", "/programs/demo/stats", nil)
			}},
	}
}

// aggregate runs the insights stream function over the stream records written so far, so the
// leaderboard and stats have something to show.
func (e *perfEnv) aggregate() {
	e.tb.Helper()
	if e.stream == nil {
		return
	}
	stats := &insights.Consumer{Store: e.seed.store, Programs: &store.ProgramCache{Store: e.seed.store}, Log: quietLog}
	records := e.stream.Take()
	for len(records) > 0 {
		n := min(len(records), 100)
		resp, err := stats.Handle(context.Background(), streamtest.WindowEvent("shardId-bench", records[:n]))
		if err != nil || len(resp.BatchItemFailures) > 0 {
			e.tb.Fatalf("stats: %v %v", err, resp.BatchItemFailures)
		}
		records = records[n:]
	}
}

// primeCodes makes a codes container warm: it has served one code already.
func (e *perfEnv) primeCodes(r *Router) {
	id := e.id("adv")
	e.must("PUT", "/customers/"+id, customerBody(id, 1))
	e.call(r, "POST", "/programs/demo/codes", map[string]any{"customerId": id})
}

// advocateWithConversions creates an advocate whose n referees each made a purchase.
func (e *perfEnv) advocateWithConversions(n int) (id, code string) {
	id, code = e.advocate()
	for range n {
		e.must("POST", "/conversions", conversionBody(e.id("order"), e.referee(code)))
	}
	return id, code
}

// BenchmarkRoundTrips measures, for each API operation, the DynamoDB round trips its
// handler makes (counted by the production SDK middleware) and the request units it
// consumes (from the items as stored), each iteration on fresh data. ns/op includes the
// seeding and metering and means nothing here; the custom metrics are the result.
func BenchmarkRoundTrips(b *testing.B) {
	tbl := streamtest.Start(b)
	e := newPerfEnv(b, tbl.DB)
	tbl.SetClock(e.seed.clock)
	e.stream = tbl
	for _, c := range opCases() {
		b.Run(strings.ReplaceAll(c.name+"/"+c.state, " ", "_"), func(b *testing.B) {
			e.tb = b
			var sum opResult
			var rru, wru, gsi float64
			var last opResult
			for i := 0; i < b.N; i++ {
				last = c.run(e)
				if last.status >= 300 {
					b.Skipf("%s answered %d: %s", c.route, last.status, last.body)
				}
				sum.roundTrips += last.roundTrips
				sum.calls += last.calls
				r, w, g := last.units()
				rru, wru, gsi = rru+r, wru+w, gsi+g
			}
			n := float64(b.N)
			b.ReportMetric(sum.roundTrips/n, "roundtrips/op")
			b.ReportMetric(rru/n, "RRU/op")
			b.ReportMetric((wru+gsi)/n, "WRU/op")
			writeRecord(b, "RoundTrips", c.name+"|"+c.state, map[string]any{
				"route": c.route, "operation": c.name, "state": c.state, "goal": c.goal, "note": c.note,
				"roundTrips": sum.roundTrips / n, "calls": sum.calls / n, "retries": (sum.roundTrips - sum.calls) / n,
				"rru": rru / n, "wru": wru / n, "gsiWru": gsi / n, "requests": last.reqs, "iterations": b.N,
			})
		})
	}
}
