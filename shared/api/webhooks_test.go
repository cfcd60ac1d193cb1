package api

import (
	"context"
	"github.com/referral/referrals/devkit/samplesecrets"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/webhook"
)

// sampleSealer seals the webhook secrets of the tests (samplesecrets.WebhookSealKey, as the sample
// events assume).
var sampleSealer = func() *webhook.Sealer {
	s, err := webhook.NewSealer(samplesecrets.WebhookSealKey)
	if err != nil {
		panic(err)
	}
	return s
}()

// testDNS resolves the hosts of the tests and sample events.
type testDNS map[string]string

func (d testDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := d[host]; ok {
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	return nil, &lookupError{host}
}

type lookupError struct{ host string }

func (e *lookupError) Error() string { return "no such host " + e.host }

// testGuard is a deployed stack's guard, with hooks.example.com public and intranet.example.com
// private.
var testGuard = &webhook.Guard{Resolver: testDNS{"hooks.example.com": "93.184.215.14", "crm.example.com": "93.184.215.15",
	"intranet.example.com": "10.20.30.40"}}

// recordingQueue keeps what the routes queued for the delivery function. (The delivery path
// itself runs on a real SQS API in shared/webhook's tests.)
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

func (q *recordingQueue) messages() []webhook.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]webhook.Message(nil), q.sent...)
}

// webhookDescribed is the id of the endpoint registered with description.
func (s *stack) webhookDescribed(t testing.TB, description string) string {
	t.Helper()
	st, body := s.do("GET", "/webhook-endpoints?limit=100", nil)
	if st != 200 {
		t.Fatalf("list webhook endpoints: %d %v", st, body)
	}
	for _, e := range body["endpoints"].([]any) {
		if m := e.(map[string]any); m["description"] == description {
			return m["id"].(string)
		}
	}
	t.Fatalf("no webhook endpoint described %q", description)
	return ""
}

// deliveredDelivery records a delivery of a made-up event to endpointID, attempted once with
// success, and returns its id: what the stream and delivery functions leave behind.
func (s *stack) deliveredDelivery(t testing.TB, endpointID, deliveryID string) string {
	t.Helper()
	ctx := context.Background()
	d, created, err := s.store.PutWebhookDelivery(ctx, store.NewDelivery{DeliveryID: deliveryID, EndpointID: endpointID,
		EventID: "msg_demoevent", EventType: referral.EventReferralCreated, Payload: `{"type":"referral.created"}`})
	if err != nil || !created {
		t.Fatalf("put delivery: %v (created %v)", err, created)
	}
	claimed, err := s.store.ClaimWebhookDelivery(ctx, d.DeliveryID, 0, "message-1", time.Minute)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	a := referral.WebhookAttempt{At: s.clock(), StatusCode: 200, DurationMs: 42}
	if lost, err := s.store.RecordWebhookAttempt(ctx, claimed, a, referral.DeliveryDelivered, time.Time{}); err != nil || lost {
		t.Fatalf("record: %v (lost %v)", err, lost)
	}
	return d.DeliveryID
}

