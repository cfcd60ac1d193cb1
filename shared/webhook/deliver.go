package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/metrics"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Deliverer is the webhook delivery function: it reads the delivery queue, makes each due
// attempt (signed, through the SSRF-guarded client), records it in the delivery's log, and
// queues the next attempt after a failure, with backoff (referral.NextWebhookAttempt), until the
// delivery succeeds (2xx) or its 24-hour window ends (failed: counted in WebhooksFailed, which
// the template alarms on).
//
// # One attempt at a time, and no lost retries
//
// Each message names a delivery and the number of attempts it had when sent. An attempt is
// claimed with a conditional write (that many attempts made, due or abandoned), so duplicate
// messages make one attempt; the claim carries a lease, so a sender that dies mid-attempt leaves
// the attempt to the message's next receipt once the lease ends. A message that comes back
// after making its attempt (its function failed after recording it) sends the next message
// again, so no crash between "recorded" and "queued" loses the retries. A message that arrives
// before its delivery is due (waits over 15 minutes are chained hops) sends itself on.
type Deliverer struct {
	Store  *store.Store
	Queue  Queue
	Sealer *Sealer
	Client *http.Client // from Guard.NewClient
	Log    *slog.Logger
	// Schedule is the wait before each retry; nil is referral.WebhookRetrySchedule.
	Schedule []time.Duration
	// Lease is how long a claimed attempt is exclusive; 0 is DefaultLease.
	Lease time.Duration
	// Jitter draws the random share of each wait, in [0, 1); nil is math/rand.
	Jitter func() float64
}

// FailedMessage is the log message of a delivery given up; template.yaml's
// WebhookDeliveryFailedMetric counts it, and WebhookDeliveryFailedAlarm alarms on the count.
const FailedMessage = "webhook delivery failed: no more attempts"

// DefaultLease outlasts one attempt (RequestTimeout) and the writes around it.
const DefaultLease = 2 * time.Minute

// errLater asks for the message to come back later (after its visibility timeout).
var errLater = errors.New("the attempt is in flight under this message's claim; retry later")

