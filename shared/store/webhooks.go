package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// The webhook items are never changed with REMOVE: minidyn, the engine of the tests, ignores
// it. An attribute that goes away is written empty (""), NULL or 0 instead, and reads back as
// absent.
var null = &types.AttributeValueMemberNULL{Value: true}

// Webhook items. None of their types is one a stream consumer's filter lets through, so
// recording deliveries never feeds back into the stream functions.
//
//	item              PK                 SK        GSI1PK                   GSI1SK
//	webhook endpoint  WEBHOOK#<id>       WEBHOOK   WEBHOOKS                 <createdAt>#<id>   (GSI1PK DELETEDWEBHOOKS once deleted)
//	webhook count     WEBHOOKS           COUNT     -                        -
//	webhook delivery  WHDELIVERY#<id>    DELIVERY  WHDELIVERIES#<endpoint>  <createdAt>#<id>   (ttl: 30 days after its last change)
const (
	TypeWebhookEndpoint = "webhook-endpoint"
	TypeWebhookCount    = "webhook-count"
	TypeWebhookDelivery = "webhook-delivery"
)

// webhookRetention is how long a deleted endpoint, and a delivery after its last change, stay
// in the table before TTL removes them (the delivery log covers 30 days).
const webhookRetention = 30 * 24 * time.Hour

type webhookEndpointItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI1PK string `json:"GSI1PK,omitempty"`
	GSI1SK string `json:"GSI1SK,omitempty"`
	Type   string `json:"type"`
	referral.WebhookEndpoint
	Secret         string     `json:"secret,omitempty"`         // sealed (webhook.Sealer)
	PreviousSecret string     `json:"previousSecret,omitempty"` // sealed; signs too until PreviousSecretExpiresAt
	Deleted        bool       `json:"deleted,omitempty"`
	DeletedAt      *time.Time `json:"deletedAt,omitempty"`
	TTL            int64      `json:"ttl,omitempty"`
}

// SigningEndpoint is an endpoint with its sealed signing secrets: what the delivery function
// needs to sign, and nothing the API shows.
type SigningEndpoint struct {
	referral.WebhookEndpoint
	Secret         string // sealed
	PreviousSecret string // sealed; "" when there is none
	Deleted        bool
}

// CreateWebhookEndpoint registers an endpoint with its sealed secret: 1 TransactWriteItems that
// puts the endpoint and counts it, refusing a (MaxWebhookEndpoints+1)th with ErrWebhookLimit.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, ep referral.WebhookEndpoint, sealedSecret string) error {
	it := webhookEndpointItem{PK: webhookPK(ep.EndpointID), SK: webhookSK, GSI1PK: webhooksPK,
		GSI1SK: webhooksSK(ep.CreatedAt, ep.EndpointID), Type: TypeWebhookEndpoint, WebhookEndpoint: ep, Secret: sealedSecret}
	room := expression.Name("count").AttributeNotExists().Or(expression.Name("count").LessThan(expression.Value(referral.MaxWebhookEndpoints)))
	err := s.transact(ctx, putNew(it), update(webhooksPK, webhookCountSK,
		expression.Set(expression.Name("type"), expression.Value(TypeWebhookCount)).
			Add(expression.Name("count"), expression.Value(1)), &room))
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		return nil
	case len(reasons) == 2 && reasons[1] == "ConditionalCheckFailed":
		return referral.ErrWebhookLimit
	default:
		return unavailable(fmt.Errorf("create webhook endpoint: %w", err))
	}
}

