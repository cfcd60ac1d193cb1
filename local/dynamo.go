package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/dynamostream"
	"github.com/truora/minidyn/server"
)

// item is a DynamoDB item in wire JSON: attribute name → {"S": ...}-style value.
type item = dynamostream.Item

// dynamo is minidyn's DynamoDB server with a DynamoDB Stream in front of it: every
// successful write yields INSERT/MODIFY/REMOVE records, in order, on the table's shard.
type dynamo struct {
	stream *dynamostream.Stream // minidyn behind it; one write at a time
	sink   *logSink
	now    func() time.Time

	mu      sync.Mutex
	tables  map[string]*tableInfo // by table name
	seq     uint64
	created time.Time
}

type tableInfo struct {
	name     string
	keys     dynamostream.KeySchema
	viewType string
	shard    *shard // nil without a stream
}

func newDynamo(sink *logSink) *dynamo {
	d := &dynamo{sink: sink, now: time.Now, tables: map[string]*tableInfo{}, created: time.Now()}
	d.stream = &dynamostream.Stream{
		Inner: server.NewServer(),
		Keys:  d.keySchema,
		Clock: func() time.Time { return d.now() },
		ReadFailed: func(t dynamostream.Target, err error) {
			d.sink.printf("dynamodb", "stream: read %s %s: %v", t.Table, canonical(t.Key), err)
		},
	}
	return d
}

func (d *dynamo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := dynamostream.Op(r)
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var status int
	var hdr http.Header
	var out []byte
	switch {
	case op == "ListTables":
		status, hdr, out = d.listTables()
	case dynamostream.IsWrite(op):
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
	return d.stream.Call(op, body)
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
			info.keys.Hash = scalarString(km["AttributeName"])
		case "RANGE":
			info.keys.Range = scalarString(km["AttributeName"])
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

// keySchema is a table's key schema, for the stream to find the items a write touches.
func (d *dynamo) keySchema(table string) (dynamostream.KeySchema, bool) {
	info := d.table(table)
	if info == nil {
		return dynamostream.KeySchema{}, false
	}
	return info.keys, true
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

// write forwards a write to minidyn through the stream and appends one stream record per
// item that changed. Like DynamoDB, one batch may not touch an item twice.
func (d *dynamo) write(op string, body []byte) (int, http.Header, []byte) {
	if op == "BatchWriteItem" {
		// A batch the stream cannot parse goes on to minidyn, which answers its error.
		targets, _ := dynamostream.Targets(op, body, d.keySchema)
		seen := map[string]bool{}
		for _, t := range targets {
			k := t.Table + "|" + canonical(t.Key)
			if seen[k] {
				b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#ValidationException",
					"message": "Provided list of item keys contains duplicates"})
				return http.StatusBadRequest, http.Header{"Content-Type": {"application/x-amz-json-1.0"}}, b
			}
			seen[k] = true
		}
	}
	return d.stream.Write(op, body, func(w dynamostream.Write) {
		for _, c := range w.Changes {
			d.record(c, nil)
		}
	})
}

func keyOfItem(info *tableInfo, src item) item {
	return info.keys.Key(src)
}

// record appends the stream record of one item's change, if it is a change and the table
// has a stream.
func (d *dynamo) record(c dynamostream.Change, who *events.DynamoDBUserIdentity) {
	info := d.table(c.Table)
	if info == nil || info.shard == nil || c.EventName() == "" {
		return
	}
	rec, err := c.Record(localRegion, info.shard.arn, info.viewType)
	if err != nil {
		d.sink.printf("dynamodb", "stream: %v", err)
		if rec.EventName == "" { // the keys could not be converted: no record to deliver
			return
		}
	}
	rec.EventID = randomHex(32)
	rec.UserIdentity = who
	rec.Change.SizeBytes = int64(itemSize(c.Key) + itemSize(c.New) + itemSize(c.Old))

	d.mu.Lock()
	d.seq++
	// Real sequence numbers are 21+ digit decimals; compare them as numbers, not strings.
	rec.Change.SequenceNumber = fmt.Sprintf("%021d", uint64(d.created.Unix())*1_000_000_000+d.seq)
	d.mu.Unlock()
	info.shard.append(streamRecord{rec: rec, at: c.At, key: canonical(c.Key)})
}

// itemSize approximates DynamoDB's item size: attribute names plus value bytes.
func itemSize(it item) int {
	n := 0
	for k, v := range it {
		n += len(k) + len(v)
	}
	return n
}

// canonical is a stable string for an item.
func canonical(it item) string { return dynamostream.Canonical(it) }

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
		t := dynamostream.Target{Table: table, Key: keyOfItem(info, it)}
		d.stream.Lock()
		old := d.stream.Get(t)
		var cur struct{ N string }
		if old != nil && json.Unmarshal(old[attr], &cur) == nil && cur.N == v.N { // not rewritten meanwhile
			if err := d.callJSON("DeleteItem", map[string]any{"TableName": table, "Key": t.Key}, nil); err == nil {
				d.record(dynamostream.Change{Target: t, Old: old, At: now}, &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"})
				n++
			}
		}
		d.stream.Unlock()
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
