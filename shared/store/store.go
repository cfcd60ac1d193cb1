package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// DynamoDB is the part of the SDK client the store uses; *dynamodb.Client satisfies it.
type DynamoDB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// Store is the referral table. Its zero value is not usable; build it with New.
type Store struct {
	db    DynamoDB
	table string
	now   func() time.Time
}

// New returns a store on table through db. now may be nil (time.Now).
func New(db DynamoDB, table string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, table: table, now: func() time.Time { return now().UTC() }}
}

// Now is the store's clock, in UTC.
func (s *Store) Now() time.Time { return s.now() }

// marshal encodes an item struct by its json tags. Empty lists and maps are left out: they
// read back as empty all the same, and minidyn (the DynamoDB engine of the tests and make dev)
// corrupts stored empty collections when it rolls back a cancelled transaction.
func marshal(v any) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMapWithOptions(v, func(o *attributevalue.EncoderOptions) {
		o.TagKey = "json"
	})
	if err != nil {
		return nil, err
	}
	pruneEmpty(m)
	return m, nil
}

func pruneEmpty(m map[string]types.AttributeValue) {
	for k, v := range m {
		switch x := v.(type) {
		case *types.AttributeValueMemberM:
			pruneEmpty(x.Value)
			if len(x.Value) == 0 {
				delete(m, k)
			}
		case *types.AttributeValueMemberL:
			if len(x.Value) == 0 {
				delete(m, k)
				continue
			}
			for _, e := range x.Value {
				if em, ok := e.(*types.AttributeValueMemberM); ok {
					pruneEmpty(em.Value)
				}
			}
		}
	}
}

func unmarshal(m map[string]types.AttributeValue, v any) error {
	return attributevalue.UnmarshalMapWithOptions(m, v, decodeOptions)
}

// decodeOptions read items by their json tags. A type that reads itself from text (such as
// referral.Localized, stored as a string before it held one text per language) is given a
// string attribute as text.
func decodeOptions(o *attributevalue.DecoderOptions) {
	o.TagKey = "json"
	o.UseEncodingUnmarshalers = true
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: pk},
		"SK": &types.AttributeValueMemberS{Value: sk},
	}
}

// getItem reads one item with a strongly consistent read; found is false when it is absent.
func (s *Store) getItem(ctx context.Context, pk, sk string, out any) (found bool, err error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, unavailable(fmt.Errorf("get %s/%s: %w", pk, sk, err))
	}
	if res.Item == nil {
		return false, nil
	}
	if err := unmarshal(res.Item, out); err != nil {
		return false, fmt.Errorf("decode %s/%s: %w", pk, sk, err)
	}
	return true, nil
}

// batchGet reads keys with one consistent BatchGetItem (repeating only for keys DynamoDB left
// unprocessed) and returns the items found by "PK|SK".
func (s *Store) batchGet(ctx context.Context, keys ...map[string]types.AttributeValue) (map[string]map[string]types.AttributeValue, error) {
	return s.batchRead(ctx, true, keys...)
}

// batchGetEventually is batchGet with an eventually consistent read: half the read units, and
// a write of the last second may not be seen yet.
func (s *Store) batchGetEventually(ctx context.Context, keys ...map[string]types.AttributeValue) (map[string]map[string]types.AttributeValue, error) {
	return s.batchRead(ctx, false, keys...)
}

func (s *Store) batchRead(ctx context.Context, consistent bool, keys ...map[string]types.AttributeValue) (map[string]map[string]types.AttributeValue, error) {
	found := make(map[string]map[string]types.AttributeValue, len(keys))
	// DynamoDB refuses a batch that names one key twice (a self-referral's advocate and
	// referee are one customer): ask for each key once.
	unique := keys[:0:0]
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if id := itemKey(k); !seen[id] {
			seen[id] = true
			unique = append(unique, k)
		}
	}
	req := map[string]types.KeysAndAttributes{s.table: {Keys: unique, ConsistentRead: aws.Bool(consistent)}}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
			if attempt > maxAttempts {
				return nil, unavailable(fmt.Errorf("batch get: keys still unprocessed after %d attempts", attempt))
			}
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, unavailable(fmt.Errorf("batch get: %w", err))
		}
		for _, it := range res.Responses[s.table] {
			found[itemKey(it)] = it
		}
		req = res.UnprocessedKeys
	}
	return found, nil
}

func itemKey(it map[string]types.AttributeValue) string {
	pk, _ := it["PK"].(*types.AttributeValueMemberS)
	sk, _ := it["SK"].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return pk.Value + "|" + sk.Value
}

// Page is one page of a list and the opaque cursor of the next one ("" at the end).
type Page struct {
	Limit  int32
	Cursor string
}

// encodeCursor turns DynamoDB's LastEvaluatedKey into an opaque string.
func encodeCursor(k map[string]types.AttributeValue) (*string, error) {
	if len(k) == 0 {
		return nil, nil
	}
	plain := map[string]string{}
	for name, v := range k {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return nil, fmt.Errorf("cursor: key attribute %s is not a string", name)
		}
		plain[name] = s.Value
	}
	b, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	c := base64.RawURLEncoding.EncodeToString(b)
	return &c, nil
}

