// Package dynamostream adds a DynamoDB stream to a DynamoDB-compatible HTTP endpoint (minidyn's
// server): every successful write becomes INSERT/MODIFY/REMOVE records with old and new images,
// as DynamoDB Streams would.
//
// A Stream runs one write at a time and reads each item the write touches before and after it;
// what it hands back are the changes. Where records go, how they are numbered and who reads
// them is the caller's: the `make dev` stack (local/) and the test recorder (devkit/streamtest).
package dynamostream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Item is a DynamoDB item in wire JSON: attribute name → {"S": ...}-style value.
type Item map[string]json.RawMessage

// KeySchema names a table's key attributes; Range is empty for a table with a hash key only.
type KeySchema struct {
	Hash, Range string
}

// Key is the key of it: the key attributes it has.
func (k KeySchema) Key(it Item) Item {
	key := Item{}
	for _, a := range []string{k.Hash, k.Range} {
		if v, ok := it[a]; ok && a != "" {
			key[a] = v
		}
	}
	return key
}

// fullKey is the key of it, or an error when it lacks a key attribute.
func (k KeySchema) fullKey(it Item) (Item, error) {
	key := Item{}
	for _, a := range []string{k.Hash, k.Range} {
		if a == "" {
			continue
		}
		v, ok := it[a]
		if !ok {
			return nil, fmt.Errorf("key attribute %s missing", a)
		}
		key[a] = v
	}
	return key, nil
}

// Target is one item a write touches.
type Target struct {
	Table string
	Key   Item
}

// Op is the operation an SDK request asks for: PutItem for "DynamoDB_20120810.PutItem".
func Op(r *http.Request) string {
	target := r.Header.Get("X-Amz-Target")
	return target[strings.LastIndex(target, ".")+1:]
}

// IsWrite reports whether op (an X-Amz-Target operation name) writes items.
func IsWrite(op string) bool {
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems":
		return true
	}
	return false
}

// Targets lists the items a write request touches, in request order (BatchWriteItem: tables
// by name); ConditionChecks touch none. keys gives each table's key schema; a table it does
// not know, or an item without its key attributes, is an error.
func Targets(op string, body []byte, keys func(table string) (KeySchema, bool)) ([]Target, error) {
	type keyed struct {
		TableName string `json:"TableName"`
		Item      Item   `json:"Item"`
		Key       Item   `json:"Key"`
	}
	target := func(table string, k *keyed) (Target, error) {
		schema, ok := keys(table)
		if !ok {
			return Target{}, fmt.Errorf("unknown table %q", table)
		}
		src := k.Key
		if src == nil {
			src = k.Item
		}
		key, err := schema.fullKey(src)
		return Target{Table: table, Key: key}, err
	}
	var out []Target
	add := func(table string, k *keyed) error {
		if k == nil {
			return nil
		}
		t, err := target(table, k)
		if err != nil {
			return err
		}
		out = append(out, t)
		return nil
	}
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem":
		var k keyed
		if err := json.Unmarshal(body, &k); err != nil {
			return nil, err
		}
		if err := add(k.TableName, &k); err != nil {
			return nil, err
		}
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
		for _, table := range slices.Sorted(maps.Keys(in.RequestItems)) {
			for _, req := range in.RequestItems[table] {
				k := req.PutRequest
				if k == nil {
					k = req.DeleteRequest
				}
				if err := add(table, k); err != nil {
					return nil, err
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
					if err := add(k.TableName, k); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return out, nil
}

// unprocessed lists the items a BatchWriteItem response left unprocessed, as "table|key".
func unprocessed(resp []byte, keys func(table string) (KeySchema, bool)) map[string]bool {
	var in struct {
		UnprocessedItems map[string][]struct {
			PutRequest    *struct{ Item Item }
			DeleteRequest *struct{ Key Item }
		}
	}
	_ = json.Unmarshal(resp, &in) // a response it cannot read left nothing unprocessed
	skip := map[string]bool{}
	for table, reqs := range in.UnprocessedItems {
		schema, ok := keys(table)
		for _, r := range reqs {
			var src Item
			if r.PutRequest != nil {
				src = r.PutRequest.Item
			} else if r.DeleteRequest != nil {
				src = r.DeleteRequest.Key
			}
			if ok && src != nil {
				skip[table+"|"+Canonical(schema.Key(src))] = true
			}
		}
	}
	return skip
}

// Change is one item's change by a write: its images before (Old) and after (New), nil where
// the item did not exist, and the time of the write.
type Change struct {
	Target
	Old, New Item
	At       time.Time
}

// EventName is the stream event the change makes: INSERT, MODIFY or REMOVE, or "" when
// nothing changed (an identical Put, a Delete of a missing item), which DynamoDB does not record.
func (c Change) EventName() string {
	switch {
	case c.Old == nil && c.New == nil:
		return ""
	case c.Old == nil:
		return "INSERT"
	case c.New == nil:
		return "REMOVE"
	case Canonical(c.Old) == Canonical(c.New):
		return ""
	default:
		return "MODIFY"
	}
}

// Record is the change as DynamoDB Streams delivers it to Lambda from a stream with the given
// region, ARN and view type; the stream fills in EventID, SequenceNumber, SizeBytes and
// UserIdentity. An image attribute that is not valid wire JSON is left out and reported in the
// error; keys that are not make the error's record the zero record.
func (c Change) Record(region, streamARN, viewType string) (events.DynamoDBEventRecord, error) {
	keys, err := Image(c.Key)
	if err != nil {
		return events.DynamoDBEventRecord{}, fmt.Errorf("keys of %s: %w", c.Table, err)
	}
	rec := events.DynamoDBEventRecord{
		AWSRegion:      region,
		EventName:      c.EventName(),
		EventSource:    "aws:dynamodb",
		EventVersion:   "1.1",
		EventSourceArn: streamARN,
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: c.At.Truncate(time.Second)},
			StreamViewType:              viewType,
			Keys:                        keys,
		},
	}
	var errs []error
	if viewType == "NEW_IMAGE" || viewType == "NEW_AND_OLD_IMAGES" {
		if rec.Change.NewImage, err = Image(c.New); err != nil {
			errs = append(errs, fmt.Errorf("new image of %s: %w", Canonical(c.Key), err))
		}
	}
	if viewType == "OLD_IMAGE" || viewType == "NEW_AND_OLD_IMAGES" {
		if rec.Change.OldImage, err = Image(c.Old); err != nil {
			errs = append(errs, fmt.Errorf("old image of %s: %w", Canonical(c.Key), err))
		}
	}
	if len(errs) > 0 {
		return rec, errors.Join(errs...)
	}
	return rec, nil
}

// Image converts wire JSON into the Lambda event's attribute values; both use the {"S": ...}
// shape (S, N, B, SS, NS, BS, L, M, NULL, BOOL), with numbers as strings and binaries as
// base64. An attribute it cannot convert is left out and the first such is the error.
func Image(it Item) (map[string]events.DynamoDBAttributeValue, error) {
	if it == nil {
		return nil, nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(it))
	var firstErr error
	for _, k := range slices.Sorted(maps.Keys(it)) {
		var av events.DynamoDBAttributeValue
		if err := json.Unmarshal(it[k], &av); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("attribute %s (%.60s): %w", k, it[k], err)
			}
			continue
		}
		out[k] = av
	}
	return out, firstErr
}

