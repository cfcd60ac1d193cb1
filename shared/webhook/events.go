package webhook

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Event is one thing that happened, as endpoints receive it.
type Event struct {
	// ID is the webhook-id: derived from what happened (type and resource), so a stream record
	// read twice, or a change written twice, makes the same event.
	ID   string
	Type string
	At   time.Time // when it happened: the payload's timestamp
	Data any       // the resource as the API shows it, without email addresses
}

// Payload is the body of every attempt of the event: {"type", "timestamp", "data"}.
func (e Event) Payload() ([]byte, error) {
	b, err := json.Marshal(struct {
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Data      any       `json:"data"`
	}{e.Type, e.At.UTC(), e.Data})
	if err != nil {
		return nil, fmt.Errorf("event %s payload: %w", e.ID, err)
	}
	return b, nil
}

// idEncoding writes ids in lower-case base32 without padding: no dots (the signed content
// separates id, timestamp and body with dots), safe in headers and URLs.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// hashID is prefix + 26 base32 digits of the first 128 bits of SHA-256 over parts.
func hashID(prefix string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return prefix + idEncoding.EncodeToString(sum[:16])
}

func newEvent(typ, subject, nonce string, at time.Time, data any) Event {
	return Event{ID: hashID("msg_", typ, subject, nonce), Type: typ, At: at.UTC(), Data: data}
}

// DeliveryID names the delivery of an event to an endpoint: one per pair, whatever replays.
func DeliveryID(eventID, endpointID string) string { return hashID("whd_", eventID, endpointID) }

// rewardEvents maps a reward's written status to the event that announces it.
var rewardEvents = map[string]string{
	referral.RewardApproved:  referral.EventRewardApproved,
	referral.RewardFulfilled: referral.EventRewardFulfilled,
	referral.RewardReversed:  referral.EventRewardReversed,
	referral.RewardExpired:   referral.EventRewardExpired,
}

// FromRecord decides which events a stream record of the table makes (most make none):
//
//   - a referral inserted: referral.created;
//   - a conversion (event item) inserted: conversion.recorded; its reversed flag set:
//     conversion.reversed;
//   - a reward inserted: reward.created, and when it is written approved (no hold), fulfilled,
//     reversed or expired from the start, that status's event too; its status written to one of
//     those from another: reward.approved, reward.fulfilled, reward.reversed, reward.expired;
//   - a customer's marketingOptOut set: customer.opted_out;
//   - a contest inserted (closed): contest.closed.
//
// An error means the record does not decode: retrying it cannot help.
func FromRecord(rec events.DynamoDBEventRecord) ([]Event, error) {
	var newImg, oldImg store.StreamItem
	var err error
	if newImg, err = store.FromStream(rec.Change.NewImage); err != nil {
		return nil, err
	}
	if oldImg, err = store.FromStream(rec.Change.OldImage); err != nil {
		return nil, err
	}
	changedAt := rec.Change.ApproximateCreationDateTime.UTC()
	switch rec.EventName {
	case string(events.DynamoDBOperationTypeInsert):
		return inserted(newImg)
	case string(events.DynamoDBOperationTypeModify):
		return modified(oldImg, newImg, rec.EventID, changedAt)
	}
	return nil, nil
}

func inserted(img store.StreamItem) ([]Event, error) {
	switch img.Type() {
	case store.TypeReferral:
		r, err := store.DecodeReferral(img)
		if err != nil {
			return nil, err
		}
		return []Event{newEvent(referral.EventReferralCreated, r.ReferralID, "", r.CreatedAt, r)}, nil
	case store.TypeEvent:
		c, err := store.DecodeConversion(img)
		if err != nil {
			return nil, err
		}
		return []Event{newEvent(referral.EventConversionRecorded, c.Conversion.EventID, "", c.RecordedAt, c.Conversion)}, nil
	case store.TypeReward:
		r, err := store.DecodeReward(img)
		if err != nil {
			return nil, err
		}
		out := []Event{newEvent(referral.EventRewardCreated, r.RewardID, "", r.CreatedAt, r)}
		if t, ok := rewardEvents[r.Status]; ok {
			out = append(out, newEvent(t, r.RewardID, "", r.CreatedAt, r))
		}
		return out, nil
	case store.TypeContest:
		c, err := store.DecodeContest(img)
		if err != nil {
			return nil, err
		}
		return []Event{newEvent(referral.EventContestClosed, c.ProgramID+"/"+c.Period, "", c.ClosedAt, c)}, nil
	}
	return nil, nil
}

func modified(oldImg, newImg store.StreamItem, recordID string, changedAt time.Time) ([]Event, error) {
	switch newImg.Type() {
	case store.TypeReward:
		r, err := store.DecodeReward(newImg)
		if err != nil {
			return nil, err
		}
		t, ok := rewardEvents[r.Status]
		if !ok || oldImg.Str("status") == r.Status {
			return nil, nil
		}
		at := changedAt
		if r.UpdatedAt != nil {
			at = *r.UpdatedAt
		}
		return []Event{newEvent(t, r.RewardID, "", at, r)}, nil
	case store.TypeEvent:
		if !newImg.Bool("reversed") || oldImg.Bool("reversed") {
			return nil, nil
		}
		c, err := store.DecodeConversion(newImg)
		if err != nil {
			return nil, err
		}
		at := changedAt
		if c.ReversedAt != nil {
			at = *c.ReversedAt
		}
		return []Event{newEvent(referral.EventConversionReversed, c.Conversion.EventID, "", at, c.Conversion)}, nil
	case store.TypeCustomer:
		if !newImg.Bool("marketingOptOut") || oldImg.Bool("marketingOptOut") {
			return nil, nil
		}
		c, err := store.DecodeCustomer(newImg)
		if err != nil {
			return nil, err
		}
		data, err := withoutEmail(c)
		if err != nil {
			return nil, err
		}
		// A customer may opt out, be subscribed again by the merchant, and opt out again: each
		// opt-out is its own event, told apart by the stream record that made it.
		return []Event{newEvent(referral.EventCustomerOptedOut, c.CustomerID, recordID, c.UpdatedAt, data)}, nil
	}
	return nil, nil
}

// withoutEmail is a customer as the API shows it, less the email address.
func withoutEmail(c referral.Customer) (map[string]any, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "email")
	return m, nil
}
