package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/webhook"
)

// payload is the body of an event as a receiver decodes it.
type payload struct {
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// verified checks a request with the Standard Webhooks library and decodes its body.
func verified(t *testing.T, secret string, r received) payload {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(r.Body, r.Header); err != nil {
		t.Fatalf("the Standard Webhooks library rejects the request (%v): %s %s", err, r.Header, r.Body)
	}
	var p payload
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if strings.Contains(string(r.Body), "@") {
		t.Errorf("the %s payload carries an email address: %s", p.Type, r.Body)
	}
	checkContract(t, p.Type, r.Body)
	return p
}

// TestAReceiverFailingThreeTimesGetsOneDeliveryWithFourAttempts: the real stream path (API
// writes → stream records → the stream function → SQS → the delivery function) to a receiver
// that answers 500 three times, then 200.
func TestAReceiverFailingThreeTimesGetsOneDeliveryWithFourAttempts(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(n int) int {
		if n <= 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	e.deliver.Client = (&webhook.Guard{Private: devNetworks}).NewClient(5*time.Second, rcv.tlsConfig())
	id, secret := e.endpoint(rcv.srv.URL+"/hooks", referral.EventReferralCreated)
	code := e.setup()
	e.must(201, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "bo", "email": "bo.chen@example.com", "name": "Bo Chen"}})
	records := e.table.Take()
	if n := e.feed(records); n == 0 {
		t.Fatal("the template's filters let no record of the referral through")
	}
	e.drain(30*time.Second, func() bool { return len(rcv.requests()) >= 4 })

	got := rcv.requests()
	if len(got) != 4 {
		t.Fatalf("the receiver got %d requests, want 4", len(got))
	}
	webhookID := got[0].Header.Get("webhook-id")
	for i, r := range got {
		p := verified(t, secret, r)
		if p.Type != referral.EventReferralCreated || p.Data["refereeId"] != "bo" || p.Data["advocateId"] != "ana" {
			t.Errorf("attempt %d: %s %v", i+1, p.Type, p.Data)
		}
		if r.Header.Get("webhook-id") != webhookID || string(r.Body) != string(got[0].Body) {
			t.Errorf("attempt %d: webhook-id %s and body %s differ from the first attempt's", i+1, r.Header.Get("webhook-id"), r.Body)
		}
	}
	if !strings.HasPrefix(webhookID, "msg_") || strings.Contains(webhookID, ".") {
		t.Errorf("webhook-id %q", webhookID)
	}

	// The log: one delivery, four attempts.
	log := e.must(200, "GET", "/webhook-endpoints/"+id+"/deliveries", nil)
	ds := log["deliveries"].([]any)
	if len(ds) != 1 {
		t.Fatalf("%d deliveries in the log, want 1: %v", len(ds), log)
	}
	d := ds[0].(map[string]any)
	if d["status"] != "delivered" || d["eventId"] != webhookID || d["attemptCount"] != float64(4) || d["deliveredAt"] == nil {
		t.Errorf("delivery %v", d)
	}
	var codes []string
	for _, a := range d["attempts"].([]any) {
		a := a.(map[string]any)
		codes = append(codes, fmt.Sprintf("%v %v", a["statusCode"], a["error"]))
		if _, ok := a["durationMs"]; !ok || a["at"] == nil {
			t.Errorf("attempt without time or duration: %v", a)
		}
	}
	if want := "[500 HTTP 500 500 HTTP 500 500 HTTP 500 200 <nil>]"; fmt.Sprint(codes) != want {
		t.Errorf("attempts %v, want %s", codes, want)
	}

	// The same stream records again (a retried batch, a replay): no second delivery.
	e.feed(records)
	time.Sleep(1500 * time.Millisecond)
	e.drain(5*time.Second, func() bool { n, _ := e.mapping.Poll(context.Background()); return n == 0 })
	if n := len(rcv.requests()); n != 4 {
		t.Errorf("after the records were replayed the receiver got %d requests, want still 4", n)
	}
	if log := e.must(200, "GET", "/webhook-endpoints/"+id+"/deliveries", nil); len(log["deliveries"].([]any)) != 1 {
		t.Errorf("after a replay the log has %d deliveries, want 1", len(log["deliveries"].([]any)))
	}
}