// ListWebhookEndpoints pages through the endpoints, oldest first (1 Query on GSI5, WEBHOOKS,
// for the page's keys, then 1 eventually consistent BatchGetItem per 100 of them).
func (s *Store) ListWebhookEndpoints(ctx context.Context, page Page) ([]referral.WebhookEndpoint, *string, error) {
	var items []webhookEndpointItem
	next, err := s.queryThrough(ctx, GSI5, webhooksPK, page, true, &items)
	if err != nil {
		return nil, nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	out := make([]referral.WebhookEndpoint, len(items))
	for i := range items {
		out[i] = items[i].WebhookEndpoint
	}
	return out, next, nil
}

// WebhookEndpoints reads every endpoint, for fanning an event out: 1 Query on GSI5 and 1
// BatchGetItem (there are at most MaxWebhookEndpoints, well within one page).
func (s *Store) WebhookEndpoints(ctx context.Context) ([]referral.WebhookEndpoint, error) {
	var all []referral.WebhookEndpoint
	page := Page{Limit: 100}
	for {
		eps, next, err := s.ListWebhookEndpoints(ctx, page)
		if err != nil {
			return nil, err
		}
		all = append(all, eps...)
		if next == nil {
			return all, nil
		}
		page.Cursor = *next
	}
}

// WebhookEndpoint reads an endpoint with its sealed secrets (1 consistent GetItem). A deleted
// endpoint comes back with Deleted set; an unknown one is ErrWebhookNotFound.
func (s *Store) WebhookEndpoint(ctx context.Context, id string) (SigningEndpoint, error) {
	var it webhookEndpointItem
	found, err := s.getItem(ctx, webhookPK(id), webhookSK, &it)
	if err != nil {
		return SigningEndpoint{}, fmt.Errorf("webhook endpoint %s: %w", id, err)
	}
	if !found {
		return SigningEndpoint{}, referral.ErrWebhookNotFound
	}
	return SigningEndpoint{WebhookEndpoint: it.WebhookEndpoint, Secret: it.Secret, PreviousSecret: it.PreviousSecret, Deleted: it.Deleted}, nil
}

// DeleteWebhookEndpoint deletes an endpoint: 1 TransactWriteItems that marks it deleted, moves it
// off the list (to a GSI5 partition nobody reads), forgets its secrets (TTL removes the rest after 30 days; its pending deliveries
// then fail) and uncounts it. Deleting it again changes nothing; an unknown id is
// ErrWebhookNotFound (after 1 GetItem that tells the two apart).
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	now := s.now()
	live := expression.Name("PK").AttributeExists().And(expression.Name("deleted").AttributeNotExists())
	positive := expression.Name("count").GreaterThan(expression.Value(0))
	err := s.transact(ctx,
		update(webhookPK(id), webhookSK, expression.Set(expression.Name("deleted"), expression.Value(true)).
			Set(expression.Name("deletedAt"), expression.Value(now)).
			Set(expression.Name("updatedAt"), expression.Value(now)).
			Set(expression.Name("ttl"), expression.Value(now.Add(webhookRetention).Unix())).
			Set(expression.Name("GSI1PK"), expression.Value(deletedWebhooksPK)).
			Set(expression.Name("secret"), expression.Value("")).
			Set(expression.Name("previousSecret"), expression.Value("")).
			Set(expression.Name("previousSecretExpiresAt"), expression.Value(null)), &live),
		update(webhooksPK, webhookCountSK, expression.Add(expression.Name("count"), expression.Value(-1)), &positive))
	if err == nil {
		return nil
	}
	if cancellationReasons(err) == nil {
		return unavailable(fmt.Errorf("delete webhook endpoint %s: %w", id, err))
	}
	ep, gerr := s.WebhookEndpoint(ctx, id)
	switch {
	case gerr != nil:
		return gerr
	case ep.Deleted:
		return nil
	default:
		return unavailable(fmt.Errorf("delete webhook endpoint %s: %w", id, err))
	}
}

// RotateWebhookSecret gives an endpoint a new sealed secret: 1 UpdateItem, on an endpoint that
// is not deleted. With a grace period the current secret keeps signing beside the new one
// until then (replacing any earlier previous secret); without one it stops at once.
func (s *Store) RotateWebhookSecret(ctx context.Context, id, sealedSecret string, grace time.Duration) (referral.WebhookEndpoint, error) {
	now := s.now()
	// previousSecret = secret comes first: DynamoDB reads every operand before it writes, but
	// minidyn applies the SETs in order.
	upd := expression.Set(expression.Name("previousSecret"), expression.Name("secret")).
		Set(expression.Name("previousSecretExpiresAt"), expression.Value(now.Add(grace)))
	if grace <= 0 {
		upd = expression.Set(expression.Name("previousSecret"), expression.Value("")).
			Set(expression.Name("previousSecretExpiresAt"), expression.Value(null))
	}
	upd = upd.Set(expression.Name("secret"), expression.Value(sealedSecret)).
		Set(expression.Name("updatedAt"), expression.Value(now))
	live := expression.Name("PK").AttributeExists().And(expression.Name("deleted").AttributeNotExists())
	attrs, err := s.updateReturning(ctx, webhookPK(id), webhookSK, upd, live)
	if conditionFailed(err) {
		return referral.WebhookEndpoint{}, referral.ErrWebhookNotFound
	}
	if err != nil {
		return referral.WebhookEndpoint{}, unavailable(fmt.Errorf("rotate webhook secret %s: %w", id, err))
	}
	var it webhookEndpointItem
	if err := unmarshal(attrs, &it); err != nil {
		return referral.WebhookEndpoint{}, fmt.Errorf("rotate webhook secret %s: %w", id, err)
	}
	return it.WebhookEndpoint, nil
}

