package scheduler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/stripemock"
	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/asks"
	"github.com/referral/referrals/shared/fulfil"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/scheduler"
	"github.com/referral/referrals/shared/store"
)

// env is the API's routers and the scheduler over one minidyn table, with a clock the test
// moves: what the merchant does through the API, what the schedule does every 5 minutes.
type env struct {
	t       *testing.T
	store   *store.Store
	fulfil  *fulfil.Service
	sched   *scheduler.Scheduler
	routers []*api.Router
	mu      sync.Mutex
	now     time.Time
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newEnv(t *testing.T) *env {
	return newEnvOn(t, dynamotest.Start(t))
}

// newEnvOn is newEnv over a table the test started (streamtest's, to see what runs write).
func newEnvOn(t *testing.T, db *dynamotest.DB) *env {
	e := &env{t: t, now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	e.store = store.New(db.Client, db.Table, e.clock)
	programs := &store.ProgramCache{Store: e.store}
	e.fulfil = &fulfil.Service{Store: e.store, Programs: programs, Log: quiet}
	e.sched = &scheduler.Scheduler{Store: e.store, Fulfil: e.fulfil, Asks: &asks.Service{Store: e.store, Programs: programs},
		Contests: &insights.Service{Store: e.store}, Log: quiet}
	e.routers = []*api.Router{api.NewPrograms(e.store, quiet), api.NewCustomers(e.store, quiet), api.NewCodes(e.store, programs, quiet),
		api.NewReferrals(e.store, programs, e.fulfil, quiet), api.NewConversions(e.store, programs, quiet),
		api.NewRewards(e.store, e.fulfil, quiet), api.NewCouponPools(e.store, quiet), api.NewAsks(e.store, programs, quiet)}
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// call sends a request with an admin key to the router that serves it, as API Gateway would.
func (e *env) call(method, target string, body any, want int) map[string]any {
	e.t.Helper()
	u, _ := url.Parse(target)
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for _, r := range e.routers {
		for _, rt := range r.Routes() {
			m, pattern, _ := strings.Cut(rt.Key, " ")
			ps := strings.Split(strings.Trim(pattern, "/"), "/")
			if m != method || len(ps) != len(segs) {
				continue
			}
			params, ok := map[string]string{}, true
			for i, p := range ps {
				if strings.HasPrefix(p, "{") {
					params[strings.Trim(p, "{}")] = segs[i]
				} else if p != segs[i] {
					ok = false
				}
			}
			if !ok {
				continue
			}
			var b []byte
			if body != nil {
				b, _ = json.Marshal(body)
			}
			req := events.APIGatewayV2HTTPRequest{RouteKey: rt.Key, RawPath: u.Path, PathParameters: params, Body: string(b),
				Headers: map[string]string{"content-type": "application/json"}, QueryStringParameters: map[string]string{}}
			for k, v := range u.Query() {
				req.QueryStringParameters[k] = v[0]
			}
			req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{"scope": "admin"}}
			resp, err := r.Handle(context.Background(), req)
			if err != nil {
				e.t.Fatal(err)
			}
			var out map[string]any
			_ = json.Unmarshal([]byte(resp.Body), &out)
			if resp.StatusCode != want {
				e.t.Fatalf("%s %s = %d %s, want %d", method, target, resp.StatusCode, resp.Body, want)
			}
			return out
		}
	}
	e.t.Fatalf("no route for %s %s", method, target)
	return nil
}

// run is one scheduled run, as the schedule invokes it.
func (e *env) run() scheduler.Report {
	e.t.Helper()
	rep, err := e.sched.Handle(context.Background(), events.EventBridgeEvent{})
	if err != nil {
		e.t.Fatalf("run: %v (%+v)", err, rep)
	}
	return rep
}

// program puts program p1 with advocate ana and her code; friends convert with purchases.
func (e *env) program(p map[string]any) string {
	base := map[string]any{"name": "Spring", "currency": "USD", "landingUrl": "https://shop.example.com/invite",
		"milestones": []string{"purchase"}, "refereeRewards": []any{}}
	for k, v := range p {
		base[k] = v
	}
	e.call("PUT", "/programs/p1", base, 201)
	e.call("PUT", "/customers/ana", map[string]any{"email": "ana@example.com", "name": "Ana", "stripeCustomerId": "cus_Ana123"}, 201)
	return e.call("POST", "/programs/p1/codes", map[string]any{"customerId": "ana"}, 201)["code"].(string)
}

func (e *env) purchase(code, friend string) {
	e.call("POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": friend}}, 201)
	e.call("POST", "/conversions", map[string]any{"eventId": "order-" + friend, "refereeId": friend, "milestone": "purchase",
		"amount": map[string]any{"amount": 5000, "currency": "USD"}}, 201)
}

