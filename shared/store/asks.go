package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// Item types of asks (POST /asks). An ask item is inserted once per accepted ask, so its
// stream INSERT is what sends the email; the cooldown item is rewritten on every ask.
//
//	item          PK                  SK                    GSI1PK  GSI1SK
//	ask           ASK#<askId>         ASK (ttl: a year)     -       -
//	ask-cooldown  CUSTOMER#<id>       ASKCOOLDOWN#<pid>     -       -
const (
	TypeAsk         = "ask"
	TypeAskCooldown = "ask-cooldown"
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
	err := s.transact(ctx,
		putNew(askItem{PK: askPK(a.AskID), SK: askSK, Type: TypeAsk, Ask: a, TTL: a.CreatedAt.Add(askTTL).Unix()}),
		types.TransactWriteItem{Put: put})
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		return nil
	case len(reasons) == 2 && reasons[1] == "ConditionalCheckFailed":
		return referral.ErrRateLimited.With("the customer was asked in this program less than askCooldownDays ago", nil)
	default:
		return unavailable(fmt.Errorf("record ask %s: %w", a.AskID, err))
	}
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