// updateReturning runs one conditional UpdateItem and returns the item as written.
func (s *Store) updateReturning(ctx context.Context, pk, sk string, upd expression.UpdateBuilder, cond expression.ConditionBuilder) (map[string]types.AttributeValue, error) {
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", pk, err)
	}
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(pk, sk),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return nil, err
	}
	return res.Attributes, nil
}

type webhookDeliveryItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI1PK string `json:"GSI1PK"`
	GSI1SK string `json:"GSI1SK"`
	Type   string `json:"type"`
	referral.WebhookDelivery
	Payload    string    `json:"payload"` // the body sent on every attempt, byte for byte
	DueAt      int64     `json:"dueAt,omitempty"`
	Claim      string    `json:"claim,omitempty"`
	LeaseUntil int64     `json:"leaseUntil,omitempty"` // Unix milliseconds
	UpdatedAt  time.Time `json:"updatedAt"`
	TTL        int64     `json:"ttl"`
}

// Delivery is a delivery as its sender sees it: the log entry, the payload, and the claim on
// its next attempt.
type Delivery struct {
	referral.WebhookDelivery
	Payload    string
	Claim      string
	LeaseUntil time.Time
}

func (it *webhookDeliveryItem) delivery() Delivery {
	d := Delivery{WebhookDelivery: it.WebhookDelivery, Payload: it.Payload, Claim: it.Claim}
	if d.Attempts == nil {
		d.Attempts = []referral.WebhookAttempt{}
	}
	if it.LeaseUntil > 0 {
		d.LeaseUntil = time.UnixMilli(it.LeaseUntil).UTC()
	}
	return d
}

func decodeDelivery(attrs map[string]types.AttributeValue) (Delivery, error) {
	var it webhookDeliveryItem
	if err := unmarshal(attrs, &it); err != nil {
		return Delivery{}, fmt.Errorf("decode webhook delivery: %w", err)
	}
	return it.delivery(), nil
}

// NewDelivery is a delivery to record: one event for one endpoint.
type NewDelivery struct {
	DeliveryID string
	EndpointID string
	EventID    string
	EventType  string
	Payload    string
}

// PutWebhookDelivery records a delivery, due now, unless it exists: 1 PutItem conditioned on
// attribute_not_exists, so a stream record processed twice never makes a second delivery of
// its event. created is false for a delivery recorded before, which comes back (after 1
// consistent GetItem).
func (s *Store) PutWebhookDelivery(ctx context.Context, in NewDelivery) (d Delivery, created bool, err error) {
	now := s.now()
	it := webhookDeliveryItem{PK: deliveryPK(in.DeliveryID), SK: deliverySK, GSI1PK: deliveriesPK(in.EndpointID),
		GSI1SK: deliveriesSK(now, in.DeliveryID), Type: TypeWebhookDelivery,
		WebhookDelivery: referral.WebhookDelivery{DeliveryID: in.DeliveryID, EndpointID: in.EndpointID, EventID: in.EventID,
			EventType: in.EventType, Status: referral.DeliveryPending, NextAttemptAt: &now, CreatedAt: now,
			RetryUntil: now.Add(referral.WebhookRetryWindow)},
		Payload: in.Payload, DueAt: now.UnixMilli(), UpdatedAt: now, TTL: now.Add(webhookRetention).Unix()}
	item, err := marshal(it)
	if err != nil {
		return Delivery{}, false, fmt.Errorf("put webhook delivery: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(PK)")})
	switch {
	case err == nil:
		return it.delivery(), true, nil
	case conditionFailed(err):
		d, found, err := s.WebhookDelivery(ctx, in.DeliveryID)
		if err == nil && !found {
			err = unavailable(fmt.Errorf("put webhook delivery %s: refused, yet absent", in.DeliveryID))
		}
		return d, false, err
	default:
		return Delivery{}, false, unavailable(fmt.Errorf("put webhook delivery %s: %w", in.DeliveryID, err))
	}
}

