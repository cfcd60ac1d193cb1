package streamtest

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func TestWritesBecomeOrderedStreamRecordsWithBothImages(t *testing.T) {
	tb := Start(t)
	ctx := context.Background()
	key := map[string]types.AttributeValue{"PK": s("CODE#X"), "SK": s("CODE")}
	put := func(uses string) {
		t.Helper()
		item := map[string]types.AttributeValue{"PK": s("CODE#X"), "SK": s("CODE"), "type": s("code"), "uses": &types.AttributeValueMemberN{Value: uses}}
		if _, err := tb.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tb.Table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	put("0")
	put("0") // changes nothing: no record
	put("1")
	if _, err := tb.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(tb.Table), Key: key}); err != nil {
		t.Fatal(err)
	}
	// A failed conditional write is no write.
	_, _ = tb.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tb.Table), Item: key, ConditionExpression: aws.String("attribute_exists(PK)")})

	recs := tb.Take()
	var names []string
	for _, r := range recs {
		names = append(names, r.EventName)
	}
	if len(recs) != 3 || names[0] != "INSERT" || names[1] != "MODIFY" || names[2] != "REMOVE" {
		t.Fatalf("records = %v, want INSERT MODIFY REMOVE", names)
	}
	m := recs[1].Change
	if m.OldImage["uses"].Number() != "0" || m.NewImage["uses"].Number() != "1" || m.Keys["PK"].String() != "CODE#X" || !(recs[0].Change.SequenceNumber < m.SequenceNumber) {
		t.Errorf("modify = %+v", m)
	}
	if w := tb.TakeWrites(); len(w) != 4 || w[0].Keys[0] != "CODE#X|CODE" {
		t.Errorf("writes = %+v, want the 4 successful ones", w)
	}

	onlyFirstUse := []string{`{"eventName": ["MODIFY"], "dynamodb": {"OldImage": {"type": {"S": ["code"]}, "uses": {"N": ["0"]}}}}`}
	batches, err := Batches(recs, 10, onlyFirstUse)
	if err != nil || len(batches) != 1 || len(batches[0]) != 1 || batches[0][0].EventName != "MODIFY" {
		t.Errorf("filtered batches = %v %v", batches, err)
	}
}

func TestShardsKeepEachItemsChangesTogetherInOrder(t *testing.T) {
	var recs []events.DynamoDBEventRecord
	for i, pk := range []string{"A", "B", "A", "C", "B", "A"} {
		recs = append(recs, events.DynamoDBEventRecord{Change: events.DynamoDBStreamRecord{
			SequenceNumber: string(rune('a' + i)),
			Keys:           map[string]events.DynamoDBAttributeValue{"PK": events.NewStringAttribute(pk), "SK": events.NewStringAttribute("X")}}})
	}
	where := map[string]int{}
	total := 0
	for i, shard := range Shards(recs, 3) {
		last := ""
		for _, r := range shard {
			pk := r.Change.Keys["PK"].String()
			if j, seen := where[pk]; seen && j != i {
				t.Errorf("%s is on shards %d and %d", pk, j, i)
			}
			where[pk] = i
			if r.Change.SequenceNumber < last {
				t.Errorf("shard %d out of order", i)
			}
			last = r.Change.SequenceNumber
			total++
		}
	}
	if total != len(recs) {
		t.Errorf("%d records on shards, want %d", total, len(recs))
	}
}