// rewards are ana's rewards by the friend whose purchase earned them.
func (e *env) rewards() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range e.call("GET", "/customers/ana/rewards?limit=100", nil, 200)["rewards"].([]any) {
		m := r.(map[string]any)
		out[m["refereeId"].(string)] = m
	}
	return out
}

func fulfilmentOf(r map[string]any, key string) any {
	f, _ := r["fulfilment"].(map[string]any)
	return f[key]
}

func poolRule() []any {
	return []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "gift_card",
		"fulfilment": map[string]any{"provider": "coupon_pool", "pool": "gift-cards"}}}
}

// TestASecondRunRightAfterAFirstChangesNothing: three rewards in their 14-day hold; nothing
// happens before it ends; at its end one run approves the three (written) and delivers two
// from the pool of two codes (the third fails: pool_empty); the run right after reports no
// work at all. A month later the undelivered one expires (written), once.
func TestASecondRunRightAfterAFirstChangesNothing(t *testing.T) {
	e := newEnv(t)
	code := e.program(map[string]any{"holdDays": 14, "rewardExpiresInDays": 30, "autoFulfil": true, "advocateRewards": poolRule()})
	e.call("POST", "/coupon-pools/gift-cards/codes", map[string]any{"codes": []string{"GC-1", "GC-2"}}, 200)
	for _, f := range []string{"bo", "cy", "di"} {
		e.purchase(code, f)
		e.advance(time.Minute)
	}
	if rep := e.run(); rep.Work() != 0 {
		t.Fatalf("a run inside the hold: %+v", rep)
	}

	e.advance(14*24*time.Hour + time.Minute)
	first := e.run()
	second := e.run()
	t.Logf("first run: %+v", first)
	t.Logf("second run: %+v", second)
	if first.Approved != 3 || first.Delivered != 2 || first.DeliveryFailed != 1 || first.Work() != 6 {
		t.Fatalf("first run: %+v, want 3 approved, 2 delivered, 1 failed", first)
	}
	if second.Work() != 0 || second.Errors != 0 {
		t.Fatalf("second run: %+v, want no work", second)
	}
	var fulfilled, failed int
	for _, r := range e.rewards() {
		switch {
		case r["status"] == "fulfilled" && fulfilmentOf(r, "status") == "done":
			fulfilled++
		case r["status"] == "approved" && fulfilmentOf(r, "reason") == "pool_empty":
			failed++
		default:
			t.Errorf("reward %v", r)
		}
	}
	if fulfilled != 2 || failed != 1 {
		t.Fatalf("%d fulfilled, %d failed", fulfilled, failed)
	}
	if pool := e.call("GET", "/coupon-pools/gift-cards", nil, 200); pool["available"] != 0.0 || pool["used"] != 2.0 {
		t.Fatalf("pool %v", pool)
	}

	e.advance(17 * 24 * time.Hour)
	expiry := e.run()
	again := e.run()
	t.Logf("after expiry: %+v, then %+v", expiry, again)
	if expiry.Expired != 1 || expiry.Work() != 1 || again.Work() != 0 {
		t.Fatalf("expiry runs: %+v then %+v, want 1 expired then nothing", expiry, again)
	}
	expired := 0
	for _, r := range e.rewards() {
		if r["status"] == "expired" {
			expired++
		}
	}
	if expired != 1 {
		t.Fatalf("%d expired", expired)
	}
}

