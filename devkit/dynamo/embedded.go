package dynamo

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/devlog"
	"github.com/referral/referrals/devkit/dynamostream"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/truora/minidyn/server"
)

// item is a DynamoDB item in wire JSON: attribute name → {"S": ...}-style value.
type item = dynamostream.Item

// Embedded is the engine `make dev` runs without Java: minidyn's DynamoDB server in process,
// with what minidyn lacks added in front of it so the functions and the AWS CLI see
// DynamoDB's behaviour: every successful write yields INSERT/MODIFY/REMOVE records on the
// table's stream, served by the DynamoDB Streams API (ListStreams, DescribeStream,
// GetShardIterator, GetRecords) on the same endpoint; DescribeTable answers TableStatus,
// StreamSpecification and LatestStreamArn; DescribeTimeToLive and UpdateTimeToLive work;
// Select COUNT counts. It keeps its items in memory: the stack saves them on a clean stop.
type Embedded struct {
	stream *dynamostream.Stream // minidyn behind it; one write at a time
	sink   *devlog.Sink
	now    func() time.Time

	mu      sync.Mutex
	tables  map[string]*tableInfo // by table name
	seq     uint64
	created time.Time
}

type tableInfo struct {
	name      string
	keys      dynamostream.KeySchema
	viewType  string
	ttlAttr   string
	createdAt time.Time
	shard     *shard // nil without a stream
}

// NewEmbedded returns an empty embedded engine.
func NewEmbedded(sink *devlog.Sink) *Embedded {
	d := &Embedded{sink: sink, now: time.Now, tables: map[string]*tableInfo{}, created: time.Now()}
	d.stream = &dynamostream.Stream{
		Inner: server.NewServer(),
		Keys:  d.keySchema,
		Clock: func() time.Time { return d.now() },
		ReadFailed: func(t dynamostream.Target, err error) {
			d.sink.Printf("dynamodb", "stream: read %s %s: %v", t.Table, dynamostream.Canonical(t.Key), err)
		},
	}
	return d
}

// Name says which engine this is, for the banner.
func (d *Embedded) Name() string {
	return "embedded engine (minidyn, in memory; saved to state.json on a clean stop)"
}

func (d *Embedded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
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
	case strings.HasPrefix(target, "DynamoDBStreams_"):
		status, out = d.streamsAPI(op, body)
	case op == "ListTables":
		status, out = d.listTables()
	case op == "CreateTable":
		status, hdr, out = d.createTable(body)
	case op == "DescribeTable":
		status, hdr, out = d.describeTable(body)
	case op == "DescribeTimeToLive", op == "UpdateTimeToLive":
		status, out = d.timeToLive(op, body)
	case op == "Scan" || op == "Query":
		status, hdr, out = d.read(op, body)
	case dynamostream.IsWrite(op):
		status, hdr, out = d.write(op, body)
	default:
		status, hdr, out = d.stream.Call(op, body)
	}
	for k, vs := range hdr {
		w.Header()[k] = vs
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	}
	// DynamoDB signs every body with a CRC32 the SDK checks; without it the SDK logs a
	// checksum warning on every call.
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(out)), 10))
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func apiError(status int, typ, msg string) (int, []byte) {
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + typ, "message": msg})
	return status, b
}

func (d *Embedded) callJSON(op string, in any, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	status, _, resp := d.stream.Call(op, b)
	if status != http.StatusOK {
		return fmt.Errorf("%s: %d %s", op, status, bytes.TrimSpace(resp))
	}
	if out != nil {
		return json.Unmarshal(resp, out)
	}
	return nil
}