// WebhookDelivery reads a delivery (1 consistent GetItem); found is false when there is none.
func (s *Store) WebhookDelivery(ctx context.Context, id string) (Delivery, bool, error) {
	var it webhookDeliveryItem
	found, err := s.getItem(ctx, deliveryPK(id), deliverySK, &it)
	if err != nil || !found {
		return Delivery{}, found, err
	}
	return it.delivery(), true, nil
}

// ErrNotClaimed means another sender holds or has made the attempt a claim asked for.
var ErrNotClaimed = errors.New("webhook delivery attempt not claimed")

// ClaimWebhookDelivery takes the right to make attempt number attempt+1 of a delivery, for
// lease: 1 UpdateItem whose condition grants it only when attempt attempts have been made and
// the delivery is due (pending, its time come) or its last claim's lease has run out (that
// sender died). Otherwise ErrNotClaimed. claim names the claimant (the queue message).
func (s *Store) ClaimWebhookDelivery(ctx context.Context, id string, attempt int, claim string, lease time.Duration) (Delivery, error) {
	now := s.now()
	due := expression.Name("status").Equal(expression.Value(referral.DeliveryPending)).
		And(expression.Name("dueAt").LessThanEqual(expression.Value(now.UnixMilli())))
	abandoned := expression.Name("status").Equal(expression.Value(referral.DeliverySending)).
		And(expression.Name("leaseUntil").LessThan(expression.Value(now.UnixMilli())))
	cond := expression.Name("attemptCount").Equal(expression.Value(attempt)).And(due.Or(abandoned))
	upd := expression.Set(expression.Name("status"), expression.Value(referral.DeliverySending)).
		Set(expression.Name("claim"), expression.Value(claim)).
		Set(expression.Name("leaseUntil"), expression.Value(now.Add(lease).UnixMilli())).
		Set(expression.Name("updatedAt"), expression.Value(now))
	attrs, err := s.updateReturning(ctx, deliveryPK(id), deliverySK, upd, cond)
	if conditionFailed(err) {
		return Delivery{}, ErrNotClaimed
	}
	if err != nil {
		return Delivery{}, unavailable(fmt.Errorf("claim webhook delivery %s: %w", id, err))
	}
	return decodeDelivery(attrs)
}

// RecordWebhookAttempt writes the outcome of the claimed attempt of d: 1 UpdateItem conditioned
// on the claim still being d's. The attempt joins the log (the last MaxWebhookAttemptsShown are
// kept; attemptCount counts them all) and the delivery becomes status: delivered, failed, or
// pending again with its next attempt at next. lost is true when the claim had run out and
// another sender took over (nothing is written then).
func (s *Store) RecordWebhookAttempt(ctx context.Context, d Delivery, a referral.WebhookAttempt, status string, next time.Time) (lost bool, err error) {
	now := s.now()
	log := append(append([]referral.WebhookAttempt(nil), d.Attempts...), a)
	if len(log) > referral.MaxWebhookAttemptsShown {
		log = log[len(log)-referral.MaxWebhookAttemptsShown:]
	}
	upd := expression.Set(expression.Name("status"), expression.Value(status)).
		Set(expression.Name("attemptCount"), expression.Value(d.AttemptCount+1)).
		Set(expression.Name("attempts"), expression.Value(log)).
		Set(expression.Name("updatedAt"), expression.Value(now)).
		Set(expression.Name("ttl"), expression.Value(now.Add(webhookRetention).Unix())).
		Set(expression.Name("claim"), expression.Value("")).
		Set(expression.Name("leaseUntil"), expression.Value(0))
	switch status {
	case referral.DeliveryPending:
		upd = upd.Set(expression.Name("nextAttemptAt"), expression.Value(next)).
			Set(expression.Name("dueAt"), expression.Value(next.UnixMilli()))
	case referral.DeliveryDelivered:
		upd = upd.Set(expression.Name("deliveredAt"), expression.Value(a.At)).
			Set(expression.Name("nextAttemptAt"), expression.Value(null)).
			Set(expression.Name("dueAt"), expression.Value(0))
	default:
		upd = upd.Set(expression.Name("nextAttemptAt"), expression.Value(null)).
			Set(expression.Name("dueAt"), expression.Value(0))
	}
	cond := expression.Name("claim").Equal(expression.Value(d.Claim)).
		And(expression.Name("status").Equal(expression.Value(referral.DeliverySending)))
	_, err = s.updateReturning(ctx, deliveryPK(d.DeliveryID), deliverySK, upd, cond)
	switch {
	case err == nil:
		return false, nil
	case conditionFailed(err):
		return true, nil
	default:
		return false, unavailable(fmt.Errorf("record webhook attempt %s: %w", d.DeliveryID, err))
	}
}

