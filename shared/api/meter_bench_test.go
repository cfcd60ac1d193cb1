package api

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/metrics"
	"github.com/referral/referrals/shared/store"
)

// This file prices DynamoDB requests the way on-demand billing does, from the items the code
// really reads and writes, for docs/PERFORMANCE.md's cost model (`make bench`):
//
//   - item size = Σ attribute name bytes + value bytes (string: UTF-8 bytes; number: 1 byte per
//     2 significant digits + 1; boolean, null: 1; list, map: 3 + 1 per element + elements);
//   - a write costs 1 WRU per KB of the larger of the item before and after it, 2× inside
//     TransactWriteItems; a failed condition still costs the write;
//   - a read costs 1 RRU per 4 KB per item (GetItem, BatchGetItem) or of all items read (Query),
//     half that when eventually consistent; a missing item costs the minimum;
//   - a write that adds, changes or removes an item's entry in a global secondary index costs a
//     standard write there too (1 per KB of the index entry; a key change is a delete and a put).

// meteredDB wraps the client the store uses and prices each request it passes on. Around
// every write it reads the items touched before and after, through peek, a second client
// whose calls are not counted by the metrics middleware.
type meteredDB struct {
	store.DynamoDB
	peek    *dynamodb.Client
	table   string
	indexes []index

	mu   sync.Mutex
	reqs []pricedRequest
}

// index is a global secondary index of the template's table.
type index struct {
	name       string
	pk, sk     string
	projection types.ProjectionType
	nonKey     []string // INCLUDE: the attributes projected besides the keys
}

// pricedRequest is one DynamoDB request and its price.
type pricedRequest struct {
	Op     string      `json:"op"`
	RRU    float64     `json:"rru"`
	WRU    float64     `json:"wru"` // base table
	GSIWRU float64     `json:"gsiWru"`
	Items  []itemPrice `json:"items,omitempty"`
}

// itemPrice is one item read or written by a request.
type itemPrice struct {
	Type  string  `json:"type"` // the item's "type" attribute
	Bytes int     `json:"bytes"`
	Units float64 `json:"units"` // RRU or WRU on the base table
	GSI   float64 `json:"gsiWru,omitempty"`
}

// newMeteredClient is an SDK client for url with the production middleware (the per-invocation
// round-trip counters of shared/metrics), wrapped in a meter.
func newMeteredClient(tb testing.TB, url, table string) *meteredDB {
	tb.Helper()
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		tb.Fatal(err)
	}
	def, err := tpl.Table(table)
	if err != nil {
		tb.Fatal(err)
	}
	m := &meteredDB{DynamoDB: countedClient(url), peek: countedClient(url), table: table}
	for _, g := range def.GlobalSecondaryIndexes {
		ix := index{name: aws.ToString(g.IndexName), projection: g.Projection.ProjectionType, nonKey: g.Projection.NonKeyAttributes}
		for _, k := range g.KeySchema {
			if k.KeyType == types.KeyTypeHash {
				ix.pk = aws.ToString(k.AttributeName)
			} else {
				ix.sk = aws.ToString(k.AttributeName)
			}
		}
		m.indexes = append(m.indexes, ix)
	}
	return m
}

// countedClient is how platform.AWSConfig builds a function's client: with the SDK middleware
// that counts calls and round trips into the invocation's metrics.
func countedClient(url string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		APIOptions:  []func(*middleware.Stack) error{metrics.SDKMiddleware}})
}

// take returns the requests priced since the last take.
func (m *meteredDB) take() []pricedRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.reqs
	m.reqs = nil
	return out
}

func (m *meteredDB) add(r pricedRequest) {
	m.mu.Lock()
	m.reqs = append(m.reqs, r)
	m.mu.Unlock()
}

func (m *meteredDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := m.DynamoDB.GetItem(ctx, in, o...)
	if err == nil {
		it := readPrice(out.Item, aws.ToBool(in.ConsistentRead))
		m.add(pricedRequest{Op: "GetItem", RRU: it.Units, Items: []itemPrice{it}})
	}
	return out, err
}

func (m *meteredDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out, err := m.DynamoDB.BatchGetItem(ctx, in, o...)
	if err != nil {
		return out, err
	}
	r := pricedRequest{Op: "BatchGetItem"}
	for table, ka := range in.RequestItems {
		found := out.Responses[table]
		for _, it := range found {
			p := readPrice(it, aws.ToBool(ka.ConsistentRead))
			r.Items = append(r.Items, p)
			r.RRU += p.Units
		}
		missing := len(ka.Keys) - len(found) - len(out.UnprocessedKeys[table].Keys)
		for range max(missing, 0) {
			p := readPrice(nil, aws.ToBool(ka.ConsistentRead))
			r.Items = append(r.Items, p)
			r.RRU += p.Units
		}
	}
	m.add(r)
	return out, err
}

func (m *meteredDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := m.DynamoDB.Query(ctx, in, o...)
	if err != nil {
		return out, err
	}
	total := 0
	r := pricedRequest{Op: "Query"}
	for _, it := range out.Items {
		n := dynamotest.ItemSize(it)
		total += n
		r.Items = append(r.Items, itemPrice{Type: typeOf(it), Bytes: n})
	}
	r.RRU = readUnits(total, aws.ToBool(in.ConsistentRead) && in.IndexName == nil)
	m.add(r)
	return out, err
}

func (m *meteredDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	k := keyOf(in.Item)
	before := m.snapshot(k)
	out, err := m.DynamoDB.PutItem(ctx, in, o...)
	m.priceWrites("PutItem", 1, []map[string]types.AttributeValue{k}, before)
	return out, err
}