func TestRegisteringAnEndpointShowsItsSecretOnceAndSealsIt(t *testing.T) {
	s := newStack(t)
	st, created := s.do("POST", "/webhook-endpoints", map[string]any{"url": "https://hooks.example.com/in",
		"events": []string{"reward.approved", "referral.created"}, "description": "CRM"})
	if st != 201 {
		t.Fatalf("create: %d %v", st, created)
	}
	secret, id := created["secret"].(string), created["id"].(string)
	if !strings.HasPrefix(secret, "whsec_") || !strings.HasPrefix(id, "we_") {
		t.Fatalf("created %v", created)
	}
	if got := created["events"].([]any); len(got) != 2 || got[0] != "referral.created" {
		t.Errorf("events %v, want them in catalogue order", got)
	}
	_, list := s.do("GET", "/webhook-endpoints", nil)
	eps := list["endpoints"].([]any)
	if len(eps) != 1 || eps[0].(map[string]any)["id"] != id {
		t.Fatalf("list = %v", list)
	}
	if _, shown := eps[0].(map[string]any)["secret"]; shown {
		t.Error("the list shows the secret")
	}
	// The table holds the secret sealed, never as given; it opens for this endpoint.
	key := strings.TrimPrefix(secret, "whsec_")
	for _, it := range s.scan(t) {
		var raw map[string]any
		_ = attributevalue.UnmarshalMap(it, &raw)
		for k, v := range raw {
			if str, ok := v.(string); ok && strings.Contains(str, key) {
				t.Errorf("the table holds the secret in the clear (%s of %v)", k, raw["PK"])
			}
		}
	}
	ep, err := s.store.WebhookEndpoint(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if opened, err := sampleSealer.Open(id, ep.Secret); err != nil || opened != secret {
		t.Errorf("the sealed secret opens to %q, %v", opened, err)
	}
}

func TestEndpointURLsAreCheckedBeforeRegistration(t *testing.T) {
	s := newStack(t)
	for _, c := range []struct {
		url, code, field string
	}{
		{"https://intranet.example.com/hooks", "webhook_url_not_allowed", "url"},
		{"https://10.0.0.1/hooks", "webhook_url_not_allowed", "url"},
		{"https://localhost/hooks", "webhook_url_not_allowed", "url"},
		{"http://169.254.169.254/latest/meta-data/", "invalid_request", "url"},
		{"https://unknown.example.com/hooks", "webhook_url_not_allowed", "url"},
	} {
		st, body := s.do("POST", "/webhook-endpoints", map[string]any{"url": c.url, "events": []string{"reward.approved"}})
		if errCode(body) != c.code || errField(body) != c.field || st < 400 {
			t.Errorf("%s: %d %v, want %s on %s", c.url, st, body, c.code, c.field)
		}
	}
	if _, list := s.do("GET", "/webhook-endpoints", nil); len(list["endpoints"].([]any)) != 0 {
		t.Errorf("refused URLs were registered: %v", list)
	}
}

func TestRotatingASecretSignsWithBothDuringTheGracePeriod(t *testing.T) {
	s := newStack(t)
	_, created := s.do("POST", "/webhook-endpoints", map[string]any{"url": "https://hooks.example.com/in", "events": []string{"reward.approved"}})
	id, first := created["id"].(string), created["secret"].(string)
	st, rotated := s.do("POST", "/webhook-endpoints/"+id+"/rotate-secret", nil)
	if st != 200 {
		t.Fatalf("rotate: %d %v", st, rotated)
	}
	second := rotated["secret"].(string)
	if second == first || !strings.HasPrefix(second, "whsec_") {
		t.Fatalf("rotation gave %q", second)
	}
	if want := s.clock().Add(-time.Second).Add(24 * time.Hour); rotated["previousSecretExpiresAt"] == nil {
		t.Errorf("no previousSecretExpiresAt (want about %s): %v", want, rotated)
	}
	ep, _ := s.store.WebhookEndpoint(context.Background(), id)
	cur, _ := sampleSealer.Open(id, ep.Secret)
	prev, _ := sampleSealer.Open(id, ep.PreviousSecret)
	if cur != second || prev != first {
		t.Errorf("after rotation the endpoint signs with %q and %q, want the new and the old secret", cur, prev)
	}
	// A leaked secret: rotate with no grace, and the old one stops at once.
	st, third := s.do("POST", "/webhook-endpoints/"+id+"/rotate-secret", map[string]any{"gracePeriodHours": 0})
	if st != 200 || third["previousSecretExpiresAt"] != nil {
		t.Fatalf("rotate without grace: %d %v", st, third)
	}
	if ep, _ := s.store.WebhookEndpoint(context.Background(), id); ep.PreviousSecret != "" {
		t.Error("the previous secret survived a rotation without grace")
	}
	if st, body := s.do("POST", "/webhook-endpoints/we_nosuch/rotate-secret", nil); st != 404 || errCode(body) != "webhook_endpoint_not_found" {
		t.Errorf("rotate an unknown endpoint: %d %v", st, body)
	}
}

func TestAtMostTwentyEndpointsAndDeletingOneFreesItsPlace(t *testing.T) {
	s := newStack(t)
	var ids []string
	for i := range referral.MaxWebhookEndpoints {
		st, body := s.do("POST", "/webhook-endpoints", map[string]any{"url": "https://hooks.example.com/in", "events": []string{"reward.approved"}})
		if st != 201 {
			t.Fatalf("endpoint %d: %d %v", i+1, st, body)
		}
		ids = append(ids, body["id"].(string))
	}
	if st, body := s.do("POST", "/webhook-endpoints", map[string]any{"url": "https://hooks.example.com/in", "events": []string{"reward.approved"}}); st != 422 || errCode(body) != "webhook_endpoint_limit" {
		t.Fatalf("21st endpoint: %d %v", st, body)
	}
	if st, _ := s.do("DELETE", "/webhook-endpoints/"+ids[3], nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st, _ := s.do("DELETE", "/webhook-endpoints/"+ids[3], nil); st != 204 {
		t.Errorf("deleting again: %d, want 204", st)
	}
	if st, body := s.do("GET", "/webhook-endpoints/"+ids[3]+"/deliveries", nil); st != 404 || errCode(body) != "webhook_endpoint_not_found" {
		t.Errorf("deliveries of a deleted endpoint: %d %v", st, body)
	}
	if st, body := s.do("POST", "/webhook-endpoints/"+ids[3]+"/rotate-secret", nil); st != 404 {
		t.Errorf("rotating a deleted endpoint: %d %v", st, body)
	}
	ep, err := s.store.WebhookEndpoint(context.Background(), ids[3])
	if err != nil || !ep.Deleted || ep.Secret != "" {
		t.Errorf("deleted endpoint: %+v %v, want deleted and its secret gone", ep, err)
	}
	if st, body := s.do("POST", "/webhook-endpoints", map[string]any{"url": "https://crm.example.com/in", "events": []string{"reward.approved"}}); st != 201 {
		t.Errorf("after a delete there is room again: %d %v", st, body)
	}
	_, list := s.do("GET", "/webhook-endpoints?limit=100", nil)
	if n := len(list["endpoints"].([]any)); n != referral.MaxWebhookEndpoints {
		t.Errorf("%d endpoints listed, want %d", n, referral.MaxWebhookEndpoints)
	}
	if st, body := s.do("DELETE", "/webhook-endpoints/we_nosuch", nil); st != 404 || errCode(body) != "webhook_endpoint_not_found" {
		t.Errorf("delete unknown: %d %v", st, body)
	}
}

// TestRedeliveringSendsTheSameEventAgain runs events/webhooks-redeliver.json on a delivered
// delivery (what the stream and delivery functions leave; the whole path runs in
// shared/webhook's tests).
func TestRedeliveringSendsTheSameEventAgain(t *testing.T) {
	s := newStack(t)
	_, created := s.do("POST", "/webhook-endpoints", map[string]any{"url": "https://hooks.example.com/in", "events": []string{"referral.created"}})
	ev := loadSampleEvent(t, "webhooks-redeliver.json")
	id := s.deliveredDelivery(t, created["id"].(string), ev.PathParameters["deliveryId"])

	resp, err := s.routers[ev.RouteKey].Handle(context.Background(), ev)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("redeliver: %d %v %s", resp.StatusCode, err, resp.Body)
	}
	checkAgainstOpenAPI(t, "webhooks-redeliver.json", ev, resp, true)
	d, _, _ := s.store.WebhookDelivery(context.Background(), id)
	if d.Status != referral.DeliveryPending || d.EventID != "msg_demoevent" || d.AttemptCount != 1 || len(d.Attempts) != 1 {
		t.Errorf("after redelivery: %+v, want pending with its one attempt kept and the same event", d.WebhookDelivery)
	}
	if q := s.queue.messages(); len(q) != 1 || q[0] != (webhook.Message{DeliveryID: id, Attempt: 1}) {
		t.Errorf("queued %v, want the delivery's second attempt", q)
	}
	// While it is pending, another redelivery is refused; a minute past due (its message lost,
	// say) it is queued again.
	if st, body := s.do("POST", "/webhook-deliveries/"+id+"/redeliver", nil); st != 409 || errCode(body) != "invalid_state" {
		t.Errorf("redeliver a pending delivery: %d %v", st, body)
	}
	s.advance(2 * time.Minute)
	if st, body := s.do("POST", "/webhook-deliveries/"+id+"/redeliver", nil); st != 202 {
		t.Errorf("redeliver a stuck delivery: %d %v", st, body)
	}
	// Its endpoint deleted, the delivery cannot be redelivered.
	s.do("DELETE", "/webhook-endpoints/"+created["id"].(string), nil)
	if st, body := s.do("POST", "/webhook-deliveries/"+id+"/redeliver", nil); st != 404 || errCode(body) != "webhook_endpoint_not_found" {
		t.Errorf("redeliver to a deleted endpoint: %d %v", st, body)
	}
}
