package store

import (
	"context"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/referral/referrals/shared/metrics"
	"sync"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/shared/referral"
	"github.com/truora/minidyn/server"
)

type fixture struct {
	db       *dynamotest.DB
	s        *Store
	programs *ProgramCache
	conv     *Conversions
	p        referral.Program
	code     string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: dynamotest.Start(t)}
	f.s = New(f.db.Client, f.db.Table, nil)
	f.programs = &ProgramCache{Store: f.s, TTL: time.Minute}
	f.conv = &Conversions{Store: f.s, Programs: f.programs}
	p := referral.Program{ProgramID: "p1", Name: "Tiered", Status: referral.ProgramActive, Currency: "USD",
		LandingURL: "https://shop.example.com", Milestones: []string{"purchase"},
		AdvocateRewards: []referral.Rule{{Milestone: "purchase", Type: referral.RuleTiered, Kind: "gift_card",
			Tiers: []referral.Tier{{UpTo: 5, Amount: 1000}, {Amount: 2500}}}}}
	var err error
	if f.p, _, err = f.s.PutProgram(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.PutCustomer(ctx, "ana", CustomerUpdate{Name: "Ana"}); err != nil {
		t.Fatal(err)
	}
	rec, _, err := f.s.CreateCode(ctx, &f.p, "ana", "")
	if err != nil {
		t.Fatal(err)
	}
	f.code = rec.Code.Code
	return f
}

func (f *fixture) refer(t *testing.T, referee string) {
	t.Helper()
	if _, err := f.s.CreateReferral(context.Background(), NewReferral{Code: f.code, Referee: Referee{ID: referee}}, f.programs); err != nil {
		t.Fatalf("refer %s: %v", referee, err)
	}
}

func (f *fixture) record(ctx context.Context, event, referee string) (ConversionResult, RecordStats, error) {
	return f.conv.Record(ctx, &f.p, ConversionRequest{EventID: event, ProgramID: "p1", RefereeID: referee,
		Milestone: "purchase", OccurredAt: f.s.Now(), PayloadHash: "h-" + event})
}

func TestContendedConversionsRetryAndCountEveryReferralOnce(t *testing.T) {
	f := newFixture(t)
	const n = 30
	for i := 0; i < n; i++ {
		f.refer(t, fmt.Sprintf("r%02d", i))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	attempts, unavailable := 0, 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for {
				_, st, err := f.record(context.Background(), fmt.Sprintf("e%02d", i), fmt.Sprintf("r%02d", i))
				mu.Lock()
				attempts += st.Attempts
				if errors.Is(err, referral.ErrUnavailable) {
					unavailable++
					mu.Unlock()
					continue // the client retries, as a 503 asks it to
				}
				mu.Unlock()
				if err != nil {
					t.Errorf("record %d: %v", i, err)
				}
				return
			}
		}(i)
	}
	wg.Wait()
	t.Logf("%d conversions took %d transaction attempts; %d gave up with 503 and were retried by the client", n, attempts, unavailable)
	if attempts <= n {
		t.Fatalf("no contention happened (%d attempts for %d conversions): the test proves nothing", attempts, n)
	}
	var adv advocateItem
	if _, err := f.s.getItem(context.Background(), customerPK("ana"), advocateSK("p1"), &adv); err != nil {
		t.Fatal(err)
	}
	if adv.Counts["purchase"] != n || adv.RewardCount != n || adv.RewardAmount != 5*1000+25*2500 || adv.Version != n {
		t.Fatalf("advocate standing = %+v", adv)
	}
}

func TestConversionUnderInjectedFailuresIsAllOrNothing(t *testing.T) {
	dynamotest.RequireMinidyn(t)
	f := newFixture(t)
	f.refer(t, "bo")
	ctx := context.Background()
	f.db.Mini.EmulateFailure(server.FailureConditionInternalServerError)
	_, _, err := f.record(ctx, "e1", "bo")
	if !errors.Is(err, referral.ErrUnavailable) {
		t.Fatalf("with DynamoDB failing: %v, want ErrUnavailable", err)
	}
	f.db.Mini.EmulateFailure(server.FailureConditionNone)
	rewards, _, _, err := f.s.ListRewards(ctx, "ana", Page{})
	if err != nil || len(rewards) != 0 {
		t.Fatalf("a failed conversion left rewards: %v %v", rewards, err)
	}
	res, st, err := f.record(ctx, "e1", "bo")
	if err != nil || st.Replay || len(res.Rewards) != 1 {
		t.Fatalf("retry after recovery: %+v %+v %v", res, st, err)
	}
	again, st, err := f.record(ctx, "e1", "bo")
	if err != nil || !st.Replay || again.Rewards[0].RewardID != res.Rewards[0].RewardID {
		t.Fatalf("replay: %+v %+v %v", again, st, err)
	}
}

