package api

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/shared/store"
	"github.com/truora/minidyn/server"
)

// containers returns n conversions routers over the stack's table, each with its own caches,
// as n warm Lambda containers of the conversions function would be.
func (s *stack) containers(n int) []*Router {
	out := make([]*Router, n)
	for i := range out {
		out[i] = NewConversions(s.store, &store.ProgramCache{Store: s.store, TTL: time.Minute}, quietLog)
	}
	return out
}

// convertOn posts a purchase conversion to one container.
func (s *stack) convertOn(r *Router, eventID, referee string) Response {
	body, _ := json.Marshal(map[string]any{"eventId": eventID, "refereeId": referee, "milestone": "purchase",
		"amount": map[string]any{"amount": 5000, "currency": "USD"}})
	resp, err := r.Handle(context.Background(), event("POST /conversions", nil, "POST", "/conversions", string(body), "server"))
	if err != nil {
		s.t.Errorf("conversion %s: handler error %v", eventID, err)
	}
	return resp
}

// ledger is the whole table read back by item type, to check what a conversion must never
// leave behind whatever failed or raced: an event without all its rewards, a reward without
// its event, or counters that disagree with the events counted.
type ledger struct {
	events    map[string]map[string]any // by eventId
	rewards   map[string]map[string]any // by rewardId
	standings map[string]map[string]any // by customerId|programId
	referrals map[string]map[string]any // by refereeId|programId
}

func readLedger(t *testing.T, s *stack) ledger {
	t.Helper()
	l := ledger{events: map[string]map[string]any{}, rewards: map[string]map[string]any{},
		standings: map[string]map[string]any{}, referrals: map[string]map[string]any{}}
	var start map[string]types.AttributeValue
	for {
		out, err := s.db.Client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.db.Table),
			ConsistentRead: aws.Bool(true), ExclusiveStartKey: start})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		for _, raw := range out.Items {
			var it map[string]any
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				t.Fatal(err)
			}
			str := func(k string) string { v, _ := it[k].(string); return v }
			switch str("type") {
			case store.TypeEvent:
				res, err := store.ConversionOf(raw)
				if err != nil {
					t.Fatal(err)
				}
				var ids []any
				for _, r := range res.Rewards {
					ids = append(ids, r.RewardID)
				}
				it["rewardIds"] = ids // the rewards its answer names
				l.events[str("eventId")] = it
			case store.TypeReward:
				l.rewards[str("rewardId")] = it
			case store.TypeAdvocate:
				l.standings[str("customerId")+"|"+str("programId")] = it
			case store.TypeReferral:
				l.referrals[str("refereeId")+"|"+str("programId")] = it
			}
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			return l
		}
	}
}

