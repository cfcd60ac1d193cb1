package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// dueItems reads into out up to limit items of the GSI4 partition pk whose due time (the
// start of GSI3SK) is at or before by, most overdue first: 1 Query on GSI4. The index is
// eventually consistent, so every change made from what it returns is conditional on the
// state read.
func (s *Store) dueItems(ctx context.Context, pk string, by time.Time, limit int32, out any) error {
	kc := expression.Key("GSI3PK").Equal(expression.Value(pk)).And(expression.Key("GSI3SK").LessThanEqual(expression.Value(dueBy(by))))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return err
	}
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(GSI4),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(),
		ExpressionAttributeValues: expr.Values(), Limit: aws.Int32(limit)})
	if err != nil {
		return unavailable(err)
	}
	return unmarshalList(res.Items, out)
}
