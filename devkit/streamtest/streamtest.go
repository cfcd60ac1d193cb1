// Package streamtest runs minidyn's DynamoDB server, with the table from template.yaml, behind
// a recorder that turns every successful write into the stream record DynamoDB Streams would
// deliver (NEW_AND_OLD_IMAGES), so tests can feed stream consumers the records a real table
// would produce, and assert on which items a request path wrote.
//
// The stream itself is devkit/dynamostream.s, as in the `make dev` stack (local/dynamo.go): one
// write at a time, the item read before and after it, one record per item that changed.
package streamtest

import (
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
	"github.com/referral/referrals/devkit/dynamostream"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/samtemplate"
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

	stream *dynamostream.Stream // minidyn behind it; one write at a time

	mu      sync.Mutex
	now     func() time.Time
	seq     uint64
	records []events.DynamoDBEventRecord
	writes  []Write
}

// Start runs a fresh recorded table for t; it stops when t ends. Records carry the time of
// the write (time.Now, or the clock given to SetClock) as their approximate creation time.
//
// The recorder stands around minidyn, so these tests run on the minidyn pass of `make test`
// and skip on the DynamoDB Local pass (where the dev stack's tests read DynamoDB Local's own
// stream instead).
func Start(t testing.TB) *Table {
	t.Helper()
	if dynamotest.Engine() != dynamotest.Minidyn {
		t.Skip("records the stream around minidyn: runs on the minidyn pass of make test")
	}
	mini := server.NewServer()
	tb := &Table{now: time.Now}
	tb.stream = &dynamostream.Stream{Inner: mini, Keys: pkSK, Clock: tb.clock}
	ts := httptest.NewServer(tb)
	t.Cleanup(ts.Close)
	tb.DB = &dynamotest.DB{Mini: mini, URL: ts.URL, Table: dynamotest.Table, Client: dynamotest.NewClient(ts.URL), Engine: dynamotest.Minidyn}
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

// pkSK is the table's key schema: the stream needs it to find the items a write touches.
func pkSK(string) (dynamostream.KeySchema, bool) {
	return dynamostream.KeySchema{Hash: "PK", Range: "SK"}, true
}

// clock is the time of a write: the SetClock clock's, in UTC.
func (tb *Table) clock() time.Time {
	tb.mu.Lock()
	now := tb.now
	tb.mu.Unlock()
	return now().UTC()
}

func (tb *Table) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := dynamostream.Op(r)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var status int
	var hdr http.Header
	var out []byte
	switch {
	case dynamostream.IsWrite(op):
		status, hdr, out = tb.stream.Write(op, body, tb.record)
	default:
		status, hdr, out = tb.stream.Call(op, body)
	}
	for k, vs := range hdr {
		w.Header()[k] = vs
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// record keeps one successful write and the stream records of the items it changed.
// Like DynamoDB, a write that changes nothing writes no record.
func (tb *Table) record(w dynamostream.Write) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	kept := Write{Op: w.Op}
	for _, t := range w.Targets {
		kept.Keys = append(kept.Keys, keyString(t.Key))
	}
	for _, c := range w.Changes {
		rec, err := c.Record("us-east-1", StreamARN, "NEW_AND_OLD_IMAGES")
		if err != nil {
			panic("streamtest: " + err.Error()) // minidyn answered something DynamoDB would not
		}
		tb.seq++
		rec.EventID = fmt.Sprintf("%032x", tb.seq)
		rec.Change.SequenceNumber = fmt.Sprintf("%021d", tb.seq) // fixed width: string order is stream order
		tb.records = append(tb.records, rec)
	}
	tb.writes = append(tb.writes, kept)
}

func keyString(k dynamostream.Item) string {
	var pk, sk struct{ S string }
	_ = json.Unmarshal(k["PK"], &pk)
	_ = json.Unmarshal(k["SK"], &sk)
	return pk.S + "|" + sk.S
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

// Match reports whether a record passes FilterCriteria patterns, with Lambda's event
// filtering rules (the same implementation make dev delivers records with).
func Match(patterns []string, rec events.DynamoDBEventRecord) (bool, error) {
	f, err := dynamostream.CompileFilter(patterns)
	if err != nil {
		return false, err
	}
	return f.Match(rec), nil
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

// WindowEvent is the event Lambda sends a function whose event source mapping has a tumbling
// window: the batch with its shard's id (the only window property the insights stream function
// reads), an empty state and the current 15-minute window.
func WindowEvent(shardID string, batch []events.DynamoDBEventRecord) events.DynamoDBTimeWindowEvent {
	start := time.Now().UTC().Truncate(15 * time.Minute)
	return events.DynamoDBTimeWindowEvent{DynamoDBEvent: events.DynamoDBEvent{Records: batch},
		TimeWindowProperties: events.TimeWindowProperties{ShardID: shardID, State: map[string]string{}, EventSourceARN: StreamARN,
			Window: events.Window{Start: events.RFC3339EpochTime{Time: start}, End: events.RFC3339EpochTime{Time: start.Add(15 * time.Minute)}}}}
}