// check returns every broken invariant of the ledger.
func (l ledger) check() []string {
	var bad []string
	str := func(it map[string]any, k string) string { v, _ := it[k].(string); return v }
	type key struct{ advocate, program, milestone string }
	counted := map[key]int{}
	reached := map[string][]string{} // refereeId|programId → milestones of counted events
	for id, ev := range l.events {
		ids, _ := ev["rewardIds"].([]any)
		for _, rid := range ids {
			r, ok := l.rewards[rid.(string)]
			if !ok {
				bad = append(bad, fmt.Sprintf("event %s names reward %s, which is not in the table", id, rid))
			} else if str(r, "eventId") != id {
				bad = append(bad, fmt.Sprintf("reward %s belongs to %s, not to event %s", rid, str(r, "eventId"), id))
			}
		}
		if ev["counted"] == true {
			counted[key{str(ev, "advocateId"), str(ev, "programId"), str(ev, "milestone")}]++
			k := str(ev, "refereeId") + "|" + str(ev, "programId")
			reached[k] = append(reached[k], str(ev, "milestone"))
		}
	}
	type total struct {
		n      int
		amount float64
	}
	byAdvocate := map[string]total{}
	for id, r := range l.rewards {
		ev, ok := l.events[str(r, "eventId")]
		if !ok {
			bad = append(bad, fmt.Sprintf("reward %s has no event %s: half-written", id, str(r, "eventId")))
			continue
		}
		ids, _ := ev["rewardIds"].([]any)
		found := false
		for _, rid := range ids {
			found = found || rid == id
		}
		if !found {
			bad = append(bad, fmt.Sprintf("reward %s is not among the rewards of its event %s", id, str(r, "eventId")))
		}
		if str(r, "role") == "advocate" {
			v, _ := r["value"].(map[string]any)
			amount, _ := v["amount"].(float64)
			k := str(r, "customerId") + "|" + str(r, "programId")
			byAdvocate[k] = total{byAdvocate[k].n + 1, byAdvocate[k].amount + amount}
		}
	}
	for k, st := range l.standings {
		advocate, program, _ := strings.Cut(k, "|")
		counts, _ := st["counts"].(map[string]any)
		for m, c := range counts {
			if want := counted[key{advocate, program, m}]; int(c.(float64)) != want {
				bad = append(bad, fmt.Sprintf("standing %s counts %v %s, the table has %d counted events", k, c, m, want))
			}
		}
		for kk, n := range counted {
			if kk.advocate == advocate && kk.program == program && counts[kk.milestone] == nil && n > 0 {
				bad = append(bad, fmt.Sprintf("standing %s counts no %s, the table has %d counted events", k, kk.milestone, n))
			}
		}
		rc, _ := st["rewardCount"].(float64)
		ra, _ := st["rewardAmount"].(float64)
		if got := byAdvocate[k]; int(rc) != got.n || ra != got.amount {
			bad = append(bad, fmt.Sprintf("standing %s says %v rewards worth %v, the table has %d worth %v", k, rc, ra, got.n, got.amount))
		}
	}
	for k, ref := range l.referrals {
		var got []string
		list, _ := ref["reached"].([]any)
		for _, m := range list {
			got = append(got, m.(string))
		}
		want := reached[k]
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			bad = append(bad, fmt.Sprintf("referral %s reached %v, its counted events say %v", k, got, want))
		}
	}
	return bad
}

// advocateAmounts counts the advocate rewards of customer by amount.
func (l ledger) advocateAmounts(customer string) map[float64]int {
	out := map[float64]int{}
	for _, r := range l.rewards {
		if r["customerId"] == customer && r["role"] == "advocate" {
			v, _ := r["value"].(map[string]any)
			out[v["amount"].(float64)]++
		}
	}
	return out
}

// tierTable is what n purchases pay on tieredProgram: $10 for the first five, $25 after.
func tierTable(n int) map[float64]int {
	return map[float64]int{1000: min(n, 5), 2500: max(n-5, 0)}
}