// ListWebhookDeliveries pages through an endpoint's deliveries, newest first (1 Query on GSI5,
// WHDELIVERIES#<endpointId>, for the page's keys, then 1 eventually consistent BatchGetItem per
// 100 of them).
func (s *Store) ListWebhookDeliveries(ctx context.Context, endpointID string, page Page) ([]referral.WebhookDelivery, *string, error) {
	var items []webhookDeliveryItem
	next, err := s.queryThrough(ctx, GSI5, deliveriesPK(endpointID), page, false, &items)
	if err != nil {
		return nil, nil, fmt.Errorf("list webhook deliveries of %s: %w", endpointID, err)
	}
	out := make([]referral.WebhookDelivery, len(items))
	for i := range items {
		out[i] = items[i].delivery().WebhookDelivery
	}
	return out, next, nil
}

// StuckAfter is how long past its due time a pending delivery counts as stuck (its queue message
// lost) and may be redelivered.
const StuckAfter = time.Minute

// RedeliverWebhook makes a delivered or failed delivery due again now, with a new retry window
// (the same event, the same webhook-id): 1 UpdateItem. So it does for a pending delivery more
// than StuckAfter past due, in case its queue message was lost (a duplicate is harmless). A
// delivery otherwise pending or in flight is ErrDeliveryInProgress; an unknown one
// ErrDeliveryNotFound.
func (s *Store) RedeliverWebhook(ctx context.Context, id string) (Delivery, error) {
	now := s.now()
	done := expression.Name("status").In(expression.Value(referral.DeliveryDelivered), expression.Value(referral.DeliveryFailed)).
		Or(expression.Name("status").Equal(expression.Value(referral.DeliveryPending)).
			And(expression.Name("dueAt").LessThan(expression.Value(now.Add(-StuckAfter).UnixMilli()))))
	upd := expression.Set(expression.Name("status"), expression.Value(referral.DeliveryPending)).
		Set(expression.Name("nextAttemptAt"), expression.Value(now)).
		Set(expression.Name("dueAt"), expression.Value(now.UnixMilli())).
		Set(expression.Name("retryUntil"), expression.Value(now.Add(referral.WebhookRetryWindow))).
		Set(expression.Name("updatedAt"), expression.Value(now)).
		Set(expression.Name("ttl"), expression.Value(now.Add(webhookRetention).Unix())).
		Set(expression.Name("deliveredAt"), expression.Value(null))
	attrs, err := s.updateReturning(ctx, deliveryPK(id), deliverySK, upd, done)
	if conditionFailed(err) {
		_, found, gerr := s.WebhookDelivery(ctx, id)
		switch {
		case gerr != nil:
			return Delivery{}, gerr
		case !found:
			return Delivery{}, referral.ErrDeliveryNotFound
		default:
			return Delivery{}, referral.ErrDeliveryInProgress
		}
	}
	if err != nil {
		return Delivery{}, unavailable(fmt.Errorf("redeliver %s: %w", id, err))
	}
	return decodeDelivery(attrs)
}
