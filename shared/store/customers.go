package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

type customerItem struct {
	PK   string `json:"PK"`
	SK   string `json:"SK"`
	Type string `json:"type"`
	referral.Customer
}

// CustomerUpdate is what PUT /customers/{id} may set. A nil MarketingOptOut keeps the stored
// choice, so a merchant's sync cannot silently re-subscribe someone who opted out.
type CustomerUpdate struct {
	Email            string
	Name             string
	Locale           string
	Segment          string
	PurchaseCount    int
	FirstPurchaseAt  *time.Time
	MarketingOptOut  *bool
	StripeCustomerID string
}

// PutCustomer creates or updates a customer (1 UpdateItem) and reports whether it is new.
func (s *Store) PutCustomer(ctx context.Context, id string, u CustomerUpdate) (referral.Customer, bool, error) {
	now := s.now()
	c := referral.Customer{CustomerID: id, Email: u.Email, Name: u.Name, Locale: u.Locale, Segment: u.Segment,
		PurchaseCount: u.PurchaseCount, FirstPurchaseAt: u.FirstPurchaseAt, StripeCustomerID: u.StripeCustomerID, UpdatedAt: now}
	if u.MarketingOptOut != nil {
		c.MarketingOptOut = *u.MarketingOptOut
	}
	item, err := marshal(customerItem{PK: customerPK(id), SK: customerSK, Type: TypeCustomer, Customer: c})
	if err != nil {
		return c, false, fmt.Errorf("put customer %s: %w", id, err)
	}
	if u.MarketingOptOut == nil {
		delete(item, "marketingOptOut")
	}
	var stored customerItem
	created, err := s.upsert(ctx, customerPK(id), customerSK, item, now, &stored)
	if err != nil {
		return c, false, fmt.Errorf("put customer %s: %w", id, err)
	}
	return stored.Customer, created, nil
}

// CustomerChanges is what PATCH /customers/{id} changes: each non-nil field is set (an empty
// string clears a text field), and ClearFirstPurchaseAt removes the first purchase time.
type CustomerChanges struct {
	Email, Name, Locale, Segment, StripeCustomerID *string
	PurchaseCount                                  *int
	FirstPurchaseAt                                *time.Time
	ClearFirstPurchaseAt                           bool
	MarketingOptOut                                *bool
}

// PatchCustomer changes the fields of a stored customer that ch names and leaves the others
// as they are: 1 UpdateItem conditioned on the customer existing (ErrCustomerNotFound when it
// does not), returning the customer as stored; 1 GetItem when ch changes nothing.
func (s *Store) PatchCustomer(ctx context.Context, id string, ch CustomerChanges) (referral.Customer, error) {
	now := s.now()
	var upd expression.UpdateBuilder
	set := func(name string, v any) { upd = upd.Set(expression.Name(name), expression.Value(v)) }
	changed := false
	for _, f := range []struct {
		name string
		v    *string
	}{{"email", ch.Email}, {"name", ch.Name}, {"locale", ch.Locale}, {"segment", ch.Segment}, {"stripeCustomerId", ch.StripeCustomerID}} {
		if f.v != nil {
			set(f.name, *f.v)
			changed = true
		}
	}
	if ch.PurchaseCount != nil {
		set("purchaseCount", *ch.PurchaseCount)
		changed = true
	}
	switch {
	case ch.FirstPurchaseAt != nil:
		set("firstPurchaseAt", ch.FirstPurchaseAt.UTC())
		changed = true
	case ch.ClearFirstPurchaseAt: // NULL rather than REMOVE, which minidyn ignores
		set("firstPurchaseAt", &types.AttributeValueMemberNULL{Value: true})
		changed = true
	}
	if ch.MarketingOptOut != nil {
		set("marketingOptOut", *ch.MarketingOptOut)
		changed = true
	}
	if !changed {
		return s.GetCustomer(ctx, id)
	}
	set("updatedAt", now)
	expr, err := expression.NewBuilder().WithUpdate(upd).
		WithCondition(expression.AttributeExists(expression.Name("PK"))).Build()
	if err != nil {
		return referral.Customer{}, fmt.Errorf("patch customer %s: %w", id, err)
	}
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(customerPK(id), customerSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(),
		ExpressionAttributeValues: expr.Values(), ReturnValues: types.ReturnValueAllNew})
	if conditionFailed(err) {
		return referral.Customer{}, referral.ErrCustomerNotFound
	}
	if err != nil {
		return referral.Customer{}, unavailable(fmt.Errorf("patch customer %s: %w", id, err))
	}
	return decodeCustomer(res.Attributes)
}

// GetCustomer reads one customer (1 consistent GetItem).
func (s *Store) GetCustomer(ctx context.Context, id string) (referral.Customer, error) {
	var it customerItem
	found, err := s.getItem(ctx, customerPK(id), customerSK, &it)
	if err != nil {
		return referral.Customer{}, fmt.Errorf("get customer %s: %w", id, err)
	}
	if !found {
		return referral.Customer{}, referral.ErrCustomerNotFound
	}
	return it.Customer, nil
}

// CustomerWithReferrals reads a customer and their referrals as a referee (who referred them,
// per program): 1 consistent GetItem and 1 Query (RefereeReferrals), side by side.
func (s *Store) CustomerWithReferrals(ctx context.Context, id string) (referral.Customer, []referral.Referral, error) {
	var refs []referral.Referral
	var refErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		refs, refErr = s.RefereeReferrals(ctx, id)
	}()
	c, err := s.GetCustomer(ctx, id)
	<-done
	if err != nil {
		return c, nil, err
	}
	return c, refs, refErr
}

func decodeCustomer(m map[string]types.AttributeValue) (referral.Customer, error) {
	var it customerItem
	err := unmarshal(m, &it)
	return it.Customer, err
}
