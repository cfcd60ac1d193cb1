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

// Item types of asks (POST /asks). An ask item is inserted once per accepted ask, so its
// stream INSERT is what sends the email; the cooldown item is rewritten on every ask. An ask
// scheduled for later is its own item until it is due; the scheduler then records the ask
// (same id) and marks the scheduled item sent in one transaction, or marks it skipped.
//
//	item           PK                  SK                    GSI3PK           GSI3SK
//	ask            ASK#<askId>         ASK (ttl: a year)     -                -
//	ask-cooldown   CUSTOMER#<id>       ASKCOOLDOWN#<pid>     -                -
//	scheduled-ask  ASK#<askId>         SCHEDULE              ASKSDUE#<pid>    <sendAt>#<askId>, ~#<askId> once done
const (
	TypeAsk          = "ask"
	TypeAskCooldown  = "ask-cooldown"
	TypeScheduledAsk = "scheduled-ask"
)

// Ask is a recorded request to email a customer asking for referrals.
type Ask struct {
	AskID      string `json:"askId"`
	CustomerID string `json:"customerId"`
	ProgramID  string `json:"programId"`
	Template   string `json:"template"`
	Code       string `json:"code,omitempty"` // the advocate's code when the ask was recorded
	// CodeCreated is set when the ask created the advocate's code (which then sends no email
	// of its own): the ask's email introduces it as new.
	CodeCreated bool `json:"codeCreated,omitempty"`
	// ViaCode was set by earlier versions when the code's own insert sent the email instead
	// of the ask; such an ask sends nothing.
	ViaCode   bool      `json:"viaCode,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// askItem is kept for askTTL (support questions: "why did I get this?"), then DynamoDB's TTL
// deletes it; the REMOVE that makes is ignored by the email function.
type askItem struct {
	PK   string `json:"PK"`
	SK   string `json:"SK"`
	Type string `json:"type"`
	Ask
	TTL int64 `json:"ttl,omitempty"` // Unix seconds
}

// askTTL is how long an ask item is kept.
const askTTL = 365 * 24 * time.Hour

// askCooldownItem remembers a customer's last ask in a program. lastAskAt is a stamp (fixed
// width), so the cooldown condition can compare it as a string.
type askCooldownItem struct {
	PK         string `json:"PK"`
	SK         string `json:"SK"`
	Type       string `json:"type"`
	CustomerID string `json:"customerId"`
	ProgramID  string `json:"programId"`
	LastAskID  string `json:"lastAskId"`
	LastAskAt  string `json:"lastAskAt"`
}

// AskState is what an ask needs to know before it is recorded.
type AskState struct {
	Customer  referral.Customer
	Code      string     // the customer's code in the program, "" when they have none
	LastAskAt *time.Time // when the customer was last asked in the program, nil if never
}

// AskState reads the customer, their code in the program and their last ask there: 1
// consistent BatchGetItem. An unknown customer is ErrCustomerNotFound.
func (s *Store) AskState(ctx context.Context, customerID, programID string) (AskState, error) {
	custKey, advKey, coolKey := key(customerPK(customerID), customerSK), key(customerPK(customerID), advocateSK(programID)),
		key(customerPK(customerID), askCooldownSK(programID))
	got, err := s.batchGet(ctx, custKey, advKey, coolKey)
	if err != nil {
		return AskState{}, fmt.Errorf("ask state of %s: %w", customerID, err)
	}
	var st AskState
	raw, ok := got[itemKey(custKey)]
	if !ok {
		return st, referral.ErrCustomerNotFound
	}
	if st.Customer, err = decodeCustomer(raw); err != nil {
		return st, fmt.Errorf("ask state of %s: %w", customerID, err)
	}
	if raw, ok := got[itemKey(advKey)]; ok {
		var adv advocateItem
		if err := unmarshal(raw, &adv); err != nil {
			return st, fmt.Errorf("ask state of %s: %w", customerID, err)
		}
		st.Code = adv.Code
	}
	if raw, ok := got[itemKey(coolKey)]; ok {
		var c askCooldownItem
		if err := unmarshal(raw, &c); err != nil {
			return st, fmt.Errorf("ask state of %s: %w", customerID, err)
		}
		if t, err := parseStamp(c.LastAskAt); err == nil {
			st.LastAskAt = &t
		}
	}
	return st, nil
}

// RecordAsk inserts the ask and moves the customer's cooldown in its program to now, in 1
// TransactWriteItems. The cooldown item's condition (no earlier ask, or the last one at least
// cooldown ago) makes concurrent asks inside the cooldown fail with ErrRateLimited, so a
// customer is asked at most once per cooldown whatever the callers do.
func (s *Store) RecordAsk(ctx context.Context, a Ask, cooldown time.Duration) error {
	return s.recordAsk(ctx, a, cooldown, false)
}

// RecordScheduledAsk is RecordAsk for the ask scheduled under a.AskID that came due: the same
// transaction marks the scheduled ask sent, conditional on it still being scheduled. An ask
// that was sent (or skipped) before is ErrAskDone, and nothing is written.
func (s *Store) RecordScheduledAsk(ctx context.Context, a Ask, cooldown time.Duration) error {
	return s.recordAsk(ctx, a, cooldown, true)
}

func (s *Store) recordAsk(ctx context.Context, a Ask, cooldown time.Duration, scheduled bool) error {
	a.CreatedAt = a.CreatedAt.UTC()
	guard := askCooldownItem{PK: customerPK(a.CustomerID), SK: askCooldownSK(a.ProgramID), Type: TypeAskCooldown,
		CustomerID: a.CustomerID, ProgramID: a.ProgramID, LastAskID: a.AskID, LastAskAt: stamp(a.CreatedAt)}
	put := &types.Put{Item: mustMarshal(guard)}
	if cooldown > 0 {
		cond := expression.Name("PK").AttributeNotExists().
			Or(expression.Name("lastAskAt").LessThanEqual(expression.Value(stamp(a.CreatedAt.Add(-cooldown)))))
		expr, err := expression.NewBuilder().WithCondition(cond).Build()
		if err != nil {
			return fmt.Errorf("record ask: %w", err)
		}
		put.ConditionExpression = expr.Condition()
		put.ExpressionAttributeNames = expr.Names()
		put.ExpressionAttributeValues = expr.Values()
	}
	items := []types.TransactWriteItem{
		putNew(askItem{PK: askPK(a.AskID), SK: askSK, Type: TypeAsk, Ask: a, TTL: a.CreatedAt.Add(askTTL).Unix()}),
		{Put: put}}
	if scheduled {
		items = append(items, finishScheduledAsk(a.AskID, referral.AskSent, "", a.CreatedAt))
	}
	err := s.transact(ctx, items...)
	reasons := cancellationReasons(err)
	failed := func(i int) bool { return i < len(reasons) && reasons[i] == "ConditionalCheckFailed" }
	switch {
	case err == nil:
		return nil
	case scheduled && (failed(0) || failed(2)):
		return ErrAskDone
	case failed(1):
		return referral.ErrRateLimited.With("the customer was asked in this program less than askCooldownDays ago", nil)
	default:
		return unavailable(fmt.Errorf("record ask %s: %w", a.AskID, err))
	}
}

// ScheduledAsk is an ask to send at SendAt (POST /asks with sendAt). When it comes due the
// scheduler sends it by the rules of an ask sent then (opt-out, suppression, cooldown, the
// code made if missing); Status says what became of it, Reason why it was skipped (the error
// code the ask would have been answered with).
type ScheduledAsk struct {
	AskID      string     `json:"askId"`
	CustomerID string     `json:"customerId"`
	ProgramID  string     `json:"programId"`
	Template   string     `json:"template"` // as asked: auto is decided when it is sent
	SendAt     time.Time  `json:"sendAt"`
	Status     string     `json:"status"` // referral.AskScheduled, AskSent or AskSkipped
	Reason     string     `json:"reason,omitempty"`
	DoneAt     *time.Time `json:"doneAt,omitempty"` // when it was sent or skipped
	CreatedAt  time.Time  `json:"createdAt"`
}

type scheduledAskItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI3PK string `json:"GSI3PK"`
	GSI3SK string `json:"GSI3SK"`
	Type   string `json:"type"`
	ScheduledAsk
	TTL int64 `json:"ttl"`
}

// ErrAskDone means a scheduled ask was sent or skipped already.
var ErrAskDone = errors.New("the scheduled ask was sent or skipped already")

// ScheduleAsk records an ask to send at a.SendAt: 1 PutItem conditioned on the id being new.
// It is kept (with what became of it) until a year after its sendAt.
func (s *Store) ScheduleAsk(ctx context.Context, a ScheduledAsk) error {
	a.SendAt, a.CreatedAt, a.Status = a.SendAt.UTC(), a.CreatedAt.UTC(), referral.AskScheduled
	item, err := marshal(scheduledAskItem{PK: askPK(a.AskID), SK: scheduledAskSK, GSI3PK: asksDuePK(a.ProgramID),
		GSI3SK: asksDueSK(a.SendAt, a.AskID), Type: TypeScheduledAsk, ScheduledAsk: a, TTL: a.SendAt.Add(askTTL).Unix()})
	if err != nil {
		return fmt.Errorf("schedule ask: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if err != nil {
		return unavailable(fmt.Errorf("schedule ask %s: %w", a.AskID, err))
	}
	return nil
}

// AsksDue lists up to limit asks of a program scheduled for now or earlier and not sent yet,
// most overdue first (access pattern "scheduled asks due": 1 Query on GSI4, ASKSDUE#<pid>).
func (s *Store) AsksDue(ctx context.Context, programID string, now time.Time, limit int32) ([]ScheduledAsk, error) {
	var items []scheduledAskItem
	if err := s.dueItems(ctx, asksDuePK(programID), now, limit, &items); err != nil {
		return nil, fmt.Errorf("asks due in %s: %w", programID, err)
	}
	out := make([]ScheduledAsk, 0, len(items))
	for _, it := range items {
		if it.Status == referral.AskScheduled {
			out = append(out, it.ScheduledAsk)
		}
	}
	return out, nil
}

// SkipScheduledAsk records that a scheduled ask was not sent when it came due, and why
// (reason: the error code an ask sent then got): 1 UpdateItem conditioned on it still being
// scheduled. changed is false when it was sent or skipped before.
func (s *Store) SkipScheduledAsk(ctx context.Context, askID, reason string) (changed bool, err error) {
	changed, err = s.updateIf(ctx, finishScheduledAsk(askID, referral.AskSkipped, reason, s.now()))
	if err != nil {
		return false, unavailable(fmt.Errorf("skip scheduled ask %s: %w", askID, err))
	}
	return changed, nil
}

// finishScheduledAsk writes a scheduled ask sent or skipped, out of the due range of its
// index, if it is still scheduled.
func finishScheduledAsk(askID, status, reason string, at time.Time) types.TransactWriteItem {
	upd := expression.Set(expression.Name("status"), expression.Value(status)).
		Set(expression.Name("doneAt"), expression.Value(at.UTC())).
		Set(expression.Name("GSI3SK"), expression.Value(asksDoneSK(askID)))
	if reason != "" {
		upd = upd.Set(expression.Name("reason"), expression.Value(reason))
	}
	cond := expression.Name("status").Equal(expression.Value(referral.AskScheduled))
	return update(askPK(askID), scheduledAskSK, upd, &cond)
}

// GetScheduledAsk reads a scheduled ask (1 consistent GetItem); found is false when there is
// none.
func (s *Store) GetScheduledAsk(ctx context.Context, askID string) (ScheduledAsk, bool, error) {
	var it scheduledAskItem
	found, err := s.getItem(ctx, askPK(askID), scheduledAskSK, &it)
	return it.ScheduledAsk, found, err
}

// GetAsk reads one ask (1 consistent GetItem); found is false when there is none.
func (s *Store) GetAsk(ctx context.Context, askID string) (Ask, bool, error) {
	var it askItem
	found, err := s.getItem(ctx, askPK(askID), askSK, &it)
	return it.Ask, found, err
}

// DecodeAsk reads an ask item from a stream image.
func DecodeAsk(img StreamItem) (Ask, error) {
	var it askItem
	if err := unmarshal(img, &it); err != nil {
		return Ask{}, fmt.Errorf("decode ask: %w", err)
	}
	if it.Type != TypeAsk {
		return Ask{}, fmt.Errorf("decode ask: item type is %q", it.Type)
	}
	return it.Ask, nil
}
