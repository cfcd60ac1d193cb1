package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// TypeSuppressed is an email address that bounced for good or complained: it gets no more
// marketing email. The item is keyed by a hash of the address, so the list holds no address
// and survives a customer's erasure.
const TypeSuppressed = "suppressed"

// Suppression reasons.
const (
	SuppressedBounce    = "bounce"
	SuppressedComplaint = "complaint"
)

type suppressedItem struct {
	PK         string    `json:"PK"`
	SK         string    `json:"SK"`
	Type       string    `json:"type"`
	Reason     string    `json:"reason"`
	Detail     string    `json:"detail,omitempty"`     // bounce subtype or complaint feedback type
	FeedbackID string    `json:"feedbackId,omitempty"` // SES's id of the bounce or complaint
	MessageID  string    `json:"messageId,omitempty"`  // the email that bounced
	At         time.Time `json:"at"`
}

// Suppression is why an address gets no marketing email.
type Suppression struct {
	Reason, Detail, FeedbackID, MessageID string
	At                                    time.Time
}

// AddressHash is how the suppression list names an address: SHA-256 of it trimmed and in
// lower case (hex).
func AddressHash(address string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(address))))
	return hex.EncodeToString(sum[:])
}

// Suppress puts an address on the suppression list (1 PutItem). A later bounce or complaint
// replaces the reason; either way the address stays suppressed.
func (s *Store) Suppress(ctx context.Context, address string, why Suppression) error {
	it := suppressedItem{PK: suppressedPK(AddressHash(address)), SK: suppressedSK, Type: TypeSuppressed,
		Reason: why.Reason, Detail: why.Detail, FeedbackID: why.FeedbackID, MessageID: why.MessageID, At: why.At.UTC()}
	item, err := marshal(it)
	if err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return unavailable(fmt.Errorf("suppress an address: %w", err))
	}
	return nil
}

// Suppressed reads whether an address is on the suppression list (1 eventually consistent
// GetItem, 0.5 RRU: SES reports a bounce or complaint seconds to days after the email, so a
// suppression of the last second is as good as one a second later).
func (s *Store) Suppressed(ctx context.Context, address string) (Suppression, bool, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(suppressedPK(AddressHash(address)), suppressedSK), ConsistentRead: aws.Bool(false)})
	if err != nil {
		return Suppression{}, false, unavailable(fmt.Errorf("read the suppression of an address: %w", err))
	}
	if res.Item == nil {
		return Suppression{}, false, nil
	}
	var it suppressedItem
	if err := unmarshal(res.Item, &it); err != nil {
		return Suppression{}, false, fmt.Errorf("decode a suppression: %w", err)
	}
	return Suppression{Reason: it.Reason, Detail: it.Detail, FeedbackID: it.FeedbackID, MessageID: it.MessageID, At: it.At}, true, nil
}
