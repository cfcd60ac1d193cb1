package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// upsert writes every attribute of item to the item at (pk, sk), keeping createdAt from the
// first write, decodes the stored item into out, and reports whether the item is new.
//
// An existing item (the usual case) is updated in place: 1 UpdateItem. A new one is created
// whole: the update's existence check fails, then 1 PutItem. Creating through PutItem rather
// than an UpdateItem also sidesteps a minidyn bug (an UpdateItem that gives an item its first
// index key corrupts that index).
func (s *Store) upsert(ctx context.Context, pk, sk string, item map[string]types.AttributeValue, now time.Time, out any) (created bool, err error) {
	names := make([]string, 0, len(item))
	for n := range item {
		if n != "PK" && n != "SK" && n != "createdAt" {
			names = append(names, n)
		}
	}
	sort.Strings(names) // a stable expression keeps requests comparable in logs and tests
	var upd expression.UpdateBuilder
	for _, n := range names {
		if emptyCollection(item[n]) {
			// An absent attribute reads back as an empty list or map; minidyn mishandles
			// empty collections written by UpdateItem, so they are removed instead.
			upd = upd.Remove(expression.Name(n))
			continue
		}
		upd = upd.Set(expression.Name(n), expression.Value(item[n]))
	}
	update, err := expression.NewBuilder().WithUpdate(upd).
		WithCondition(expression.AttributeExists(expression.Name("PK"))).Build()
	if err != nil {
		return false, fmt.Errorf("upsert %s: build expression: %w", pk, err)
	}
	whole := make(map[string]types.AttributeValue, len(item)+3)
	for k, v := range item {
		if !emptyCollection(v) {
			whole[k] = v
		}
	}
	whole["PK"], whole["SK"] = &types.AttributeValueMemberS{Value: pk}, &types.AttributeValueMemberS{Value: sk}
	whole["createdAt"] = &types.AttributeValueMemberS{Value: stamp(now)}

	for attempt := 0; attempt < 3; attempt++ {
		res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: key(pk, sk),
			UpdateExpression: update.Update(), ConditionExpression: update.Condition(),
			ExpressionAttributeNames: update.Names(), ExpressionAttributeValues: update.Values(),
			ReturnValues: types.ReturnValueAllNew,
		})
		if err == nil {
			if err := unmarshal(res.Attributes, out); err != nil {
				return false, fmt.Errorf("upsert %s: decode: %w", pk, err)
			}
			return false, nil
		}
		if !conditionFailed(err) {
			return false, unavailable(fmt.Errorf("upsert %s: %w", pk, err))
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: whole,
			ConditionExpression: aws.String("attribute_not_exists(PK)")})
		if err == nil {
			return true, unmarshal(whole, out)
		}
		if !conditionFailed(err) {
			return false, unavailable(fmt.Errorf("upsert %s: %w", pk, err))
		}
		// Created by a concurrent request between our two calls: update it after all.
	}
	return false, unavailable(fmt.Errorf("upsert %s: the item kept changing", pk))
}

func emptyCollection(v types.AttributeValue) bool {
	switch x := v.(type) {
	case *types.AttributeValueMemberL:
		return len(x.Value) == 0
	case *types.AttributeValueMemberM:
		return len(x.Value) == 0
	}
	return false
}
