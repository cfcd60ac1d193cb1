package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/email"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/store"
)

// logCapture is a JSON log sink at debug level that tests can read back.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// pickySender refuses some emails the way SES does, with the address in the error text: one
// recipient for good, and the first email to another for now.
type pickySender struct{ sent, throttled int }

func (p *pickySender) Send(_ context.Context, o email.Outgoing) (string, error) {
	switch {
	case strings.HasPrefix(o.To, "yusuf"):
		return "", &email.Rejected{Code: "MessageRejected", Err: errors.New("Email address is not verified. The following identities failed the check in region US-EAST-1: " + o.To)}
	case strings.HasPrefix(o.To, "Zelda") && p.throttled == 0:
		p.throttled++
		return "", errors.New("throttled while sending to " + o.To + " <" + o.To + ">")
	}
	p.sent++
	return "msg", nil
}

// TestNoPersonalDataOrSecretInAnyLogLine runs a full scenario — keys through the authorizer,
// customers, a program, codes, referrals, fraud refusals, checkout, asks, emails from the
// stream (some refused by SES), stats, erasure, and a table outage — with every logger at
// debug level captured, and fails if any email address, customer name or secret appears.
func TestNoPersonalDataOrSecretInAnyLogLine(t *testing.T) {
	logs := &logCapture{}
	capture := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	saved, savedDefault := quietLog, slog.Default()
	quietLog = capture // newStack builds every router with it (so this test must not be parallel)
	slog.SetDefault(capture)
	t.Cleanup(func() { quietLog = saved; slog.SetDefault(savedDefault) })

	tb := streamtest.Start(t)
	s := newStackOn(t, tb.DB)
	tb.SetClock(s.clock)
	g, admin := newGateway(t, s)
	g.auth.Log = capture
	adminSecret := strings.TrimPrefix(admin, "Bearer ")

	people := []struct{ id, email, name string }{
		{"c-100", "Zelda.Quixote@gmail.com", "Zelda Quixote"},
		{"c-200", "yusuf.wren@example.net", "Yusuf Wren"},
		{"c-300", "xia.moreno@example.org", "Xia Moreno"},
		{"c-400", "vidar.okafor@example.com", "Vidar Okafor"},
	}
	step := func(header, method, target string, body any, want ...int) map[string]any {
		t.Helper()
		st, b := g.call(t, header, method, target, body)
		if len(want) > 0 && !containsInt(want, st) {
			t.Fatalf("%s %s: %d %v, want %v", method, target, st, b, want)
		}
		return b
	}

	k := step(admin, "POST", "/keys", map[string]any{"scope": "server", "name": "shop backend"}, 201)
	secret := k["secret"].(string)
	server := "Bearer " + secret
	p := tieredProgram()
	p["holdDays"] = 0
	p["emails"] = map[string]any{"sendOnCodeCreated": true, "thankAdvocates": true, "welcomeFriends": true, "senderName": "Ana at Acme", "valueProposition": "grow"}
	step(admin, "PUT", "/programs/p1", p, 201)
	for _, c := range people {
		step(server, "PUT", "/customers/"+c.id, map[string]any{"email": c.email, "name": c.name, "locale": "en"}, 201)
	}
	code := step(server, "POST", "/programs/p1/codes", map[string]any{"customerId": "c-100"}, 201)["code"].(string)
	step(server, "POST", "/programs/p1/codes", map[string]any{"customerId": "c-200"}, 201)
	step(server, "GET", "/codes/"+code, nil, 200)
	step(server, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "c-300", "email": people[2].email, "name": people[2].name}}, 201)
	step(server, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "c-300"}}, 409)
	step(server, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "c-500", "email": "zelda.quixote+again@googlemail.com", "name": "Zelda Again"}}, 422)
	step(server, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "c-501", "email": "not an address Zelda"}}, 400)
	step(server, "PUT", "/customers/c-600", map[string]any{"email": "Wanda Vale <wanda.vale@example.com>", "name": "Wanda Vale"}, 400)
	step(server, "POST", "/conversions", map[string]any{"eventId": "o-1", "refereeId": "c-300", "milestone": "purchase", "amount": map[string]any{"amount": 5000, "currency": "USD"}}, 201)
	step(server, "POST", "/conversions", map[string]any{"eventId": "o-2", "code": code, "milestone": "purchase",
		"referee": map[string]any{"id": "c-400", "email": people[3].email, "name": people[3].name}, "amount": map[string]any{"amount": 7000, "currency": "USD"}}, 201)
	step(server, "POST", "/asks", map[string]any{"customerId": "c-200", "programId": "p1"})
	for _, r := range step(server, "GET", "/customers/c-100/rewards", nil, 200)["rewards"].([]any) {
		step(admin, "POST", "/rewards/"+r.(map[string]any)["rewardId"].(string)+"/approve", nil, 200)
	}
	step(server, "GET", "/customers/c-100", nil, 200)
	step("Bearer rk_live_"+strings.Repeat("Z", 43), "GET", "/customers/c-100", nil, 401)
	step(server, "PUT", "/programs/p1", p, 403)

	// The stream: emails (two recipients refused by "SES") and stats.
	records := tb.Take()
	sender := &pickySender{}
	mail := &email.Stream{Store: s.store, Programs: &store.ProgramCache{Store: s.store}, Sender: sender, Unsubscribe: sampleSigner,
		PublicURL: "https://api.example.com", Log: capture}
	stats := &insights.Consumer{Store: s.store, Programs: &store.ProgramCache{Store: s.store}, Log: capture}
	for _, rec := range records {
		batch := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}}
		for range 2 { // a failed record comes back
			resp, err := mail.Handle(context.Background(), batch)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.BatchItemFailures) == 0 {
				break
			}
		}
		if _, err := stats.Handle(context.Background(), streamtest.WindowEvent("shardId-1", batch.Records)); err != nil {
			t.Fatal(err)
		}
	}
	if sender.sent == 0 || sender.throttled == 0 {
		t.Fatalf("the scenario sent no email: the stream part did not run (%d records)", len(records))
	}

	step(admin, "DELETE", "/customers/c-100", nil, 204)
	step(admin, "DELETE", "/keys/"+k["keyId"].(string), nil, 204)
	step(server, "GET", "/customers/c-100", nil, 401)

	// A table outage: the errors logged carry keys, never the request's personal data.
	down := store.New(dynamotest.NewClient("http://127.0.0.1:1"), "down", s.clock)
	if resp, _ := NewCustomers(down, capture).Handle(context.Background(),
		event("PUT /customers/{customerId}", map[string]string{"customerId": "c-700"}, "PUT", "/customers/c-700",
			`{"email":"umar.lind@example.com","name":"Umar Lind"}`, "server")); resp.StatusCode != 503 {
		t.Fatalf("outage: %d %s", resp.StatusCode, resp.Body)
	}

	out := logs.String()
	if os.Getenv("PII_DUMP") != "" {
		_ = os.WriteFile(os.Getenv("PII_DUMP"), []byte(out), 0o600)
	}
	if strings.Count(out, "\n") < 10 {
		t.Fatalf("too few log lines captured to prove anything:\n%s", out)
	}
	forbidden := []string{secret, strings.TrimPrefix(secret, auth.SecretPrefix), adminSecret, strings.TrimPrefix(adminSecret, auth.SecretPrefix), "Umar", "Lind", "Wanda", "Vale", "Again"}
	for _, c := range people {
		first, last, _ := strings.Cut(c.name, " ")
		forbidden = append(forbidden, first, last, strings.ToLower(c.email))
	}
	for _, line := range strings.Split(out, "\n") {
		for _, f := range forbidden {
			if strings.Contains(strings.ToLower(line), strings.ToLower(f)) {
				t.Errorf("a log line holds %q:\n%s", f, line)
			}
		}
		if m := addressRE.FindString(line); m != "" {
			t.Errorf("a log line holds an email address %q:\n%s", m, line)
		}
	}
}

var addressRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
