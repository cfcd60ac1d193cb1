// Package streamtest runs minidyn's DynamoDB server, with the table from template.yaml, behind
// a recorder that turns every successful write into the stream record DynamoDB Streams would
// deliver (NEW_AND_OLD_IMAGES), so tests can feed stream consumers the records a real table
// would produce, and assert on which items a request path wrote.
//
// It is the importable, test-sized sibling of the `make dev` stream in local/dynamo.go: one
// write at a time, the item read before and after it, one record per item that changed.
package streamtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/dynamotest"
	"github.com/referral/referrals/shared/samtemplate"
	"github.com/truora/minidyn/server"
)

// StreamARN is the stream ARN put on every record.
const StreamARN = "arn:aws:dynamodb:us-east-1:000000000000:table/" + dynamotest.Table + "/stream/2026-01-01T00:00:00.000"

// Write is one successful write request and the items it touched ("PK|SK"), in request order.
type Write struct {
	Op   string
	Keys []string
}

// Table is a minidyn table whose writes are recorded as stream records.
type Table struct {
	*dynamotest.DB

	inner http.Handler

	writeMu sync.Mutex // one write at a time, so old image → write → new image is atomic

	mu      sync.Mutex
	now     func() time.Time
	seq     uint64
	records []events.DynamoDBEventRecord
	writes  []Write
}

// Start runs a fresh recorded table for t; it stops when t ends. Records carry the time of
// the write (time.Now, or the clock given to SetClock) as their approximate creation time.
func Start(t testing.TB) *Table {
	t.Helper()
	mini := server.NewServer()
	tb := &Table{inner: mini, now: time.Now}
	ts := httptest.NewServer(tb)
	t.Cleanup(ts.Close)
	tb.DB = &dynamotest.DB{Mini: mini, URL: ts.URL, Table: dynamotest.Table, Client: dynamotest.NewClient(ts.URL)}
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatalf("load template: %v", err)
	}
	in, err := tpl.Table(dynamotest.Table)
	if err != nil {
		t.Fatal(err)
	}
	in.StreamSpecification = nil // minidyn has no streams: this recorder is the stream
	if _, err := tb.Client.CreateTable(context.Background(), in); err != nil {
		t.Fatalf("create table: %v", err)
	}
	tb.Take() // CreateTable is not a write of items
	return tb
}

// SetClock makes records carry now() as their time (a test's clock).
func (tb *Table) SetClock(now func() time.Time) {
	tb.mu.Lock()
	tb.now = now
	tb.mu.Unlock()
}

// Take returns the stream records written since the last Take, in stream order, and forgets them.
func (tb *Table) Take() []events.DynamoDBEventRecord {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	out := tb.records
	tb.records = nil
	return out
}

// TakeWrites returns the write requests since the last TakeWrites and forgets them.
func (tb *Table) TakeWrites() []Write {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	out := tb.writes
	tb.writes = nil
	return out
}

// item is a DynamoDB item in wire JSON: attribute name → {"S": ...}-style value.
type item map[string]json.RawMessage

