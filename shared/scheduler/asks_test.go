package scheduler_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/shared/referral"
)

// inserted lists the items of a type the records inserted, as "<customerId>" plus, for
// reminders, "#<number>": what the email stream consumer would send an email for.
func inserted(recs []events.DynamoDBEventRecord, typ string) []string {
	var out []string
	for _, r := range recs {
		img := r.Change.NewImage
		if r.EventName != "INSERT" || img["type"].String() != typ {
			continue
		}
		s := img["customerId"].String()
		if n, ok := img["number"]; ok {
			s += "#" + n.Number()
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (e *env) scheduleAsk(customer string, at time.Time) string {
	e.t.Helper()
	b := e.call("POST", "/asks", map[string]any{"customerId": customer, "programId": "p1", "sendAt": at.Format(time.RFC3339)}, 202)
	if b["status"] != referral.AskScheduled {
		e.t.Fatalf("ask for %s at %s: %v", customer, at, b)
	}
	return b["askId"].(string)
}

// TestScheduledAsksAreSentWhenDueOnce: asks scheduled for later go out on the first run after
// their sendAt through the ask path (bo, without a code, gets one), by the rules in force
// then: cy opted out meanwhile and di was asked meanwhile (cooldown), so theirs are skipped
// with the reason. The run right after writes nothing at all.
func TestScheduledAsksAreSentWhenDueOnce(t *testing.T) {
	tb := streamtest.Start(t)
	e := newEnvOn(t, tb.DB)
	tb.SetClock(e.clock)
	e.program(map[string]any{"emails": map[string]any{"askCooldownDays": 30}})
	for _, c := range []string{"bo", "cy", "di"} {
		e.call("PUT", "/customers/"+c, map[string]any{"email": c + "@example.com", "name": c}, 201)
	}
	start := e.clock()
	ids := map[string]string{}
	for _, c := range []string{"ana", "bo", "cy", "di"} {
		ids[c] = e.scheduleAsk(c, start.Add(time.Hour))
	}
	e.call("PUT", "/customers/cy", map[string]any{"email": "cy@example.com", "name": "cy", "marketingOptOut": true}, 200)
	e.advance(time.Minute)
	e.call("POST", "/asks", map[string]any{"customerId": "di", "programId": "p1"}, 202)
	if rep := e.run(); rep.Work() != 0 {
		t.Fatalf("a run before sendAt: %+v", rep)
	}
	tb.Take()

	e.advance(time.Hour)
	first := e.run()
	recs := tb.Take()
	second := e.run()
	t.Logf("first run: %+v", first)
	t.Logf("second run: %+v", second)
	if first.AsksSent != 2 || first.AsksSkipped != 2 || first.Work() != 4 || first.Errors != 0 {
		t.Fatalf("first run: %+v, want 2 asks sent, 2 skipped", first)
	}
	if got := inserted(recs, "ask"); fmt.Sprint(got) != "[ana bo]" {
		t.Fatalf("asks recorded (each sends its email): %v, want ana and bo", got)
	}
	if second.Work() != 0 || second.Errors != 0 {
		t.Fatalf("second run: %+v, want no work", second)
	}
	if recs := tb.Take(); len(recs) != 0 {
		t.Fatalf("the second run wrote %d items: %+v", len(recs), recs)
	}

	ctx := context.Background()
	want := map[string][2]string{"ana": {"sent", ""}, "bo": {"sent", ""}, "cy": {"skipped", "opted_out"}, "di": {"skipped", "rate_limited"}}
	for c, w := range want {
		a, found, err := e.store.GetScheduledAsk(ctx, ids[c])
		if err != nil || !found || a.Status != w[0] || a.Reason != w[1] || a.DoneAt == nil {
			t.Errorf("%s's scheduled ask: %+v %v %v, want %s %s", c, a, found, err, w[0], w[1])
		}
	}
	bo, found, err := e.store.GetAsk(ctx, ids["bo"])
	if err != nil || !found || bo.Code == "" || !bo.CodeCreated || bo.Template != referral.EmailAskCurrent {
		t.Fatalf("bo's ask, sent under the scheduled id: %+v %v %v, want a new code", bo, found, err)
	}
	if ana, _, _ := e.store.GetAsk(ctx, ids["ana"]); ana.Template != referral.EmailAskPromoCode || ana.CodeCreated {
		t.Fatalf("ana's ask: %+v, want ask-promo-code with her code", ana)
	}
}

// TestRemindersGoToAdvocatesWhoHaveNotShared: reminderAfterDays after the code and after each
// reminder, at most maxReminders, only while the code has brought no referral; a paused code
// puts its reminder off. Each run's second twin writes nothing.
func TestRemindersGoToAdvocatesWhoHaveNotShared(t *testing.T) {
	tb := streamtest.Start(t)
	e := newEnvOn(t, tb.DB)
	tb.SetClock(e.clock)
	e.program(map[string]any{"emails": map[string]any{"reminderAfterDays": 7, "maxReminders": 2}}) // ana's code
	codes := map[string]string{}
	for _, c := range []string{"bo", "cy"} {
		e.call("PUT", "/customers/"+c, map[string]any{"email": c + "@example.com", "name": c}, 201)
		codes[c] = e.call("POST", "/programs/p1/codes", map[string]any{"customerId": c}, 201)["code"].(string)
	}
	e.call("POST", "/referrals", map[string]any{"code": codes["bo"], "referee": map[string]any{"id": "fr"}}, 201) // bo shared
	e.call("POST", "/codes/"+codes["cy"]+"/pause", nil, 200)
	if rep := e.run(); rep.Work() != 0 {
		t.Fatalf("a run on day 0: %+v", rep)
	}
	tb.Take()

	type step struct {
		reminders, deferred int
		sent                string
	}
	for i, s := range []step{
		{1, 1, "[ana#1]"}, // day 7: ana's first; cy's paused code waits
		{1, 1, "[ana#2]"}, // day 14: ana's last; cy's still paused
		{1, 0, "[cy#1]"},  // day 21, cy's code resumed on day 14: her first
		{1, 0, "[cy#2]"},  // day 28: cy's last
		{0, 0, "[]"},      // day 35: nobody
	} {
		e.advance(7 * 24 * time.Hour)
		rep := e.run()
		recs := tb.Take()
		again := e.run()
		t.Logf("day %d: %+v; again: %+v", 7*(i+1), rep, again)
		if rep.Reminders != s.reminders || rep.RemindersLater != s.deferred || rep.Work() != s.reminders+s.deferred || rep.Errors != 0 {
			t.Fatalf("day %d: %+v, want %d reminders, %d deferred", 7*(i+1), rep, s.reminders, s.deferred)
		}
		if got := fmt.Sprint(inserted(recs, "reminder")); got != s.sent {
			t.Fatalf("day %d: reminders recorded %s, want %s", 7*(i+1), got, s.sent)
		}
		if again.Work() != 0 || again.Errors != 0 {
			t.Fatalf("day %d, the run right after: %+v", 7*(i+1), again)
		}
		if recs := tb.Take(); len(recs) != 0 {
			t.Fatalf("day %d: the run right after wrote %+v", 7*(i+1), recs)
		}
		if i == 1 {
			e.call("POST", "/codes/"+codes["cy"]+"/resume", nil, 200)
			tb.Take()
		}
	}
}
