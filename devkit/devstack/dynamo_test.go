package devstack

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}
}

func withAttrs(m map[string]types.AttributeValue, kv ...any) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1].(types.AttributeValue)
	}
	return out
}

func TestEveryWriteOperationYieldsStreamRecords(t *testing.T) {
	s := startFixtureStack(t)
	ctx := context.Background()
	db := s.ddb()
	table := aws.String("referrals-local")

	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	a := key("rec#a", "x")
	must(db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: withAttrs(a, "n", &types.AttributeValueMemberN{Value: "1"},
		"b", &types.AttributeValueMemberB{Value: []byte{1, 2}}, "tags", &types.AttributeValueMemberSS{Value: []string{"p", "q"}},
		"m", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"ok": &types.AttributeValueMemberBOOL{Value: true}, "none": &types.AttributeValueMemberNULL{Value: true}}})}))
	// An identical Put changes nothing: DynamoDB writes no stream record for it.
	item, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: a})
	must(item, err)
	must(db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item.Item}))
	must(db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: a, UpdateExpression: aws.String("SET n = n + :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}}))
	must(db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: a}))
	// Deleting what is not there changes nothing either.
	must(db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: key("rec#missing", "x")}))
	// A failed condition writes nothing.
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: key("rec#c", "x"), ConditionExpression: aws.String("attribute_exists(PK)")})
	if err == nil {
		t.Fatal("conditional put succeeded")
	}
	must(db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"referrals-local": {
		{PutRequest: &types.PutRequest{Item: key("rec#b1", "x")}},
		{PutRequest: &types.PutRequest{Item: key("rec#b2", "x")}},
	}}}))
	// Like DynamoDB, one batch may not touch an item twice.
	_, err = db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"referrals-local": {
		{PutRequest: &types.PutRequest{Item: key("rec#b3", "x")}},
		{DeleteRequest: &types.DeleteRequest{Key: key("rec#b3", "x")}},
	}}})
	if err == nil || !strings.Contains(err.Error(), "duplicates") {
		t.Fatalf("batch with a duplicate key: %v", err)
	}
	must(db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"referrals-local": {
		{DeleteRequest: &types.DeleteRequest{Key: key("rec#b1", "x")}},
	}}}))
	must(db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: table, Item: withAttrs(key("rec#t1", "x"), "v", &types.AttributeValueMemberS{Value: "new"})}},
		{Update: &types.Update{TableName: table, Key: key("rec#b2", "x"), UpdateExpression: aws.String("SET v = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: "changed"}}}},
		{ConditionCheck: &types.ConditionCheck{TableName: table, Key: key("rec#none", "x"), ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}}))
	// A cancelled transaction writes nothing.
	_, err = db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: table, Item: key("rec#t2", "x")}},
		{ConditionCheck: &types.ConditionCheck{TableName: table, Key: key("rec#none", "x"), ConditionExpression: aws.String("attribute_exists(PK)")}},
	}})
	if err == nil {
		t.Fatal("cancelled transaction succeeded")
	}

	recs := s.streamRecords(t)
	want := []struct{ name, pk string }{
		{"INSERT", "rec#a"}, {"MODIFY", "rec#a"}, {"REMOVE", "rec#a"},
		{"INSERT", "rec#b1"}, {"INSERT", "rec#b2"}, {"REMOVE", "rec#b1"},
		{"INSERT", "rec#t1"}, {"MODIFY", "rec#b2"},
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.EventName+" "+r.Change.Keys["PK"].String())
	}
	if len(recs) != len(want) {
		t.Fatalf("records = %q, want %v", got, want)
	}
	var lastSeq uint64
	for i, w := range want {
		r := recs[i]
		if r.EventName != w.name || r.Change.Keys["PK"].String() != w.pk || r.Change.Keys["SK"].String() != "x" {
			t.Errorf("record %d = %s, want %s %s", i, got[i], w.name, w.pk)
		}
		if r.EventSource != "aws:dynamodb" || r.Change.StreamViewType != "NEW_AND_OLD_IMAGES" ||
			r.EventID == "" || r.Change.SizeBytes <= 0 ||
			r.Change.ApproximateCreationDateTime.IsZero() {
			t.Errorf("record %d metadata = %+v", i, r)
		}
		seq, err := strconv.ParseUint(r.Change.SequenceNumber, 10, 64)
		if err != nil || seq <= lastSeq || len(r.Change.SequenceNumber) != 21 {
			t.Errorf("record %d sequence number %q after %d", i, r.Change.SequenceNumber, lastSeq)
		}
		lastSeq = seq
		if (w.name == "INSERT") != (r.Change.OldImage == nil) || (w.name == "REMOVE") != (r.Change.NewImage == nil) {
			t.Errorf("record %d images: old %v new %v", i, r.Change.OldImage, r.Change.NewImage)
		}
	}
	ins, mod := recs[0].Change, recs[1].Change
	if ins.NewImage["n"].Number() != "1" || string(ins.NewImage["b"].Binary()) != "\x01\x02" || len(ins.NewImage["tags"].StringSet()) != 2 ||
		!ins.NewImage["m"].Map()["ok"].Boolean() || !ins.NewImage["m"].Map()["none"].IsNull() {
		t.Errorf("INSERT image = %v", ins.NewImage)
	}
	if mod.OldImage["n"].Number() != "1" || mod.NewImage["n"].Number() != "2" {
		t.Errorf("MODIFY images: old n=%s new n=%s", mod.OldImage["n"].Number(), mod.NewImage["n"].Number())
	}
	if r := recs[2].Change; r.OldImage["n"].Number() != "2" {
		t.Errorf("REMOVE old image = %v", r.OldImage)
	}
	if r := recs[7].Change; r.OldImage["v"] != (events.DynamoDBAttributeValue{}) || r.NewImage["v"].String() != "changed" {
		t.Errorf("transactional MODIFY = old %v new %v", r.OldImage, r.NewImage)
	}
}

