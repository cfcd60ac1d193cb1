package devstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/schedules"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestEndToEndMerchantLoop runs the merchant's loop on the real stack (template.yaml, every
// function built as deployed, DynamoDB, SES, stripe-mock behind its recording proxy, the
// scheduler run through POST /_local/tick as `make tick` does): a referral gets the friend a
// Stripe promotion code, in the referral's answer; a purchase in a program without a hold
// writes the advocate's reward approved; a tick delivers it as a credit on the advocate's
// Stripe balance (one balance transaction, the reward's id as its Idempotency-Key) and hands
// the friend's reward the promotion code made at the referral (no second Stripe call); the tick
// right after changes nothing; the webhook endpoint registered for reward events gets
// reward.created, reward.approved and reward.fulfilled of the advocate's reward, each signed
// and verified here with the Standard Webhooks library; a refund reverses the reward
// (reward.reversed), the next tick takes the credit back with the opposite transaction, and
// the tick after that changes nothing again.
func TestEndToEndMerchantLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function")
	}
	if _, err := os.Stat(repoRoot + "/node_modules/.bin/aws-ses-v2-local"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node_modules/.bin/aws-ses-v2-local is missing: run npm ci")
		}
		t.Skip("no node_modules: run `npm ci` to run the end-to-end loop")
	}
	tmpl, err := samtemplate.Resolve(repoRoot+"/template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	s := startRealStack(t, Config{
		Root: repoRoot, StateDir: t.TempDir(), BinDir: realFunctions(t, tmpl), SkipBuild: true, Engine: testEngine(t), JarDir: jarDir,
		APIAddr: "127.0.0.1:0", LambdaAddr: "127.0.0.1:0", DynamoAddr: "127.0.0.1:0", SESAddr: "127.0.0.1:0",
		SecretsAddr: "127.0.0.1:0", StripeAddr: "127.0.0.1:0", SQSAddr: "127.0.0.1:0", WebhookAddr: "127.0.0.1:0",
		Log: logs, SES: true, Stripe: true, TickEvery: -1, // the test ticks, nothing else does
	}, tmpl, logs)
	if s.schedules.Len() == 0 {
		t.Fatal("no function with a Schedule event: the scheduler is missing from template.yaml")
	}
	api := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		status, out, err := apiStep{Method: method, Path: path, Body: string(b)}.do(s.APIURL)
		if err != nil || status != want {
			t.Fatalf("%s %s: %d %s %v, want %d", method, path, status, out, err, want)
		}
		var m map[string]any
		_ = json.Unmarshal(out, &m)
		return m
	}

	webhooks := s.SQSURL != ""
	switch {
	case !webhooks && os.Getenv("CI") != "":
		t.Fatal("no SQS emulator (moto_server): the webhook deliveries cannot be checked")
	case !webhooks:
		t.Log("no moto_server: the webhook deliveries are not checked")
	}
	var secret string
	if webhooks {
		ep := api("POST", "/webhook-endpoints", map[string]any{"url": s.WebhookURL + "/loop", "description": "the merchant's CRM",
			"events": []string{"reward.created", "reward.approved", "reward.fulfilled", "reward.reversed"}}, 201)
		secret, _ = ep["secret"].(string)
	}

	api("PUT", "/programs/loop", map[string]any{"name": "Give $5, get $10", "currency": "USD", "landingUrl": "https://shop.example.com/invite",
		"milestones": []string{"purchase"}, "holdDays": 0, "autoFulfil": true,
		"advocateRewards": []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "store_credit",
			"fulfilment": map[string]any{"provider": "stripe"}}},
		"refereeRewards": []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 500, "kind": "discount",
			"minAmount": 2000, "fulfilment": map[string]any{"provider": "stripe"}}}}, 201)
	api("PUT", "/customers/ana", map[string]any{"email": "ana@example.com", "name": "Ana Souza", "stripeCustomerId": "cus_Ana123"}, 201)
	code := api("POST", "/programs/loop/codes", map[string]any{"customerId": "ana"}, 201)["code"].(string)

	// The friend's promotion code is made at the referral and is in its answer.
	ref := api("POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "bo", "email": "bo@example.com", "name": "Bo Chen"}}, 201)
	fc, _ := ref["friendCoupon"].(map[string]any)
	promos := s.Stripe.Requests("POST /v1/promotion_codes")
	if fc["status"] != "done" || fc["code"] == nil || fc["code"] == "" || len(promos) != 1 || promos[0].IdempotencyKey != fc["rewardId"] {
		t.Fatalf("friendCoupon %v; promotion codes asked of stripe-mock: %+v", ref["friendCoupon"], promos)
	}
	t.Logf("referral: friendCoupon %v", fc)

	api("POST", "/conversions", map[string]any{"eventId": "order-1001", "programId": "loop", "refereeId": "bo", "milestone": "purchase",
		"amount": map[string]any{"amount": 5000, "currency": "USD"}}, 201)
	reward := rewardOf(t, api, "ana")
	if reward["status"] != "approved" {
		t.Fatalf("ana's reward after the purchase: %v, want approved (no hold)", reward)
	}
	rewardID := reward["rewardId"].(string)
	const credits = "POST /v1/customers/cus_Ana123/balance_transactions"
	if n := len(s.Stripe.Requests(credits)); n != 0 {
		t.Fatalf("%d balance transactions before the scheduler ran", n)
	}

	deliver := tickScheduler(t, s.APIURL)
	again := tickScheduler(t, s.APIURL)
	t.Logf("tick: %s", deliver)
	t.Logf("tick again: %s", again)
	if deliver["delivered"] != 2.0 || work(deliver) != 2 || deliver["errors"] != 0.0 {
		t.Fatalf("the tick after the purchase: %v, want 2 delivered (ana's credit, bo's promotion code)", deliver)
	}
	if work(again) != 0 || again["errors"] != 0.0 || again["skipped"] != 0.0 {
		t.Fatalf("the tick right after: %v, want every count 0", again)
	}
	txs := s.Stripe.Requests(credits)
	if len(txs) != 1 || txs[0].Form.Get("amount") != "-1000" || txs[0].Form.Get("currency") != "usd" || txs[0].IdempotencyKey != rewardID {
		t.Fatalf("balance transactions: %+v, want one credit of 10.00 USD keyed by the reward", txs)
	}
	reward = rewardOf(t, api, "ana")
	if f, _ := reward["fulfilment"].(map[string]any); reward["status"] != "fulfilled" || f["status"] != "done" || f["provider"] != "stripe" || f["reference"] == "" {
		t.Fatalf("ana's reward after the tick: %v", reward)
	}
	friend := rewardOf(t, api, "bo")
	if f, _ := friend["fulfilment"].(map[string]any); friend["rewardId"] != fc["rewardId"] || friend["status"] != "fulfilled" || f["reference"] != fc["code"] {
		t.Fatalf("bo's reward after the tick: %v, want fulfilled with the promotion code %v", friend, fc["code"])
	}
	if n := len(s.Stripe.Requests("POST /v1/promotion_codes")); n != 1 {
		t.Fatalf("%d promotion codes asked of stripe-mock, want the referral's only", n)
	}

	if webhooks {
		got := waitForWebhooks(t, s, secret, rewardID, "reward.created", "reward.approved", "reward.fulfilled")
		if got["reward.fulfilled"]["status"] != "fulfilled" || got["reward.approved"]["status"] != "approved" {
			t.Fatalf("the rewards the events show: %v", got)
		}
	}

	// A refund reverses the conversion; the next tick takes the credit back, once.
	api("POST", "/conversions/order-1001/reverse", map[string]any{"reason": "refund"}, 200)
	takeBack := tickScheduler(t, s.APIURL)
	after := tickScheduler(t, s.APIURL)
	t.Logf("tick after the refund: %s", takeBack)
	t.Logf("tick again: %s", after)
	if takeBack["takenBack"] != 1.0 || work(takeBack) != 1 || work(after) != 0 || after["errors"] != 0.0 {
		t.Fatalf("ticks after the refund: %v then %v, want 1 taken back then nothing", takeBack, after)
	}
	txs = s.Stripe.Requests(credits)
	if len(txs) != 2 || txs[1].Form.Get("amount") != "1000" || txs[1].IdempotencyKey != rewardID+"-reversal" {
		t.Fatalf("balance transactions: %+v, want the credit and its opposite", txs)
	}
	reward = rewardOf(t, api, "ana")
	rev, _ := reward["fulfilment"].(map[string]any)["reversal"].(map[string]any)
	if reward["status"] != "reversed" || rev["status"] != "done" {
		t.Fatalf("ana's reward after the refund: %v", reward)
	}
	if webhooks {
		waitForWebhooks(t, s, secret, rewardID, "reward.created", "reward.approved", "reward.fulfilled", "reward.reversed")
	}
}