func (m *meteredDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	before := m.snapshot(in.Key)
	out, err := m.DynamoDB.UpdateItem(ctx, in, o...)
	m.priceWrites("UpdateItem", 1, []map[string]types.AttributeValue{in.Key}, before)
	return out, err
}

func (m *meteredDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	var keys []map[string]types.AttributeValue
	for _, ti := range in.TransactItems {
		switch {
		case ti.Put != nil:
			keys = append(keys, keyOf(ti.Put.Item))
		case ti.Update != nil:
			keys = append(keys, ti.Update.Key)
		case ti.Delete != nil:
			keys = append(keys, ti.Delete.Key)
		case ti.ConditionCheck != nil:
			keys = append(keys, ti.ConditionCheck.Key)
		}
	}
	before := m.snapshot(keys...)
	out, err := m.DynamoDB.TransactWriteItems(ctx, in, o...)
	m.priceWrites("TransactWriteItems", 2, keys, before)
	return out, err
}

// snapshot reads the items at keys as they are now (nil where absent).
func (m *meteredDB) snapshot(keys ...map[string]types.AttributeValue) []map[string]types.AttributeValue {
	out := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		res, err := m.peek.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(m.table), Key: k, ConsistentRead: aws.Bool(true)})
		if err == nil {
			out[i] = res.Item
		}
	}
	return out
}

// priceWrites prices the writes of keys (factor 2 for transactions) from the items before and
// after, and records the request.
func (m *meteredDB) priceWrites(op string, factor float64, keys, before []map[string]types.AttributeValue) {
	after := m.snapshot(keys...)
	r := pricedRequest{Op: op}
	for i := range keys {
		old, cur := before[i], after[i]
		size := max(dynamotest.ItemSize(old), dynamotest.ItemSize(cur))
		p := itemPrice{Type: typeOf(cur), Bytes: dynamotest.ItemSize(cur), Units: factor * math.Max(1, math.Ceil(float64(size)/1024))}
		if p.Type == "" {
			p.Type = typeOf(old)
		}
		for _, ix := range m.indexes {
			p.GSI += ix.writeUnits(old, cur)
		}
		r.WRU += p.Units
		r.GSIWRU += p.GSI
		r.Items = append(r.Items, p)
	}
	m.add(r)
}

// writeUnits is what a change of an item from old to cur costs in the index.
func (ix index) writeUnits(old, cur map[string]types.AttributeValue) float64 {
	in := func(it map[string]types.AttributeValue) bool { return it != nil && it[ix.pk] != nil }
	units := func(it map[string]types.AttributeValue) float64 {
		return math.Max(1, math.Ceil(float64(ix.entrySize(it))/1024))
	}
	switch {
	case !in(old) && !in(cur):
		return 0
	case !in(old):
		return units(cur)
	case !in(cur):
		return units(old)
	case !sameAttrs(old, cur, ix.pk, ix.sk):
		return units(old) + units(cur) // the key moved: a delete and a put
	case !sameItem(ix.entry(old), ix.entry(cur)):
		return units(cur) // a projected attribute changed
	}
	return 0
}

// entry is the item's entry in the index: the whole item (ALL), or its keys and the
// attributes the index includes (KEYS_ONLY, INCLUDE).
func (ix index) entry(it map[string]types.AttributeValue) map[string]types.AttributeValue {
	if ix.projection == types.ProjectionTypeAll {
		return it
	}
	out := map[string]types.AttributeValue{}
	for _, n := range append([]string{"PK", "SK", ix.pk, ix.sk}, ix.nonKey...) {
		if v, ok := it[n]; ok {
			out[n] = v
		}
	}
	return out
}

// entrySize is the size of the item's entry in the index.
func (ix index) entrySize(it map[string]types.AttributeValue) int {
	return dynamotest.ItemSize(ix.entry(it))
}

func sameAttrs(a, b map[string]types.AttributeValue, names ...string) bool {
	for _, n := range names {
		if !sameValue(a[n], b[n]) {
			return false
		}
	}
	return true
}

func sameItem(a, b map[string]types.AttributeValue) bool {
	if len(a) != len(b) {
		return false
	}
	for n := range a {
		if !sameValue(a[n], b[n]) {
			return false
		}
	}
	return true
}

func sameValue(a, b types.AttributeValue) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func keyOf(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": item["PK"], "SK": item["SK"]}
}

func typeOf(item map[string]types.AttributeValue) string {
	if s, ok := item["type"].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	if pk, ok := item["PK"].(*types.AttributeValueMemberS); ok {
		return strings.ToLower(strings.SplitN(pk.Value, "#", 2)[0])
	}
	return ""
}

// readPrice prices reading one item (nil: absent, the minimum).
func readPrice(it map[string]types.AttributeValue, consistent bool) itemPrice {
	n := dynamotest.ItemSize(it)
	return itemPrice{Type: typeOf(it), Bytes: n, Units: readUnits(n, consistent)}
}

func readUnits(bytes int, consistent bool) float64 {
	u := math.Max(1, math.Ceil(float64(bytes)/4096))
	if !consistent {
		u /= 2
	}
	return u
}

// benchRecord is one line of the JSON Lines file `make bench` reads (REFERRALS_BENCH_OUT):
// what a benchmark measured beyond ns/op.
type benchRecord struct {
	Bench string         `json:"bench"`
	Case  string         `json:"case"`
	Data  map[string]any `json:"data"`
}

// writeRecord appends a record to $REFERRALS_BENCH_OUT, when set.
func writeRecord(tb testing.TB, bench, name string, data map[string]any) {
	path := os.Getenv("REFERRALS_BENCH_OUT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	b, err := json.Marshal(benchRecord{Bench: bench, Case: name, Data: data})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		tb.Fatal(err)
	}
}
