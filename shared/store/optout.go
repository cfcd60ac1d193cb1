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

// OptOut sets a customer's marketingOptOut (the unsubscribe link) and returns the customer:
// 1 UpdateItem that only touches an existing customer. found is false when there is no such
// customer (erased since the email was sent); opting out twice is the same as once.
func (s *Store) OptOut(ctx context.Context, customerID string) (c referral.Customer, found bool, err error) {
	now := s.now()
	upd := expression.Set(expression.Name("marketingOptOut"), expression.Value(true)).
		Set(expression.Name("optedOutAt"), expression.IfNotExists(expression.Name("optedOutAt"), expression.Value(now))).
		Set(expression.Name("updatedAt"), expression.Value(now))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(expression.Name("PK").AttributeExists()).Build()
	if err != nil {
		return c, false, fmt.Errorf("opt out: %w", err)
	}
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(customerPK(customerID), customerSK),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	switch {
	case err == nil:
		c, err = decodeCustomer(res.Attributes)
		return c, true, err
	case conditionFailed(err):
		return c, false, nil
	default:
		return c, false, unavailable(fmt.Errorf("opt out %s: %w", customerID, err))
	}
}
