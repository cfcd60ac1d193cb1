package referral

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Webhook event types: what happened, as `resource.verb`. Each is sent when the table records
// the change (a reward's status is written on every transition, so reward.approved follows the
// write that approves it, whoever makes it).
const (
	EventReferralCreated    = "referral.created"
	EventConversionRecorded = "conversion.recorded"
	EventConversionReversed = "conversion.reversed"
	EventRewardCreated      = "reward.created"
	EventRewardApproved     = "reward.approved"
	EventRewardFulfilled    = "reward.fulfilled"
	EventRewardReversed     = "reward.reversed"
	EventRewardExpired      = "reward.expired"
	EventCustomerOptedOut   = "customer.opted_out"
	EventContestClosed      = "contest.closed"
)

// WebhookEventTypes lists every event type an endpoint may subscribe to.
var WebhookEventTypes = []string{EventReferralCreated, EventConversionRecorded, EventConversionReversed,
	EventRewardCreated, EventRewardApproved, EventRewardFulfilled, EventRewardReversed, EventRewardExpired,
	EventCustomerOptedOut, EventContestClosed}

// WebhookEndpoint is a URL that receives signed events. Its signing secrets never appear here:
// they are shown once, when made.
type WebhookEndpoint struct {
	EndpointID  string    `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	// PreviousSecretExpiresAt is set while a rotated-out secret still signs (both are sent).
	PreviousSecretExpiresAt *time.Time `json:"previousSecretExpiresAt,omitempty"`
}

// Subscribes reports whether the endpoint wants events of type t.
func (e *WebhookEndpoint) Subscribes(t string) bool { return slices.Contains(e.Events, t) }

// Webhook delivery statuses. A delivery is pending until an attempt is answered 2xx
// (delivered) or its retry window ends (failed); it is sending while an attempt is in flight.
const (
	DeliveryPending   = "pending"
	DeliverySending   = "sending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event on its way to one endpoint, with every attempt made.
type WebhookDelivery struct {
	DeliveryID string `json:"id"`
	EndpointID string `json:"endpointId"`
	// EventID is the webhook-id header: the same for every attempt and redelivery of the event
	// (and for every endpoint it goes to), so a receiver can drop duplicates.
	EventID       string           `json:"eventId"`
	EventType     string           `json:"eventType"`
	Status        string           `json:"status"`
	AttemptCount  int              `json:"attemptCount"`
	Attempts      []WebhookAttempt `json:"attempts"`
	NextAttemptAt *time.Time       `json:"nextAttemptAt"`
	CreatedAt     time.Time        `json:"createdAt"`
	DeliveredAt   *time.Time       `json:"deliveredAt"`
	// RetryUntil is when the delivery is given up as failed if no attempt has succeeded.
	RetryUntil time.Time `json:"retryUntil"`
}

// WebhookAttempt is one HTTP request of a delivery: when, what the receiver answered (0 when
// nothing came back) and how long it took, and what went wrong (empty on a 2xx).
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"statusCode"`
	DurationMs int64     `json:"durationMs"`
	Error      string    `json:"error,omitempty"`
}

// Webhook limits.
const (
	MaxWebhookEndpoints     = 20
	maxWebhookURLLength     = 2048
	maxWebhookDescription   = 500
	MaxWebhookGracePeriod   = 7 * 24 * time.Hour
	DefaultWebhookGrace     = 24 * time.Hour
	MaxWebhookAttemptsShown = 50
)

// WebhookEndpointInput is what a merchant asks for when registering an endpoint.
type WebhookEndpointInput struct {
	URL         string
	Events      []string
	Description string
}

