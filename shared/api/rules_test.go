package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/referral/referrals/shared/fulfil"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/scheduler"
	"github.com/referral/referrals/shared/store"
)

// Tests named for the behaviours of the rules-and-edges issue, one per item, through the HTTP
// handlers on minidyn.

func purchase(s *stack, eventID, referee string) (int, map[string]any) {
	return convert(s, eventID, referee, "purchase", 5000)
}

func rewardsOf(s *stack, customer string) []any {
	_, b := s.do("GET", "/customers/"+customer+"/rewards", nil)
	list, _ := b["rewards"].([]any)
	return list
}

// Item 1.
func TestPausedArchivedAndEndedProgramsStopPayingConversions(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(p map[string]any)
	}{
		{"paused", func(p map[string]any) { p["status"] = "paused" }},
		{"archived", func(p map[string]any) { p["status"] = "archived" }},
		{"ended", func(p map[string]any) { p["endsAt"] = "2026-11-20T12:01:00Z" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStack(t)
			code := s.setup(tieredProgram())
			if st, b := refer(s, code, "bo"); st != 201 {
				t.Fatalf("refer: %d %v", st, b)
			}
			p := tieredProgram()
			c.change(p)
			if st, b := s.do("PUT", "/programs/p1", p); st != 200 {
				t.Fatalf("change program: %d %v", st, b)
			}
			s.advance(5 * time.Minute)
			if st, b := purchase(s, "o-1", "bo"); st != 422 || errCode(b) != "program_inactive" {
				t.Fatalf("conversion after the program stopped: %d %v", st, b)
			}
			if n := len(rewardsOf(s, "ana")); n != 0 {
				t.Fatalf("%d rewards paid by a stopped program", n)
			}
		})
	}
	t.Run("honorReferralsDays keeps paying referees referred before", func(t *testing.T) {
		s := newStack(t)
		p := tieredProgram()
		p["honorReferralsDays"] = 7
		code := s.setup(p)
		refer(s, code, "bo")
		refer(s, code, "cy")
		p["status"] = "paused"
		s.advance(time.Hour)
		if st, b := s.do("PUT", "/programs/p1", p); st != 200 || b["endedAt"] == nil {
			t.Fatalf("pause: %d %v", st, b)
		}
		s.advance(6 * 24 * time.Hour)
		if st, b := purchase(s, "o-1", "bo"); st != 201 {
			t.Fatalf("within the honour period: %d %v", st, b)
		}
		s.advance(2 * 24 * time.Hour)
		if st, b := purchase(s, "o-2", "cy"); st != 422 || errCode(b) != "program_inactive" {
			t.Fatalf("after the honour period: %d %v", st, b)
		}
	})
}

// Item 2.
func TestConversionBeforeItsReferralIsRefused(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	refer(s, code, "bo")
	st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "o-2001", "refereeId": "bo", "milestone": "purchase",
		"occurredAt": "2001-06-01T10:00:00Z", "amount": map[string]any{"amount": 5000, "currency": "USD"}})
	if st != 422 || errCode(b) != "conversion_before_referral" {
		t.Fatalf("a 2001 purchase for a referral made today: %d %v", st, b)
	}
	st, b = s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "o-future", "refereeId": "bo", "milestone": "purchase",
		"occurredAt": "2026-11-20T13:00:00Z"})
	if st != 400 || errCode(b) != "invalid_field" || errField(b) != "occurredAt" {
		t.Fatalf("a purchase an hour in the future: %d %v", st, b)
	}
	if n := len(rewardsOf(s, "ana")); n != 0 {
		t.Fatalf("%d rewards paid", n)
	}
}

// Item 3: the numbers. Six referees buy, two are refunded: four stand. The 7th purchase
// is the 5th standing (tier 1), and a refunded referee who buys again is the 6th (tier 2).
func TestReversedConversionsStopCountingTowardTiers(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	for i := 1; i <= 7; i++ {
		refer(s, code, fmt.Sprintf("f%d", i))
	}
	for i := 1; i <= 6; i++ {
		if st, b := purchase(s, fmt.Sprintf("o-%d", i), fmt.Sprintf("f%d", i)); st != 201 {
			t.Fatalf("purchase %d: %d %v", i, st, b)
		}
	}
	for _, e := range []string{"o-2", "o-4"} {
		if st, b := s.doAs("server", "POST", "/conversions/"+e+"/reverse", nil); st != 200 {
			t.Fatalf("reverse %s: %d %v", e, st, b)
		}
	}
	reason := func(b map[string]any) string {
		d := b["conversion"].(map[string]any)["decisions"].([]any)[0].(map[string]any)
		return d["reason"].(string)
	}
	st, b := purchase(s, "o-7", "f7")
	if st != 201 || reason(b) != "tier 1 of 2 (referral 5)" {
		t.Fatalf("7th purchase with 5 standing: %d %v", st, reason(b))
	}
	st, b = purchase(s, "o-2b", "f2")
	if st != 201 || reason(b) != "tier 2 of 2 (referral 6)" || len(b["rewards"].([]any)) != 1 {
		t.Fatalf("a refunded referee buying again: %d %v", st, b)
	}
	_, ref := s.do("GET", "/customers/ana/referrals", nil)
	for _, r := range ref["referrals"].([]any) {
		r := r.(map[string]any)
		if r["refereeId"] == "f4" && r["stage"] != "" {
			t.Fatalf("a refunded referee's stage is still %v", r["stage"])
		}
	}
}

// Item 4.
func TestCheckoutWithAnotherAdvocatesCodeIsRefused(t *testing.T) {
	s := newStack(t)
	anaCode := s.setup(tieredProgram())
	s.do("PUT", "/customers/bob", map[string]any{"email": "bob@example.com", "name": "Bob"})
	_, bc := s.do("POST", "/programs/p1/codes", map[string]any{"customerId": "bob"})
	refer(s, anaCode, "carl")
	st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "o-1", "code": bc["code"], "milestone": "purchase",
		"referee": map[string]any{"id": "carl"}, "amount": map[string]any{"amount": 5000, "currency": "USD"}})
	if st != 409 || errCode(b) != "already_referred" {
		t.Fatalf("checkout with Bob's code for Alice's referee: %d %v", st, b)
	}
	if n := len(rewardsOf(s, "ana")) + len(rewardsOf(s, "bob")) + len(rewardsOf(s, "carl")); n != 0 {
		t.Fatalf("%d rewards paid", n)
	}
	// With the advocate's own code the checkout proceeds.
	if st, b := s.doAs("server", "POST", "/conversions", map[string]any{"eventId": "o-2", "code": anaCode, "milestone": "purchase",
		"referee": map[string]any{"id": "carl"}, "amount": map[string]any{"amount": 5000, "currency": "USD"}}); st != 201 {
		t.Fatalf("checkout with the same advocate's code: %d %v", st, b)
	}
}

