package devstack

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func batchPut(t *testing.T, db *dynamodb.Client, items ...map[string]types.AttributeValue) {
	t.Helper()
	var reqs []types.WriteRequest
	for _, it := range items {
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
	}
	if _, err := db.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{
		RequestItems: map[string][]types.WriteRequest{"referrals-local": reqs},
	}); err != nil {
		t.Fatal(err)
	}
}

func TestBatchItemFailureIsRetriedFromLowestAndDeliveredOnce(t *testing.T) {
	s := startFixtureStack(t)
	db := s.ddb()
	batchPut(t, db, key("flaky#1", "x"), key("other#1", "x"), key("flaky#2#fail", "x"), key("flaky#3", "x"))
	// A MODIFY of a matching item is filtered out (the pattern wants INSERT only).
	if _, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String("referrals-local"), Key: key("flaky#1", "x"),
		UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: "1"}}}); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(s.out, "stream.log")
	waitFor(t, "flaky#3 to be processed", 10*time.Second, func() bool {
		for _, l := range jsonLines(t, log) {
			if l["pk"] == "flaky#3" && l["outcome"] == "ok" {
				return true
			}
		}
		return false
	})
	time.Sleep(1500 * time.Millisecond) // longer than the batching window: nothing else may arrive
	var got []string
	for _, l := range jsonLines(t, log) {
		got = append(got, l["pk"].(string)+" "+l["outcome"].(string))
		if l["event"] != "INSERT" {
			t.Errorf("delivered a %v record past the filter", l["event"])
		}
	}
	want := []string{"flaky#1 ok", "flaky#2#fail fail", "flaky#2#fail ok", "flaky#3 ok"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("deliveries = %q, want %q", got, want)
	}
	if first := jsonLines(t, log)[0]; first["batch"].(float64) != 3 {
		t.Errorf("first batch had %v records, want the 3 matching ones together", first["batch"])
	}
	if d := jsonLines(t, filepath.Join(s.cfg.StateDir, "dlq.jsonl")); len(d) != 0 {
		t.Errorf("dlq = %v", d)
	}
}

func TestPoisonRecordIsBisectedOutAndLandsInDLQ(t *testing.T) {
	s := startFixtureStack(t)
	typ := &types.AttributeValueMemberS{Value: "poison-test"}
	batchPut(t, s.ddb(),
		withAttrs(key("p#1", "x"), "type", typ), withAttrs(key("p#2-poison", "x"), "type", typ),
		withAttrs(key("p#3", "x"), "type", typ), withAttrs(key("p#4", "x"), "type", typ))
	dlq := filepath.Join(s.cfg.StateDir, "dlq.jsonl")
	log := filepath.Join(s.out, "poison.log")
	waitFor(t, "the poison record in the DLQ and the rest delivered", 10*time.Second, func() bool {
		ok := 0
		for _, l := range jsonLines(t, log) {
			if l["failed"] == false {
				ok += len(l["keys"].([]any))
			}
		}
		return len(jsonLines(t, dlq)) == 1 && ok == 3
	})
	entries := jsonLines(t, dlq)
	e := entries[0]
	rec := e["record"].(map[string]any)
	pk := rec["dynamodb"].(map[string]any)["Keys"].(map[string]any)["PK"].(map[string]any)["S"]
	if pk != "p#2-poison" || e["attempts"].(float64) != 3 || !strings.Contains(e["error"].(string), "poison record in batch") ||
		e["function"] != "PoisonFunction" || e["destination"] != "FailureQueue" {
		t.Errorf("dlq entry = %v", e)
	}
	var batches []string
	for _, l := range jsonLines(t, log) {
		var keys []string
		for _, k := range l["keys"].([]any) {
			keys = append(keys, k.(string))
		}
		batches = append(batches, strings.Join(keys, ","))
	}
	want := []string{"p#1,p#2-poison,p#3,p#4", "p#1,p#2-poison", "p#1", "p#2-poison", "p#3,p#4"}
	if strings.Join(batches, " | ") != strings.Join(want, " | ") {
		t.Errorf("batches = %q, want %q", batches, want)
	}
}

// A mapping with a tumbling window sends time-window events: the shard's id, the window, and
// the state the function answered last in it; a response without a state is a failed
// invocation, retried as Lambda does.
func TestATumblingWindowNamesTheShardAndCarriesTheState(t *testing.T) {
	s := startFixtureStack(t)
	db := s.ddb()
	log := filepath.Join(s.out, "window.log")
	batchPut(t, db, key("window#a", "x"), key("window#b", "x"))
	waitFor(t, "the first window batch", 10*time.Second, func() bool { return len(jsonLines(t, log)) >= 1 })
	batchPut(t, db, key("window#c#nostate", "x"), key("window#d", "x"))
	waitFor(t, "the second batch, answered with a state", 10*time.Second, func() bool { return len(jsonLines(t, log)) >= 3 })
	time.Sleep(1500 * time.Millisecond) // longer than the batching window: nothing else may arrive
	lines := jsonLines(t, log)
	var got []string
	for _, l := range lines {
		got = append(got, fmt.Sprintf("%v in=%v nostate=%v", l["keys"], l["stateIn"], l["noState"]))
		if l["shard"] == "" || l["shard"] != lines[0]["shard"] {
			t.Errorf("shard %q, want the stream's one shard (first said %q)", l["shard"], lines[0]["shard"])
		}
		start, _ := time.Parse("15:04:05", fmt.Sprint(l["start"]))
		end, _ := time.Parse("15:04:05", fmt.Sprint(l["end"]))
		if start.Minute() != 0 || start.Second() != 0 || end.Sub(start) != time.Hour && end.Sub(start) != -23*time.Hour {
			t.Errorf("window %v–%v, want an hour from the top of one", l["start"], l["end"])
		}
	}
	want := []string{"[window#a window#b] in= nostate=false", "[window#c#nostate window#d] in=2 nostate=true", "[window#c#nostate window#d] in=2 nostate=false"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("deliveries = %q, want %q", got, want)
	}
}