// Validate checks the input and normalizes it (events deduplicated, in catalogue order). The
// URL must be absolute, without credentials or a fragment, and https unless allowHTTP (the
// local stack); whether its host may be called is checked separately, after DNS resolution.
func (in *WebhookEndpointInput) Validate(allowHTTP bool) error {
	if err := ValidWebhookURL("url", in.URL, allowHTTP); err != nil {
		return err
	}
	if len(in.Events) == 0 {
		return Invalid("events", "events is required: the event types to send, e.g. [\"reward.approved\"]")
	}
	seen := map[string]bool{}
	for i, e := range in.Events {
		if !slices.Contains(WebhookEventTypes, e) {
			return Invalid(fmt.Sprintf("events[%d]", i), "unknown event type %q; known types: %s", e, strings.Join(WebhookEventTypes, ", "))
		}
		seen[e] = true
	}
	in.Events = in.Events[:0]
	for _, e := range WebhookEventTypes {
		if seen[e] {
			in.Events = append(in.Events, e)
		}
	}
	return ValidText("description", in.Description, maxWebhookDescription, false)
}

// ValidWebhookURL checks the form of an endpoint URL (see WebhookEndpointInput.Validate).
func ValidWebhookURL(field, raw string, allowHTTP bool) error {
	if raw == "" {
		return Invalid(field, "%s is required: the https URL that receives the events", field)
	}
	if len(raw) > maxWebhookURLLength {
		return Invalid(field, "%s must be at most %d characters", field, maxWebhookURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return Invalid(field, "%s must be an absolute URL like https://hooks.example.com/referrals", field)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	case u.Scheme == "http":
		return Invalid(field, "%s must use https: events carry customer data and are sent only over TLS", field)
	default:
		return Invalid(field, "%s must be an https URL", field)
	}
	if u.User != nil {
		return Invalid(field, "%s must not carry a user name or password: events are authenticated by their signature", field)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return Invalid(field, "%s must not have a fragment (#...)", field)
	}
	return nil
}

// WebhookRetrySchedule is the wait before each retry of a failed delivery: Standard Webhooks'
// schedule (the first attempt is immediate, then 5 seconds, 5 minutes, 30 minutes, 2, 5, 10,
// 14, 20 and 24 hours), cut short by WebhookRetryWindow: within 24 hours that is eight attempts,
// the last at the end of the window.
var WebhookRetrySchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// WebhookRetryWindow is how long a delivery is retried before it is failed.
const WebhookRetryWindow = 24 * time.Hour

// webhookJitter is the share of a wait that is randomized (±), so that deliveries failing
// together do not all come back at the same second.
const webhookJitter = 0.1

// NextWebhookAttempt decides when a delivery that has now failed `failed` attempts tries again:
// after the schedule's wait for that retry (randomized by ±10% with jitter in [0,1)), or after
// the receiver's Retry-After when that is longer. A retry that would fall after retryUntil is
// moved to retryUntil, so the window ends with one last attempt; once that attempt has been
// made (now is within lastCall of retryUntil, or past it), ok is false: the delivery has failed.
func NextWebhookAttempt(schedule []time.Duration, failed int, now, retryUntil time.Time, retryAfter time.Duration, jitter float64) (next time.Time, ok bool) {
	if len(schedule) == 0 || failed < 1 || retryUntil.Sub(now) < lastCall {
		return time.Time{}, false
	}
	wait := schedule[min(failed, len(schedule))-1]
	wait += time.Duration((jitter*2 - 1) * webhookJitter * float64(wait))
	wait = max(wait, retryAfter, 0)
	next = now.Add(wait)
	if next.After(retryUntil) {
		next = retryUntil
	}
	return next, true
}

// lastCall is how close to the end of its window an attempt counts as the last one.
const lastCall = time.Minute

// IsWebhookSuccess reports whether a receiver's status code means the event was delivered.
func IsWebhookSuccess(status int) bool { return status >= 200 && status <= 299 }

// IsWebhookGone reports whether a receiver's answer means it wants no more attempts of this
// delivery (410 Gone): the delivery fails at once.
func IsWebhookGone(status int) bool { return status == 410 }
