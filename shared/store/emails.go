package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// Email markers make each (source item, template) email go out once although the stream
// delivers records at least once.
//
//	item    PK                          SK          GSI1PK  GSI1SK
//	email   EMAIL#<source PK>|<source SK>  <template>  -       -
//
// A marker holds no personal data: the customer id, the template, the state and SES's
// message id. Its type, "email", is not one the stream function's filter lets through.
const TypeEmail = "email"

// Marker states. A marker is written "sending" with a lease before SES is called, and then
// becomes "sent" (with SES's message id) or "rejected" (SES refused it for good).
const (
	EmailSending  = "sending"
	EmailSent     = "sent"
	EmailRejected = "rejected"
)

type emailItem struct {
	PK         string     `json:"PK"`
	SK         string     `json:"SK"`
	Type       string     `json:"type"`
	Template   string     `json:"template"`
	Source     string     `json:"source"` // the source item's type
	CustomerID string     `json:"customerId"`
	ProgramID  string     `json:"programId"`
	Status     string     `json:"status"`
	ClaimID    string     `json:"claimId"`
	LeaseUntil int64      `json:"leaseUntil"` // Unix milliseconds; the claim is free after it
	Attempts   int        `json:"attempts"`
	MessageID  string     `json:"messageId,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	SentAt     *time.Time `json:"sentAt,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
}

// EmailMarker is the state of one (source item, template) email.
type EmailMarker struct {
	SourceKey  string
	Template   string
	Status     string
	Attempts   int
	MessageID  string
	Reason     string
	LeaseUntil time.Time
}

func (it *emailItem) marker(sourceKey string) EmailMarker {
	return EmailMarker{SourceKey: sourceKey, Template: it.SK, Status: it.Status, Attempts: it.Attempts,
		MessageID: it.MessageID, Reason: it.Reason, LeaseUntil: time.UnixMilli(it.LeaseUntil).UTC()}
}

// EmailJob names one email to send: the source item ("PK|SK" of the stream record), the
// template, and for the marker the customer and program it is about.
type EmailJob struct {
	SourceKey  string
	SourceType string
	Template   string
	CustomerID string
	ProgramID  string
}

// Claim is a granted right to send one email until its lease ends.
type Claim struct {
	Job     EmailJob
	ID      string
	Expires time.Time
}

// ErrEmailBusy means another invocation holds a live claim on the email: retry after it ends.
// ClaimEmail returns it as an *EmailBusyError, which says when the claim ends.
var ErrEmailBusy = errors.New("email is being sent by another invocation")

// EmailBusyError is ErrEmailBusy with the end of the live claim.
type EmailBusyError struct {
	Until time.Time
}

func (e *EmailBusyError) Error() string {
	return ErrEmailBusy.Error() + " until " + e.Until.Format(time.RFC3339Nano)
}

// Is makes errors.Is(err, ErrEmailBusy) hold.
func (e *EmailBusyError) Is(target error) bool { return target == ErrEmailBusy }