// Item 5.
func TestTheSameMailboxUnderNewRefereeIdsIsReferredOnce(t *testing.T) {
	s := newStack(t)
	p := tieredProgram()
	p["blockedEmailDomains"] = []string{"mailinator.com"}
	code := s.setup(p)
	first := map[string]any{"code": code, "referee": map[string]any{"id": "carol", "email": "carol.jones@gmail.com"}}
	if st, b := s.doAs("server", "POST", "/referrals", first); st != 201 {
		t.Fatalf("first: %d %v", st, b)
	}
	for i, email := range []string{"carol.jones@gmail.com", "CarolJones+2@googlemail.com", "c.a.r.o.l.jones@gmail.com"} {
		id := fmt.Sprintf("carol%d", i+3)
		st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": id, "email": email}})
		if st != 409 || errCode(b) != "already_referred" {
			t.Fatalf("%s as %s: %d %v", email, id, st, b)
		}
	}
	// A +tag is stripped for every domain, not only Gmail.
	s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "dan", "email": "dan@shop.example"}})
	if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "dan2", "email": "dan+x@shop.example"}}); st != 409 {
		t.Fatalf("a +tag on another domain: %d %v", st, b)
	}
	if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "eve", "email": "eve@mailinator.com"}}); st != 422 || errCode(b) != "email_domain_blocked" {
		t.Fatalf("a blocked domain: %d %v", st, b)
	}
}

// Item 6.
func TestReferralNeverOverwritesAStoredCustomer(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	s.do("PUT", "/customers/bo", map[string]any{"email": "bo.chen@example.com", "name": "Bo Chen", "locale": "th"})
	st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": code,
		"referee": map[string]any{"id": "bo", "email": "someone.else@example.com", "name": "Mallory", "locale": "en"}})
	if st != 201 {
		t.Fatalf("refer: %d %v", st, b)
	}
	_, c := s.do("GET", "/customers/bo", nil)
	if c["email"] != "bo.chen@example.com" || c["name"] != "Bo Chen" || c["locale"] != "th" {
		t.Fatalf("the stored customer was overwritten: %v", c)
	}
	// Empty fields are filled.
	s.do("PUT", "/customers/cy", map[string]any{"email": "cy@example.com"})
	s.doAs("server", "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "cy", "name": "Cy Park", "locale": "ms"}})
	if _, c := s.do("GET", "/customers/cy", nil); c["email"] != "cy@example.com" || c["name"] != "Cy Park" || c["locale"] != "en" {
		t.Fatalf("cy: %v", c)
	}
}

