package store

import (
	"context"
	"fmt"
	"time"

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

func decodeCustomer(m map[string]types.AttributeValue) (referral.Customer, error) {
	var it customerItem
	err := unmarshal(m, &it)
	return it.Customer, err
}