func (tb *Table) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var status int
	var hdr http.Header
	var out []byte
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems":
		status, hdr, out = tb.write(op, body)
	default:
		status, hdr, out = tb.call(op, body)
	}
	for k, vs := range hdr {
		w.Header()[k] = vs
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// call runs one operation on minidyn in-process.
func (tb *Table) call(op string, body []byte) (int, http.Header, []byte) {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := httptest.NewRecorder()
	tb.inner.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

// write forwards a write to minidyn, reading each touched item before and after it, and
// appends one stream record per item that changed.
func (tb *Table) write(op string, body []byte) (int, http.Header, []byte) {
	tb.writeMu.Lock()
	defer tb.writeMu.Unlock()
	targets, err := writeTargets(op, body)
	if err != nil {
		return tb.call(op, body) // let minidyn answer the validation error DynamoDB would
	}
	olds := make([]item, len(targets))
	for i, k := range targets {
		olds[i] = tb.getItem(k)
	}
	status, hdr, out := tb.call(op, body)
	if status != http.StatusOK {
		return status, hdr, out
	}
	tb.mu.Lock()
	now := tb.now
	tb.mu.Unlock()
	at := now().UTC()
	w := Write{Op: op}
	for i, k := range targets {
		w.Keys = append(w.Keys, keyString(k))
		tb.record(k, olds[i], tb.getItem(k), at)
	}
	tb.mu.Lock()
	tb.writes = append(tb.writes, w)
	tb.mu.Unlock()
	return status, hdr, out
}

// writeTargets lists the keys (PK, SK) a write request touches; ConditionChecks touch none.
func writeTargets(op string, body []byte) ([]item, error) {
	type keyed struct {
		Item item `json:"Item"`
		Key  item `json:"Key"`
	}
	keyOf := func(k *keyed) (item, error) {
		src := k.Key
		if src == nil {
			src = k.Item
		}
		if src["PK"] == nil || src["SK"] == nil {
			return nil, fmt.Errorf("key attributes missing")
		}
		return item{"PK": src["PK"], "SK": src["SK"]}, nil
	}
	var ks []*keyed
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem":
		var k keyed
		if err := json.Unmarshal(body, &k); err != nil {
			return nil, err
		}
		ks = append(ks, &k)
	case "BatchWriteItem":
		var in struct {
			RequestItems map[string][]struct {
				PutRequest    *keyed `json:"PutRequest"`
				DeleteRequest *keyed `json:"DeleteRequest"`
			} `json:"RequestItems"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		for _, reqs := range in.RequestItems {
			for _, r := range reqs {
				if r.PutRequest != nil {
					ks = append(ks, r.PutRequest)
				} else if r.DeleteRequest != nil {
					ks = append(ks, r.DeleteRequest)
				}
			}
		}
	case "TransactWriteItems":
		var in struct {
			TransactItems []struct {
				Put    *keyed `json:"Put"`
				Update *keyed `json:"Update"`
				Delete *keyed `json:"Delete"`
			} `json:"TransactItems"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		for _, ti := range in.TransactItems {
			for _, k := range []*keyed{ti.Put, ti.Update, ti.Delete} {
				if k != nil {
					ks = append(ks, k)
				}
			}
		}
	}
	out := make([]item, 0, len(ks))
	for _, k := range ks {
		key, err := keyOf(k)
		if err != nil {
			return nil, err
		}
		out = append(out, key)
	}
	return out, nil
}

func (tb *Table) getItem(key item) item {
	b, _ := json.Marshal(map[string]any{"TableName": tb.Table, "Key": key, "ConsistentRead": true})
	status, _, resp := tb.call("GetItem", b)
	if status != http.StatusOK {
		return nil
	}
	var out struct {
		Item item `json:"Item"`
	}
	if json.Unmarshal(resp, &out) != nil {
		return nil
	}
	return out.Item
}

// record appends the stream record of one item's change. Like DynamoDB, a write that changes
// nothing writes no record.
func (tb *Table) record(key, old, new item, at time.Time) {
	var name string
	switch {
	case old == nil && new == nil:
		return
	case old == nil:
		name = "INSERT"
	case new == nil:
		name = "REMOVE"
	default:
		if canonical(old) == canonical(new) {
			return
		}
		name = "MODIFY"
	}
	rec := events.DynamoDBEventRecord{
		AWSRegion: "us-east-1", EventName: name, EventSource: "aws:dynamodb", EventVersion: "1.1",
		EventSourceArn: StreamARN,
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: at.Truncate(time.Second)},
			StreamViewType:              "NEW_AND_OLD_IMAGES",
			Keys:                        image(key), NewImage: image(new), OldImage: image(old),
		},
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.seq++
	rec.EventID = fmt.Sprintf("%032x", tb.seq)
	rec.Change.SequenceNumber = fmt.Sprintf("%021d", tb.seq) // fixed width: string order is stream order
	tb.records = append(tb.records, rec)
}

// image converts wire JSON into the Lambda event's attribute values (both use {"S": ...}).
func image(it item) map[string]events.DynamoDBAttributeValue {
	if it == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(it))
	for k, raw := range it {
		var av events.DynamoDBAttributeValue
		if err := json.Unmarshal(raw, &av); err != nil {
			panic(fmt.Sprintf("streamtest: attribute %s: %v", k, err)) // minidyn answered something DynamoDB would not
		}
		out[k] = av
	}
	return out
}