// patchCustomer sends a merge patch (RFC 7396) with its media type, or with contentType.
func patchCustomer(s *stack, id, body string, contentType ...string) (int, map[string]any) {
	s.t.Helper()
	ct := mergePatchJSON
	if len(contentType) > 0 {
		ct = contentType[0]
	}
	ev := event("PATCH /customers/{customerId}", map[string]string{"customerId": id}, "PATCH", "/customers/"+id, body, "server")
	ev.Headers["content-type"] = ct
	r, ok := s.routers["PATCH /customers/{customerId}"]
	if !ok {
		s.t.Fatalf("no router serves PATCH /customers/{customerId}")
	}
	resp, err := r.Handle(context.Background(), ev)
	if err != nil {
		s.t.Fatalf("PATCH: handler error %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		s.t.Fatalf("PATCH: %v: %s", err, resp.Body)
	}
	return resp.StatusCode, out
}

// Item 7: a shop syncing purchase counts sends {"purchaseCount":3}. As PATCH (a JSON merge
// patch) that changes the count and nothing else; PUT stays a replacement, as documented.
func TestPatchChangesOnlyTheFieldsItNames(t *testing.T) {
	s := newStack(t)
	full := map[string]any{"email": "bo.chen@example.com", "name": "Bo Chen", "locale": "th", "segment": "past",
		"purchaseCount": 1, "firstPurchaseAt": "2025-03-14T09:30:00Z", "marketingOptOut": true}
	if st, b := s.doAs("server", "PUT", "/customers/bo", full); st != 201 {
		t.Fatalf("PUT: %d %v", st, b)
	}
	st, b := patchCustomer(s, "bo", `{"purchaseCount":3}`)
	if st != 200 {
		t.Fatalf("PATCH purchaseCount: %d %v", st, b)
	}
	_, c := s.doAs("server", "GET", "/customers/bo", nil)
	for k, v := range full {
		if k == "purchaseCount" {
			v = 3
		}
		if fmt.Sprint(c[k]) != fmt.Sprint(v) {
			t.Errorf("after PATCH {purchaseCount:3}: %s = %v, want %v (%v)", k, c[k], v, c)
		}
	}
	// null puts a field back to its default; what is not named stays.
	if st, b := patchCustomer(s, "bo", `{"name":null,"locale":null,"firstPurchaseAt":null,"segment":"current"}`); st != 200 ||
		b["name"] != "" || b["locale"] != "en" || b["firstPurchaseAt"] != nil || b["segment"] != "current" ||
		b["email"] != "bo.chen@example.com" || b["marketingOptOut"] != true || fmt.Sprint(b["purchaseCount"]) != "3" {
		t.Fatalf("PATCH with nulls: %d %v", st, b)
	}
	// Refused, and nothing changes: the opt-out cannot be removed, bad values, unknown or
	// read-only fields, another media type, a patch that is not an object.
	for _, c := range []struct{ body, ct, field string }{
		{`{"marketingOptOut":null}`, mergePatchJSON, "marketingOptOut"},
		{`{"email":"not-an-email"}`, mergePatchJSON, "email"},
		{`{"purchaseCount":-1}`, mergePatchJSON, "purchaseCount"},
		{`{"purchaseCount":"3"}`, mergePatchJSON, "purchaseCount"},
		{`{"blocked":false}`, mergePatchJSON, "blocked"},
		{`{"purchaseCount":4}`, "application/json", ""},
		{`[{"op":"replace","path":"/purchaseCount","value":4}]`, mergePatchJSON, ""},
	} {
		if st, b := patchCustomer(s, "bo", c.body, c.ct); st != 400 || errField(b) != c.field {
			t.Errorf("PATCH %s (%s): %d %v, want 400 on %q", c.body, c.ct, st, b, c.field)
		}
	}
	if _, c := s.doAs("server", "GET", "/customers/bo", nil); fmt.Sprint(c["purchaseCount"]) != "3" || c["marketingOptOut"] != true {
		t.Fatalf("a refused patch changed the customer: %v", c)
	}
	if st, b := patchCustomer(s, "nobody", `{"purchaseCount":1}`); st != 404 || errCode(b) != "customer_not_found" {
		t.Fatalf("PATCH of an unknown customer: %d %v", st, b)
	}
	if st, _ := s.doAs("server", "GET", "/customers/nobody", nil); st != 404 {
		t.Fatalf("PATCH created a customer")
	}
	// PUT replaces: what it leaves out goes back to its default (the opt-out is kept).
	if st, b := s.doAs("server", "PUT", "/customers/bo", map[string]any{"purchaseCount": 4}); st != 200 ||
		b["email"] != "" || b["locale"] != "en" || b["marketingOptOut"] != true {
		t.Fatalf("PUT {purchaseCount:4}: %d %v", st, b)
	}
}

// Item 9: 80 conversions of one advocate at once, each with a short deadline, through the real
// handler on four warm containers: every answer is 201, 200 or 503 with Retry-After (never a
// 500 or a timeout), every answer comes at least a second before the deadline the handler was
// given, and what committed is exactly counted. Every fourth conversion names no program, so
// the handler's own reads before the transaction (the referee's programs) run under the
// deadline too. The timing is measured in the goroutine that called the handler, right after
// it returned: on a loaded machine that adds scheduler jitter, which the margins absorb
// (store.AnswerMargin leaves 600 ms beyond the second).
func TestContendedConversionsUnderAShortDeadlineAnswer503NeverATimeout(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	const n = 80
	for i := 0; i < n; i++ {
		refer(s, code, fmt.Sprintf("f%d", i))
	}
	routers := s.containers(4)
	body := func(i int) string {
		in := map[string]any{"eventId": fmt.Sprintf("o-%d", i), "refereeId": fmt.Sprintf("f%d", i),
			"milestone": "purchase", "amount": map[string]any{"amount": 5000, "currency": "USD"}}
		if i%4 != 0 {
			in["programId"] = "p1"
		}
		b, _ := json.Marshal(in)
		return string(b)
	}
	for _, r := range routers { // warm containers: the program is cached, as in Lambda
		warm := `{"eventId":"warm","refereeId":"nobody","milestone":"purchase","programId":"p1"}`
		if resp, _ := r.Handle(context.Background(), event("POST /conversions", nil, "POST", "/conversions", warm, "server")); resp.StatusCode != 422 {
			t.Fatalf("warm-up: %d %s", resp.StatusCode, resp.Body)
		}
	}
	const deadline = 4 * time.Second
	statuses := make([]int, n)
	early := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 5 * time.Millisecond) // a burst arrives over 400 ms
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			dl, _ := ctx.Deadline()
			resp, err := routers[i%len(routers)].Handle(ctx, event("POST /conversions", nil, "POST", "/conversions", body(i), "server"))
			early[i] = time.Until(dl)
			if err != nil {
				t.Errorf("conversion %d: handler error %v", i, err)
			}
			statuses[i] = resp.StatusCode
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Headers["Retry-After"] == "" {
				t.Errorf("conversion %d: 503 without Retry-After", i)
			}
		}(i)
	}
	wg.Wait()
	count := map[int]int{}
	least := deadline
	for i, st := range statuses {
		count[st]++
		least = min(least, early[i])
		if st != 201 && st != 200 && st != 503 {
			t.Errorf("conversion %d answered %d", i, st)
		}
		if early[i] < time.Second {
			t.Errorf("conversion %d answered %d only %v before its deadline", i, st, early[i])
		}
	}
	t.Logf("80 contended conversions, %v deadline: %d × 201, %d × 200, %d × 503, others %d; the latest answer %v before the deadline",
		deadline, count[201], count[200], count[503], n-count[201]-count[200]-count[503], least.Round(time.Millisecond))
	l := readLedger(t, s)
	if len(l.events) < count[201]+count[200] {
		t.Fatalf("%d events stored for %d successful answers", len(l.events), count[201]+count[200])
	}
	// Clients retry what got 503 with the same eventId: every conversion then counts once. One
	// seen committed answers its stored result (200); the others are recorded now (201), or
	// answer 200 too when a transaction still in flight when the table was read committed
	// since (the handler gave up waiting on it, the table did not).
	replays := 0
	for i, st := range statuses {
		if st != 503 {
			continue
		}
		_, stored := l.events[fmt.Sprintf("o-%d", i)]
		st, b := s.doAs("server", "POST", "/conversions", body(i))
		if st != 200 && (stored || st != 201) {
			t.Fatalf("retry of %d (committed before: %v): %d %v", i, stored, st, b)
		}
		if st == 200 {
			replays++
		}
	}
	t.Logf("retries of the 503s: %d × 200 (had committed), %d × 201", replays, count[503]-replays)
	l = readLedger(t, s)
	adv := l.standings["ana|p1"]
	counts, _ := adv["counts"].(map[string]any)
	if len(l.events) != n || fmt.Sprint(counts["purchase"]) != fmt.Sprint(n) || len(l.rewards) != n {
		t.Fatalf("after retries: %d events, %d rewards, standing %v; want %d", len(l.events), len(l.rewards), adv["counts"], n)
	}
	if bad := l.check(); len(bad) > 0 {
		t.Fatalf("ledger after retries: %v", bad)
	}
}