func TestWarmContainerRecordsAConversionInOneReadAndOneWrite(t *testing.T) {
	f := newFixture(t)
	f.refer(t, "bo")
	f.refer(t, "cy")
	counter := &countingDB{DynamoDB: f.db.Client}
	f.s.db = counter
	ctx := context.Background()
	if _, _, err := f.record(ctx, "e1", "bo"); err != nil {
		t.Fatal(err)
	}
	cold := counter.calls()
	if cold != "BatchGetItem=1 GetItem=1 TransactWriteItems=1" {
		t.Fatalf("first conversion of an advocate this container has not seen made %s", cold)
	}
	// Another referee of the same advocate: the container knows the advocate's standing.
	counter.reset()
	if _, _, err := f.record(ctx, "e2", "cy"); err != nil {
		t.Fatal(err)
	}
	warm := counter.calls()
	if warm != "BatchGetItem=1 TransactWriteItems=1" {
		t.Fatalf("warm conversion made %s, want 1 BatchGetItem and 1 TransactWriteItems", warm)
	}
	// A standing moved by another container makes the guess stale: one retry, right counts.
	other := &Conversions{Store: New(f.db.Client, f.db.Table, nil), Programs: f.programs}
	f.refer(t, "dee")
	f.refer(t, "eve")
	if _, _, err := other.Record(ctx, &f.p, ConversionRequest{EventID: "e3", ProgramID: "p1", RefereeID: "dee",
		Milestone: "purchase", OccurredAt: f.s.Now(), PayloadHash: "h"}); err != nil {
		t.Fatal(err)
	}
	res, st, err := f.record(ctx, "e4", "eve")
	if err != nil || st.Attempts != 2 {
		t.Fatalf("stale standing: attempts %d, err %v", st.Attempts, err)
	}
	var adv advocateItem
	if _, err := f.s.getItem(ctx, customerPK("ana"), advocateSK("p1"), &adv); err != nil || adv.Counts["purchase"] != 4 || adv.Version != 4 {
		t.Fatalf("standing after a stale guess: %+v %v (result %+v)", adv, err, res)
	}
}

// A conversion that loses the race for the advocate's standing retries on the standing
// DynamoDB returned with the cancellation (ALL_OLD), without reading it again: a container
// whose remembered standing went stale makes 1 BatchGetItem + 2 TransactWriteItems, not 4 calls.
func TestALostRaceRetriesOnTheStandingTheCancellationReturned(t *testing.T) {
	f := newFixture(t)
	for _, r := range []string{"bo", "cy", "di"} {
		f.refer(t, r)
	}
	ctx := context.Background()
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.db.URL),
		Credentials: credentials.NewStaticCredentialsProvider("t", "t", ""), APIOptions: []func(*middleware.Stack) error{metrics.SDKMiddleware}})
	s := New(client, f.db.Table, nil)
	stale := &Conversions{Store: s, Programs: f.programs}
	in := func(event, referee string) ConversionRequest {
		return ConversionRequest{EventID: event, ProgramID: "p1", RefereeID: referee, Milestone: "purchase", OccurredAt: f.s.Now(), PayloadHash: "h"}
	}
	if _, _, err := stale.Record(ctx, &f.p, in("e1", "bo")); err != nil { // remembers the standing at version 1
		t.Fatal(err)
	}
	if _, _, err := f.record(ctx, "e2", "cy"); err != nil { // another container moves it to 2
		t.Fatal(err)
	}
	mctx, counters := metrics.With(ctx)
	res, st, err := stale.Record(mctx, &f.p, in("e3", "di"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Attempts != 2 || res.Rewards[0].Value.Amount != 1000 {
		t.Fatalf("%d attempts, reward %+v: want a retry that prices the third referral", st.Attempts, res.Rewards[0].Value)
	}
	if calls := counters.Get(metrics.DynamoDBCalls); calls != 3 {
		t.Errorf("%v DynamoDB calls, want 3 (BatchGetItem, the transaction that lost, the one that won)", calls)
	}
	var adv advocateItem
	if _, err := f.s.getItem(ctx, customerPK("ana"), advocateSK("p1"), &adv); err != nil || adv.Version != 3 || adv.Counts["purchase"] != 3 {
		t.Fatalf("standing %+v %v", adv, err)
	}
}
