package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/shared/referral"
)

// markerClock is a store clock the test moves.
type markerClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *markerClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *markerClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestEmailClaimsGrantOneSenderAtATime(t *testing.T) {
	ctx := context.Background()
	clock := &markerClock{now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	db := dynamotest.Start(t)
	s := New(db.Client, db.Table, clock.Now)
	job := EmailJob{SourceKey: "CODE#ANA-DEMO|CODE", SourceType: TypeCode, Template: "ask-promo-code", CustomerID: "ana", ProgramID: "demo"}

	first, done, err := s.ClaimEmail(ctx, job, 30*time.Second)
	if err != nil || done != nil {
		t.Fatalf("first claim: %v %v", done, err)
	}
	var busy *EmailBusyError
	if _, _, err := s.ClaimEmail(ctx, job, 30*time.Second); !errors.As(err, &busy) || !errors.Is(err, ErrEmailBusy) || !busy.Until.Equal(first.Expires) {
		t.Fatalf("second claim during the lease: %v", err)
	}
	// The first sender gives up (SES failed): the next delivery claims at once.
	if err := s.ReleaseEmail(ctx, first, "send failed"); err != nil {
		t.Fatal(err)
	}
	second, done, err := s.ClaimEmail(ctx, job, 30*time.Second)
	if err != nil || done != nil {
		t.Fatalf("claim after release: %v %v", done, err)
	}
	// The second sender dies after SES accepted: its lease runs out and a third takes over,
	// so the late confirmation of the second learns it lost the claim.
	clock.add(31 * time.Second)
	third, _, err := s.ClaimEmail(ctx, job, 30*time.Second)
	if err != nil {
		t.Fatalf("claim after the lease: %v", err)
	}
	if lost, err := s.ConfirmEmail(ctx, second, "ses-2"); err != nil || !lost {
		t.Fatalf("stale confirm: lost=%v %v", lost, err)
	}
	if lost, err := s.ConfirmEmail(ctx, third, "ses-3"); err != nil || lost {
		t.Fatalf("confirm: lost=%v %v", lost, err)
	}
	clock.add(time.Hour)
	_, done, err = s.ClaimEmail(ctx, job, 30*time.Second)
	if err != nil || done == nil || done.Status != EmailSent || done.MessageID != "ses-3" || done.Attempts != 3 {
		t.Fatalf("claim after sent: %+v %v", done, err)
	}
	// Another template of the same item is another email.
	other := job
	other.Template = "ask-current"
	if _, done, err := s.ClaimEmail(ctx, other, 30*time.Second); err != nil || done != nil {
		t.Fatalf("other template: %v %v", done, err)
	}
}

func TestRejectedEmailsStayRejected(t *testing.T) {
	ctx := context.Background()
	db := dynamotest.Start(t)
	s := New(db.Client, db.Table, nil)
	job := EmailJob{SourceKey: "ASK#a1|ASK", SourceType: TypeAsk, Template: "ask-current", CustomerID: "ana", ProgramID: "demo"}
	c, _, err := s.ClaimEmail(ctx, job, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if lost, err := s.RejectEmail(ctx, c, "MessageRejected"); err != nil || lost {
		t.Fatalf("reject: %v %v", lost, err)
	}
	time.Sleep(5 * time.Millisecond)
	_, done, err := s.ClaimEmail(ctx, job, time.Millisecond)
	if err != nil || done == nil || done.Status != EmailRejected || done.Reason != "MessageRejected" {
		t.Fatalf("claim after rejection: %+v %v", done, err)
	}
}

func TestConcurrentAsksInsideTheCooldownRecordOne(t *testing.T) {
	ctx := context.Background()
	db := dynamotest.Start(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	s := New(db.Client, db.Table, func() time.Time { return now })
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.RecordAsk(ctx, Ask{AskID: referral.NewID(now), CustomerID: "ana", ProgramID: "demo",
				Template: "ask-current", CreatedAt: now}, 30*24*time.Hour)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, referral.ErrRateLimited):
			t.Errorf("ask: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d asks recorded inside one cooldown, want 1", ok)
	}
	st, err := s.AskState(ctx, "ana", "demo")
	if !errors.Is(err, referral.ErrCustomerNotFound) {
		t.Fatalf("AskState of an unknown customer: %+v %v", st, err)
	}
	// After the cooldown the customer can be asked again.
	later := now.Add(30 * 24 * time.Hour)
	if err := s.RecordAsk(ctx, Ask{AskID: referral.NewID(later), CustomerID: "ana", ProgramID: "demo", Template: "ask-current", CreatedAt: later}, 30*24*time.Hour); err != nil {
		t.Fatalf("ask after the cooldown: %v", err)
	}
	// Another program has its own cooldown.
	if err := s.RecordAsk(ctx, Ask{AskID: referral.NewID(now), CustomerID: "ana", ProgramID: "other", Template: "ask-current", CreatedAt: now}, 30*24*time.Hour); err != nil {
		t.Fatalf("ask in another program: %v", err)
	}
}

// A reward's stream image names its conversion's rewards: a conversion that made one reward
// needs no read to thank for it, one that made several reads only the others.
func TestARewardImageNamesItsConversionsRewards(t *testing.T) {
	f, in := largestConversion(t)
	ctx := context.Background()
	res, _, err := f.conv.Record(ctx, &f.p, in)
	if err != nil {
		t.Fatal(err)
	}
	client, meter := f.db.MeteredClient()
	s := New(client, f.db.Table, nil)
	image := func(id string) StreamItem {
		t.Helper()
		out, err := f.db.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.db.Table), Key: key(rewardPK(id), rewardSK)})
		if err != nil || out.Item == nil {
			t.Fatalf("reward %s: %v", id, err)
		}
		return out.Item
	}
	all, err := s.RewardsOfConversion(ctx, image(res.Rewards[0].RewardID))
	if err != nil || len(all) != 3 || all[0].RewardID != res.Rewards[0].RewardID {
		t.Fatalf("rewards of the conversion: %+v %v", all, err)
	}
	if reqs := meter.Take(); len(reqs) != 1 || reqs[0].Op != "BatchGetItem" || reqs[0].Items != 2 {
		t.Errorf("requests %+v, want one BatchGetItem of the two others", reqs)
	}

	one := newFixture(t)
	one.refer(t, "bo")
	single, _, err := one.record(ctx, "e1", "bo")
	if err != nil {
		t.Fatal(err)
	}
	got, err := one.db.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(one.db.Table), Key: key(rewardPK(single.Rewards[0].RewardID), rewardSK)})
	if err != nil {
		t.Fatal(err)
	}
	client, meter = one.db.MeteredClient()
	if alone, err := New(client, one.db.Table, nil).RewardsOfConversion(ctx, got.Item); err != nil || len(alone) != 1 {
		t.Fatalf("a one-reward conversion: %+v %v", alone, err)
	}
	if reqs := meter.Take(); len(reqs) != 0 {
		t.Errorf("a one-reward conversion read %+v", reqs)
	}
}