// TestTheLifeOfAReferralIsSentAsSignedEvents: every event type, from the writes that make
// them: the API's, and the store transitions the scheduler makes (a reward approved when its
// hold ends, another expired) alongside fulfilment through the API.
func TestTheLifeOfAReferralIsSentAsSignedEvents(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(int) int { return http.StatusNoContent })
	e.deliver.Client = (&webhook.Guard{Private: devNetworks}).NewClient(5*time.Second, rcv.tlsConfig())
	_, secret := e.endpoint(rcv.srv.URL+"/all", referral.WebhookEventTypes...)
	_, onlyApproved := e.endpoint(rcv.srv.URL+"/approved", referral.EventRewardApproved)
	code := e.setup()

	e.must(201, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "bo", "email": "bo.chen@example.com", "name": "Bo Chen"}})
	signup := e.must(201, "POST", "/conversions", map[string]any{"eventId": "order-1", "refereeId": "bo", "milestone": "signup"})
	conv := e.must(201, "POST", "/conversions", map[string]any{"eventId": "order-2", "refereeId": "bo", "milestone": "purchase",
		"amount": map[string]any{"amount": 5000, "currency": "USD"}})
	refereeReward := signup["rewards"].([]any)[0].(map[string]any)["rewardId"].(string)
	advocateReward := conv["rewards"].([]any)[0].(map[string]any)["rewardId"].(string)
	e.pump()
	ctx := context.Background()
	// The scheduler's writes: the advocate's reward approved at the end of its hold, the
	// friend's expired; then the advocate's fulfilled through the API.
	program, err := e.store.GetProgram(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	held, err := e.store.StoredReward(ctx, advocateReward)
	if err != nil {
		t.Fatal(err)
	}
	if _, changed, err := e.store.ApproveHeld(ctx, held, &program); err != nil || !changed {
		t.Fatalf("approve: %v (changed %v)", err, changed)
	}
	expiring, err := e.store.StoredReward(ctx, refereeReward)
	if err != nil {
		t.Fatal(err)
	}
	if _, changed, err := e.store.Expire(ctx, expiring); err != nil || !changed {
		t.Fatalf("expire: %v (changed %v)", err, changed)
	}
	e.must(200, "POST", "/rewards/"+advocateReward+"/fulfill", map[string]any{"reference": "GC-1234"})
	e.must(200, "POST", "/conversions/order-2/reverse", nil)
	if _, _, err := e.store.OptOut(ctx, "bo"); err != nil {
		t.Fatal(err)
	}
	now := e.clock.now()
	lastMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0).Format("2006-01")
	e.must(201, "POST", "/programs/demo/contests/"+lastMonth+"/close", nil)
	e.pump()

	want := map[string]int{"referral.created": 1, "conversion.recorded": 2, "conversion.reversed": 1, "reward.created": 2,
		"reward.approved": 1, "reward.expired": 1, "reward.fulfilled": 1, "reward.reversed": 1, "customer.opted_out": 1,
		"contest.closed": 1}
	total := 0
	for _, n := range want {
		total += n
	}
	total++ // reward.approved to the second endpoint
	e.drain(30*time.Second, func() bool { return len(rcv.requests()) >= total })
	time.Sleep(500 * time.Millisecond)
	got := map[string]int{}
	ids := map[string]bool{}
	for _, r := range rcv.requests() {
		s := secret
		if r.Path == "/approved" {
			s = onlyApproved
		}
		p := verified(t, s, r)
		if r.Path == "/all" {
			got[p.Type]++
			if ids[r.Header.Get("webhook-id")] {
				t.Errorf("webhook-id %s sent twice to one endpoint", r.Header.Get("webhook-id"))
			}
			ids[r.Header.Get("webhook-id")] = true
		} else if p.Type != referral.EventRewardApproved {
			t.Errorf("the reward.approved endpoint got %s", p.Type)
		}
		checkData(t, p)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events received %v,\nwant %v", got, want)
	}
}