// Canonical is a stable string for an item: attributes sorted by name, values compacted.
func Canonical(it Item) string {
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

// Write is one successful write request: every item it touched, in request order, and the
// changes of those that changed.
type Write struct {
	Op      string
	Targets []Target
	Changes []Change
}

// Stream runs DynamoDB requests on Inner and turns each successful write into its changes.
type Stream struct {
	// Inner is the DynamoDB endpoint, minidyn's server.
	Inner http.Handler
	// Keys gives a table's key schema; a write to a table it does not know is passed through
	// unrecorded, as is one it cannot parse, so Inner answers the error DynamoDB would.
	Keys func(table string) (KeySchema, bool)
	// Clock is the time of a write (time.Now when nil).
	Clock func() time.Time
	// ReadFailed, when set, hears of an item that could not be read around a write; it counts
	// as absent.
	ReadFailed func(t Target, err error)

	mu sync.Mutex // one write at a time, so old image → write → new image is atomic
}

// Lock holds back writes, so that a caller's own read–write–read (TTL expiry, say) is atomic too.
func (s *Stream) Lock() { s.mu.Lock() }

// Unlock lets writes go on.
func (s *Stream) Unlock() { s.mu.Unlock() }

// Call runs one operation on Inner in-process and returns its answer as is.
func (s *Stream) Call(op string, body []byte) (int, http.Header, []byte) {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := httptest.NewRecorder()
	s.Inner.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

// Get reads an item with a consistent read; nil when it is absent or could not be read
// (reported to ReadFailed).
func (s *Stream) Get(t Target) Item {
	it, err := s.get(t)
	if err != nil {
		if s.ReadFailed != nil {
			s.ReadFailed(t, err)
		}
		return nil
	}
	return it
}

func (s *Stream) get(t Target) (Item, error) {
	b, err := json.Marshal(map[string]any{"TableName": t.Table, "Key": t.Key, "ConsistentRead": true})
	if err != nil {
		return nil, err
	}
	status, _, resp := s.Call("GetItem", b)
	if status != http.StatusOK {
		return nil, fmt.Errorf("GetItem: %d %s", status, bytes.TrimSpace(resp))
	}
	var out struct {
		Item Item `json:"Item"`
	}
	if err := json.Unmarshal(resp, &out); err != nil {
		return nil, err
	}
	return out.Item, nil
}

// Write runs a write operation on Inner, reading each item it touches before and after, and
// when it succeeds hands emit the write, before the next write starts, so that records
// emitted in turn are in write order. Inner's answer, errors included, is returned as is.
// Items a BatchWriteItem leaves unprocessed are touched but not changed.
func (s *Stream) Write(op string, body []byte, emit func(Write)) (int, http.Header, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	targets, err := Targets(op, body, s.Keys)
	if err != nil {
		return s.Call(op, body)
	}
	olds := make([]Item, len(targets))
	for i, t := range targets {
		olds[i] = s.Get(t)
	}
	status, hdr, out := s.Call(op, body)
	if status != http.StatusOK {
		return status, hdr, out
	}
	at := time.Now()
	if s.Clock != nil {
		at = s.Clock()
	}
	var skip map[string]bool
	if op == "BatchWriteItem" {
		skip = unprocessed(out, s.Keys)
	}
	w := Write{Op: op, Targets: targets}
	for i, t := range targets {
		if skip[t.Table+"|"+Canonical(t.Key)] {
			continue
		}
		if c := (Change{Target: t, Old: olds[i], New: s.Get(t), At: at}); c.EventName() != "" {
			w.Changes = append(w.Changes, c)
		}
	}
	emit(w)
	return status, hdr, out
}