// createTable creates the table in minidyn (which has no streams) and opens its stream.
func (d *Embedded) createTable(body []byte) (int, http.Header, []byte) {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		s, b := apiError(400, "SerializationException", err.Error())
		return s, nil, b
	}
	spec, _ := in["StreamSpecification"].(map[string]any)
	delete(in, "StreamSpecification")
	b, _ := json.Marshal(in)
	status, hdr, out := d.stream.Call("CreateTable", b)
	if status != http.StatusOK {
		return status, hdr, out
	}
	name, _ := in["TableName"].(string)
	info := &tableInfo{name: name, createdAt: d.now()}
	for _, k := range asList(in["KeySchema"]) {
		km, _ := k.(map[string]any)
		a, _ := km["AttributeName"].(string)
		switch km["KeyType"] {
		case "HASH":
			info.keys.Hash = a
		case "RANGE":
			info.keys.Range = a
		}
	}
	if enabled, _ := spec["StreamEnabled"].(bool); enabled {
		info.viewType, _ = spec["StreamViewType"].(string)
		label := info.createdAt.UTC().Format("2006-01-02T15:04:05.000")
		arn := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s/stream/%s", samtemplate.LocalRegion, samtemplate.LocalAccountID, name, label)
		info.shard = newShard(arn, label, info.createdAt)
	}
	d.mu.Lock()
	d.tables[name] = info
	d.mu.Unlock()
	_, desc := d.describe(name)
	b, _ = json.Marshal(map[string]any{"TableDescription": desc})
	return http.StatusOK, nil, b
}

// describe is minidyn's description of a table with what DynamoDB adds.
func (d *Embedded) describe(name string) (int, map[string]any) {
	var out struct {
		Table map[string]any `json:"Table"`
	}
	if err := d.callJSON("DescribeTable", map[string]string{"TableName": name}, &out); err != nil || out.Table == nil {
		return http.StatusBadRequest, nil
	}
	t := out.Table
	info := d.table(name)
	t["TableStatus"] = "ACTIVE"
	t["TableArn"] = fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", samtemplate.LocalRegion, samtemplate.LocalAccountID, name)
	t["BillingModeSummary"] = map[string]any{"BillingMode": "PAY_PER_REQUEST"}
	if info != nil {
		t["CreationDateTime"] = float64(info.createdAt.UnixMilli()) / 1000
		if info.shard != nil {
			t["StreamSpecification"] = map[string]any{"StreamEnabled": true, "StreamViewType": info.viewType}
			t["LatestStreamArn"] = info.shard.arn
			t["LatestStreamLabel"] = info.shard.label
		}
	}
	for _, g := range asList(t["GlobalSecondaryIndexes"]) {
		if gm, ok := g.(map[string]any); ok {
			gm["IndexStatus"] = "ACTIVE"
		}
	}
	return http.StatusOK, t
}

func (d *Embedded) describeTable(body []byte) (int, http.Header, []byte) {
	var in struct{ TableName string }
	_ = json.Unmarshal(body, &in)
	if d.table(in.TableName) == nil {
		s, b := apiError(400, "ResourceNotFoundException", "Requested resource not found: Table: "+in.TableName+" not found")
		return s, nil, b
	}
	status, t := d.describe(in.TableName)
	if t == nil {
		return d.stream.Call("DescribeTable", body)
	}
	b, _ := json.Marshal(map[string]any{"Table": t})
	return status, nil, b
}