// checkData holds each event's data to the resource it announces.
func checkData(t *testing.T, p payload) {
	t.Helper()
	d := p.Data
	switch p.Type {
	case referral.EventReferralCreated:
		if d["refereeId"] != "bo" || d["referralId"] == "" {
			t.Errorf("%s: %v", p.Type, d)
		}
	case referral.EventConversionRecorded:
		if d["eventId"] == nil || d["decisions"] == nil || d["reversed"] != nil {
			t.Errorf("%s: %v", p.Type, d)
		}
	case referral.EventConversionReversed:
		if d["eventId"] != "order-2" || d["reversed"] != true {
			t.Errorf("%s: %v", p.Type, d)
		}
	case referral.EventRewardApproved, referral.EventRewardFulfilled, referral.EventRewardReversed, referral.EventRewardExpired:
		if want := strings.TrimPrefix(p.Type, "reward."); d["status"] != want {
			t.Errorf("%s: status %v", p.Type, d["status"])
		}
	case referral.EventCustomerOptedOut:
		if d["customerId"] != "bo" || d["marketingOptOut"] != true || d["name"] != "Bo Chen" {
			t.Errorf("%s: %v", p.Type, d)
		}
		if _, ok := d["email"]; ok {
			t.Errorf("%s carries the email field", p.Type)
		}
	case referral.EventContestClosed:
		if d["programId"] != "demo" || d["closedAt"] == nil {
			t.Errorf("%s: %v", p.Type, d)
		}
	}
	if p.Timestamp.IsZero() {
		t.Errorf("%s: no timestamp", p.Type)
	}
}

// TestAGoneReceiverAndADeletedEndpointFailAtOnce: 410 Gone stops the retries (and is
// counted as a failure to alarm on); a deleted endpoint's pending delivery fails unsent.
func TestAGoneReceiverAndADeletedEndpointFailAtOnce(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(int) int { return http.StatusGone })
	e.deliver.Client = (&webhook.Guard{Private: devNetworks}).NewClient(5*time.Second, rcv.tlsConfig())
	gone, _ := e.endpoint(rcv.srv.URL+"/gone", referral.EventReferralCreated)
	deleted, _ := e.endpoint(rcv.srv.URL+"/deleted", referral.EventReferralCreated)
	code := e.setup()
	e.must(201, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "bo", "name": "Bo"}})
	e.pump()
	e.must(204, "DELETE", "/webhook-endpoints/"+deleted, nil)
	status := func(ep string) map[string]any {
		d, _, err := e.store.WebhookDelivery(context.Background(), webhook.DeliveryID(eventOf(t, e, gone), ep))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(d.WebhookDelivery)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	e.drain(20*time.Second, func() bool { return status(gone)["status"] == "failed" && status(deleted)["status"] == "failed" })
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("the receiver got %d requests, want 1 (410 ends the retries; the deleted endpoint gets none)", n)
	}
	if g := status(gone); g["attemptCount"] != float64(1) {
		t.Errorf("gone: %v", g)
	}
	d := status(deleted)
	if a := d["attempts"].([]any); len(a) != 1 || !strings.Contains(fmt.Sprint(a[0]), "the endpoint was deleted") {
		t.Errorf("deleted: %v", d)
	}
	if !strings.Contains(e.logs.b.String(), webhook.FailedMessage) {
		t.Errorf("the failure was not logged as %q (the alarm's metric filter counts it)", webhook.FailedMessage)
	}
}

// eventOf is the id of the one referral.created event made so far, from the gone endpoint's log.
func eventOf(t *testing.T, e *env, endpointID string) string {
	t.Helper()
	log := e.must(200, "GET", "/webhook-endpoints/"+endpointID+"/deliveries", nil)
	ds := log["deliveries"].([]any)
	if len(ds) != 1 {
		t.Fatalf("deliveries %v", log)
	}
	return ds[0].(map[string]any)["eventId"].(string)
}

