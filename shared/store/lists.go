package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The secondary indexes GSI4 and GSI5 hold keys only (KEYS_ONLY): a list reads the keys of
// its page from the index, then the items from the table (1 Query, then 1 eventually
// consistent BatchGetItem per 100 keys). No attribute an item gains or a write changes is
// ever copied to an index, and no index can leave out what a reader decodes.

// indexRun is what one Query of a secondary index reads: a partition, and the sort keys from
// lo to hi (inclusive; "" is unbounded).
type indexRun struct {
	index, pk string
	lo, hi    string
}

// keyCondition is the run as a Query's key condition.
func (r indexRun) keyCondition() expression.KeyConditionBuilder {
	pkName, skName := indexKeys(r.index)
	kc := expression.Key(pkName).Equal(expression.Value(r.pk))
	switch sk := expression.Key(skName); {
	case r.lo != "" && r.hi != "":
		kc = kc.And(sk.Between(expression.Value(r.lo), expression.Value(r.hi)))
	case r.lo != "":
		kc = kc.And(sk.GreaterThanEqual(expression.Value(r.lo)))
	case r.hi != "":
		kc = kc.And(sk.LessThanEqual(expression.Value(r.hi)))
	}
	return kc
}

// holds reports whether an item as stored is in the run. The index is eventually consistent
// and the table read comes after it, so an item it listed may have left the run since (a
// reward moved to another queue, an ask sent, a code reminded, an endpoint deleted).
func (r indexRun) holds(item map[string]types.AttributeValue) bool {
	pkName, skName := indexKeys(r.index)
	pk, _ := item[pkName].(*types.AttributeValueMemberS)
	sk, _ := item[skName].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil || pk.Value != r.pk {
		return false
	}
	return (r.lo == "" || sk.Value >= r.lo) && (r.hi == "" || sk.Value <= r.hi)
}

// listedKey is the table key of an item as an index lists it (every index projects it).
type listedKey struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
}

// runKeys reads the table keys of up to limit items of the run after start (limit 0: as many
// as one Query returns), in sort-key order (forward) or backwards: 1 Query. last is where the
// next page starts, nil after the run's last item.
func (s *Store) runKeys(ctx context.Context, r indexRun, start map[string]types.AttributeValue, limit int32, forward bool) (keys []listedKey, last map[string]types.AttributeValue, err error) {
	expr, err := expression.NewBuilder().WithKeyCondition(r.keyCondition()).Build()
	if err != nil {
		return nil, nil, err
	}
	in := &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(r.index),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(),
		ExpressionAttributeValues: expr.Values(), ExclusiveStartKey: start, ScanIndexForward: aws.Bool(forward)}
	if limit > 0 {
		in.Limit = aws.Int32(limit)
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, nil, unavailable(fmt.Errorf("query %s %s: %w", r.index, r.pk, err))
	}
	if err := unmarshalList(res.Items, &keys); err != nil {
		return nil, nil, err
	}
	return keys, res.LastEvaluatedKey, nil
}

// allKeys reads the keys of the whole run in sort-key order: 1 Query per MB of index.
func (s *Store) allKeys(ctx context.Context, r indexRun) ([]listedKey, error) {
	var all []listedKey
	var start map[string]types.AttributeValue
	for {
		keys, last, err := s.runKeys(ctx, r, start, 0, true)
		if err != nil {
			return nil, err
		}
		all = append(all, keys...)
		if len(last) == 0 {
			return all, nil
		}
		start = last
	}
}

// queryKeys reads the table keys of one page of the partition pk of a secondary index, in
// sort-key order (forward) or newest first (1 Query); the cursor is the next page's.
func (s *Store) queryKeys(ctx context.Context, index, pk string, page Page, forward bool) ([]listedKey, *string, error) {
	start, err := decodeCursor(page.Cursor, index, pk)
	if err != nil {
		return nil, nil, err
	}
	keys, last, err := s.runKeys(ctx, indexRun{index: index, pk: pk}, start, page.Limit, forward)
	if err != nil {
		return nil, nil, err
	}
	next, err := encodeCursor(last)
	return keys, next, err
}

// queryThrough reads one page of the partition pk of a secondary index through to the table:
// the page's keys from the index (queryKeys), then the items as stored (readListed), into out
// (a *[]item): 1 Query, then 1 eventually consistent BatchGetItem per 100 keys.
func (s *Store) queryThrough(ctx context.Context, index, pk string, page Page, forward bool, out any) (*string, error) {
	keys, next, err := s.queryKeys(ctx, index, pk, page, forward)
	if err != nil {
		return nil, err
	}
	if err := s.readListed(ctx, keys, out, indexRun{index: index, pk: pk}); err != nil {
		return nil, err
	}
	return next, nil
}

// runThrough reads up to limit items of the run after start through to the table, into out
// (a *[]item): 1 Query, then 1 eventually consistent BatchGetItem per 100 keys. last is where
// the next page starts.
func (s *Store) runThrough(ctx context.Context, r indexRun, start map[string]types.AttributeValue, limit int32, out any) (last map[string]types.AttributeValue, err error) {
	keys, last, err := s.runKeys(ctx, r, start, limit, true)
	if err != nil {
		return nil, err
	}
	if err := s.readListed(ctx, keys, out, r); err != nil {
		return nil, err
	}
	return last, nil
}

// readListed reads the items of keys, listed by the runs, from the table in their order into
// out (a *[]item): 1 eventually consistent BatchGetItem per 100 keys. An item deleted since it
// was listed is left out, so is one that is in none of the runs any more (indexRun.holds), and
// an item listed twice (by two runs read while it moved between them) is read once.
func (s *Store) readListed(ctx context.Context, keys []listedKey, out any, runs ...indexRun) error {
	raws := make([]map[string]types.AttributeValue, 0, len(keys))
	seen := make(map[listedKey]bool, len(keys))
	keys = slices.DeleteFunc(slices.Clone(keys), func(k listedKey) bool {
		dup := seen[k]
		seen[k] = true
		return dup
	})
	for len(keys) > 0 {
		n := min(len(keys), 100)
		batch := make([]map[string]types.AttributeValue, n)
		for i, k := range keys[:n] {
			batch[i] = key(k.PK, k.SK)
		}
		got, err := s.batchGetEventually(ctx, batch...)
		if err != nil {
			return err
		}
		for _, k := range batch {
			if raw, ok := got[itemKey(k)]; ok && slices.ContainsFunc(runs, func(r indexRun) bool { return r.holds(raw) }) {
				raws = append(raws, raw)
			}
		}
		keys = keys[n:]
	}
	return unmarshalList(raws, out)
}