func (d *Embedded) timeToLive(op string, body []byte) (int, []byte) {
	var in struct {
		TableName               string
		TimeToLiveSpecification struct {
			AttributeName string
			Enabled       bool
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return apiError(400, "SerializationException", err.Error())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	info := d.tables[in.TableName]
	if info == nil {
		return apiError(400, "ResourceNotFoundException", "Requested resource not found: Table: "+in.TableName+" not found")
	}
	if op == "UpdateTimeToLive" {
		spec := in.TimeToLiveSpecification
		if spec.Enabled == (info.ttlAttr != "") {
			return apiError(400, "ValidationException", "TimeToLive is already "+map[bool]string{true: "enabled", false: "disabled"}[spec.Enabled])
		}
		info.ttlAttr = ""
		if spec.Enabled {
			info.ttlAttr = spec.AttributeName
		}
		b, _ := json.Marshal(map[string]any{"TimeToLiveSpecification": spec})
		return http.StatusOK, b
	}
	desc := map[string]any{"TimeToLiveStatus": "DISABLED"}
	if info.ttlAttr != "" {
		desc = map[string]any{"TimeToLiveStatus": "ENABLED", "AttributeName": info.ttlAttr}
	}
	b, _ := json.Marshal(map[string]any{"TimeToLiveDescription": desc})
	return http.StatusOK, b
}

// read runs a Scan or Query; Select COUNT answers the counts without the items, as DynamoDB does.
func (d *Embedded) read(op string, body []byte) (int, http.Header, []byte) {
	var in map[string]any
	if json.Unmarshal(body, &in) != nil || in["Select"] != "COUNT" {
		return d.stream.Call(op, body)
	}
	delete(in, "Select")
	b, _ := json.Marshal(in)
	status, hdr, out := d.stream.Call(op, b)
	if status != http.StatusOK {
		return status, hdr, out
	}
	var resp map[string]json.RawMessage
	if json.Unmarshal(out, &resp) == nil {
		delete(resp, "Items")
		out, _ = json.Marshal(resp)
	}
	return status, hdr, out
}

func (d *Embedded) table(name string) *tableInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tables[name]
}

// keySchema is a table's key schema, for the stream to find the items a write touches.
func (d *Embedded) keySchema(table string) (dynamostream.KeySchema, bool) {
	info := d.table(table)
	if info == nil {
		return dynamostream.KeySchema{}, false
	}
	return info.keys, true
}

func (d *Embedded) listTables() (int, []byte) {
	d.mu.Lock()
	names := make([]string, 0, len(d.tables))
	for n := range d.tables {
		names = append(names, n)
	}
	d.mu.Unlock()
	sort.Strings(names)
	b, _ := json.Marshal(map[string]any{"TableNames": names})
	return http.StatusOK, b
}

// write forwards a write to minidyn through the stream and appends one stream record per
// item that changed. Like DynamoDB, one batch may not touch an item twice.
func (d *Embedded) write(op string, body []byte) (int, http.Header, []byte) {
	if op == "BatchWriteItem" {
		// A batch the stream cannot parse goes on to minidyn, which answers its error.
		targets, _ := dynamostream.Targets(op, body, d.keySchema)
		seen := map[string]bool{}
		for _, t := range targets {
			k := t.Table + "|" + dynamostream.Canonical(t.Key)
			if seen[k] {
				s, b := apiError(400, "ValidationException", "Provided list of item keys contains duplicates")
				return s, nil, b
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

// record appends the stream record of one item's change, if it is a change and the table
// has a stream.
func (d *Embedded) record(c dynamostream.Change, who *events.DynamoDBUserIdentity) {
	info := d.table(c.Table)
	if info == nil || info.shard == nil || c.EventName() == "" {
		return
	}
	rec, err := c.Record(samtemplate.LocalRegion, info.shard.arn, info.viewType)
	if err != nil {
		d.sink.Printf("dynamodb", "stream: %v", err)
		if rec.EventName == "" { // the keys could not be converted: no record to deliver
			return
		}
	}
	rec.EventID = randomHex(32)
	rec.UserIdentity = who
	rec.Change.SizeBytes = int64(itemSize(c.Key) + itemSize(c.New) + itemSize(c.Old))
	rec.EventSourceArn = "" // GetRecords does not carry it; the event source mapping adds it

	d.mu.Lock()
	d.seq++
	// Real sequence numbers are 21+ digit decimals; compare them as numbers, not strings.
	rec.Change.SequenceNumber = fmt.Sprintf("%021d", uint64(d.created.Unix())*1_000_000_000+d.seq)
	d.mu.Unlock()
	info.shard.append(rec, c.At)
}

// itemSize approximates DynamoDB's item size: attribute names plus value bytes.
func itemSize(it item) int {
	n := 0
	for k, v := range it {
		n += len(k) + len(v)
	}
	return n
}

// Sweep deletes the items of table whose TTL attribute (epoch seconds) is before now, as
// DynamoDB's TTL does: each deletion is a REMOVE record by the DynamoDB service.
func (d *Embedded) Sweep(table, attr string, now time.Time) (int, error) {
	info := d.table(table)
	if info == nil {
		return 0, fmt.Errorf("unknown table %q", table)
	}
	items, err := d.ScanAll(table)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range items {
		exp, ok := epochSeconds(it[attr])
		if !ok || exp > float64(now.Unix()) {
			continue
		}
		t := dynamostream.Target{Table: table, Key: info.keys.Key(it)}
		d.stream.Lock()
		old := d.stream.Get(t)
		if cur, ok := epochSeconds(old[attr]); ok && cur == exp { // not rewritten meanwhile
			if err := d.callJSON("DeleteItem", map[string]any{"TableName": table, "Key": t.Key}, nil); err == nil {
				d.record(dynamostream.Change{Target: t, Old: old, At: now}, &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"})
				n++
			}
		}
		d.stream.Unlock()
	}
	return n, nil
}

// epochSeconds reads a TTL attribute: a number of seconds since the epoch, greater than 0.
func epochSeconds(raw json.RawMessage) (float64, bool) {
	var v struct{ N string }
	if raw == nil || json.Unmarshal(raw, &v) != nil || v.N == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v.N, 64)
	return f, err == nil && f > 0
}

// ScanAll reads every item of a table, page by page.
func (d *Embedded) ScanAll(table string) ([]item, error) {
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
func (d *Embedded) putRaw(table string, it item) error {
	return d.callJSON("PutItem", map[string]any{"TableName": table, "Item": it}, nil)
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// --- the stream ------------------------------------------------------------------------------

// retention is how long a stream keeps its records, as DynamoDB Streams does.
const retention = 24 * time.Hour

// shard is a table's stream: one shard, an ordered log that drops records after retention.
type shard struct {
	arn, label, id string

	mu      sync.Mutex
	records []events.DynamoDBEventRecord
	at      []time.Time
	base    int // absolute position of records[0]
}

func newShard(arn, label string, created time.Time) *shard {
	return &shard{arn: arn, label: label, id: fmt.Sprintf("shardId-%020d-%s", created.UnixMilli(), randomHex(8))}
}

func (s *shard) append(r events.DynamoDBEventRecord, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, r)
	s.at = append(s.at, at)
	drop := 0
	for drop < len(s.at) && time.Since(s.at[drop]) > retention {
		drop++
	}
	if drop > 0 {
		s.records = append([]events.DynamoDBEventRecord(nil), s.records[drop:]...)
		s.at = append([]time.Time(nil), s.at[drop:]...)
		s.base += drop
	}
}

// Records returns the records from absolute position pos on (at most n), and the position after them.
func (s *shard) read(pos, n int) ([]events.DynamoDBEventRecord, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := max(pos-s.base, 0)
	if i > len(s.records) {
		i = len(s.records)
	}
	end := min(i+n, len(s.records))
	return append([]events.DynamoDBEventRecord(nil), s.records[i:end]...), s.base + end
}

// positionAfter is the position after the record with sequence number seq.
func (s *shard) positionAfter(seq string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.records {
		if r.Change.SequenceNumber == seq {
			return s.base + i + 1, true
		}
		if len(r.Change.SequenceNumber) == len(seq) && r.Change.SequenceNumber > seq {
			return s.base + i, true
		}
	}
	if len(s.records) > 0 && len(seq) == len(s.records[0].Change.SequenceNumber) && seq < s.records[0].Change.SequenceNumber {
		return 0, false // trimmed
	}
	return s.base + len(s.records), true
}

func (s *shard) end() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base + len(s.records)
}

func (d *Embedded) streamByARN(arn string) (*tableInfo, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range d.tables {
		if t.shard != nil && t.shard.arn == arn {
			return t, true
		}
	}
	return nil, false
}

// streamsAPI answers the DynamoDB Streams operations the event source mapping and the AWS CLI use.
func (d *Embedded) streamsAPI(op string, body []byte) (int, []byte) {
	var in struct {
		StreamArn         string
		TableName         string
		ShardId           string
		ShardIteratorType string
		SequenceNumber    string
		ShardIterator     string
		Limit             int
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return apiError(400, "SerializationException", err.Error())
	}
	notFound := func() (int, []byte) {
		return apiError(400, "ResourceNotFoundException", "Requested resource not found: Stream: "+in.StreamArn+" not found")
	}
	reply := func(v any) (int, []byte) {
		b, _ := json.Marshal(v)
		return http.StatusOK, b
	}
	switch op {
	case "ListStreams":
		d.mu.Lock()
		streams := []map[string]string{}
		for _, name := range slices.Sorted(maps.Keys(d.tables)) {
			t := d.tables[name]
			if t.shard != nil && (in.TableName == "" || in.TableName == name) {
				streams = append(streams, map[string]string{"StreamArn": t.shard.arn, "TableName": name, "StreamLabel": t.shard.label})
			}
		}
		d.mu.Unlock()
		return reply(map[string]any{"Streams": streams})
	case "DescribeStream":
		t, ok := d.streamByARN(in.StreamArn)
		if !ok {
			return notFound()
		}
		keys := []map[string]string{{"AttributeName": t.keys.Hash, "KeyType": "HASH"}}
		if t.keys.Range != "" {
			keys = append(keys, map[string]string{"AttributeName": t.keys.Range, "KeyType": "RANGE"})
		}
		return reply(map[string]any{"StreamDescription": map[string]any{
			"StreamArn": t.shard.arn, "StreamLabel": t.shard.label, "StreamStatus": "ENABLED",
			"StreamViewType": t.viewType, "TableName": t.name, "KeySchema": keys,
			"CreationRequestDateTime": float64(t.createdAt.UnixMilli()) / 1000,
			"Shards": []map[string]any{{"ShardId": t.shard.id,
				"SequenceNumberRange": map[string]string{"StartingSequenceNumber": fmt.Sprintf("%021d", uint64(d.created.Unix())*1_000_000_000)}}},
		}})
	case "GetShardIterator":
		t, ok := d.streamByARN(in.StreamArn)
		if !ok {
			return notFound()
		}
		if in.ShardId != t.shard.id {
			return apiError(400, "ResourceNotFoundException", "Requested resource not found: Shard: "+in.ShardId+" not found")
		}
		var pos int
		switch in.ShardIteratorType {
		case "TRIM_HORIZON":
			pos = 0
		case "LATEST":
			pos = t.shard.end()
		case "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER":
			p, ok := t.shard.positionAfter(in.SequenceNumber)
			if !ok {
				return apiError(400, "TrimmedDataAccessException", "sequence number "+in.SequenceNumber+" is beyond the trim horizon")
			}
			if in.ShardIteratorType == "AT_SEQUENCE_NUMBER" && p > 0 {
				p--
			}
			pos = p
		default:
			return apiError(400, "ValidationException", "invalid ShardIteratorType "+in.ShardIteratorType)
		}
		return reply(map[string]string{"ShardIterator": encodeIterator(t.shard.arn, pos)})
	case "GetRecords":
		arn, pos, ok := decodeIterator(in.ShardIterator)
		if !ok {
			return apiError(400, "ValidationException", "invalid ShardIterator")
		}
		t, ok := d.streamByARN(arn)
		if !ok {
			return apiError(400, "ExpiredIteratorException", "the iterator's stream no longer exists")
		}
		limit := in.Limit
		if limit <= 0 || limit > 1000 {
			limit = 1000
		}
		recs, next := t.shard.read(pos, limit)
		if recs == nil {
			recs = []events.DynamoDBEventRecord{}
		}
		return reply(map[string]any{"Records": recs, "NextShardIterator": encodeIterator(arn, next)})
	}
	return apiError(400, "UnknownOperationException", "the embedded engine does not serve DynamoDB Streams "+op)
}

func encodeIterator(arn string, pos int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(arn + "|" + strconv.Itoa(pos)))
}

func decodeIterator(it string) (string, int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(it)
	if err != nil {
		return "", 0, false
	}
	arn, p, ok := strings.Cut(string(b), "|")
	pos, err := strconv.Atoi(p)
	return arn, pos, ok && err == nil && pos >= 0
}