// lateDB is the SDK client on the test's table with DynamoDB's answers held back, as a stalled
// network or an overloaded machine holds them. Calls still reach the real engine (minidyn);
// stalled calls wait for their context and never arrive; deaf calls do not even return when
// their context ends, until release is closed (a starved machine slow to unwind them); with
// lateCommit a transaction commits but its answer comes only when its caller has stopped
// waiting, and everything after it stalls when stallAfterCommit is set too.
type lateDB struct {
	store.DynamoDB
	stalled, deaf, lateCommit, stallAfterCommit atomic.Bool
	release                                     chan struct{}
}

func (d *lateDB) gate(ctx context.Context) error {
	if d.deaf.Load() {
		<-d.release
		return fmt.Errorf("deaf: %w", ctx.Err())
	}
	if d.stalled.Load() {
		<-ctx.Done()
		return fmt.Errorf("stalled: %w", ctx.Err())
	}
	return nil
}

func (d *lateDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if err := d.gate(ctx); err != nil {
		return nil, err
	}
	return d.DynamoDB.GetItem(ctx, in, o...)
}

func (d *lateDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	if err := d.gate(ctx); err != nil {
		return nil, err
	}
	return d.DynamoDB.BatchGetItem(ctx, in, o...)
}

func (d *lateDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if err := d.gate(ctx); err != nil {
		return nil, err
	}
	return d.DynamoDB.Query(ctx, in, o...)
}

func (d *lateDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if err := d.gate(ctx); err != nil {
		return nil, err
	}
	if !d.lateCommit.Load() {
		return d.DynamoDB.TransactWriteItems(ctx, in, o...)
	}
	if _, err := d.DynamoDB.TransactWriteItems(context.WithoutCancel(ctx), in, o...); err != nil {
		return nil, err
	}
	if d.stallAfterCommit.Load() {
		d.stalled.Store(true)
	}
	<-ctx.Done()
	return nil, fmt.Errorf("answer lost: %w", ctx.Err())
}

// Item 9, the bound made hard: whatever DynamoDB does (no answer at all, a call that does not
// return when cancelled, or a transaction that commits but answers late), a conversion is answered at least a second before the deadline
// its handler was given, and what it answers is true: 503 with Retry-After when nothing was
// written or the outcome is unknown (a retry with the same eventId then answers the committed
// result), 201 with the result when the late transaction is seen to have committed.
func TestConversionsAnswerBeforeTheDeadlineWhateverTheTableDoes(t *testing.T) {
	const deadline = 3 * time.Second
	s := newStack(t)
	code := s.setup(tieredProgram())
	for _, f := range []string{"bo", "cy", "di"} {
		refer(s, code, f)
	}
	db := &lateDB{DynamoDB: s.db.Client, release: make(chan struct{})}
	t.Cleanup(func() { close(db.release) })
	late := store.New(db, s.db.Table, s.clock)
	h := NewConversions(late, &store.ProgramCache{Store: late, TTL: time.Minute}, quietLog)
	send := func(t *testing.T, eventID, referee string) (Response, time.Duration) {
		t.Helper()
		body := fmt.Sprintf(`{"eventId":%q,"refereeId":%q,"milestone":"purchase","amount":{"amount":5000,"currency":"USD"}}`, eventID, referee)
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		dl, _ := ctx.Deadline()
		type answer struct {
			resp Response
			err  error
		}
		done := make(chan answer, 1)
		go func() {
			resp, err := h.Handle(ctx, event("POST /conversions", nil, "POST", "/conversions", body, "server"))
			done <- answer{resp, err}
		}()
		var a answer
		select {
		case a = <-done:
		case <-time.After(deadline + time.Second):
			t.Fatalf("%s: no answer a second after the deadline: Lambda would have timed the function out", eventID)
		}
		resp, err := a.resp, a.err
		early := time.Until(dl)
		if err != nil {
			t.Fatalf("%s: handler error %v", eventID, err)
		}
		if early < time.Second {
			t.Errorf("%s answered %d only %v before its deadline", eventID, resp.StatusCode, early)
		}
		return resp, early
	}
	reset := func() {
		db.deaf.Store(false)
		db.stalled.Store(false)
		db.lateCommit.Store(false)
		db.stallAfterCommit.Store(false)
	}

	t.Run("no answer at all", func(t *testing.T) {
		defer reset()
		db.stalled.Store(true) // from the first read (the referee's programs) on
		resp, early := send(t, "o-stall", "bo")
		if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" {
			t.Fatalf("a stalled table: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
		}
		t.Logf("stalled table: 503 %v before the deadline", early.Round(time.Millisecond))
		if n := len(rewardsOf(s, "ana")); n != 0 {
			t.Fatalf("%d rewards written", n)
		}
	})
	t.Run("a call that does not return when cancelled", func(t *testing.T) {
		defer reset()
		db.deaf.Store(true)
		resp, early := send(t, "o-deaf", "bo")
		if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" {
			t.Fatalf("a call stuck past its context: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
		}
		t.Logf("stuck call: 503 %v before the deadline", early.Round(time.Millisecond))
	})
	t.Run("a committed transaction that answers late", func(t *testing.T) {
		defer reset()
		db.lateCommit.Store(true)
		resp, early := send(t, "o-late", "cy")
		if resp.StatusCode != 201 {
			t.Fatalf("a late commit: %d %s, want 201 with the committed result", resp.StatusCode, resp.Body)
		}
		t.Logf("late commit: 201 %v before the deadline", early.Round(time.Millisecond))
		reset()
		again, _ := send(t, "o-late", "cy")
		if again.StatusCode != 200 || again.Body != resp.Body {
			t.Fatalf("retry: %d %s\nfirst answer: %s", again.StatusCode, again.Body, resp.Body)
		}
	})
	t.Run("a late commit whose outcome cannot be read in time", func(t *testing.T) {
		defer reset()
		db.lateCommit.Store(true)
		db.stallAfterCommit.Store(true)
		resp, _ := send(t, "o-unknown", "di")
		if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" {
			t.Fatalf("an unknown outcome: %d %s", resp.StatusCode, resp.Body)
		}
		reset()
		again, _ := send(t, "o-unknown", "di")
		var b map[string]any
		_ = json.Unmarshal([]byte(again.Body), &b)
		if again.StatusCode != 200 || len(b["rewards"].([]any)) != 1 {
			t.Fatalf("the retry of a conversion that had committed: %d %s, want 200 with its reward", again.StatusCode, again.Body)
		}
	})
	l := readLedger(t, s)
	if bad := l.check(); len(bad) > 0 || len(l.events) != 2 || len(l.rewards) != 2 {
		t.Fatalf("ledger: %d events, %d rewards, %v", len(l.events), len(l.rewards), bad)
	}
}

