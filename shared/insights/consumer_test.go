package insights

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// flaky fails the next n TransactWriteItems calls as a throttled DynamoDB would.
type flaky struct {
	store.DynamoDB
	failures atomic.Int32
}

func (f *flaky) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if f.failures.Add(-1) >= 0 {
		return nil, errors.New("ThrottlingException: rate exceeded")
	}
	return f.DynamoDB.TransactWriteItems(ctx, in, opts...)
}

type consumerFixture struct {
	db       *flaky
	store    *store.Store
	consumer *Consumer
	service  *Service
}

func newConsumer(t *testing.T) *consumerFixture {
	t.Helper()
	d := dynamotest.Start(t)
	db := &flaky{DynamoDB: d.Client}
	s := store.New(db, d.Table, func() time.Time { return time.Date(2026, 11, 20, 12, 30, 0, 0, time.UTC) })
	if _, _, err := s.PutProgram(context.Background(), referral.Program{ProgramID: "demo", Name: "Give $10, get $10", Status: "active",
		Currency: "USD", Milestones: []string{"signup", "purchase"}, HoldDays: 14}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &consumerFixture{db: db, store: s, service: &Service{Store: s},
		consumer: &Consumer{Store: s, Programs: &store.ProgramCache{Store: s, TTL: time.Minute}, Log: log}}
}

// loadStreamEvent reads events/<name> as the DynamoDB stream event Lambda sends (with a
// tumbling window: its shard is named).
func loadStreamEvent(t *testing.T, name string) events.DynamoDBTimeWindowEvent {
	t.Helper()
	var ev events.DynamoDBTimeWindowEvent
	if err := samtemplate.DecodeEvent(name, &ev); err != nil {
		t.Fatalf("not a DynamoDB stream event: %v", err)
	}
	if ev.ShardID == "" || len(ev.Records) == 0 {
		t.Fatalf("%s names no shard or has no records", name)
	}
	return ev
}

func (f *consumerFixture) stats(t *testing.T) Stats {
	t.Helper()
	p, err := f.store.GetProgram(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.service.Stats(context.Background(), &p, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (f *consumerFixture) handle(t *testing.T, ev events.DynamoDBTimeWindowEvent) []string {
	t.Helper()
	resp, err := f.consumer.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if resp.State == nil {
		t.Fatal("the response has no state: Lambda takes it for a failed invocation")
	}
	var failed []string
	for _, x := range resp.BatchItemFailures {
		failed = append(failed, x.ItemIdentifier)
	}
	return failed
}

func checkDemoStats(t *testing.T, st Stats) {
	t.Helper()
	if st.Advocates != 1 || st.ActiveAdvocates != 1 || st.Referrals != 1 || st.Conversions["purchase"] != 1 || st.Conversions["signup"] != 0 ||
		st.Customers != 2 || st.ReferredRevenue.Amount != 5000 || st.ConversionRate != 1 || st.ReferralRate != 0.5 {
		t.Errorf("stats = %+v", st)
	}
	if r := st.Rewards["pending"]; r.Count != 1 || r.Amount.Amount != 1000 {
		t.Errorf("pending rewards = %+v", r)
	}
	if !st.AsOf.Equal(time.Date(2026, 11, 20, 12, 5, 0, 0, time.UTC)) {
		t.Errorf("asOf = %v, want the time of the newest record", st.AsOf)
	}
}

// TestSampleStreamBatchIsAggregatedOnce runs events/insightsstream-batch.json (the stream of the fixture
// scenario up to state "converted": ana's code, bo referred, bo's purchase) twice.
func TestSampleStreamBatchIsAggregatedOnce(t *testing.T) {
	f := newConsumer(t)
	ev := loadStreamEvent(t, "insightsstream-batch.json")
	for range 2 {
		if failed := f.handle(t, ev); len(failed) != 0 {
			t.Fatalf("failures: %v", failed)
		}
	}
	checkDemoStats(t, f.stats(t))
	// ana's standing counts November's purchase; the batch (twice) ranks her once, with 1.
	lb, err := f.store.Leaderboard(context.Background(), "demo", "2026-11", 10)
	if err != nil || len(lb) != 1 || lb[0].AdvocateID != "ana" || lb[0].Conversions != 1 || lb[0].Rank != 1 ||
		!lb[0].ReachedAt.Equal(time.Date(2026, 11, 20, 12, 5, 0, 0, time.UTC)) {
		t.Errorf("leaderboard = %+v %v, want ana with 1, reached at 12:05", lb, err)
	}
}

func TestAFailedWriteReportsTheRecordsFromItOnwards(t *testing.T) {
	f := newConsumer(t)
	ev := loadStreamEvent(t, "insightsstream-batch.json")
	f.db.failures.Store(1)
	failed := f.handle(t, ev)
	if len(failed) != len(ev.Records) || failed[0] != ev.Records[0].Change.SequenceNumber {
		t.Fatalf("failures = %v, want every record from the first", failed)
	}
	// Lambda retries from the first failure; this time DynamoDB answers.
	if failed := f.handle(t, ev); len(failed) != 0 {
		t.Fatalf("retry failures: %v", failed)
	}
	checkDemoStats(t, f.stats(t))
}

func TestAnUndecodableRecordStopsTheBatchThereAndTheRestIsRetried(t *testing.T) {
	f := newConsumer(t)
	ev := loadStreamEvent(t, "insightsstream-batch.json")
	bad := ev.Records[5] // the purchase: its amount becomes a string
	if bad.EventName != "INSERT" || bad.Change.NewImage["type"].String() != "event" {
		t.Fatalf("record 5 is %s %v, want the event insert", bad.EventName, bad.Change.NewImage["type"])
	}
	broken := make(map[string]events.DynamoDBAttributeValue, len(bad.Change.NewImage))
	for k, v := range bad.Change.NewImage {
		broken[k] = v
	}
	broken["amount"] = events.NewStringAttribute("fifty dollars")
	bad.Change.NewImage = broken
	poisoned := ev
	poisoned.Records = append(append(append([]events.DynamoDBEventRecord{}, ev.Records[:5]...), bad), ev.Records[6:]...)
	failed := f.handle(t, poisoned)
	if len(failed) != 3 || failed[0] != bad.Change.SequenceNumber {
		t.Fatalf("failures = %v, want the bad record and the two after it", failed)
	}
	st := f.stats(t)
	if st.Referrals != 1 || st.Advocates != 1 || st.Conversions["purchase"] != 0 {
		t.Errorf("the records before the bad one should be counted, none after: %+v", st)
	}
	// The whole batch again, the purchase mended: the first five are behind the shard's
	// checkpoint (skipped), the rest are applied.
	if failed := f.handle(t, ev); len(failed) != 0 {
		t.Fatalf("failures: %v", failed)
	}
	checkDemoStats(t, f.stats(t))
}

// The checkpoint per shard works only if Lambda says which shard a batch comes from (it does
// with a tumbling window) and runs one batch of a shard at a time, in order (no
// ParallelizationFactor above 1).
func TestTheEventSourceMappingNamesItsShardAndKeepsItInOrder(t *testing.T) {
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range tpl.Functions()["InsightsStreamFunction"].Events() {
		if e.Type != "DynamoDB" {
			continue
		}
		found = true
		if w, _ := e.Properties["TumblingWindowInSeconds"].(int64); w <= 0 {
			t.Errorf("%s: no TumblingWindowInSeconds, so no shardId in the events", e.Name)
		}
		if p, ok := e.Properties["ParallelizationFactor"]; ok && p != int64(1) {
			t.Errorf("%s: ParallelizationFactor %v runs a shard's batches out of order", e.Name, p)
		}
	}
	if !found {
		t.Fatal("InsightsStreamFunction has no DynamoDB event")
	}
}

// A batch without a shard id (an event source mapping without a tumbling window) cannot be
// applied once: its records are reported failed, none applied.
func TestABatchWithoutItsShardIsRefused(t *testing.T) {
	f := newConsumer(t)
	ev := loadStreamEvent(t, "insightsstream-batch.json")
	ev.ShardID = ""
	if failed := f.handle(t, ev); len(failed) != len(ev.Records) {
		t.Fatalf("failures = %v, want every record", failed)
	}
	if st := f.stats(t); st.Referrals != 0 || st.Customers != 0 {
		t.Errorf("applied without a shard: %+v", st)
	}
}
