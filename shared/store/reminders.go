package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// TypeReminder is the trigger of a reminder email: the scheduler inserts one when an advocate
// is due for their n-th reminder (referral.ReminderDue), and its stream INSERT sends the email.
// The key carries n, so the scheduler running twice inserts it once.
const TypeReminder = "reminder"

// reminderTTL is how long a reminder trigger is kept (then DynamoDB's TTL deletes it; the
// email function ignores the REMOVE).
const reminderTTL = 365 * 24 * time.Hour

// Reminder is the n-th reminder of an advocate in a program.
type Reminder struct {
	CustomerID string    `json:"customerId"`
	ProgramID  string    `json:"programId"`
	Number     int       `json:"number"` // 1 for the first reminder
	CreatedAt  time.Time `json:"createdAt"`
}

type reminderItem struct {
	PK   string `json:"PK"`
	SK   string `json:"SK"`
	Type string `json:"type"`
	Reminder
	TTL int64 `json:"ttl"`
}

// RecordReminder inserts the trigger of an advocate's n-th reminder in a program: 1 PutItem
// conditioned on it not existing. created is false when it was recorded before (nothing is
// sent twice).
func (s *Store) RecordReminder(ctx context.Context, r Reminder) (created bool, err error) {
	if r.Number < 1 {
		return false, fmt.Errorf("record reminder: number %d: reminders count from 1", r.Number)
	}
	r.CreatedAt = r.CreatedAt.UTC()
	item, err := marshal(reminderItem{PK: customerPK(r.CustomerID), SK: reminderSK(r.ProgramID, r.Number), Type: TypeReminder,
		Reminder: r, TTL: r.CreatedAt.Add(reminderTTL).Unix()})
	if err != nil {
		return false, fmt.Errorf("record reminder: %w", err)
	}
	expr, err := expression.NewBuilder().WithCondition(expression.Name("PK").AttributeNotExists()).Build()
	if err != nil {
		return false, fmt.Errorf("record reminder: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names()})
	switch {
	case err == nil:
		return true, nil
	case conditionFailed(err):
		return false, nil
	default:
		return false, unavailable(fmt.Errorf("record reminder %d of %s in %s: %w", r.Number, r.CustomerID, r.ProgramID, err))
	}
}

// DecodeReminder reads a reminder trigger from a stream image.
func DecodeReminder(img StreamItem) (Reminder, error) {
	var it reminderItem
	if err := unmarshal(img, &it); err != nil {
		return Reminder{}, fmt.Errorf("decode reminder: %w", err)
	}
	if it.Type != TypeReminder {
		return Reminder{}, fmt.Errorf("decode reminder: item type is %q", it.Type)
	}
	return it.Reminder, nil
}