func keyString(k item) string {
	var pk, sk struct{ S string }
	_ = json.Unmarshal(k["PK"], &pk)
	_ = json.Unmarshal(k["SK"], &sk)
	return pk.S + "|" + sk.S
}

// canonical is a stable string for an item (map keys sorted by encoding/json).
func canonical(it item) string {
	compact := make(map[string]json.RawMessage, len(it))
	for k, v := range it {
		var b bytes.Buffer
		if json.Compact(&b, v) == nil {
			compact[k] = b.Bytes()
		} else {
			compact[k] = v
		}
	}
	b, _ := json.Marshal(compact)
	return string(b)
}

// Batches cuts records into the batches an event source mapping would deliver: in order, at
// most size each, keeping only the records that match one of the filter patterns (Lambda
// event filtering; no patterns keeps everything).
func Batches(records []events.DynamoDBEventRecord, size int, patterns []string) ([][]events.DynamoDBEventRecord, error) {
	var kept []events.DynamoDBEventRecord
	for _, r := range records {
		ok, err := Match(patterns, r)
		if err != nil {
			return nil, err
		}
		if ok {
			kept = append(kept, r)
		}
	}
	var out [][]events.DynamoDBEventRecord
	for len(kept) > 0 {
		n := min(size, len(kept))
		out = append(out, kept[:n])
		kept = kept[n:]
	}
	return out, nil
}

// Match reports whether a record passes FilterCriteria patterns: any pattern whose every key
// matches, where a list of values matches when the record's value is one of them. (This is
// the subset of Lambda event filtering the template uses: exact strings and nesting.)
func Match(patterns []string, rec events.DynamoDBEventRecord) (bool, error) {
	if len(patterns) == 0 {
		return true, nil
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return false, err
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return false, err
	}
	for _, p := range patterns {
		var pat map[string]any
		if err := json.Unmarshal([]byte(p), &pat); err != nil {
			return false, fmt.Errorf("filter pattern %s: %w", p, err)
		}
		if matchPattern(pat, doc) {
			return true, nil
		}
	}
	return false, nil
}

func matchPattern(pat map[string]any, v any) bool {
	obj, _ := v.(map[string]any)
	for k, pv := range pat {
		val, exists := obj[k]
		switch p := pv.(type) {
		case map[string]any:
			if !exists || !matchPattern(p, val) {
				return false
			}
		case []any:
			if !exists {
				return false
			}
			found := false
			for _, want := range p {
				if fmt.Sprint(want) == fmt.Sprint(val) {
					found = true
				}
			}
			if !found {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Shards splits records the way DynamoDB Streams spreads them over shards: every change of
// one item goes to the same shard, in order; different items may land on different shards.
func Shards(records []events.DynamoDBEventRecord, n int) [][]events.DynamoDBEventRecord {
	out := make([][]events.DynamoDBEventRecord, n)
	for _, r := range records {
		keys := make([]string, 0, len(r.Change.Keys))
		for k, v := range r.Change.Keys {
			keys = append(keys, k+"="+v.String())
		}
		sort.Strings(keys)
		h := uint32(2166136261)
		for _, c := range []byte(strings.Join(keys, ",")) {
			h = (h ^ uint32(c)) * 16777619
		}
		out[h%uint32(n)] = append(out[h%uint32(n)], r)
	}
	return out
}