// Handle is the Lambda entry point: the batch's messages are handled concurrently, and those
// that could not be are reported as batch item failures (SQS redelivers them after the
// visibility timeout, and moves a message to the dead-letter queue after five receipts).
func (h *Deliverer) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, msg := range ev.Records {
		wg.Go(func() {
			if err := h.process(ctx, msg); err != nil {
				if !errors.Is(err, errLater) {
					h.Log.WarnContext(ctx, "webhook message will be retried", "messageId", msg.MessageId, "error", err.Error())
				}
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return resp, nil
}

func (h *Deliverer) process(ctx context.Context, msg events.SQSMessage) error {
	var m Message
	if err := json.Unmarshal([]byte(msg.Body), &m); err != nil || m.DeliveryID == "" {
		h.Log.ErrorContext(ctx, "queue message is not a delivery; dropped", "messageId", msg.MessageId)
		return nil
	}
	log := h.Log.With("deliveryId", m.DeliveryID, "attempt", m.Attempt+1)
	d, found, err := h.Store.WebhookDelivery(ctx, m.DeliveryID)
	if err != nil {
		return err
	}
	if !found {
		log.InfoContext(ctx, "delivery gone (expired); message dropped")
		return nil
	}
	now := h.Store.Now()
	switch {
	case d.Status == referral.DeliveryDelivered || d.Status == referral.DeliveryFailed:
		return nil
	case d.AttemptCount > m.Attempt:
		if receipts(msg) > 1 && d.AttemptCount == m.Attempt+1 && d.Status == referral.DeliveryPending && d.NextAttemptAt != nil {
			// This message made its attempt, and its function failed after recording it:
			// perhaps before queuing the next one, which is sent (again) now.
			return h.Queue.Send(ctx, Message{DeliveryID: d.DeliveryID, Attempt: d.AttemptCount}, d.NextAttemptAt.Sub(now))
		}
		return nil // a duplicate of a message whose attempt was made
	case d.AttemptCount < m.Attempt:
		return nil
	case d.Status == referral.DeliverySending && d.LeaseUntil.After(now):
		if d.Claim == msg.MessageId {
			return errLater
		}
		return nil // a duplicate: another message has this attempt in hand
	case d.Status == referral.DeliveryPending && d.NextAttemptAt != nil && d.NextAttemptAt.After(now):
		return h.Queue.Send(ctx, m, d.NextAttemptAt.Sub(now)) // early: hop on towards the due time
	}
	lease := h.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	claimed, err := h.Store.ClaimWebhookDelivery(ctx, d.DeliveryID, m.Attempt, msg.MessageId, lease)
	if errors.Is(err, store.ErrNotClaimed) {
		return nil
	}
	if err != nil {
		return err
	}
	return h.attempt(ctx, log, claimed)
}

// receipts is how many times SQS has handed the message out (1 the first time).
func receipts(msg events.SQSMessage) int {
	n, err := strconv.Atoi(msg.Attributes["ApproximateReceiveCount"])
	if err != nil {
		return 1
	}
	return n
}

// attempt makes the claimed attempt of d and records it.
func (h *Deliverer) attempt(ctx context.Context, log *slog.Logger, d store.Delivery) error {
	ep, err := h.Store.WebhookEndpoint(ctx, d.EndpointID)
	if errors.Is(err, referral.ErrWebhookNotFound) || (err == nil && ep.Deleted) {
		a := referral.WebhookAttempt{At: h.Store.Now(), Error: "the endpoint was deleted; not sent"}
		_, err := h.Store.RecordWebhookAttempt(context.WithoutCancel(ctx), d, a, referral.DeliveryFailed, time.Time{})
		return err
	}
	if err != nil {
		return err
	}
	secrets, err := h.secrets(ep)
	if err != nil {
		return err
	}
	body := []byte(d.Payload)
	at := h.Store.Now()
	hdr, err := Sign(d.EventID, at, body, secrets...)
	if err != nil {
		return err
	}
	res := Post(ctx, h.Client, ep.URL, hdr, body)
	metrics.Add(ctx, metrics.WebhookAttempts, 1)
	a := referral.WebhookAttempt{At: at, StatusCode: res.StatusCode, DurationMs: res.Duration.Milliseconds(), Error: res.Error}
	status, next := h.outcome(d, res)
	lost, err := h.Store.RecordWebhookAttempt(context.WithoutCancel(ctx), d, a, status, next)
	if err != nil {
		return fmt.Errorf("attempt made but not recorded (it will be made again): %w", err)
	}
	log = log.With("endpointId", d.EndpointID, "eventId", d.EventID, "statusCode", res.StatusCode, "durationMs", a.DurationMs)
	if lost {
		log.WarnContext(ctx, "attempt made after its claim ran out; another may have been made too")
		return nil
	}
	switch status {
	case referral.DeliveryDelivered:
		metrics.Add(ctx, metrics.WebhooksDelivered, 1)
		log.InfoContext(ctx, "webhook delivered")
	case referral.DeliveryFailed:
		metrics.Add(ctx, metrics.WebhooksFailed, 1)
		log.ErrorContext(ctx, FailedMessage, "attempts", d.AttemptCount+1, "error", res.Error)
	default:
		log.InfoContext(ctx, "webhook attempt failed; retrying", "nextAttemptAt", next, "error", res.Error)
		if err := h.Queue.Send(ctx, Message{DeliveryID: d.DeliveryID, Attempt: d.AttemptCount + 1}, next.Sub(h.Store.Now())); err != nil {
			return err // this message comes back and sends the next one (see process)
		}
	}
	return nil
}

// outcome decides what an attempt's result makes of the delivery: delivered, failed, or
// pending until next.
func (h *Deliverer) outcome(d store.Delivery, res Result) (status string, next time.Time) {
	switch {
	case referral.IsWebhookSuccess(res.StatusCode):
		return referral.DeliveryDelivered, time.Time{}
	case referral.IsWebhookGone(res.StatusCode):
		return referral.DeliveryFailed, time.Time{}
	}
	schedule := h.Schedule
	if schedule == nil {
		schedule = referral.WebhookRetrySchedule
	}
	jitter := h.Jitter
	if jitter == nil {
		jitter = rand.Float64
	}
	next, ok := referral.NextWebhookAttempt(schedule, d.AttemptCount+1, h.Store.Now(), d.RetryUntil, res.RetryAfter, jitter())
	if !ok {
		return referral.DeliveryFailed, time.Time{}
	}
	return referral.DeliveryPending, next
}

// secrets are the endpoint's signing secrets, opened: the current one, and the previous one
// while its grace period lasts.
func (h *Deliverer) secrets(ep store.SigningEndpoint) ([]string, error) {
	cur, err := h.Sealer.Open(ep.EndpointID, ep.Secret)
	if err != nil {
		return nil, fmt.Errorf("endpoint %s: %w", ep.EndpointID, err)
	}
	out := []string{cur}
	if ep.PreviousSecret != "" && ep.PreviousSecretExpiresAt != nil && ep.PreviousSecretExpiresAt.After(h.Store.Now()) {
		prev, err := h.Sealer.Open(ep.EndpointID, ep.PreviousSecret)
		if err != nil {
			return nil, fmt.Errorf("endpoint %s previous secret: %w", ep.EndpointID, err)
		}
		out = append(out, prev)
	}
	return out, nil
}
