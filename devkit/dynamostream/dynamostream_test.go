package dynamostream

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/truora/minidyn/server"
)

// schemas: "main" has PK and SK, "hashonly" only id; any other table is unknown.
func schemas(table string) (KeySchema, bool) {
	switch table {
	case "main":
		return KeySchema{Hash: "PK", Range: "SK"}, true
	case "hashonly":
		return KeySchema{Hash: "id"}, true
	}
	return KeySchema{}, false
}

func TestTargetsListTheKeysEachWriteTouches(t *testing.T) {
	tests := []struct {
		name, op, body string
		want           []string // "table key", key canonical
		wantErr        string
	}{
		{"PutItem reads the key from the item", "PutItem",
			`{"TableName":"main","Item":{"PK":{"S":"a"},"SK":{"S":"1"},"v":{"N":"3"}}}`,
			[]string{`main {"PK":{"S":"a"},"SK":{"S":"1"}}`}, ""},
		{"UpdateItem reads the Key", "UpdateItem",
			`{"TableName":"main","Key":{"PK":{"S":"a"},"SK":{"S":"1"}},"UpdateExpression":"SET v = :v"}`,
			[]string{`main {"PK":{"S":"a"},"SK":{"S":"1"}}`}, ""},
		{"DeleteItem on a hash-only table", "DeleteItem",
			`{"TableName":"hashonly","Key":{"id":{"N":"7"}}}`,
			[]string{`hashonly {"id":{"N":"7"}}`}, ""},
		{"BatchWriteItem: tables by name, requests in order", "BatchWriteItem",
			`{"RequestItems":{"main":[{"PutRequest":{"Item":{"PK":{"S":"b"},"SK":{"S":"2"},"x":{"S":"y"}}}},{"DeleteRequest":{"Key":{"PK":{"S":"a"},"SK":{"S":"1"}}}}],
			  "hashonly":[{"DeleteRequest":{"Key":{"id":{"S":"z"}}}}]}}`,
			[]string{`hashonly {"id":{"S":"z"}}`, `main {"PK":{"S":"b"},"SK":{"S":"2"}}`, `main {"PK":{"S":"a"},"SK":{"S":"1"}}`}, ""},
		{"TransactWriteItems: ConditionChecks touch nothing", "TransactWriteItems",
			`{"TransactItems":[{"Put":{"TableName":"main","Item":{"PK":{"S":"a"},"SK":{"S":"1"}}}},
			  {"ConditionCheck":{"TableName":"main","Key":{"PK":{"S":"c"},"SK":{"S":"3"}}}},
			  {"Update":{"TableName":"hashonly","Key":{"id":{"S":"u"}}}},
			  {"Delete":{"TableName":"main","Key":{"PK":{"S":"d"},"SK":{"S":"4"}}}}]}`,
			[]string{`main {"PK":{"S":"a"},"SK":{"S":"1"}}`, `hashonly {"id":{"S":"u"}}`, `main {"PK":{"S":"d"},"SK":{"S":"4"}}`}, ""},
		{"a read touches nothing", "GetItem", `{"TableName":"main","Key":{"PK":{"S":"a"},"SK":{"S":"1"}}}`, nil, ""},
		{"a missing key attribute is an error", "PutItem", `{"TableName":"main","Item":{"PK":{"S":"a"}}}`, nil, "key attribute SK missing"},
		{"an unknown table is an error", "PutItem", `{"TableName":"other","Item":{"PK":{"S":"a"}}}`, nil, `unknown table "other"`},
		{"an unknown table in a batch is an error", "BatchWriteItem", `{"RequestItems":{"other":[{"DeleteRequest":{"Key":{}}}]}}`, nil, `unknown table "other"`},
		{"a body that is not JSON is an error", "DeleteItem", `{`, nil, "unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			targets, err := Targets(tt.op, []byte(tt.body), schemas)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tg := range targets {
				got = append(got, tg.Table+" "+Canonical(tg.Key))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("targets = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEventNameClassifiesAChangeAndNothingChangedIsNoRecord(t *testing.T) {
	a := Item{"PK": json.RawMessage(`{"S":"a"}`), "n": json.RawMessage(`{"N":"1"}`)}
	aSpaced := Item{"n": json.RawMessage(`{ "N" : "1" }`), "PK": json.RawMessage(`{"S": "a"}`)}
	b := Item{"PK": json.RawMessage(`{"S":"a"}`), "n": json.RawMessage(`{"N":"2"}`)}
	tests := []struct {
		name     string
		old, new Item
		want     string
	}{
		{"a new item is an INSERT", nil, a, "INSERT"},
		{"a deleted item is a REMOVE", a, nil, "REMOVE"},
		{"a changed item is a MODIFY", a, b, "MODIFY"},
		{"an identical put is nothing", a, aSpaced, ""},
		{"deleting a missing item is nothing", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Change{Old: tt.old, New: tt.new}).EventName(); got != tt.want {
				t.Errorf("EventName = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestImageConvertsEveryAttributeType(t *testing.T) {
	tests := []struct {
		wire string
		want events.DynamoDBAttributeValue
	}{
		{`{"S":"hi"}`, events.NewStringAttribute("hi")},
		{`{"N":"12.5"}`, events.NewNumberAttribute("12.5")},
		{`{"B":"AQI="}`, events.NewBinaryAttribute([]byte{1, 2})},
		{`{"SS":["p","q"]}`, events.NewStringSetAttribute([]string{"p", "q"})},
		{`{"NS":["1","2"]}`, events.NewNumberSetAttribute([]string{"1", "2"})},
		{`{"BS":["AQ==","Ag=="]}`, events.NewBinarySetAttribute([][]byte{{1}, {2}})},
		{`{"L":[{"S":"x"},{"N":"1"}]}`, events.NewListAttribute([]events.DynamoDBAttributeValue{events.NewStringAttribute("x"), events.NewNumberAttribute("1")})},
		{`{"M":{"ok":{"BOOL":true},"none":{"NULL":true}}}`, events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"ok": events.NewBooleanAttribute(true), "none": events.NewNullAttribute()})},
		{`{"NULL":true}`, events.NewNullAttribute()},
		{`{"BOOL":false}`, events.NewBooleanAttribute(false)},
	}
	for _, tt := range tests {
		t.Run(tt.wire, func(t *testing.T) {
			img, err := Image(Item{"a": json.RawMessage(tt.wire)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(img["a"], tt.want) {
				t.Errorf("image = %#v, want %#v", img["a"], tt.want)
			}
		})
	}

	if img, err := Image(nil); img != nil || err != nil {
		t.Errorf("Image(nil) = %v, %v; want no image", img, err)
	}
	img, err := Image(Item{"good": json.RawMessage(`{"S":"x"}`), "bad": json.RawMessage(`{"X":1}`)})
	if err == nil || !strings.Contains(err.Error(), "attribute bad") || img["good"].String() != "x" || len(img) != 1 {
		t.Errorf("image with a bad attribute = %v, %v; want the good one and an error naming the bad", img, err)
	}
}

func TestRecordCarriesTheImagesItsViewTypeAsksFor(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	c := Change{Target: Target{Table: "main", Key: Item{"PK": json.RawMessage(`{"S":"a"}`)}},
		Old: Item{"PK": json.RawMessage(`{"S":"a"}`), "n": json.RawMessage(`{"N":"1"}`)},
		New: Item{"PK": json.RawMessage(`{"S":"a"}`), "n": json.RawMessage(`{"N":"2"}`)}, At: at}
	for _, tt := range []struct {
		view     string
		old, new bool
	}{{"NEW_AND_OLD_IMAGES", true, true}, {"NEW_IMAGE", false, true}, {"OLD_IMAGE", true, false}, {"KEYS_ONLY", false, false}} {
		t.Run(tt.view, func(t *testing.T) {
			rec, err := c.Record("us-east-1", "arn:stream", tt.view)
			if err != nil {
				t.Fatal(err)
			}
			if rec.EventName != "MODIFY" || rec.EventSource != "aws:dynamodb" || rec.EventVersion != "1.1" || rec.AWSRegion != "us-east-1" ||
				rec.EventSourceArn != "arn:stream" || rec.Change.StreamViewType != tt.view || rec.Change.Keys["PK"].String() != "a" ||
				!rec.Change.ApproximateCreationDateTime.Equal(at.Truncate(time.Second)) {
				t.Errorf("record = %+v", rec)
			}
			if (rec.Change.OldImage != nil) != tt.old || (rec.Change.NewImage != nil) != tt.new {
				t.Errorf("images: old %v new %v", rec.Change.OldImage, rec.Change.NewImage)
			}
		})
	}
	bad := c
	bad.Key = Item{"PK": json.RawMessage(`{"X":1}`)}
	if rec, err := bad.Record("us-east-1", "arn:stream", "KEYS_ONLY"); err == nil || rec.EventName != "" {
		t.Errorf("record with bad keys = %+v, %v; want none and an error", rec, err)
	}
}

// stream runs a Stream on a fresh minidyn with the table "main" (PK, SK).
func stream(t *testing.T) (*Stream, *server.Server) {
	t.Helper()
	mini := server.NewServer()
	s := &Stream{Inner: mini, Keys: schemas, Clock: func() time.Time { return time.Unix(1700000000, 0) }}
	status, _, out := s.Call("CreateTable", []byte(`{"TableName":"main","BillingMode":"PAY_PER_REQUEST",
		"AttributeDefinitions":[{"AttributeName":"PK","AttributeType":"S"},{"AttributeName":"SK","AttributeType":"S"}],
		"KeySchema":[{"AttributeName":"PK","KeyType":"HASH"},{"AttributeName":"SK","KeyType":"RANGE"}]}`))
	if status != http.StatusOK {
		t.Fatalf("create table: %d %s", status, out)
	}
	return s, mini
}

func TestWriteHandsOnEveryTouchedItemAndTheChangedOnes(t *testing.T) {
	s, _ := stream(t)
	put := func(n string) string {
		return `{"TableName":"main","Item":{"PK":{"S":"a"},"SK":{"S":"1"},"n":{"N":"` + n + `"}}}`
	}
	tests := []struct {
		name, op, body string
		status         int
		touched        int
		changes        []string // event names, in order
	}{
		{"a new item", "PutItem", put("1"), 200, 1, []string{"INSERT"}},
		{"an identical put", "PutItem", put("1"), 200, 1, nil},
		{"an update", "UpdateItem", `{"TableName":"main","Key":{"PK":{"S":"a"},"SK":{"S":"1"}},"UpdateExpression":"SET n = :n","ExpressionAttributeValues":{":n":{"N":"2"}}}`, 200, 1, []string{"MODIFY"}},
		{"a failed condition writes nothing", "PutItem", `{"TableName":"main","Item":{"PK":{"S":"b"},"SK":{"S":"1"}},"ConditionExpression":"attribute_exists(PK)"}`, 400, 0, nil},
		{"a batch", "BatchWriteItem", `{"RequestItems":{"main":[{"PutRequest":{"Item":{"PK":{"S":"b"},"SK":{"S":"1"}}}},{"DeleteRequest":{"Key":{"PK":{"S":"a"},"SK":{"S":"1"}}}},{"DeleteRequest":{"Key":{"PK":{"S":"gone"},"SK":{"S":"1"}}}}]}}`, 200, 3, []string{"INSERT", "REMOVE"}},
		{"an unknown table is minidyn's error", "PutItem", `{"TableName":"other","Item":{"PK":{"S":"a"},"SK":{"S":"1"}}}`, 400, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *Write
			status, _, out := s.Write(tt.op, []byte(tt.body), func(w Write) { got = &w })
			if status != tt.status {
				t.Fatalf("status = %d %s, want %d", status, out, tt.status)
			}
			if tt.status != http.StatusOK {
				if got != nil {
					t.Errorf("a failed write was handed on: %+v", got)
				}
				return
			}
			if got == nil || got.Op != tt.op || len(got.Targets) != tt.touched {
				t.Fatalf("write = %+v, want %s touching %d", got, tt.op, tt.touched)
			}
			var names []string
			for _, c := range got.Changes {
				names = append(names, c.EventName())
				if !c.At.Equal(time.Unix(1700000000, 0)) {
					t.Errorf("change at %v, want the clock's time", c.At)
				}
			}
			if !reflect.DeepEqual(names, tt.changes) {
				t.Errorf("changes = %v, want %v", names, tt.changes)
			}
		})
	}
}

func TestWriteSkipsItemsABatchLeftUnprocessed(t *testing.T) {
	s, mini := stream(t)
	mini.EmulateUnprocessedItems("main", func(_ int, item map[string]*server.AttributeValue) bool {
		return item["PK"] != nil && item["PK"].S != nil && *item["PK"].S == "later"
	})
	var got Write
	status, _, out := s.Write("BatchWriteItem", []byte(`{"RequestItems":{"main":[
		{"PutRequest":{"Item":{"PK":{"S":"now"},"SK":{"S":"1"}}}},
		{"PutRequest":{"Item":{"PK":{"S":"later"},"SK":{"S":"1"}}}}]}}`), func(w Write) { got = w })
	if status != http.StatusOK {
		t.Fatalf("status = %d %s", status, out)
	}
	if len(got.Targets) != 2 || len(got.Changes) != 1 || got.Changes[0].Key["PK"] == nil || Canonical(got.Changes[0].Key) != `{"PK":{"S":"now"},"SK":{"S":"1"}}` {
		t.Errorf("write = %+v, want both touched and only the processed one changed", got)
	}
}

func TestGetReportsAReadThatFailed(t *testing.T) {
	s, _ := stream(t)
	var failed []string
	s.ReadFailed = func(tg Target, err error) { failed = append(failed, tg.Table+": "+err.Error()) }
	if it := s.Get(Target{Table: "other", Key: Item{"PK": json.RawMessage(`{"S":"a"}`)}}); it != nil {
		t.Errorf("item = %v", it)
	}
	if len(failed) != 1 || !strings.HasPrefix(failed[0], "other: GetItem: 400 ") {
		t.Errorf("failed reads = %q", failed)
	}
}
