package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/shared/referral"
	"github.com/truora/minidyn/server"
)

// stubbornBatches makes minidyn leave every key of a BatchGetItem unprocessed the first times
// it is asked for (times; -1 = always), as DynamoDB does under throttling or above 16 MB.
type stubbornBatches struct {
	mu    sync.Mutex
	times int
	seen  map[string]int
	left  int // keys left unprocessed so far
}

func (s *stubbornBatches) match(_ int, key map[string]*server.AttributeValue) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := ""
	if pk, sk := key["PK"], key["SK"]; pk != nil && sk != nil && pk.S != nil && sk.S != nil {
		k = *pk.S + "|" + *sk.S
	}
	s.seen[k]++
	if s.times < 0 || s.seen[k] <= s.times {
		s.left++
		return true
	}
	return false
}

// TestUnprocessedKeysAreRetriedOnEveryBatchPath runs every access pattern that reads with
// BatchGetItem (the store has no BatchWriteItem) while DynamoDB leaves each key unprocessed
// twice: each one asks again for what was left until it has everything, and answers as if
// nothing happened. When the keys are never processed it gives up with ErrUnavailable (503)
// after bounded retries instead of spinning.
func TestUnprocessedKeysAreRetriedOnEveryBatchPath(t *testing.T) {
	dynamotest.RequireMinidyn(t)
	paths := []struct {
		name  string
		setup func(t *testing.T, f *fixture)
		run   func(ctx context.Context, f *fixture) error
	}{
		{"create a code", nil, func(ctx context.Context, f *fixture) error {
			rec, created, err := f.s.CreateCode(ctx, &f.p, "bo", "")
			if err == nil && (!created || rec.Code.Code == "") {
				return errors.New("no new code")
			}
			return err
		}},
		{"referral", nil, func(ctx context.Context, f *fixture) error {
			r, err := f.s.CreateReferral(ctx, NewReferral{Code: f.code, Referee: Referee{ID: "cy"}}, f.programs)
			if err == nil && r.AdvocateID != "ana" {
				return errors.New("referral of the wrong advocate")
			}
			return err
		}},
		{"conversion", func(t *testing.T, f *fixture) { f.refer(t, "cy") }, func(ctx context.Context, f *fixture) error {
			res, _, err := f.record(ctx, "e1", "cy")
			if err == nil && (len(res.Rewards) != 1 || res.Rewards[0].Value.Amount != 1000) {
				return errors.New("wrong rewards")
			}
			return err
		}},
		{"ask state", nil, func(ctx context.Context, f *fixture) error {
			st, err := f.s.AskState(ctx, "ana", "p1")
			if err == nil && (st.Customer.Name != "Ana" || st.Code != f.code) {
				return errors.New("wrong ask state")
			}
			return err
		}},
		{"email recipient", func(t *testing.T, f *fixture) { f.refer(t, "cy") }, func(ctx context.Context, f *fixture) error {
			r, err := f.s.Recipient(ctx, "ana", "p1", "cy")
			if err == nil && (r.Customer.Name != "Ana" || r.Code != f.code || r.Other == nil) {
				return errors.New("wrong recipient")
			}
			return err
		}},
		{"stats records", nil, func(ctx context.Context, f *fixture) error {
			done, err := f.s.ApplyShard(ctx, "shardId-1", records(conversion("e1", nov), conversion("e2", nov)))
			if err == nil && done != 2 {
				return errors.New("records not applied")
			}
			return err
		}},
		{"an advocate's referrals", func(t *testing.T, f *fixture) { f.refer(t, "cy"); f.refer(t, "dee") }, func(ctx context.Context, f *fixture) error {
			refs, _, err := f.s.ListReferrals(ctx, "ana", Page{Limit: 10})
			if err == nil && (len(refs) != 2 || refs[0].RefereeID != "cy" || refs[1].RefereeID != "dee") {
				return fmt.Errorf("wrong referrals: %+v", refs)
			}
			return err
		}},
		{"leaderboard first names", func(t *testing.T, f *fixture) {
			if _, _, err := f.s.PutCustomer(context.Background(), "bo", CustomerUpdate{Name: "Bo Chen"}); err != nil {
				t.Fatal(err)
			}
		}, func(ctx context.Context, f *fixture) error {
			names, err := f.s.FirstNames(ctx, []string{"ana", "bo", "nobody"})
			if err == nil && (names["ana"] != "Ana" || names["bo"] != "Bo" || len(names) != 2) {
				return errors.New("wrong names")
			}
			return err
		}},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			f := newFixture(t)
			if _, _, err := f.s.PutCustomer(context.Background(), "bo", CustomerUpdate{Name: "Bo"}); err != nil {
				t.Fatal(err)
			}
			if p.setup != nil {
				p.setup(t, f)
			}
			counter := &countingDB{DynamoDB: f.db.Client}
			f.s.db = counter
			ctx := context.Background()

			stubborn := &stubbornBatches{times: 2, seen: map[string]int{}}
			f.db.Mini.EmulateUnprocessedItems(f.db.Table, stubborn.match)
			if err := p.run(ctx, f); err != nil {
				t.Fatalf("with keys left unprocessed twice: %v", err)
			}
			if stubborn.left == 0 {
				t.Fatal("no BatchGetItem left a key unprocessed: the path does not batch-read")
			}
			if n := counter.n["BatchGetItem"]; n < 3 {
				t.Fatalf("%d BatchGetItem calls, want the first and 2 retries of what was left (%s)", n, counter.calls())
			}

			// Never processed: a bounded number of tries, then the API's 503.
			f.db.Mini.EmulateUnprocessedItems(f.db.Table, (&stubbornBatches{times: -1, seen: map[string]int{}}).match)
			counter.reset()
			start := time.Now()
			err := p.run(ctx, f)
			var re *referral.Error
			if !errors.Is(err, referral.ErrUnavailable) || !errors.As(err, &re) || re.Status != 503 {
				t.Fatalf("with keys never processed: %v, want ErrUnavailable", err)
			}
			if n := counter.n["BatchGetItem"]; n > maxAttempts+1 {
				t.Fatalf("%d BatchGetItem calls for one request: retries are not bounded", n)
			}
			t.Logf("gave up after %d BatchGetItem calls in %v", counter.n["BatchGetItem"], time.Since(start).Round(time.Millisecond))
			f.db.Mini.ClearUnprocessedItems()
		})
	}
}
