package referral

import (
	"fmt"
	"time"
)

// Error is a domain error that carries its API error code and HTTP status.
// Field names the offending input field, as a JSON path, when there is one.
type Error struct {
	Code   string
	Status int
	Msg    string
	Field  string
	// Details is extra JSON-encodable context returned with the error (for example the
	// existing referral of an already_referred error).
	Details any
	// RetryAfter, when above zero, is how long the client should wait before retrying
	// (the Retry-After header, in whole seconds, at least 1).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Msg, e.Field)
	}
	return e.Code + ": " + e.Msg
}

// Is makes errors.Is match two *Error values by code, so sentinels work after WithField.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Invalid is a 400 invalid_request error naming the field at fault.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: "invalid_request", Status: 400, Msg: fmt.Sprintf(format, args...), Field: field}
}

// RetryIn returns a copy of e that tells the client to retry after d.
func (e *Error) RetryIn(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// At returns a copy of e naming the field at fault (a JSON path).
func (e *Error) At(field string) *Error {
	c := *e
	c.Field = field
	return &c
}

// With returns a copy of e with a message and details for this occurrence.
func (e *Error) With(msg string, details any) *Error {
	c := *e
	if msg != "" {
		c.Msg = msg
	}
	c.Details = details
	return &c
}

// The API's error catalogue: every error code the API answers, with its HTTP status. Add new
// codes here and nowhere else.
var (
	ErrInvalid                  = &Error{Code: "invalid_request", Status: 400, Msg: "the request is not valid"}
	ErrInvalidField             = &Error{Code: "invalid_field", Status: 400, Msg: "a field holds a well-formed value that is not acceptable"}
	ErrUnauthorized             = &Error{Code: "unauthorized", Status: 401, Msg: "a valid API key is required"}
	ErrForbidden                = &Error{Code: "forbidden", Status: 403, Msg: "this API key may not do that"}
	ErrNotFound                 = &Error{Code: "not_found", Status: 404, Msg: "no such route"}
	ErrProgramNotFound          = &Error{Code: "program_not_found", Status: 404, Msg: "no program with that id"}
	ErrCustomerNotFound         = &Error{Code: "customer_not_found", Status: 404, Msg: "no customer with that id"}
	ErrCodeNotFound             = &Error{Code: "code_not_found", Status: 404, Msg: "no referral code like that"}
	ErrConversionNotFound       = &Error{Code: "conversion_not_found", Status: 404, Msg: "no conversion with that eventId"}
	ErrRewardNotFound           = &Error{Code: "reward_not_found", Status: 404, Msg: "no reward with that id"}
	ErrKeyNotFound              = &Error{Code: "key_not_found", Status: 404, Msg: "no API key with that id"}
	ErrPoolNotFound             = &Error{Code: "pool_not_found", Status: 404, Msg: "no coupon pool with that name: add codes to create it"}
	ErrWebhookNotFound          = &Error{Code: "webhook_endpoint_not_found", Status: 404, Msg: "no webhook endpoint with that id"}
	ErrDeliveryNotFound         = &Error{Code: "webhook_delivery_not_found", Status: 404, Msg: "no webhook delivery with that id"}
	ErrPeriodNotEnded           = &Error{Code: "period_not_ended", Status: 409, Msg: "the contest period has not ended yet"}
	ErrCodeTaken                = &Error{Code: "code_taken", Status: 409, Msg: "that vanity code belongs to someone else"}
	ErrAlreadyReferred          = &Error{Code: "already_referred", Status: 409, Msg: "the referee is already attributed in this program"}
	ErrIdempotencyConflict      = &Error{Code: "idempotency_conflict", Status: 409, Msg: "this eventId was used with a different payload"}
	ErrRewardState              = &Error{Code: "invalid_state", Status: 409, Msg: "the reward is not in a state that allows this"}
	ErrPoolEmpty                = &Error{Code: "pool_empty", Status: 409, Msg: "the reward's coupon pool has no codes left: add codes to the pool, then retry"}
	ErrDeliveryInProgress       = &Error{Code: "invalid_state", Status: 409, Msg: "the delivery is still being attempted; redeliver it once it is delivered or failed"}
	ErrCodeInactive             = &Error{Code: "code_inactive", Status: 410, Msg: "the code is paused, expired or used up, or its program is not active"}
	ErrRewardExpired            = &Error{Code: "reward_expired", Status: 410, Msg: "the reward expired before it was fulfilled"}
	ErrLinkExpired              = &Error{Code: "link_expired", Status: 410, Msg: "the page's link has expired; the advocate's latest email has a fresh one"}
	ErrLinkRevoked              = &Error{Code: "link_revoked", Status: 410, Msg: "the page's advocate, code or program is no longer active"}
	ErrLinkForged               = &Error{Code: "link_invalid", Status: 403, Msg: "the page's link was not signed by this service"}
	ErrPayloadTooLarge          = &Error{Code: "payload_too_large", Status: 413, Msg: "the request body is larger than 64 KiB"}
	ErrSelfReferral             = &Error{Code: "self_referral", Status: 422, Msg: "an advocate cannot refer themselves"}
	ErrNotNewCustomer           = &Error{Code: "not_new_customer", Status: 422, Msg: "this program only rewards new customers and the referee has purchased before"}
	ErrNotReferred              = &Error{Code: "not_referred", Status: 422, Msg: "the referee has no referral in this program"}
	ErrAttributionExpired       = &Error{Code: "attribution_expired", Status: 422, Msg: "the conversion happened after the attribution window closed"}
	ErrProgramInactive          = &Error{Code: "program_inactive", Status: 422, Msg: "the program is not active"}
	ErrConversionBeforeReferral = &Error{Code: "conversion_before_referral", Status: 422, Msg: "the conversion occurred before the referee was referred or before the program started"}
	ErrCustomerBlocked          = &Error{Code: "customer_blocked", Status: 422, Msg: "the customer is blocked from the referral programs"}
	ErrEmailDomainBlocked       = &Error{Code: "email_domain_blocked", Status: 422, Msg: "the program does not accept referees with this email domain"}
	ErrEmailRejected            = &Error{Code: "email_rejected", Status: 422, Msg: "SES refused to send the email"}
	ErrEmailSuppressed          = &Error{Code: "email_suppressed", Status: 422, Msg: "the customer's email address bounced or was reported as spam; it gets no more marketing email"}
	ErrOptedOut                 = &Error{Code: "opted_out", Status: 422, Msg: "the customer has opted out of marketing email"}
	ErrNoEmail                  = &Error{Code: "no_email", Status: 422, Msg: "the customer has no email address to send the ask to"}
	ErrNoContest                = &Error{Code: "no_contest", Status: 422, Msg: "the program has no contest prizes to award"}
	ErrNoStripeCustomer         = &Error{Code: "no_stripe_customer", Status: 422, Msg: "the customer has no Stripe customer id: set stripeCustomerId on the customer, then retry"}
	ErrWebhookLimit             = &Error{Code: "webhook_endpoint_limit", Status: 422, Msg: "at most 20 webhook endpoints can be registered; delete one first"}
	ErrWebhookTarget            = &Error{Code: "webhook_url_not_allowed", Status: 422, Msg: "the URL's host is not one events may be sent to"}
	ErrRateLimited              = &Error{Code: "rate_limited", Status: 429, Msg: "too many requests; try again later"}
	ErrFulfilmentFailed         = &Error{Code: "fulfilment_failed", Status: 502, Msg: "the reward's provider could not deliver it; it is listed as failed and can be retried"}
	ErrInternal                 = &Error{Code: "internal", Status: 500, Msg: "something went wrong on our side; it has been logged"}
	ErrUnavailable              = &Error{Code: "unavailable", Status: 503, Msg: "the service is busy; retry after the time in Retry-After"}
)