// TestHotAdvocateFiftyConcurrentConversionsPayExactlyTheTierTable: 50 referees of one advocate
// convert at the same moment through 4 containers of the conversions function (each with its
// own, soon stale, memory of the advocate's standing). Clients retry a 503 as told. Every
// conversion is recorded once: 50 events, 50 advocate rewards paying exactly the tier table,
// and the standing's counters agree with the events.
func TestHotAdvocateFiftyConcurrentConversionsPayExactlyTheTierTable(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	const n = 50
	for i := range n {
		if st, b := refer(s, code, fmt.Sprintf("hot%02d", i)); st != 201 {
			t.Fatalf("referral %d: %d %v", i, st, b)
		}
	}
	routers := s.containers(4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	unavailable := 0
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for attempt := 1; ; attempt++ {
				resp := s.convertOn(routers[i%len(routers)], fmt.Sprintf("hot-order-%02d", i), fmt.Sprintf("hot%02d", i))
				switch {
				case resp.StatusCode == 201:
					return
				case resp.StatusCode == 503 && attempt < 30:
					if resp.Headers["Retry-After"] == "" {
						t.Errorf("503 without Retry-After: %s", resp.Body)
					}
					mu.Lock()
					unavailable++
					mu.Unlock()
					time.Sleep(time.Duration(attempt) * 10 * time.Millisecond) // shorter than Retry-After: the test has no time to spare
				default:
					t.Errorf("conversion %d (attempt %d): %d %s", i, attempt, resp.StatusCode, resp.Body)
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	t.Logf("%d answers were 503 and were retried by their client", unavailable)

	l := readLedger(t, s)
	for _, p := range l.check() {
		t.Error(p)
	}
	if len(l.events) != n {
		t.Errorf("%d events recorded, want %d", len(l.events), n)
	}
	if got := l.advocateAmounts("ana"); !reflect.DeepEqual(got, tierTable(n)) {
		t.Errorf("ana's rewards by amount = %v, want the tier table %v", got, tierTable(n))
	}
	st := l.standings["ana|p1"]
	if c := st["counts"].(map[string]any)["purchase"]; c != float64(n) {
		t.Errorf("ana's standing counts %v purchases, want %d", c, n)
	}
}

// TestDynamoDBFailuresMidRunAnswer503AndRetriesEndExactlyOnce injects DynamoDB failures
// (every call, then the table) in the middle of a concurrent run: the requests they hit
// answer 503 with Retry-After; while DynamoDB is down nothing is half-written (the ledger's
// invariants hold); once it is back, clients retrying with the same eventId and payload end
// with every conversion recorded exactly once, and a further replay answers the same.
func TestDynamoDBFailuresMidRunAnswer503AndRetriesEndExactlyOnce(t *testing.T) {
	dynamotest.RequireMinidyn(t)
	cases := []struct {
		name       string
		fail, heal func(*stack)
		// between requests: minidyn sets its global failure without a lock, so it is switched
		// only while no request is in flight; its table failures can strike mid-request.
		between bool
	}{
		{"EmulateFailure",
			func(s *stack) { s.db.Mini.EmulateFailure(server.FailureConditionInternalServerError) },
			func(s *stack) { s.db.Mini.EmulateFailure(server.FailureConditionNone) }, true},
		{"EmulateFailureForTable",
			func(s *stack) {
				s.db.Mini.EmulateFailureForTable(s.db.Table, server.FailureConditionInternalServerError)
			},
			func(s *stack) { s.db.Mini.EmulateFailureForTable(s.db.Table, server.FailureConditionNone) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			s.t = t
			code := s.setup(tieredProgram())
			const n, before = 24, 6 // conversions; how many succeed before DynamoDB fails
			for i := range n {
				if st, b := refer(s, code, fmt.Sprintf("f%02d", i)); st != 201 {
					t.Fatalf("referral %d: %d %v", i, st, b)
				}
			}
			routers := s.containers(3)
			var gate sync.RWMutex // held for writing while a between-requests failure is switched
			switchFailure := func(f func(*stack)) {
				if tc.between {
					gate.Lock()
					defer gate.Unlock()
				}
				f(s)
			}
			var mu sync.Mutex
			succeeded, parked, failures := 0, 0, 0
			final := map[string]string{} // eventId → body of the answer that recorded it
			outage, healed := make(chan struct{}), make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i >= 2*before {
						<-outage // the rest of the run arrives during the outage; the first ones race with it
					}
					id := fmt.Sprintf("f-order-%02d", i)
					for attempt := 1; attempt <= 3; attempt++ {
						gate.RLock()
						resp := s.convertOn(routers[(i+attempt)%len(routers)], id, fmt.Sprintf("f%02d", i))
						gate.RUnlock()
						switch resp.StatusCode {
						case 201, 200:
							mu.Lock()
							succeeded++
							final[id] = resp.Body
							mu.Unlock()
							return
						case 503:
							if resp.Headers["Retry-After"] != "1" {
								t.Errorf("%s: 503 with Retry-After %q, want 1", id, resp.Headers["Retry-After"])
							}
							mu.Lock()
							failures++
							parked++
							mu.Unlock()
							<-healed // the client waits, then retries the same request
							mu.Lock()
							parked--
							mu.Unlock()
						default:
							t.Errorf("%s: %d %s", id, resp.StatusCode, resp.Body)
							return
						}
					}
					t.Errorf("%s: still failing after DynamoDB came back", id)
				}()
			}
			settled := func(cond func() bool) {
				deadline := time.Now().Add(15 * time.Second)
				for {
					mu.Lock()
					ok := cond()
					mu.Unlock()
					if ok {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("run did not settle: %d succeeded, %d waiting to retry", succeeded, parked)
					}
					time.Sleep(2 * time.Millisecond)
				}
			}
			settled(func() bool { return succeeded >= before })
			switchFailure(tc.fail)
			close(outage)
			// Every client has its answer: recorded before the outage, or a 503 it will retry.
			settled(func() bool { return succeeded+parked == n })
			switchFailure(tc.heal)
			if failures < n-2*before {
				t.Fatalf("%d requests met the outage, want at least %d", failures, n-2*before)
			}
			l := readLedger(t, s)
			for _, p := range l.check() {
				t.Errorf("during the outage: %s", p)
			}
			if len(l.events) != succeeded {
				t.Errorf("during the outage: %d events in the table, %d conversions answered 201", len(l.events), succeeded)
			}
			t.Logf("%d conversions recorded before the outage, %d answered 503", succeeded, failures)
			close(healed)
			wg.Wait()

			l = readLedger(t, s)
			for _, p := range l.check() {
				t.Errorf("after the retries: %s", p)
			}
			if len(l.events) != n {
				t.Errorf("%d events recorded, want %d", len(l.events), n)
			}
			if got := l.advocateAmounts("ana"); !reflect.DeepEqual(got, tierTable(n)) {
				t.Errorf("ana's rewards by amount = %v, want the tier table %v", got, tierTable(n))
			}
			// A client that never saw its answer replays: the same result, nothing new.
			for id, body := range final {
				i := strings.TrimPrefix(id, "f-order-")
				if again := s.convertOn(routers[0], id, "f"+i); again.StatusCode != 200 || again.Body != body {
					t.Errorf("replay of %s: %d %s, want 200 and the original answer", id, again.StatusCode, again.Body)
				}
				break
			}
			if l2 := readLedger(t, s); len(l2.rewards) != len(l.rewards) {
				t.Errorf("a replay wrote rewards: %d → %d", len(l.rewards), len(l2.rewards))
			}
		})
	}
}

// TestIndexScopedFailureFailsOnlyTheReadsThatUseIt: with GSI5 failing
// (EmulateFailureForTable on the index), listing rewards answers 503 with Retry-After while
// conversions, which never query the index, keep working; once the index is back the list
// shows every reward.
func TestIndexScopedFailureFailsOnlyTheReadsThatUseIt(t *testing.T) {
	dynamotest.RequireMinidyn(t)
	s := newStack(t)
	code := s.setup(tieredProgram())
	refer(s, code, "bo")
	refer(s, code, "cy")
	s.db.Mini.EmulateFailureForTable(s.db.Table, server.FailureConditionInternalServerError, store.GSI5)
	resp := s.raw("server", "GET", "/customers/ana/rewards", nil)
	if resp.StatusCode != 503 || resp.Headers["Retry-After"] != "1" {
		t.Fatalf("rewards with GSI5 down: %d Retry-After=%q %s", resp.StatusCode, resp.Headers["Retry-After"], resp.Body)
	}
	if st, b := convert(s, "o-1", "bo", "purchase", 5000); st != 201 {
		t.Fatalf("conversion with GSI5 down: %d %v", st, b)
	}
	s.db.Mini.EmulateFailureForTable(s.db.Table, server.FailureConditionNone, store.GSI5)
	if st, b := convert(s, "o-2", "cy", "purchase", 5000); st != 201 {
		t.Fatalf("conversion after: %d %v", st, b)
	}
	st, list := s.do("GET", "/customers/ana/rewards", nil)
	if st != 200 || len(list["rewards"].([]any)) != 2 {
		t.Fatalf("rewards after the index is back: %d %v", st, list)
	}
	for _, p := range readLedger(t, s).check() {
		t.Error(p)
	}
}
