package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/referral/referrals/shared/referral"
)

// EraseCustomer erases a customer's personal data (the right to erasure): the customer item
// has its email, name and locale blanked and is opted out of marketing; the codes they own
// have the copied first name blanked. Referrals, conversions and the reward ledger stay: they
// hold only ids, so they stay consistent and anonymous. Erasing again answers the same; an
// unknown customer is ErrCustomerNotFound.
//
// Cost: 1 UpdateItem (customer), 1 Query (their partition: the standings name their codes) and
// 1 UpdateItem per code. The customer is erased first, so a failure part-way leaves a state
// that a retried DELETE completes.
func (s *Store) EraseCustomer(ctx context.Context, id string) error {
	now := s.now()
	// Overwritten with empty strings rather than REMOVEd: the item keeps its shape for every
	// reader, and minidyn (the tests' and make dev's engine) ignores top-level REMOVE.
	upd := expression.Set(expression.Name("email"), expression.Value("")).
		Set(expression.Name("name"), expression.Value("")).
		Set(expression.Name("locale"), expression.Value("")).
		Set(expression.Name("marketingOptOut"), expression.Value(true)).
		Set(expression.Name("erasedAt"), expression.Value(now)).
		Set(expression.Name("updatedAt"), expression.Value(now))
	found, err := s.updateIfExists(ctx, customerPK(id), customerSK, upd)
	if err != nil {
		return fmt.Errorf("erase customer %s: %w", id, err)
	}
	if !found {
		return referral.ErrCustomerNotFound
	}

	items, err := s.readCustomerItems(ctx, id)
	if err != nil {
		return fmt.Errorf("erase customer %s: %w", id, err)
	}
	for _, st := range items.standings {
		if st.Code == "" {
			continue
		}
		if _, err := s.updateIfExists(ctx, codePK(st.Code), codeSK, expression.Set(expression.Name("advocateFirstName"), expression.Value(""))); err != nil {
			return fmt.Errorf("erase customer %s: code %s: %w", id, st.Code, err)
		}
	}
	return nil
}

// updateIfExists runs one UpdateItem on an item that must exist; found is false when it
// does not (and nothing was written).
func (s *Store) updateIfExists(ctx context.Context, pk, sk string, upd expression.UpdateBuilder) (found bool, err error) {
	expr, err := expression.NewBuilder().WithUpdate(upd).
		WithCondition(expression.AttributeExists(expression.Name("PK"))).Build()
	if err != nil {
		return false, fmt.Errorf("update %s: build expression: %w", pk, err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(pk, sk),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	switch {
	case conditionFailed(err):
		return false, nil
	case err != nil:
		return false, unavailable(fmt.Errorf("update %s: %w", pk, err))
	}
	return true, nil
}