// Item 8.
func TestBadJSONIsRefusedWithTheFieldNamedAndNothingStored(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	cases := []struct {
		name, method, path, body string
		field                    string
	}{
		{"raw invalid UTF-8", "PUT", "/customers/zed", "{\"name\":\"Ann \xff\xfe Lee\"}", ""},
		{"a lone surrogate", "PUT", "/customers/zed", `{"name":"Ann \ud800 Lee"}`, ""},
		{"a lone low surrogate", "PUT", "/customers/zed", `{"name":"Ann \udc00 Lee"}`, ""},
		{"a duplicate key", "PUT", "/customers/zed", `{"name":"Ann","name":"Bob"}`, "name"},
		{"a duplicate nested key", "POST", "/referrals", `{"code":"` + code + `","referee":{"id":"zed","id":"zed2"}}`, "referee.id"},
		{"a number for a time", "PUT", "/customers/zed", `{"firstPurchaseAt":1700000000}`, "firstPurchaseAt"},
		{"a string for a number in a list", "PUT", "/programs/p2", `{"name":"x","currency":"USD","landingUrl":"https://x.example","milestones":["purchase"],` +
			`"advocateRewards":[{"milestone":"purchase","type":"fixed","kind":"cash","amount":"ten"}]}`, "advocateRewards[0].amount"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, b := s.do(c.method, c.path, c.body)
			e, _ := b["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if st != 400 || errCode(b) != "invalid_request" || errField(b) != c.field {
				t.Fatalf("%d %v, want 400 invalid_request field %q", st, b, c.field)
			}
			for _, goType := range []string{"Time.UnmarshalJSON", "int64", "Go value", "json:"} {
				if strings.Contains(msg, goType) {
					t.Fatalf("the message leaks a Go type: %q", msg)
				}
			}
		})
	}
	if st, _ := s.do("GET", "/customers/zed", nil); st != 404 {
		t.Fatalf("a refused body stored a customer: %d", st)
	}
	// A pair of surrogates is a valid character.
	if st, b := s.do("PUT", "/customers/zed", `{"name":"Ann \ud83d\ude00 Lee"}`); st != 201 || b["name"] != "Ann 😀 Lee" {
		t.Fatalf("a surrogate pair: %d %v", st, b)
	}
	// The reversal reason limit is the documented 200 characters.
	refer(s, code, "bo")
	purchase(s, "o-1", "bo")
	if st, b := s.doAs("server", "POST", "/conversions/o-1/reverse", map[string]any{"reason": strings.Repeat("r", 201)}); st != 400 || errField(b) != "reason" {
		t.Fatalf("a 201-character reason: %d %v", st, b)
	}
	// The share URL keeps ?ref= before a fragment; a taken vanity code names its field.
	p := tieredProgram()
	p["landingUrl"] = "https://shop.example.com/invite#top"
	s.do("PUT", "/programs/p3", p)
	if _, c := s.do("POST", "/programs/p3/codes", map[string]any{"customerId": "ana", "code": "ANA-TOP"}); c["shareUrl"] != "https://shop.example.com/invite?ref=ANA-TOP#top" {
		t.Fatalf("share URL %v", c["shareUrl"])
	}
	s.do("PUT", "/customers/bea", map[string]any{"name": "Bea"})
	if st, b := s.do("POST", "/programs/p3/codes", map[string]any{"customerId": "bea", "code": "ANA-TOP"}); st != 409 || errCode(b) != "code_taken" || errField(b) != "code" {
		t.Fatalf("a taken vanity code: %d %v", st, b)
	}
}

// Item 11: a merchant pauses a code that leaked to a coupon site, then resumes it.
func TestAPausedCodeTakesNoReferralsUntilResumed(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	refer(s, code, "bo")
	if st, b := s.doAs("server", "POST", "/codes/"+code+"/pause", nil); st != 403 {
		t.Fatalf("a server key pausing a code: %d %v", st, b)
	}
	if st, b := s.do("POST", "/codes/"+strings.ToLower(code)+"/pause", nil); st != 200 || b["status"] != "inactive" || b["code"] != code {
		t.Fatalf("pause: %d %v", st, b)
	}
	if st, b := s.do("POST", "/codes/"+code+"/pause", nil); st != 200 || b["status"] != "inactive" {
		t.Fatalf("pause again: %d %v", st, b)
	}
	if _, b := s.doAs("", "GET", "/codes/"+code, nil); b["status"] != "inactive" {
		t.Fatalf("public check of a paused code: %v", b)
	}
	if resp := s.raw("", "GET", "/r/"+code, nil); resp.StatusCode != 410 {
		t.Fatalf("share link of a paused code: %d", resp.StatusCode)
	}
	if st, b := refer(s, code, "cy"); st != 410 || errCode(b) != "code_inactive" {
		t.Fatalf("a referral with a paused code: %d %v", st, b)
	}
	if st, _ := s.doAs("server", "GET", "/customers/cy", nil); st != 404 {
		t.Fatalf("a refused referral stored its referee")
	}
	// A referee the code brought before the pause still converts.
	if st, b := purchase(s, "o-1", "bo"); st != 201 {
		t.Fatalf("conversion of a referee referred before the pause: %d %v", st, b)
	}
	if st, b := s.do("POST", "/codes/"+code+"/resume", nil); st != 200 || b["status"] != "active" {
		t.Fatalf("resume: %d %v", st, b)
	}
	if st, b := refer(s, code, "cy"); st != 201 {
		t.Fatalf("a referral after resuming: %d %v", st, b)
	}
	if st, b := s.do("POST", "/codes/NOPE-2026/pause", nil); st != 404 || errCode(b) != "code_not_found" {
		t.Fatalf("pausing an unknown code: %d %v", st, b)
	}
}