// decodeCursor is the inverse of encodeCursor for a page of the partition wantPK of index (a
// cursor of another list, or not made by us, is a 400 on "cursor").
func decodeCursor(c, index, wantPK string) (map[string]types.AttributeValue, error) {
	if c == "" {
		return nil, nil
	}
	bad := referral.Invalid("cursor", "the cursor is not one this API returned")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) > 2048 {
		return nil, bad
	}
	ipk, isk := indexKeys(index)
	var plain map[string]string
	if err := json.Unmarshal(b, &plain); err != nil || len(plain) > 4 || plain[ipk] != wantPK {
		return nil, bad
	}
	out := map[string]types.AttributeValue{}
	for k, v := range plain {
		switch k {
		case "PK", "SK", ipk, isk:
			out[k] = &types.AttributeValueMemberS{Value: v}
		default:
			return nil, bad
		}
	}
	return out, nil
}

// unavailable marks an infrastructure failure (throttling, 5xx, timeouts) as the API's 503.
func unavailable(err error) error {
	var de *referral.Error
	if errors.As(err, &de) || errors.Is(err, context.Canceled) {
		return err
	}
	return &unavailableError{err}
}

type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// Is makes errors.Is(err, referral.ErrUnavailable) hold for store failures.
func (e *unavailableError) Is(target error) bool { return target == referral.ErrUnavailable }

// As lets errors.As(err, **referral.Error) see a store failure as the API's 503.
func (e *unavailableError) As(target any) bool {
	if t, ok := target.(**referral.Error); ok {
		*t = referral.ErrUnavailable
		return true
	}
	return false
}

// conditionFailed reports whether err is a failed condition on a single-item write.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// cancellationReasons returns the per-item reason codes of a cancelled transaction, or nil.
func cancellationReasons(err error) []string {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil
	}
	out := make([]string, len(tce.CancellationReasons))
	for i, r := range tce.CancellationReasons {
		out[i] = aws.ToString(r.Code)
	}
	return out
}

// failedOnlyOn returns the item a transaction's action at index i held when the transaction
// was cancelled by that action's condition alone (the action asked for ALL_OLD); ok is false
// for any other outcome.
func failedOnlyOn(err error, i int) (map[string]types.AttributeValue, bool) {
	var tce *types.TransactionCanceledException
	if i < 0 || !errors.As(err, &tce) || i >= len(tce.CancellationReasons) {
		return nil, false
	}
	for j, r := range tce.CancellationReasons {
		code := aws.ToString(r.Code)
		if j == i && code != "ConditionalCheckFailed" || j != i && code != "" && code != "None" {
			return nil, false
		}
	}
	item := tce.CancellationReasons[i].Item
	return item, len(item) > 0
}

// maxTransactItems is DynamoDB's limit on the items of one TransactWriteItems.
const maxTransactItems = 100

// putNew is a transaction Put that fails when the item already exists.
func putNew(item any) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{Item: mustMarshal(item),
		ConditionExpression: aws.String("attribute_not_exists(PK)")}}
}

func mustMarshal(v any) map[string]types.AttributeValue {
	m, err := marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // item structs are ours: a failure is a programming error
	}
	return m
}

// transact runs one TransactWriteItems on the store's table.
func (s *Store) transact(ctx context.Context, items ...types.TransactWriteItem) error {
	for i := range items {
		switch {
		case items[i].Put != nil:
			items[i].Put.TableName = aws.String(s.table)
		case items[i].Update != nil:
			items[i].Update.TableName = aws.String(s.table)
		case items[i].ConditionCheck != nil:
			items[i].ConditionCheck.TableName = aws.String(s.table)
		case items[i].Delete != nil:
			items[i].Delete.TableName = aws.String(s.table)
		}
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return err
}

// update builds a transaction Update from expression builders.
func update(pk, sk string, upd expression.UpdateBuilder, cond *expression.ConditionBuilder) types.TransactWriteItem {
	b := expression.NewBuilder().WithUpdate(upd)
	if cond != nil {
		b = b.WithCondition(*cond)
	}
	expr, err := b.Build()
	if err != nil {
		panic(fmt.Sprintf("update %s: %v", pk, err)) // expressions are ours: a failure is a programming error
	}
	return types.TransactWriteItem{Update: &types.Update{Key: key(pk, sk), UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}
}

// updateIf runs one transaction Update (from update) as a single UpdateItem: changed is false
// when its condition failed.
func (s *Store) updateIf(ctx context.Context, w types.TransactWriteItem) (changed bool, err error) {
	u := w.Update
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: u.Key,
		UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues})
	switch {
	case err == nil:
		return true, nil
	case conditionFailed(err):
		return false, nil
	default:
		return false, err
	}
}

func putWhen(item any, cond expression.ConditionBuilder) types.TransactWriteItem {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		panic(fmt.Sprintf("put condition: %v", err)) // conditions are ours: a failure is a programming error
	}
	return types.TransactWriteItem{Put: &types.Put{Item: mustMarshal(item), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}
}

func deleteWhen(pk, sk string, cond expression.ConditionBuilder) types.TransactWriteItem {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		panic(fmt.Sprintf("delete condition: %v", err))
	}
	return types.TransactWriteItem{Delete: &types.Delete{Key: key(pk, sk), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}
}

// queryPages runs a Query to its last page (one call per MB), handing each page's items to
// each.
func (s *Store) queryPages(ctx context.Context, in *dynamodb.QueryInput, each func([]map[string]types.AttributeValue) error) error {
	for {
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return unavailable(err)
		}
		if err := each(res.Items); err != nil {
			return err
		}
		if len(res.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

func unmarshalList(items []map[string]types.AttributeValue, out any) error {
	return attributevalue.UnmarshalListOfMapsWithOptions(items, out, decodeOptions)
}
