package webhook_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/webhook"
)

// TestTheStreamFunctionSamples runs events/webhookstream-*.json (the files `sam local invoke`
// and `make invoke` use) through the template's filters and the stream function, against an
// endpoint subscribed to every event.
func TestTheStreamFunctionSamples(t *testing.T) {
	for _, c := range []struct {
		file   string
		events []string // the event types queued, one delivery each
	}{
		{"webhookstream-referral-insert.json", []string{referral.EventReferralCreated}},
		{"webhookstream-reward-approved.json", []string{referral.EventRewardApproved}},
		{"webhookstream-reward-unchanged.json", nil}, // the filter lets it through; no transition, no event
	} {
		t.Run(c.file, func(t *testing.T) {
			e := newEnv(t)
			id, _ := e.endpoint("https://hooks.example.com/in", referral.WebhookEventTypes...)
			var ev events.DynamoDBEvent
			if err := samtemplate.DecodeEvent(c.file, &ev); err != nil {
				t.Fatal(err)
			}
			for _, r := range ev.Records {
				if ok, err := streamtest.Match(e.filters, r); !ok || err != nil {
					t.Errorf("the template's filters drop the record (%v)", err)
				}
			}
			resp, err := e.stream.Handle(context.Background(), ev)
			if err != nil || len(resp.BatchItemFailures) > 0 {
				t.Fatalf("handle: %v %v", err, resp.BatchItemFailures)
			}
			log := e.must(200, "GET", "/webhook-endpoints/"+id+"/deliveries", nil)
			var got []string
			for _, d := range log["deliveries"].([]any) {
				got = append(got, d.(map[string]any)["eventType"].(string))
			}
			if len(got) != len(c.events) || (len(got) > 0 && got[0] != c.events[0]) {
				t.Errorf("deliveries for %v, want %v", got, c.events)
			}
			if n, _ := queueDepth(context.Background(), e); n != len(c.events) {
				t.Errorf("%d messages queued, want %d", n, len(c.events))
			}
		})
	}
}

// TestTheDeliveryFunctionSample runs events/webhookdelivery-attempt.json: the message of a
// delivery's first attempt.
func TestTheDeliveryFunctionSample(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, func(int) int { return http.StatusOK })
	e.deliver.Client = (&webhook.Guard{Private: devNetworks}).NewClient(5*time.Second, rcv.tlsConfig())
	ep, secret := e.endpoint(rcv.srv.URL+"/in", referral.EventReferralCreated)
	var ev events.SQSEvent
	if err := samtemplate.DecodeEvent("webhookdelivery-attempt.json", &ev); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.PutWebhookDelivery(context.Background(), store.NewDelivery{DeliveryID: "whd_sampledeliveryofreferral",
		EndpointID: ep, EventID: "msg_sampleevent", EventType: referral.EventReferralCreated,
		Payload: `{"type":"referral.created","timestamp":"2026-11-20T12:05:00Z","data":{"referralId":"01KAGK6Q5R8ZC2W5T1XN4M3B7A",` +
			`"programId":"demo","code":"ANA-DEMO","advocateId":"ana","refereeId":"bo","channel":"link","stage":"",` +
			`"createdAt":"2026-11-20T12:05:00Z","attributionExpiresAt":null}}`}); err != nil {
		t.Fatal(err)
	}
	resp, err := e.deliver.Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("handle: %v %v", err, resp.BatchItemFailures)
	}
	got := rcv.requests()
	if len(got) != 1 || got[0].Header.Get("webhook-id") != "msg_sampleevent" {
		t.Fatalf("the receiver got %v", got)
	}
	verified(t, secret, got[0])
	if d, _, _ := e.store.WebhookDelivery(context.Background(), "whd_sampledeliveryofreferral"); d.Status != referral.DeliveryDelivered {
		t.Errorf("delivery %+v", d.WebhookDelivery)
	}
}