// Item 11 (and 5): the blocklist. A blocked advocate's referees stop paying, their code stops
// taking referrals; a blocked referee cannot convert or be referred; unblocking restores both.
func TestBlockedCustomersCanNeitherReferNorBeReferred(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	for _, f := range []string{"bo", "cy", "di"} {
		refer(s, code, f)
	}
	// The conversions container has seen ana's standing: the block must reach it anyway.
	if st, b := purchase(s, "o-di", "di"); st != 201 {
		t.Fatalf("before the block: %d %v", st, b)
	}
	if st, b := s.doAs("server", "PUT", "/blocklist/ana", nil); st != 403 {
		t.Fatalf("a server key blocking: %d %v", st, b)
	}
	if st, b := s.do("PUT", "/blocklist/ana", nil); st != 200 || b["blocked"] != true || b["name"] != "Ana Lima" {
		t.Fatalf("block ana: %d %v", st, b)
	}
	if st, b := purchase(s, "o-bo", "bo"); st != 422 || errCode(b) != "customer_blocked" {
		t.Fatalf("a conversion of a blocked advocate's referee: %d %v", st, b)
	}
	if st, b := refer(s, code, "eve"); st != 422 || errCode(b) != "customer_blocked" {
		t.Fatalf("a referral with a blocked advocate's code: %d %v", st, b)
	}
	if _, b := s.doAs("", "GET", "/codes/"+code, nil); b["status"] != "inactive" {
		t.Fatalf("public check of a blocked advocate's code: %v", b)
	}
	// A blocked referee: their own conversions are refused, and no one can refer them.
	s.do("PUT", "/customers/fay", map[string]any{"name": "Fay"})
	_, fc := s.do("POST", "/programs/p1/codes", map[string]any{"customerId": "fay"})
	s.doAs("server", "POST", "/referrals", map[string]any{"code": fc["code"], "referee": map[string]any{"id": "gus"}})
	s.do("PUT", "/blocklist/gus", nil)
	if st, b := purchase(s, "o-gus", "gus"); st != 422 || errCode(b) != "customer_blocked" {
		t.Fatalf("a blocked referee's conversion: %d %v", st, b)
	}
	// Someone not seen yet is blocked before they show up.
	if st, b := s.do("PUT", "/blocklist/hal", nil); st != 200 || b["blocked"] != true {
		t.Fatalf("block an unknown customer: %d %v", st, b)
	}
	if st, b := s.doAs("server", "POST", "/referrals", map[string]any{"code": fc["code"], "referee": map[string]any{"id": "hal", "email": "hal@example.com"}}); st != 422 || errCode(b) != "customer_blocked" {
		t.Fatalf("a referral of a blocked newcomer: %d %v", st, b)
	}
	if st, b := s.do("POST", "/programs/p1/codes", map[string]any{"customerId": "hal"}); st != 422 || errCode(b) != "customer_blocked" {
		t.Fatalf("a code for a blocked customer: %d %v", st, b)
	}
	if n := len(rewardsOf(s, "ana")); n != 1 {
		t.Fatalf("ana has %d rewards, want only the one from before the block", n)
	}
	// Off the blocklist: everything works again.
	if st, b := s.do("DELETE", "/blocklist/ana", nil); st != 200 || b["blocked"] != false {
		t.Fatalf("unblock ana: %d %v", st, b)
	}
	if st, b := purchase(s, "o-bo", "bo"); st != 201 {
		t.Fatalf("after unblocking: %d %v", st, b)
	}
	if st, b := refer(s, code, "eve"); st != 201 {
		t.Fatalf("a referral after unblocking: %d %v", st, b)
	}
	if st, b := s.do("DELETE", "/blocklist/nobody", nil); st != 404 || errCode(b) != "customer_not_found" {
		t.Fatalf("unblocking an unknown customer: %d %v", st, b)
	}
}

// Item 11: GET /customers/{id} says who referred the customer, per program.
func TestACustomerShowsWhoReferredThem(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	refer(s, code, "bo")
	p2 := tieredProgram()
	p2["name"] = "Spring"
	s.do("PUT", "/programs/p2", p2)
	s.do("PUT", "/customers/eve", map[string]any{"name": "Eve"})
	_, ec := s.do("POST", "/programs/p2/codes", map[string]any{"customerId": "eve", "code": "EVE-SPRING"})
	s.advance(time.Hour)
	s.doAs("server", "POST", "/referrals", map[string]any{"code": ec["code"], "referee": map[string]any{"id": "bo"}})
	st, b := s.doAs("server", "GET", "/customers/bo", nil)
	by, _ := b["referredBy"].([]any)
	if st != 200 || len(by) != 2 {
		t.Fatalf("GET bo: %d %v", st, b)
	}
	want := map[string]string{"p1": "ana " + code + " 2026-11-20T12:00:00Z", "p2": "eve EVE-SPRING 2026-11-20T13:00:00Z"}
	for _, e := range by {
		e := e.(map[string]any)
		if got := fmt.Sprintf("%v %v %v", e["advocateId"], e["code"], e["referredAt"]); got != want[e["programId"].(string)] {
			t.Errorf("referredBy in %v: %s, want %s", e["programId"], got, want[e["programId"].(string)])
		}
	}
	if _, b := s.doAs("server", "GET", "/customers/ana", nil); b["referredBy"] == nil || len(b["referredBy"].([]any)) != 0 {
		t.Fatalf("a customer nobody referred: referredBy %v, want []", b["referredBy"])
	}
}

// csvOf reads a CSV answer: its status, rows (the header first) and Link header. It fails
// the test unless the body is RFC 4180 with CRLF line ends.
func csvOf(t *testing.T, s *stack, target string) (int, [][]string, string) {
	t.Helper()
	u, _ := url.Parse(target)
	key, params := s.match("GET", u.Path)
	ev := event(key, params, "GET", target, "", "admin")
	ev.Headers["accept"] = "text/csv"
	resp, err := s.routers[key].Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		return resp.StatusCode, nil, ""
	}
	if !strings.HasPrefix(resp.Headers["Content-Type"], "text/csv") {
		t.Fatalf("GET %s with Accept: text/csv: Content-Type %q", target, resp.Headers["Content-Type"])
	}
	if strings.Count(resp.Body, "\r\n") != strings.Count(resp.Body, "\n") || !strings.HasSuffix(resp.Body, "\r\n") {
		t.Fatalf("CSV lines must end with CRLF: %q", resp.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, resp.Body)
	}
	return resp.StatusCode, rows, resp.Headers["Link"]
}