func TestListTablesAnswersForTheCLI(t *testing.T) {
	s := startFixtureStack(t)
	out, err := s.ddb().ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TableNames) != 1 || out.TableNames[0] != "referrals-local" {
		t.Errorf("tables = %v", out.TableNames)
	}
}

// TestExpiredItemsAreDeletedByTTL writes an expired and a live item and runs the TTL sweep
// itself (the background sweep is off), so nothing depends on timing: the expired item goes
// with a REMOVE record on the stream (by the DynamoDB service on the embedded engine, as on
// AWS), the live one stays, and an item rewritten with a new expiry is not deleted.
func TestExpiredItemsAreDeletedByTTL(t *testing.T) {
	s := startFixtureStack(t, func(c *Config) { c.TTLSweep = -1 })
	ctx := context.Background()
	db := s.ddb()
	now := time.Now()
	for _, it := range []struct{ pk, ttl string }{
		{"ttl#old", strconv.FormatInt(now.Add(-time.Minute).Unix(), 10)},
		{"ttl#new", strconv.FormatInt(now.Add(time.Hour).Unix(), 10)},
		{"ttl#none", "0"},
	} {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("referrals-local"),
			Item: withAttrs(key(it.pk, "x"), "ttl", &types.AttributeValueMemberN{Value: it.ttl})}); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.SweepTTL(ctx, now); n != 1 {
		t.Fatalf("sweep deleted %d items, want the one expired", n)
	}
	for pk, want := range map[string]bool{"ttl#old": false, "ttl#new": true, "ttl#none": true} {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("referrals-local"), Key: key(pk, "x"), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if (out.Item != nil) != want {
			t.Errorf("%s present = %v after the sweep, want %v", pk, out.Item != nil, want)
		}
	}
	if n := s.SweepTTL(ctx, now); n != 0 {
		t.Errorf("a second sweep deleted %d items", n)
	}
	recs := s.streamRecords(t)
	last := recs[len(recs)-1]
	if last.EventName != "REMOVE" || last.Change.Keys["PK"].String() != "ttl#old" {
		t.Fatalf("last stream record = %s %v, want the REMOVE of ttl#old", last.EventName, last.Change.Keys)
	}
	if s.Embedded() != nil && (last.UserIdentity == nil || last.UserIdentity.Type != "Service" || last.UserIdentity.PrincipalID != "dynamodb.amazonaws.com") {
		t.Errorf("TTL record identity = %+v, want the DynamoDB service", last.UserIdentity)
	}
}