// TestARunIsBoundedAndTheNextOneResumes: with room for 2 units per run, 5 due approvals take
// three runs, each saying whether work is left.
func TestARunIsBoundedAndTheNextOneResumes(t *testing.T) {
	e := newEnv(t)
	e.sched.Limit = 2
	code := e.program(map[string]any{"holdDays": 1, "advocateRewards": []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "cash"}}})
	for i := range 5 {
		e.purchase(code, fmt.Sprintf("f%d", i))
	}
	e.advance(25 * time.Hour)
	var approved []int
	for range 4 {
		rep := e.run()
		approved = append(approved, rep.Approved)
		if rep.More != (rep.Approved == 2) {
			t.Errorf("run %+v: more = %v", rep, rep.More)
		}
	}
	if fmt.Sprint(approved) != "[2 2 1 0]" {
		t.Fatalf("approved per run: %v, want [2 2 1 0]", approved)
	}
}

func stripeProgram() map[string]any {
	return map[string]any{"holdDays": 0, "autoFulfil": true, "advocateRewards": []any{map[string]any{"milestone": "purchase",
		"type": "fixed", "amount": 1000, "kind": "store_credit", "fulfilment": map[string]any{"provider": "stripe"}}}}
}

// TestARefundTakesBackADeliveredStripeCredit: the run delivers the credit (-1000), the
// reversal makes the reward reversed and due, the next run takes the credit back (+1000, its
// own idempotency key), and the run after does nothing. A reward reversed before it was
// delivered only leaves the queue.
func TestARefundTakesBackADeliveredStripeCredit(t *testing.T) {
	e := newEnv(t)
	m := stripemock.ForTest(t)
	e.fulfil.Stripe = fulfil.FixedStripeAccount("sk_test_referrals", m.URL)
	code := e.program(stripeProgram())
	e.purchase(code, "bo")
	if rep := e.run(); rep.Delivered != 1 {
		t.Fatalf("delivery run: %+v", rep)
	}
	bo := e.rewards()["bo"]
	e.call("POST", "/conversions/order-bo/reverse", map[string]any{"reason": "refund"}, 200)
	e.purchase(code, "cy")
	e.call("POST", "/conversions/order-cy/reverse", nil, 200) // reversed before the scheduler delivered it

	takeBack := e.run()
	after := e.run()
	t.Logf("take-back run: %+v; next: %+v", takeBack, after)
	if takeBack.TakenBack != 1 || takeBack.Settled != 1 || takeBack.Work() != 2 || after.Work() != 0 {
		t.Fatalf("take-back runs: %+v then %+v", takeBack, after)
	}
	txs := m.Requests("POST /v1/customers/cus_Ana123/balance_transactions")
	if len(txs) != 2 || txs[0].Form.Get("amount") != "-1000" || txs[1].Form.Get("amount") != "1000" ||
		txs[1].IdempotencyKey != bo["rewardId"].(string)+"-reversal" || txs[1].Form.Get("metadata[reverses]") != fulfilmentOf(bo, "reference") {
		t.Fatalf("balance transactions: %+v", txs)
	}
	rs := e.rewards()
	rev, _ := rs["bo"]["fulfilment"].(map[string]any)["reversal"].(map[string]any)
	if rs["bo"]["status"] != "reversed" || rev["status"] != "done" || rev["reference"] == "" {
		t.Fatalf("bo's reward: %v", rs["bo"])
	}
	rev, _ = rs["cy"]["fulfilment"].(map[string]any)["reversal"].(map[string]any)
	if rs["cy"]["status"] != "reversed" || rev["status"] != "skipped" || fulfilmentOf(rs["cy"], "status") != "pending" {
		t.Fatalf("cy's reward: %v", rs["cy"])
	}
}