// ids lists a field of each object of a list in a body.
func ids(b map[string]any, list, field string) []string {
	var out []string
	items, _ := b[list].([]any)
	for _, it := range items {
		out = append(out, fmt.Sprint(it.(map[string]any)[field]))
	}
	return out
}

// Item 11: the reward queues. Review waits for an admin, approved is the payout queue (a
// reward whose hold just ended is in it at once, before any scheduler run), failed holds
// deliveries that failed; each as JSON or CSV, filtered by program and customer, paged.
func TestRewardQueuesListWhatNeedsWorkAsJSONAndCSV(t *testing.T) {
	s := newStack(t)
	p := tieredProgram()
	p["limits"] = map[string]any{"maxConversionsPerAdvocatePerDay": 1}
	p["advocateRewards"] = append(p["advocateRewards"].([]any), map[string]any{"milestone": "purchase", "type": "threshold",
		"atCount": 3, "kind": "free_product", "description": "=HYPERLINK(\"https://evil.example\",\"Claim\")"})
	code := s.setup(p)
	for _, f := range []string{"bo", "cy", "di"} {
		refer(s, code, f)
	}
	purchase(s, "o-bo", "bo") // pending for 14 days
	purchase(s, "o-cy", "cy") // the second of the day: review
	queue := func(query string) []string {
		t.Helper()
		st, b := s.do("GET", "/rewards?"+query, nil)
		if st != 200 {
			t.Fatalf("GET /rewards?%s: %d %v", query, st, b)
		}
		return ids(b, "rewards", "eventId")
	}
	if got := queue("status=review"); fmt.Sprint(got) != "[o-cy]" {
		t.Fatalf("review queue: %v", got)
	}
	if got := queue("status=approved"); len(got) != 0 {
		t.Fatalf("payout queue during the hold: %v", got)
	}
	if got := queue("status=pending&programId=p1"); fmt.Sprint(got) != "[o-bo]" {
		t.Fatalf("pending: %v", got)
	}
	// The hold ends: the payout queue has the reward at once (no scheduler has run).
	s.advance(15 * 24 * time.Hour)
	if got := queue("status=approved"); fmt.Sprint(got) != "[o-bo]" {
		t.Fatalf("payout queue after the hold: %v", got)
	}
	if got := queue("status=pending"); len(got) != 0 {
		t.Fatalf("pending after the hold: %v", got)
	}
	_, rv := s.do("GET", "/rewards?status=review", nil)
	reviewID := rv["rewards"].([]any)[0].(map[string]any)["rewardId"].(string)
	if st, b := s.do("POST", "/rewards/"+reviewID+"/approve", nil); st != 200 {
		t.Fatalf("approve: %d %v", st, b)
	}
	purchase(s, "o-di", "di") // the third standing: its tier reward and the threshold bonus, both pending
	if got := queue("status=approved"); fmt.Sprint(got) != "[o-bo o-cy]" {
		t.Fatalf("payout queue after an approval: %v", got)
	}
	// Paged, by customer, by program; a second program's rewards stay out of the first's.
	p2 := tieredProgram()
	p2["holdDays"] = 0
	s.do("PUT", "/programs/p2", p2)
	_, c2 := s.do("POST", "/programs/p2/codes", map[string]any{"customerId": "ana"})
	refer(s, c2["code"].(string), "eve")
	purchase(s, "o-eve", "eve")
	if got := queue("status=approved&programId=p1"); fmt.Sprint(got) != "[o-bo o-cy]" {
		t.Fatalf("payout queue of p1: %v", got)
	}
	var all []string
	for cursor, pages := "", 0; ; pages++ {
		q := "status=approved&limit=1"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		_, b := s.do("GET", "/rewards?"+q, nil)
		all = append(all, ids(b, "rewards", "eventId")...)
		next, _ := b["nextCursor"].(string)
		if next == "" || pages > 10 {
			break
		}
		cursor = next
	}
	if fmt.Sprint(all) != "[o-bo o-cy o-eve]" {
		t.Fatalf("payout queue page by page: %v", all)
	}
	if got := queue("customerId=ana&status=pending"); fmt.Sprint(got) != "[o-di o-di]" {
		t.Fatalf("ana's pending rewards: %v", got)
	}
	// CSV: a header row, one row per reward, formula-like text defused, the next page linked.
	st, rows, link := csvOf(t, s, "/rewards?customerId=ana&status=pending&limit=1")
	if st != 200 || len(rows) != 2 || rows[0][0] != "rewardId" || link == "" || !strings.Contains(link, "cursor=") {
		t.Fatalf("CSV page 1: %d %v link %q", st, rows, link)
	}
	_, rows, _ = csvOf(t, s, "/rewards?customerId=ana&status=pending")
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var descriptions []string
	for _, r := range rows[1:] {
		descriptions = append(descriptions, r[col["description"]])
		if r[col["status"]] != "pending" || r[col["customerId"]] != "ana" {
			t.Errorf("CSV row %v", r)
		}
	}
	if !slices.Contains(descriptions, `'=HYPERLINK("https://evil.example","Claim")`) {
		t.Fatalf("a formula in a description must be defused: %q", descriptions)
	}
	// The failed queue: a delivery from an empty coupon pool.
	pool := tieredProgram()
	pool["holdDays"] = 0
	pool["advocateRewards"] = []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 500, "kind": "gift_card",
		"fulfilment": map[string]any{"provider": "coupon_pool", "pool": "empty"}}}
	s.do("PUT", "/programs/p3", pool)
	_, c3 := s.do("POST", "/programs/p3/codes", map[string]any{"customerId": "ana"})
	refer(s, c3["code"].(string), "fay")
	_, res := purchase(s, "o-fay", "fay")
	failedID := res["rewards"].([]any)[0].(map[string]any)["rewardId"].(string)
	if st, b := s.do("POST", "/rewards/"+failedID+"/fulfill", nil); st != 409 || errCode(b) != "pool_empty" {
		t.Fatalf("fulfil from an empty pool: %d %v", st, b)
	}
	if got := queue("status=failed"); fmt.Sprint(got) != "[o-fay]" {
		t.Fatalf("failed queue: %v", got)
	}
	if got := queue("status=approved&programId=p3"); len(got) != 0 {
		t.Fatalf("a failed delivery is not in the payout queue: %v", got)
	}
	// Past their expiry, unfulfilled rewards are listed expired (before any scheduler run).
	s.advance(400 * 24 * time.Hour)
	if got := queue("status=expired&programId=p1"); len(got) != 4 {
		t.Fatalf("expired: %v", got)
	}
	for q, want := range map[string]int{"status=paid": 400, "programId=nope": 404, "customerId=a%20b": 400, "cursor=bogus": 400} {
		if st, b := s.do("GET", "/rewards?"+q, nil); st != want {
			t.Errorf("GET /rewards?%s: %d %v, want %d", q, st, b, want)
		}
	}
	if st, _ := s.doAs("server", "GET", "/rewards?status=approved", nil); st != 403 {
		t.Errorf("a server key reading the payout queue: %d", st)
	}
}

