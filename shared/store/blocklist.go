package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// customerItems is what a customer's partition holds about them: their customer item (nil
// when absent), their standings as an advocate (one per program, each naming their code) and
// their referrals as a referee (one per program).
type customerItems struct {
	customer  *customerItem
	standings []advocateItem
	referrals []referralItem
}

// readCustomerItems reads a customer's partition (access pattern "a customer's items": 1
// consistent Query on the table, a further page per MB, filtered to those three item types).
func (s *Store) readCustomerItems(ctx context.Context, id string) (customerItems, error) {
	var out customerItems
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key("PK").Equal(expression.Value(customerPK(id)))).
		WithFilter(expression.Name("type").In(expression.Value(TypeCustomer), expression.Value(TypeAdvocate), expression.Value(TypeReferral))).
		Build()
	if err != nil {
		return out, err
	}
	in := &dynamodb.QueryInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
	err = s.queryPages(ctx, in, func(page []map[string]types.AttributeValue) error {
		for _, raw := range page {
			var head struct {
				Type string `json:"type"`
			}
			if err := unmarshal(raw, &head); err != nil {
				return err
			}
			switch head.Type {
			case TypeCustomer:
				var it customerItem
				if err := unmarshal(raw, &it); err != nil {
					return err
				}
				out.customer = &it
			case TypeAdvocate:
				var it advocateItem
				if err := unmarshal(raw, &it); err != nil {
					return err
				}
				out.standings = append(out.standings, it)
			case TypeReferral:
				var it referralItem
				if err := unmarshal(raw, &it); err != nil {
					return err
				}
				out.referrals = append(out.referrals, it)
			}
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("items of customer %s: %w", id, err)
	}
	return out, nil
}

// SetBlocked puts a customer on the blocklist (blocked true) or takes them off it. A blocked
// customer can neither refer nor be referred: the flag is written on their customer item
// (referrals of them and new codes for them are refused), on their codes (which check as
// inactive and take no referrals), on their standings as an advocate (conversions of their
// referees are refused) and on their referrals as a referee (their own conversions are
// refused). Standings and referrals move to their next version, so a conversion that read
// them before the block retries and sees it. Blocking an unknown customer creates them
// blocked (a fraudster can be blocked before they show up); unblocking one is
// ErrCustomerNotFound. Setting what is set changes nothing.
//
// Cost: 1 consistent Query of the customer's partition (readCustomerItems), then 1
// TransactWriteItems per 100 items to change (customer, codes, standings, referrals), each
// item conditioned on existing; a customer who changes meanwhile makes it read again.
func (s *Store) SetBlocked(ctx context.Context, id string, blocked bool) (referral.Customer, error) {
	for attempt := 1; ; attempt++ {
		c, retry, err := s.trySetBlocked(ctx, id, blocked)
		if !retry {
			return c, err
		}
		if attempt == 3 {
			return c, referral.ErrUnavailable.With("the customer kept changing while being blocked; retry", nil)
		}
	}
}

func (s *Store) trySetBlocked(ctx context.Context, id string, blocked bool) (c referral.Customer, retry bool, err error) {
	now := s.now()
	items, err := s.readCustomerItems(ctx, id)
	if err != nil {
		return c, false, err
	}
	var writes []types.TransactWriteItem
	exists := expression.AttributeExists(expression.Name("PK"))
	flag := func(version bool) expression.UpdateBuilder {
		upd := expression.Set(expression.Name("blocked"), expression.Value(blocked))
		if version {
			upd = upd.Set(expression.Name("version"), expression.Name("version").Plus(expression.Value(1)))
		}
		return upd
	}
	switch {
	case items.customer == nil && !blocked:
		return c, false, referral.ErrCustomerNotFound
	case items.customer == nil:
		c = referral.Customer{CustomerID: id, Locale: "en", Segment: referral.SegmentCurrent, Blocked: true, CreatedAt: now, UpdatedAt: now}
		writes = append(writes, putNew(customerItem{PK: customerPK(id), SK: customerSK, Type: TypeCustomer, Customer: c}))
	default:
		c = items.customer.Customer
		if c.Blocked != blocked {
			c.Blocked, c.UpdatedAt = blocked, now
			writes = append(writes, update(customerPK(id), customerSK, flag(false).Set(expression.Name("updatedAt"), expression.Value(now)), &exists))
		}
	}
	for _, st := range items.standings {
		if st.Blocked != blocked {
			writes = append(writes, update(st.PK, st.SK, flag(true), &exists))
		}
		if st.Code != "" {
			// The code's own flag is not read here: writing it again is harmless.
			writes = append(writes, update(codePK(st.Code), codeSK, flag(false), &exists))
		}
	}
	for _, r := range items.referrals {
		if r.Blocked != blocked {
			writes = append(writes, update(r.PK, r.SK, flag(true), &exists))
		}
	}
	for len(writes) > 0 {
		n := min(len(writes), maxTransactItems)
		err := s.transact(ctx, writes[:n]...)
		switch {
		case cancellationReasons(err) != nil:
			return c, true, nil // created or changed meanwhile: read again
		case err != nil:
			return c, false, unavailable(fmt.Errorf("block customer %s: %w", id, err))
		}
		writes = writes[n:]
	}
	return c, false, nil
}