// waitForWebhooks waits until the receiver holds exactly one delivery of each event type for
// the reward, at the test's endpoint, each with a signature the Standard Webhooks library
// verifies against the endpoint's secret; it returns the reward each event carries, by type.
// Every event at the endpoint must be one of types.
func waitForWebhooks(t *testing.T, s *Stack, secret, rewardID string, types ...string) map[string]map[string]any {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatalf("the endpoint's secret %q: %v", secret, err)
	}
	var got map[string]map[string]any
	check := func() (bool, error) {
		got = map[string]map[string]any{}
		ids := map[string]bool{}
		for _, r := range s.Receiver.Requests() {
			if r.Path != "/loop" || ids[r.WebhookID] {
				continue // another endpoint's, or a retry of one seen
			}
			ids[r.WebhookID] = true
			h := http.Header{}
			h.Set("webhook-id", r.WebhookID)
			h.Set("webhook-timestamp", r.Timestamp)
			h.Set("webhook-signature", r.Signature)
			if err := wh.Verify(r.Body, h); err != nil {
				return false, fmt.Errorf("%s %s: signature: %w", r.Type, r.WebhookID, err)
			}
			var ev struct {
				Type string         `json:"type"`
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal(r.Body, &ev); err != nil || !slices.Contains(types, ev.Type) || ev.Type != r.Type {
				return false, fmt.Errorf("unexpected event %s: %s", r.Type, r.Body)
			}
			if ev.Data["rewardId"] != rewardID {
				continue // the friend's reward
			}
			if got[ev.Type] != nil {
				return false, fmt.Errorf("%s twice, with two webhook-ids", ev.Type)
			}
			got[ev.Type] = ev.Data
		}
		return len(got) == len(types), nil
	}
	var failure error
	waitFor(t, "webhooks "+strings.Join(types, ", "), 60*time.Second, func() bool {
		ok, err := check()
		failure = err
		return ok || err != nil
	})
	if failure != nil {
		t.Fatal(failure)
	}
	t.Logf("webhooks at the endpoint, each verified: %s", strings.Join(types, ", "))
	return got
}