// TestADeliveryCutShortIsFinishedByALaterRunWithTheSameIdempotencyKey: a worker claimed a
// reward and died (no outcome recorded). Runs inside its claim's lease leave it alone; after
// the lease, a run delivers it with the same Idempotency-Key the dead worker would have sent,
// so Stripe credits it once.
func TestADeliveryCutShortIsFinishedByALaterRunWithTheSameIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	m := stripemock.ForTest(t)
	e.fulfil.Stripe = fulfil.FixedStripeAccount("sk_test_referrals", m.URL)
	code := e.program(stripeProgram())
	e.purchase(code, "bo")
	r, err := e.store.StoredReward(context.Background(), e.rewards()["bo"]["rewardId"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.ClaimDelivery(context.Background(), r); err != nil { // the worker that dies
		t.Fatal(err)
	}
	if rep := e.run(); rep.Delivered != 0 || rep.Skipped != 1 {
		t.Fatalf("a run during the dead worker's claim: %+v", rep)
	}
	e.advance(store.ClaimLease + time.Second)
	if rep := e.run(); rep.Delivered != 1 {
		t.Fatalf("a run after the claim lapsed: %+v", rep)
	}
	if txs := m.Requests("POST /v1/customers/"); len(txs) != 1 || txs[0].IdempotencyKey != r.RewardID {
		t.Fatalf("balance transactions: %+v", txs)
	}
}

// TestTheMonthsContestClosesCloseAfterHoursAfterItEnds, once.
func TestTheMonthsContestClosesCloseAfterHoursAfterItEnds(t *testing.T) {
	e := newEnv(t)
	e.program(map[string]any{"contest": map[string]any{"closeAfterHours": 6,
		"prizes": []any{map[string]any{"rank": 1, "kind": "cash", "amount": 10000}}}})
	e.advance(time.Date(2026, 12, 1, 5, 59, 0, 0, time.UTC).Sub(e.clock()))
	if rep := e.run(); rep.ContestsClosed != 0 {
		t.Fatalf("before closeAfterHours: %+v", rep)
	}
	e.advance(2 * time.Minute)
	if rep := e.run(); rep.ContestsClosed != 1 {
		t.Fatalf("after closeAfterHours: %+v", rep)
	}
	if rep := e.run(); rep.ContestsClosed != 0 || rep.Work() != 0 {
		t.Fatalf("the run after: %+v", rep)
	}
	c, found, err := e.store.GetContest(context.Background(), "p1", "2026-11")
	if err != nil || !found || !c.ClosedAt.Equal(time.Date(2026, 12, 1, 6, 1, 0, 0, time.UTC)) {
		t.Fatalf("contest: %+v %v %v", c, found, err)
	}
}

// TestTheScheduledEventSampleRunsTheScheduler: events/scheduler-tick.json is what EventBridge
// sends; the function answers its report.
func TestTheScheduledEventSampleRunsTheScheduler(t *testing.T) {
	var ev events.EventBridgeEvent
	if err := samtemplate.DecodeEvent("scheduler-tick.json", &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Source != "aws.events" || ev.DetailType != "Scheduled Event" {
		t.Fatalf("not a scheduled event: %+v", ev)
	}
	e := newEnv(t)
	code := e.program(map[string]any{"holdDays": 0, "autoFulfil": true, "advocateRewards": poolRule()})
	e.call("POST", "/coupon-pools/gift-cards/codes", map[string]any{"codes": []string{"GC-1"}}, 200)
	e.purchase(code, "bo")
	rep, err := e.sched.Handle(context.Background(), ev)
	if err != nil || rep.Delivered != 1 || rep.Programs != 1 {
		t.Fatalf("Handle(scheduler-tick.json) = %+v, %v", rep, err)
	}
	if r := e.rewards()["bo"]; r["status"] != referral.RewardFulfilled || r["reference"] != "GC-1" {
		t.Fatalf("reward %v", r)
	}
}
