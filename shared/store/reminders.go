package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/referral/referrals/shared/referral"
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
	Code       string    `json:"code,omitempty"` // the code it asks them to share
	Number     int       `json:"number"`         // 1 for the first reminder
	CreatedAt  time.Time `json:"createdAt"`
}

type reminderItem struct {
	PK   string `json:"PK"`
	SK   string `json:"SK"`
	Type string `json:"type"`
	Reminder
	TTL int64 `json:"ttl"`
}

// CodeToRemind is a code whose advocate has not shared it (no referral since it was created)
// and is due for a reminder by the time RemindersDue was asked about: the code as reads show
// it, how many reminders its advocate had, and the last one's time.
type CodeToRemind struct {
	Code           referral.Code
	RemindersSent  int
	LastReminderAt *time.Time
	dueKey         string // its GSI3SK as read: every write from it is conditional on it
}

// RemindersDue lists up to limit codes of program p whose advocates have not shared them and
// were last reminded (or got the code) at or before since, longest waiting first (access
// pattern "advocates due a reminder": 1 Query on GSI4, REMINDERS#<programId>). The caller
// passes now - emails.reminderAfterDays as since.
func (s *Store) RemindersDue(ctx context.Context, p *referral.Program, since time.Time, limit int32) ([]CodeToRemind, error) {
	var items []codeItem
	if err := s.dueItems(ctx, remindersPK(p.ProgramID), since, limit, &items); err != nil {
		return nil, fmt.Errorf("reminders due in %s: %w", p.ProgramID, err)
	}
	now := s.now()
	out := make([]CodeToRemind, 0, len(items))
	for _, it := range items {
		if it.Type != TypeCode {
			continue
		}
		rec := it.record(p, now)
		out = append(out, CodeToRemind{Code: rec.Code, RemindersSent: it.RemindersSent, LastReminderAt: it.LastReminderAt, dueKey: it.GSI3SK})
	}
	return out, nil
}

// notSharedSince holds when a code still has no referral and is as c read it.
func (c CodeToRemind) notSharedSince() expression.ConditionBuilder {
	return expression.Name("GSI3SK").Equal(expression.Value(c.dueKey)).And(expression.Name("uses").Equal(expression.Value(0)))
}

// RecordReminder records the next reminder of the advocate of c: the reminder trigger (its
// insert sends the email) and, on the code, the count and time of reminders and when the next
// is due (never after the last). 1 TransactWriteItems: the trigger put with
// attribute_not_exists, the code updated only while it is as read and still has no referral,
// so a run that repeats this, or a referral that came meanwhile, records nothing. created is
// false then.
func (s *Store) RecordReminder(ctx context.Context, c CodeToRemind, last bool) (r Reminder, created bool, err error) {
	now := s.now()
	r = Reminder{CustomerID: c.Code.CustomerID, ProgramID: c.Code.ProgramID, Code: c.Code.Code, Number: c.RemindersSent + 1, CreatedAt: now}
	next := remindersSK(now, c.Code.Code)
	if last {
		next = remindersDoneSK(c.Code.Code)
	}
	cond := c.notSharedSince()
	err = s.transact(ctx,
		putNew(reminderItem{PK: customerPK(r.CustomerID), SK: reminderSK(r.ProgramID, r.Number), Type: TypeReminder,
			Reminder: r, TTL: now.Add(reminderTTL).Unix()}),
		update(codePK(c.Code.Code), codeSK, expression.Set(expression.Name("remindersSent"), expression.Value(r.Number)).
			Set(expression.Name("lastReminderAt"), expression.Value(now)).
			Set(expression.Name("GSI3SK"), expression.Value(next)), &cond))
	switch {
	case err == nil:
		return r, true, nil
	case slices.Contains(cancellationReasons(err), "ConditionalCheckFailed"):
		return r, false, nil
	default:
		return r, false, unavailable(fmt.Errorf("record reminder %d of %s in %s: %w", r.Number, r.CustomerID, r.ProgramID, err))
	}
}

// DeferReminder moves the next reminder of the advocate of c to reminderAfterDays after now
// (a paused or blocked code is not to be shared now), or ends their reminders (an expired
// code): 1 UpdateItem, conditional as RecordReminder's. changed is false when the code
// changed meanwhile.
func (s *Store) DeferReminder(ctx context.Context, c CodeToRemind, end bool) (changed bool, err error) {
	next := remindersSK(s.now(), c.Code.Code)
	if end {
		next = remindersDoneSK(c.Code.Code)
	}
	cond := c.notSharedSince()
	changed, err = s.updateIf(ctx, update(codePK(c.Code.Code), codeSK, expression.Set(expression.Name("GSI3SK"), expression.Value(next)), &cond))
	if err != nil {
		return false, unavailable(fmt.Errorf("defer reminder of %s: %w", c.Code.Code, err))
	}
	return changed, nil
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