// scheduleReport is one tick's answer for the scheduler's run: its counts.
type scheduleReport map[string]any

func (r scheduleReport) String() string {
	b, _ := json.Marshal(map[string]any(r))
	return string(b)
}

// work adds up a scheduler report's counts of changes made (every count but programs,
// skipped and errors).
func work(r scheduleReport) int {
	n := 0
	for k, v := range r {
		if f, ok := v.(float64); ok && k != "programs" && k != "skipped" && k != "errors" {
			n += int(f)
		}
	}
	return n
}

// tickScheduler is `make tick`: POST /_local/tick, and the SchedulerFunction run's report.
func tickScheduler(t *testing.T, apiURL string) scheduleReport {
	t.Helper()
	r := do(t, http.MethodPost, apiURL+schedules.TickPath, nil)
	var a struct {
		Runs []schedules.Run `json:"runs"`
	}
	if err := json.Unmarshal(r.body, &a); err != nil || r.status != http.StatusOK {
		t.Fatalf("tick: %d %s %v", r.status, r.body, err)
	}
	for _, run := range a.Runs {
		if run.Function == "SchedulerFunction" {
			var rep scheduleReport
			if err := json.NewDecoder(bytes.NewReader(run.Result)).Decode(&rep); err != nil {
				t.Fatalf("the scheduler's report %s: %v", run.Result, err)
			}
			return rep
		}
	}
	t.Fatalf("the tick did not run SchedulerFunction: %s", r.body)
	return nil
}

// rewardOf is the customer's one reward in the loop program.
func rewardOf(t *testing.T, api func(string, string, any, int) map[string]any, customer string) map[string]any {
	t.Helper()
	var mine []map[string]any
	for _, r := range api("GET", "/customers/"+customer+"/rewards", nil, 200)["rewards"].([]any) {
		if m := r.(map[string]any); m["programId"] == "loop" {
			mine = append(mine, m)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("%s's rewards: %v, want one", customer, mine)
	}
	return mine[0]
}
