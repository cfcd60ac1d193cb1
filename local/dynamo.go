package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/truora/minidyn/server"
)

// item is a DynamoDB item in wire JSON: attribute name → {"S": ...}-style value.
type item map[string]json.RawMessage

// dynamo is minidyn's DynamoDB server with a DynamoDB Stream in front of it: every
// successful write yields INSERT/MODIFY/REMOVE records, in order, on the table's shard.
type dynamo struct {
	inner *server.Server
	sink  *logSink
	now   func() time.Time

	writeMu sync.Mutex // one write at a time, so old image → write → new image is atomic

	mu      sync.Mutex
	tables  map[string]*tableInfo // by table name
	seq     uint64
	created time.Time
}

type tableInfo struct {
	name     string
	hash     string
	rng      string
	viewType string
	shard    *shard // nil without a stream
}

func newDynamo(sink *logSink) *dynamo {
	return &dynamo{inner: server.NewServer(), sink: sink, now: time.Now, tables: map[string]*tableInfo{}, created: time.Now()}
}

func (d *dynamo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var status int
	var hdr http.Header
	var out []byte
	switch op {
	case "ListTables":
		status, hdr, out = d.listTables()
	case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems":
		status, hdr, out = d.write(op, body)
	default:
		status, hdr, out = d.call(op, body)
	}
	for k, vs := range hdr {
		w.Header()[k] = vs
	}
	// DynamoDB signs every body with a CRC32 the SDK checks; without it the SDK logs a
	// checksum warning on every call.
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(out)), 10))
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// call runs one operation on minidyn in-process.
func (d *dynamo) call(op string, body []byte) (int, http.Header, []byte) {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	rec := httptest.NewRecorder()
	d.inner.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

func (d *dynamo) callJSON(op string, in any, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	status, _, resp := d.call(op, b)
	if status != http.StatusOK {
		return fmt.Errorf("%s: %d %s", op, status, bytes.TrimSpace(resp))
	}
	if out != nil {
		return json.Unmarshal(resp, out)
	}
	return nil
}

// CreateTable creates a table from its CloudFormation properties and opens its stream.
func (d *dynamo) CreateTable(td *TableDef) error {
	in := map[string]any{
		"TableName":            td.Name,
		"AttributeDefinitions": td.Props["AttributeDefinitions"],
		"KeySchema":            td.Props["KeySchema"],
		"BillingMode":          "PAY_PER_REQUEST",
	}
	for _, k := range []string{"GlobalSecondaryIndexes", "LocalSecondaryIndexes"} {
		if v, ok := td.Props[k]; ok {
			in[k] = v
		}
	}
	if err := d.callJSON("CreateTable", in, nil); err != nil {
		return fmt.Errorf("create table %s: %w", td.Name, err)
	}
	info := &tableInfo{name: td.Name, viewType: td.ViewType}
	for _, k := range asList(td.Props["KeySchema"]) {
		km := asMap(k)
		switch km["KeyType"] {
		case "HASH":
			info.hash = scalarString(km["AttributeName"])
		case "RANGE":
			info.rng = scalarString(km["AttributeName"])
		}
	}
	if td.ViewType != "" {
		info.shard = newShard(td.Name, td.StreamARN)
	}
	d.mu.Lock()
	d.tables[td.Name] = info
	d.mu.Unlock()
	return nil
}

func (d *dynamo) table(name string) *tableInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tables[name]
}

func (d *dynamo) listTables() (int, http.Header, []byte) {
	d.mu.Lock()
	names := make([]string, 0, len(d.tables))
	for n := range d.tables {
		names = append(names, n)
	}
	d.mu.Unlock()
	sort.Strings(names)
	b, _ := json.Marshal(map[string]any{"TableNames": names})
	return http.StatusOK, http.Header{"Content-Type": {"application/x-amz-json-1.0"}}, b
}

type writeTarget struct {
	table string
	key   item
}