// Item 11: a program's referrals, newest first, as JSON and CSV.
func TestProgramReferralsListNewestFirstAsJSONAndCSV(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	for _, f := range []string{"bo", "cy", "+31612345678"} {
		refer(s, code, f)
		s.advance(time.Minute)
	}
	st, b := s.do("GET", "/programs/p1/referrals?limit=2", nil)
	next, _ := b["nextCursor"].(string)
	if st != 200 || fmt.Sprint(ids(b, "referrals", "refereeId")) != "[+31612345678 cy]" || next == "" {
		t.Fatalf("page 1: %d %v", st, b)
	}
	if _, b := s.do("GET", "/programs/p1/referrals?limit=2&cursor="+url.QueryEscape(next), nil); fmt.Sprint(ids(b, "referrals", "refereeId")) != "[bo]" || b["nextCursor"] != nil {
		t.Fatalf("page 2: %v", b)
	}
	st, rows, link := csvOf(t, s, "/programs/p1/referrals")
	if st != 200 || len(rows) != 4 || link != "" || strings.Join(rows[0], ",") != "referralId,programId,code,advocateId,refereeId,channel,stage,createdAt,attributionExpiresAt" {
		t.Fatalf("CSV: %d %v %q", st, rows, link)
	}
	if rows[1][4] != "'+31612345678" || rows[3][4] != "bo" || rows[1][3] != "ana" || rows[1][2] != code {
		t.Fatalf("CSV rows (newest first, a leading + defused): %v", rows[1:])
	}
	if st, b := s.do("GET", "/programs/nope/referrals", nil); st != 404 || errCode(b) != "program_not_found" {
		t.Fatalf("unknown program: %d %v", st, b)
	}
	if st, _ := s.doAs("server", "GET", "/programs/p1/referrals", nil); st != 403 {
		t.Fatalf("a server key: %d", st)
	}
}

// Item 10: stats and the leaderboard show a change within a minute of it (stream delivery
// included): a conversion at 21:40 is in both as soon as the stream is delivered, its reward
// shows approved the moment its hold ends at 21:40 fourteen days later (not at 22:00, nor
// when the scheduler next runs), and expired the moment its validity ends; the scheduler
// writing those transitions later changes no number.
func TestStatsShowAChangeWithinAMinute(t *testing.T) {
	s := newStreamStack(t)
	code := s.setup(tieredProgram()) // 14-day hold, rewards valid 365 days
	refer(s.stack, code, "bo")
	s.advance(9*time.Hour + 40*time.Minute + 30*time.Second) // 21:40:30
	if st, b := purchase(s.stack, "o-1", "bo"); st != 201 {
		t.Fatalf("purchase: %d %v", st, b)
	}
	s.drain(2)
	rewards := func() map[string]any {
		t.Helper()
		st := s.must(200, "GET", "/programs/p1/stats", nil)
		return st["rewards"].(map[string]any)
	}
	count := func(r map[string]any, status string) float64 { return num(r, status+".count") }
	if st := s.must(200, "GET", "/programs/p1/stats", nil); num(st, "conversions.purchase") != 1 || count(rewards(), "pending") != 1 {
		t.Fatalf("the conversion after its stream delivery: %v", st)
	}
	if lb := s.must(200, "GET", "/programs/p1/leaderboard?period=2026-11", nil); len(lb["entries"].([]any)) != 1 {
		t.Fatalf("leaderboard after the stream delivery: %v", lb)
	}
	s.advance(14*24*time.Hour - 30*time.Second) // 20 seconds before the hold ends
	if r := rewards(); count(r, "pending") != 1 || count(r, "approved") != 0 {
		t.Fatalf("20 s before the hold ends: %v", r)
	}
	s.advance(40 * time.Second) // 20 seconds after
	if r := rewards(); count(r, "approved") != 1 || count(r, "pending") != 0 || num(r, "approved.amount.amount") != 1000 {
		t.Fatalf("20 s after the hold ended: %v", r)
	}
	// The scheduler writes the approval; the stream moves the count: still one approved.
	sched := &scheduler.Scheduler{Store: s.store, Fulfil: &fulfil.Service{Store: s.store, Programs: &store.ProgramCache{Store: s.store}, Log: quietLog},
		Contests: &insights.Service{Store: s.store}, Log: quietLog}
	if rep, err := sched.Run(context.Background()); err != nil || rep.Approved != 1 {
		t.Fatalf("scheduler: %+v %v", rep, err)
	}
	s.drain(2)
	if r := rewards(); count(r, "approved") != 1 || count(r, "pending") != 0 {
		t.Fatalf("after the scheduler wrote the approval: %v", r)
	}
	// A year on, the reward expires unfulfilled: expired at once, then written, still one.
	s.advance(351*24*time.Hour + 20*time.Second)
	if r := rewards(); count(r, "expired") != 1 || count(r, "approved") != 0 {
		t.Fatalf("20 s after the expiry: %v", r)
	}
	if rep, err := sched.Run(context.Background()); err != nil || rep.Expired != 1 {
		t.Fatalf("scheduler: %+v %v", rep, err)
	}
	s.drain(2)
	if r := rewards(); count(r, "expired") != 1 || count(r, "approved") != 0 {
		t.Fatalf("after the scheduler wrote the expiry: %v", r)
	}
}