// TestDeliveryMessagesAreIdempotent: a duplicate message makes no second attempt; a message that
// comes back after its function failed having recorded the attempt queues the next one; a
// message that arrives before its delivery is due hops on.
func TestDeliveryMessagesAreIdempotent(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	e.deliver.Client = (&webhook.Guard{Private: devNetworks}).NewClient(5*time.Second, rcv.tlsConfig())
	e.deliver.Schedule = []time.Duration{time.Hour}
	ep, _ := e.endpoint(rcv.srv.URL+"/busy", referral.EventReferralCreated)
	code := e.setup()
	e.must(201, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "bo", "name": "Bo"}})
	e.pump()
	id := webhook.DeliveryID(eventOf(t, e, ep), ep)
	msg := func(attempt, receipts int) events.SQSEvent {
		b, _ := json.Marshal(webhook.Message{DeliveryID: id, Attempt: attempt})
		return events.SQSEvent{Records: []events.SQSMessage{{MessageId: fmt.Sprintf("m-%d-%d", attempt, receipts), Body: string(b),
			Attributes: map[string]string{"ApproximateReceiveCount": fmt.Sprint(receipts)}}}}
	}
	handle := func(ev events.SQSEvent) {
		t.Helper()
		resp, err := e.deliver.Handle(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("handle: %v %v", err, resp.BatchItemFailures)
		}
	}
	handle(msg(0, 1))
	handle(msg(0, 1)) // a duplicate of the first message
	if n := len(rcv.requests()); n != 1 {
		t.Fatalf("two messages for the first attempt made %d requests, want 1", n)
	}
	d, _, _ := e.store.WebhookDelivery(context.Background(), id)
	if d.Status != referral.DeliveryPending || d.AttemptCount != 1 || d.NextAttemptAt.Sub(e.clock.now()) < 50*time.Minute {
		t.Fatalf("after a 503: %+v, want pending about an hour on", d.WebhookDelivery)
	}
	// The queue holds the next attempt's message now (delayed 15 minutes, the most SQS can).
	// A duplicate of the first message queues nothing; the first message received again (its
	// function failed after recording the attempt, perhaps before queuing the next one) queues
	// the next attempt again.
	depth := func() int {
		t.Helper()
		n, err := queueDepth(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	purge(t, e)
	handle(msg(0, 1))
	if n := depth(); n != 0 {
		t.Errorf("a duplicate message queued %d messages", n)
	}
	handle(msg(0, 2))
	if n := depth(); n != 1 {
		t.Errorf("the redelivered first message queued %d messages, want the next attempt's", n)
	}
	// The next attempt's message, early (the delivery is due in an hour): it hops on.
	handle(msg(1, 1))
	if n := len(rcv.requests()); n != 1 || depth() != 2 {
		t.Errorf("an early message: %d requests (want 1), %d queued (want 2: it hopped on)", n, depth())
	}
	e.clock.advance(time.Hour)
	handle(msg(1, 1))
	if n := len(rcv.requests()); n != 2 {
		t.Errorf("the due message made %d requests in all, want 2", n)
	}
	d, _, _ = e.store.WebhookDelivery(context.Background(), id)
	if d.AttemptCount != 2 || d.Attempts[1].StatusCode != 503 || d.NextAttemptAt == nil {
		t.Fatalf("after the second attempt: %+v", d.WebhookDelivery)
	}
	// The retry window ends: the next retry is moved to its end, and that attempt is the last.
	e.clock.advance(d.RetryUntil.Sub(e.clock.now()) - time.Second)
	handle(msg(2, 1))
	d, _, _ = e.store.WebhookDelivery(context.Background(), id)
	if d.Status != referral.DeliveryFailed || d.AttemptCount != 3 || d.NextAttemptAt != nil || len(rcv.requests()) != 3 {
		t.Errorf("at the end of the window: %+v, %d requests; want failed after 3 attempts", d.WebhookDelivery, len(rcv.requests()))
	}
	if !strings.Contains(e.logs.b.String(), webhook.FailedMessage) {
		t.Errorf("the failure was not logged as %q (the alarm's metric filter counts it)", webhook.FailedMessage)
	}
	handle(msg(3, 1)) // nothing more to do
	if n := len(rcv.requests()); n != 3 {
		t.Errorf("a failed delivery was attempted again (%d requests)", n)
	}
}