// writeTargets lists the items a write request touches (ConditionChecks touch none).
func writeTargets(op string, body []byte, tables func(string) *tableInfo) ([]writeTarget, error) {
	type keyed struct {
		TableName string `json:"TableName"`
		Item      item   `json:"Item"`
		Key       item   `json:"Key"`
	}
	keyOf := func(table string, k keyed) (writeTarget, error) {
		info := tables(table)
		if info == nil {
			return writeTarget{}, fmt.Errorf("unknown table %q", table)
		}
		src := k.Key
		if src == nil {
			src = k.Item
		}
		key := item{}
		for _, a := range []string{info.hash, info.rng} {
			if a == "" {
				continue
			}
			v, ok := src[a]
			if !ok {
				return writeTarget{}, fmt.Errorf("key attribute %s missing", a)
			}
			key[a] = v
		}
		return writeTarget{table: table, key: key}, nil
	}
	var out []writeTarget
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem":
		var k keyed
		if err := json.Unmarshal(body, &k); err != nil {
			return nil, err
		}
		t, err := keyOf(k.TableName, k)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
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
		names := make([]string, 0, len(in.RequestItems))
		for n := range in.RequestItems {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, table := range names {
			for _, req := range in.RequestItems[table] {
				k := req.PutRequest
				if k == nil {
					k = req.DeleteRequest
				}
				if k == nil {
					continue
				}
				t, err := keyOf(table, *k)
				if err != nil {
					return nil, err
				}
				out = append(out, t)
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
				if k == nil {
					continue
				}
				t, err := keyOf(k.TableName, *k)
				if err != nil {
					return nil, err
				}
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// write forwards a write to minidyn, reading each touched item before and after it, and
// appends one stream record per item that changed.
func (d *dynamo) write(op string, body []byte) (int, http.Header, []byte) {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	targets, err := writeTargets(op, body, d.table)
	if err != nil {
		// Let minidyn produce the validation error DynamoDB would.
		return d.call(op, body)
	}
	if op == "BatchWriteItem" {
		seen := map[string]bool{}
		for _, t := range targets {
			k := t.table + "|" + canonical(t.key)
			if seen[k] {
				b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#ValidationException",
					"message": "Provided list of item keys contains duplicates"})
				return http.StatusBadRequest, http.Header{"Content-Type": {"application/x-amz-json-1.0"}}, b
			}
			seen[k] = true
		}
	}
	olds := make([]item, len(targets))
	for i, t := range targets {
		olds[i] = d.getItem(t)
	}
	status, hdr, out := d.call(op, body)
	if status != http.StatusOK {
		return status, hdr, out
	}
	skip := map[string]bool{}
	if op == "BatchWriteItem" {
		var resp struct {
			UnprocessedItems map[string][]struct {
				PutRequest    *struct{ Item item }
				DeleteRequest *struct{ Key item }
			}
		}
		_ = json.Unmarshal(out, &resp)
		for table, reqs := range resp.UnprocessedItems {
			info := d.table(table)
			for _, r := range reqs {
				src := item(nil)
				if r.PutRequest != nil {
					src = r.PutRequest.Item
				} else if r.DeleteRequest != nil {
					src = r.DeleteRequest.Key
				}
				if info != nil && src != nil {
					skip[table+"|"+canonical(keyOfItem(info, src))] = true
				}
			}
		}
	}
	now := d.now()
	for i, t := range targets {
		if skip[t.table+"|"+canonical(t.key)] {
			continue
		}
		d.record(t, olds[i], d.getItem(t), now, nil)
	}
	return status, hdr, out
}

func keyOfItem(info *tableInfo, src item) item {
	key := item{}
	for _, a := range []string{info.hash, info.rng} {
		if v, ok := src[a]; ok && a != "" {
			key[a] = v
		}
	}
	return key
}

func (d *dynamo) getItem(t writeTarget) item {
	var out struct {
		Item item `json:"Item"`
	}
	if err := d.callJSON("GetItem", map[string]any{"TableName": t.table, "Key": t.key, "ConsistentRead": true}, &out); err != nil {
		d.sink.printf("dynamodb", "stream: read %s %s: %v", t.table, canonical(t.key), err)
		return nil
	}
	return out.Item
}

// record appends the stream record for one item's change. Like DynamoDB, a write that
// changes nothing (an identical Put, a Delete of a missing item) writes no record.
func (d *dynamo) record(t writeTarget, old, new item, at time.Time, who *events.DynamoDBUserIdentity) {
	info := d.table(t.table)
	if info == nil || info.shard == nil {
		return
	}
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
		AWSRegion:      localRegion,
		EventID:        randomHex(32),
		EventName:      name,
		EventSource:    "aws:dynamodb",
		EventVersion:   "1.1",
		EventSourceArn: info.shard.arn,
		UserIdentity:   who,
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: at.Truncate(time.Second)},
			StreamViewType:              info.viewType,
		},
	}
	var err error
	if rec.Change.Keys, err = toStreamImage(t.key); err != nil {
		d.sink.printf("dynamodb", "stream: keys of %s: %v", t.table, err)
		return
	}
	if info.viewType == "NEW_IMAGE" || info.viewType == "NEW_AND_OLD_IMAGES" {
		if rec.Change.NewImage, err = toStreamImage(new); err != nil {
			d.sink.printf("dynamodb", "stream: new image of %s: %v", canonical(t.key), err)
		}
	}
	if info.viewType == "OLD_IMAGE" || info.viewType == "NEW_AND_OLD_IMAGES" {
		if rec.Change.OldImage, err = toStreamImage(old); err != nil {
			d.sink.printf("dynamodb", "stream: old image of %s: %v", canonical(t.key), err)
		}
	}
	rec.Change.SizeBytes = int64(itemSize(t.key) + itemSize(new) + itemSize(old))

	d.mu.Lock()
	d.seq++
	// Real sequence numbers are 21+ digit decimals; compare them as numbers, not strings.
	rec.Change.SequenceNumber = fmt.Sprintf("%021d", uint64(d.created.Unix())*1_000_000_000+d.seq)
	d.mu.Unlock()
	info.shard.append(streamRecord{rec: rec, at: at, key: canonical(t.key)})
}

