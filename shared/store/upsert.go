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

// upsert writes every attribute of item to the item at (pk, sk) in one UpdateItem, keeping
// createdAt from the first write, and decodes the whole stored item into out. It reports
// whether the item is new. cond, when set, must hold for the write to happen.
func (s *Store) upsert(ctx context.Context, pk, sk string, item map[string]types.AttributeValue, now time.Time, cond *expression.ConditionBuilder, out any) (created bool, err error) {
	names := make([]string, 0, len(item))
	for n := range item {
		if n != "PK" && n != "SK" && n != "createdAt" {
			names = append(names, n)
		}
	}
	sort.Strings(names) // a stable expression keeps requests comparable in logs and tests
	upd := expression.Set(expression.Name("createdAt"),
		expression.IfNotExists(expression.Name("createdAt"), expression.Value(stamp(now))))
	for _, n := range names {
		if emptyCollection(item[n]) {
			// An absent attribute reads back as an empty list or map. Writing empty
			// collections with SET also trips a minidyn bug (an empty list takes another
			// list's value), so they are removed instead.
			upd = upd.Remove(expression.Name(n))
			continue
		}
		upd = upd.Set(expression.Name(n), expression.Value(item[n]))
	}
	b := expression.NewBuilder().WithUpdate(upd)
	if cond != nil {
		b = b.WithCondition(*cond)
	}
	expr, err := b.Build()
	if err != nil {
		return false, fmt.Errorf("upsert %s: build expression: %w", pk, err)
	}
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(pk, sk),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return false, unavailable(fmt.Errorf("upsert %s: %w", pk, err))
	}
	if err := unmarshal(res.Attributes, out); err != nil {
		return false, fmt.Errorf("upsert %s: decode: %w", pk, err)
	}
	// createdAt is written with microseconds, so it equals this write's stamp only if this
	// write created the item.
	c, _ := res.Attributes["createdAt"].(*types.AttributeValueMemberS)
	return c != nil && c.Value == stamp(now), nil
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