// ClaimEmail takes the right to send job's email for lease: 1 UpdateItem whose condition
// grants it only when there is no marker or the marker is "sending" with an expired lease
// (the previous sender died or gave up). When the claim is refused, 1 consistent GetItem
// says why: done is true with the marker when the email was already sent or rejected, and
// ErrEmailBusy comes back while another claim is live.
func (s *Store) ClaimEmail(ctx context.Context, job EmailJob, lease time.Duration) (c Claim, done *EmailMarker, err error) {
	now := s.now()
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Claim{}, nil, fmt.Errorf("claim email: %w", err)
	}
	c = Claim{Job: job, ID: hex.EncodeToString(b[:]), Expires: now.Add(lease)}
	upd := expression.Set(expression.Name("type"), expression.Value(TypeEmail)).
		Set(expression.Name("template"), expression.Value(job.Template)).
		Set(expression.Name("source"), expression.Value(job.SourceType)).
		Set(expression.Name("customerId"), expression.Value(job.CustomerID)).
		Set(expression.Name("programId"), expression.Value(job.ProgramID)).
		Set(expression.Name("status"), expression.Value(EmailSending)).
		Set(expression.Name("claimId"), expression.Value(c.ID)).
		Set(expression.Name("leaseUntil"), expression.Value(c.Expires.UnixMilli())).
		Set(expression.Name("attempts"), expression.Plus(expression.IfNotExists(expression.Name("attempts"), expression.Value(0)), expression.Value(1))).
		Set(expression.Name("createdAt"), expression.IfNotExists(expression.Name("createdAt"), expression.Value(now))).
		Set(expression.Name("updatedAt"), expression.Value(now))
	cond := expression.Name("PK").AttributeNotExists().Or(
		expression.Name("status").Equal(expression.Value(EmailSending)).
			And(expression.Name("leaseUntil").LessThan(expression.Value(now.UnixMilli()))))
	err = s.updateEmail(ctx, job, upd, cond)
	if err == nil {
		return c, nil, nil
	}
	if !conditionFailed(err) {
		return Claim{}, nil, unavailable(fmt.Errorf("claim email %s/%s: %w", job.SourceKey, job.Template, err))
	}
	m, found, err := s.EmailMarker(ctx, job.SourceKey, job.Template)
	switch {
	case err != nil:
		return Claim{}, nil, err
	case !found:
		return Claim{}, nil, unavailable(fmt.Errorf("claim email %s/%s: refused, yet no marker", job.SourceKey, job.Template))
	case m.Status == EmailSending:
		return Claim{}, nil, &EmailBusyError{Until: m.LeaseUntil}
	default:
		return Claim{}, &m, nil
	}
}

// ConfirmEmail records that SES accepted the claimed email (1 UpdateItem, conditioned on the
// claim still being this one). lost is true when the claim had expired and another sender
// took it over: the email may then go out twice, which the caller logs.
func (s *Store) ConfirmEmail(ctx context.Context, c Claim, messageID string) (lost bool, err error) {
	now := s.now()
	upd := expression.Set(expression.Name("status"), expression.Value(EmailSent)).
		Set(expression.Name("messageId"), expression.Value(messageID)).
		Set(expression.Name("sentAt"), expression.Value(now)).
		Set(expression.Name("updatedAt"), expression.Value(now))
	return s.finishClaim(ctx, c, upd)
}

// RejectEmail records that SES refused the claimed email for good, with the reason (an SES
// error code, never an address), so that retries and replays do not try again.
func (s *Store) RejectEmail(ctx context.Context, c Claim, reason string) (lost bool, err error) {
	upd := expression.Set(expression.Name("status"), expression.Value(EmailRejected)).
		Set(expression.Name("reason"), expression.Value(reason)).
		Set(expression.Name("updatedAt"), expression.Value(s.now()))
	return s.finishClaim(ctx, c, upd)
}

// ReleaseEmail gives a claim up after a failure worth retrying (SES throttled or
// unreachable), so the retry can claim at once instead of waiting for the lease to end.
func (s *Store) ReleaseEmail(ctx context.Context, c Claim, reason string) error {
	upd := expression.Set(expression.Name("leaseUntil"), expression.Value(0)).
		Set(expression.Name("reason"), expression.Value(reason)).
		Set(expression.Name("updatedAt"), expression.Value(s.now()))
	_, err := s.finishClaim(ctx, c, upd)
	return err
}

func (s *Store) finishClaim(ctx context.Context, c Claim, upd expression.UpdateBuilder) (lost bool, err error) {
	cond := expression.Name("claimId").Equal(expression.Value(c.ID)).
		And(expression.Name("status").Equal(expression.Value(EmailSending)))
	err = s.updateEmail(ctx, c.Job, upd, cond)
	switch {
	case err == nil:
		return false, nil
	case conditionFailed(err):
		return true, nil
	default:
		return false, unavailable(fmt.Errorf("email %s/%s: %w", c.Job.SourceKey, c.Job.Template, err))
	}
}