// toStreamImage converts wire JSON into the Lambda event's attribute values; both use the
// {"S": ...} shape, with N as a string and B as base64.
func toStreamImage(it item) (map[string]events.DynamoDBAttributeValue, error) {
	if it == nil {
		return nil, nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(it))
	var firstErr error
	for k, raw := range it {
		var av events.DynamoDBAttributeValue
		if err := json.Unmarshal(raw, &av); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("attribute %s (%s): %w", k, truncate(raw, 60), err)
			}
			continue
		}
		out[k] = av
	}
	return out, firstErr
}

// itemSize approximates DynamoDB's item size: attribute names plus value bytes.
func itemSize(it item) int {
	n := 0
	for k, v := range it {
		n += len(k) + len(v)
	}
	return n
}

// canonical is a stable string for an item (keys sorted by encoding/json).
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

// expire deletes the items whose TTL attribute (epoch seconds) is in the past, as DynamoDB's
// TTL does: each deletion is a REMOVE record by the DynamoDB service.
func (d *dynamo) expire(table, attr string, now time.Time) (int, error) {
	info := d.table(table)
	if info == nil {
		return 0, fmt.Errorf("unknown table %q", table)
	}
	items, err := d.scanAll(table)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range items {
		var v struct{ N string }
		if raw, ok := it[attr]; !ok || json.Unmarshal(raw, &v) != nil || v.N == "" {
			continue
		}
		exp, err := strconv.ParseFloat(v.N, 64)
		if err != nil || exp <= 0 || exp > float64(now.Unix()) {
			continue
		}
		t := writeTarget{table: table, key: keyOfItem(info, it)}
		d.writeMu.Lock()
		old := d.getItem(t)
		var cur struct{ N string }
		if old != nil && json.Unmarshal(old[attr], &cur) == nil && cur.N == v.N { // not rewritten meanwhile
			if err := d.callJSON("DeleteItem", map[string]any{"TableName": table, "Key": t.key}, nil); err == nil {
				d.record(t, old, nil, now, &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"})
				n++
			}
		}
		d.writeMu.Unlock()
	}
	return n, nil
}

// scanAll reads every item of a table through minidyn, page by page.
func (d *dynamo) scanAll(table string) ([]item, error) {
	var items []item
	var start item
	for {
		in := map[string]any{"TableName": table}
		if start != nil {
			in["ExclusiveStartKey"] = start
		}
		var out struct {
			Items            []item `json:"Items"`
			LastEvaluatedKey item   `json:"LastEvaluatedKey"`
		}
		if err := d.callJSON("Scan", in, &out); err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		start = out.LastEvaluatedKey
	}
}

// putRaw writes an item without producing a stream record (state restore).
func (d *dynamo) putRaw(table string, it item) error {
	return d.callJSON("PutItem", map[string]any{"TableName": table, "Item": it}, nil)
}

// --- the shard -------------------------------------------------------------------------------

type streamRecord struct {
	rec events.DynamoDBEventRecord
	at  time.Time
	key string
}

// shard is a table's stream: one ordered log (so order per item key holds trivially) read
// by cursors. Records every cursor has passed are dropped.
type shard struct {
	table string
	arn   string

	mu      sync.Mutex
	records []streamRecord
	base    int // absolute position of records[0]
	cursors map[*cursor]struct{}
	notify  chan struct{} // closed and replaced on every append
}

func newShard(table, arn string) *shard {
	return &shard{table: table, arn: arn, cursors: map[*cursor]struct{}{}, notify: make(chan struct{})}
}

func (s *shard) append(r streamRecord) {
	s.mu.Lock()
	if len(s.cursors) > 0 {
		s.records = append(s.records, r)
	} else {
		s.base++ // nobody reads this stream: keep nothing
	}
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}

// cursor reads a shard from the position it was opened at (LATEST).
type cursor struct {
	s   *shard
	pos int
}

func (s *shard) open() *cursor {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &cursor{s: s, pos: s.base + len(s.records)}
	s.cursors[c] = struct{}{}
	return c
}

func (c *cursor) close() {
	c.s.mu.Lock()
	delete(c.s.cursors, c)
	c.s.trimLocked()
	c.s.mu.Unlock()
}

// peek returns up to n records from the cursor's position, and a channel closed when more arrive.
func (c *cursor) peek(n int) ([]streamRecord, <-chan struct{}) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	i := c.pos - s.base
	avail := s.records[i:]
	if len(avail) > n {
		avail = avail[:n]
	}
	return append([]streamRecord(nil), avail...), s.notify
}

// advance moves the cursor past n records.
func (c *cursor) advance(n int) {
	s := c.s
	s.mu.Lock()
	c.pos += n
	s.trimLocked()
	s.mu.Unlock()
}

func (s *shard) trimLocked() {
	min := s.base + len(s.records)
	for c := range s.cursors {
		if c.pos < min {
			min = c.pos
		}
	}
	if drop := min - s.base; drop > 0 {
		s.records = append([]streamRecord(nil), s.records[drop:]...)
		s.base = min
	}
}