func (s *Store) updateEmail(ctx context.Context, job EmailJob, upd expression.UpdateBuilder, cond expression.ConditionBuilder) error {
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("email marker expression: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(emailPK(job.SourceKey), job.Template),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	return err
}

// EmailMarker reads the marker of one (source item, template) email (1 consistent GetItem).
func (s *Store) EmailMarker(ctx context.Context, sourceKey, template string) (EmailMarker, bool, error) {
	var it emailItem
	found, err := s.getItem(ctx, emailPK(sourceKey), template, &it)
	if err != nil || !found {
		return EmailMarker{}, found, err
	}
	return it.marker(sourceKey), true, nil
}

// Recipient is what an email needs about the customer it goes to.
type Recipient struct {
	Customer referral.Customer
	Code     string             // their code in the program, "" when they have none
	Other    *referral.Customer // the other person the email is about (the referee a thank-you names, the advocate who referred a friend); nil when not asked for or gone
}

// Recipient reads the customer, their code in the program and, when otherID is set, the
// other customer the email is about: 1 eventually consistent BatchGetItem (half the read
// units of a consistent one; an email reads these items well after they were written, and a
// change of the last second, an address or a name, shows in the next email). When the customer
// is not found, 1 consistent BatchGetItem more: the write that raised the email may have
// created them (a friend's welcome). An unknown customer is ErrCustomerNotFound.
func (s *Store) Recipient(ctx context.Context, customerID, programID, otherID string) (Recipient, error) {
	keys := []map[string]types.AttributeValue{key(customerPK(customerID), customerSK), key(customerPK(customerID), advocateSK(programID))}
	if otherID != "" {
		keys = append(keys, key(customerPK(otherID), customerSK))
	}
	got, err := s.batchGetEventually(ctx, keys...)
	if _, ok := got[itemKey(keys[0])]; err == nil && !ok {
		got, err = s.batchGet(ctx, keys...)
	}
	if err != nil {
		return Recipient{}, fmt.Errorf("recipient %s: %w", customerID, err)
	}
	var r Recipient
	raw, ok := got[itemKey(keys[0])]
	if !ok {
		return r, referral.ErrCustomerNotFound
	}
	if r.Customer, err = decodeCustomer(raw); err != nil {
		return r, fmt.Errorf("recipient %s: %w", customerID, err)
	}
	if raw, ok := got[itemKey(keys[1])]; ok {
		var adv advocateItem
		if err := unmarshal(raw, &adv); err != nil {
			return r, fmt.Errorf("recipient %s: %w", customerID, err)
		}
		r.Code = adv.Code
	}
	if otherID != "" {
		if raw, ok := got[itemKey(keys[2])]; ok {
			other, err := decodeCustomer(raw)
			if err != nil {
				return r, fmt.Errorf("customer %s: %w", otherID, err)
			}
			r.Other = &other
		}
	}
	return r, nil
}

// ConversionKey names a conversion as the source of its one thank-you email ("PK|SK" of its
// event item), for the email marker.
func ConversionKey(eventID string) string { return eventPK(eventID) + "|" + eventSK }

// ConversionRewards reads every reward a conversion created, with their stored status: 1
// consistent GetItem (the event item's stored answer names them) and 1 consistent
// BatchGetItem. A conversion that is not recorded is ErrConversionNotFound.
func (s *Store) ConversionRewards(ctx context.Context, eventID string) ([]referral.Reward, error) {
	var ev eventItem
	found, err := s.getItem(ctx, eventPK(eventID), eventSK, &ev)
	if err != nil {
		return nil, fmt.Errorf("rewards of conversion %s: %w", eventID, err)
	}
	if !found {
		return nil, referral.ErrConversionNotFound
	}
	var answer ConversionResult
	if err := json.Unmarshal(ev.Result, &answer); err != nil {
		return nil, fmt.Errorf("rewards of conversion %s: stored result: %w", eventID, err)
	}
	if len(answer.Rewards) == 0 {
		return nil, nil
	}
	keys := make([]map[string]types.AttributeValue, len(answer.Rewards))
	for i, r := range answer.Rewards {
		keys[i] = key(rewardPK(r.RewardID), rewardSK)
	}
	got, err := s.batchGet(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("rewards of conversion %s: %w", eventID, err)
	}
	out := make([]referral.Reward, 0, len(keys))
	for _, k := range keys {
		raw, ok := got[itemKey(k)]
		if !ok {
			continue
		}
		var it rewardItem
		if err := unmarshal(raw, &it); err != nil {
			return nil, fmt.Errorf("rewards of conversion %s: %w", eventID, err)
		}
		out = append(out, it.Reward)
	}
	return out, nil
}

// RewardsOfConversion returns every reward the conversion of the reward in img made, img's
// own as the image shows it and the others as stored: without a read when the conversion made
// only that reward (the image lists its conversion's rewards), else 1 consistent BatchGetItem
// of the others; for a reward written before its image listed them, ConversionRewards.
func (s *Store) RewardsOfConversion(ctx context.Context, img StreamItem) ([]referral.Reward, error) {
	var it rewardItem
	if err := unmarshal(img, &it); err != nil {
		return nil, fmt.Errorf("decode reward: %w", err)
	}
	if len(it.ConversionRewards) == 0 {
		return s.ConversionRewards(ctx, it.EventID)
	}
	var keys []map[string]types.AttributeValue
	for _, id := range it.ConversionRewards {
		if id != it.RewardID {
			keys = append(keys, key(rewardPK(id), rewardSK))
		}
	}
	out := []referral.Reward{it.Reward}
	if len(keys) == 0 {
		return out, nil
	}
	got, err := s.batchGet(ctx, keys...)
	if err != nil {
		return nil, fmt.Errorf("rewards of conversion %s: %w", it.EventID, err)
	}
	for _, k := range keys {
		raw, ok := got[itemKey(k)]
		if !ok {
			continue
		}
		var other rewardItem
		if err := unmarshal(raw, &other); err != nil {
			return nil, fmt.Errorf("rewards of conversion %s: %w", it.EventID, err)
		}
		out = append(out, other.Reward)
	}
	return out, nil
}

// DecodeReferral reads a referral item from a stream image, with the friend's coupon once
// fulfilment recorded it.
func DecodeReferral(img StreamItem) (referral.Referral, error) {
	var it referralItem
	if err := unmarshal(img, &it); err != nil {
		return referral.Referral{}, fmt.Errorf("decode referral: %w", err)
	}
	if it.Type != TypeReferral {
		return referral.Referral{}, fmt.Errorf("decode referral: item type is %q", it.Type)
	}
	return it.Referral, nil
}

// CodeOrigin is a code item's origin in a stream image (CodeForAsk, or "").
func CodeOrigin(img StreamItem) string { return img.Str("origin") }

// DecodeCode reads a code item from a stream image: the code, its program and its owner.
func DecodeCode(img StreamItem) (referral.Code, error) {
	var it codeItem
	if err := unmarshal(img, &it); err != nil {
		return referral.Code{}, fmt.Errorf("decode code: %w", err)
	}
	if it.Type != TypeCode {
		return referral.Code{}, fmt.Errorf("decode code: item type is %q", it.Type)
	}
	return referral.Code{Code: it.Code, ProgramID: it.ProgramID, CustomerID: it.CustomerID, Uses: it.Uses,
		MaxUses: it.MaxUses, ExpiresAt: it.ExpiresAt, CreatedAt: it.CreatedAt}, nil
}

// DecodeReward reads a reward item from a stream image.
func DecodeReward(img StreamItem) (referral.Reward, error) {
	var it rewardItem
	if err := unmarshal(img, &it); err != nil {
		return referral.Reward{}, fmt.Errorf("decode reward: %w", err)
	}
	if it.Type != TypeReward {
		return referral.Reward{}, fmt.Errorf("decode reward: item type is %q", it.Type)
	}
	return it.Reward, nil
}
