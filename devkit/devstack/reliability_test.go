package devstack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/lambdaruntime"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// TestPoisonStreamRecordLandsInTheOnFailureDestination runs the real email function (and the
// insights stream function beside it) behind the local runtime, with SES refusing every send the way a
// paused account does (SendingPausedException: worth retrying, so the function reports the
// record in batchItemFailures). The advocate's thank-you record is tried once and then
// MaximumRetryAttempts more times, as template.yaml configures the event source mapping, and
// lands in the on-failure destination (dlq.jsonl) exactly once; no email goes out.
func TestPoisonStreamRecordLandsInTheOnFailureDestination(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the email and insights stream functions")
	}
	tmpl, err := samtemplate.Resolve(repoRoot+"/template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	email := tmpl.Functions["EmailFunction"]
	if email == nil || len(email.Streams) == 0 {
		t.Fatal("template.yaml has no EmailFunction on the table's stream")
	}
	src := email.Streams[0]
	if src.MaxRetries < 0 || src.OnFailureDestination == "" {
		t.Fatalf("EmailFunction's stream event has no MaximumRetryAttempts (%d) or OnFailure destination (%q)", src.MaxRetries, src.OnFailureDestination)
	}
	build := map[string]*samtemplate.FunctionDef{"EmailFunction": email}
	if stats := tmpl.Functions["InsightsStreamFunction"]; stats != nil {
		build["InsightsStreamFunction"] = stats
	}
	binDir := t.TempDir()
	broken, _ := lambdaruntime.Build(repoRoot, binDir, build, io.Discard)
	for name, err := range broken {
		t.Fatalf("build %s: %v", name, err)
	}

	var sends atomic.Int64
	ses := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost && r.URL.Path == "/v2/email/outbound-emails" {
			sends.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "SendingPausedException")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"message":"Sending is paused for this account."}`))
	}))
	defer ses.Close()

	logs := &syncBuffer{}
	stateDir := t.TempDir()
	s, err := Start(Config{Root: repoRoot, StateDir: stateDir, BinDir: binDir, SkipBuild: true, Engine: testEngine(t), JarDir: jarDir,
		APIAddr: "127.0.0.1:0", LambdaAddr: "127.0.0.1:0", DynamoAddr: "127.0.0.1:0", SESAddr: "127.0.0.1:0", SecretsAddr: "127.0.0.1:0",
		SESEndpoint: ses.URL, Log: logs, RetryBase: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	defer func() {
		_ = s.Close()
		if t.Failed() {
			t.Logf("stack log:\n%s", logs)
		}
	}()

	// The demo program (thank-you emails on), written through the store as the API would.
	var p referral.Program
	b, err := os.ReadFile("seed/program-demo.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	p.ProgramID, p.Emails.SendOnCodeCreated, p.Emails.WelcomeFriends = "demo", false, false // one email-worthy record: the thank-you
	st := store.New((&testStack{Stack: s}).ddb(), samtemplate.LocalTableName, nil)
	programs := &store.ProgramCache{Store: st, TTL: time.Minute}
	ctx := context.Background()
	if _, _, err := st.PutProgram(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PutCustomer(ctx, "ana", store.CustomerUpdate{Email: "ana@example.com", Name: "Ana Lima", Locale: "en", PurchaseCount: 3}); err != nil {
		t.Fatal(err)
	}
	code, _, err := st.CreateCode(ctx, &p, "ana", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateReferral(ctx, store.NewReferral{Code: code.Code.Code, Referee: store.Referee{ID: "bo", Email: "bo@example.com", Name: "Bo Chen"}}, programs); err != nil {
		t.Fatal(err)
	}
	conv := &store.Conversions{Store: st, Programs: programs}
	res, _, err := conv.Record(ctx, &p, store.ConversionRequest{EventID: "order-1", ProgramID: "demo", RefereeID: "bo",
		Milestone: "purchase", Amount: &referral.Money{Amount: 5000, Currency: "USD"}, OccurredAt: st.Now(), PayloadHash: "h"})
	if err != nil || len(res.Rewards) != 1 {
		t.Fatalf("conversion: %+v %v", res, err)
	}
	if _, err := st.ApproveReward(ctx, res.Rewards[0].RewardID); err != nil { // the thank-you follows the approval
		t.Fatal(err)
	}

	dlq := filepath.Join(stateDir, "dlq.jsonl")
	emailEntries := func() []map[string]any {
		var out []map[string]any
		for _, e := range jsonLines(t, dlq) {
			if e["function"] == "EmailFunction" {
				out = append(out, e)
			}
		}
		return out
	}
	waitFor(t, "the thank-you record in the on-failure destination", 30*time.Second, func() bool { return len(emailEntries()) > 0 })
	time.Sleep(500 * time.Millisecond) // nothing more may arrive
	entries := emailEntries()
	if len(entries) != 1 {
		t.Fatalf("%d EmailFunction records in %s, want 1: %v", len(entries), dlq, entries)
	}
	e := entries[0]
	img := e["record"].(map[string]any)["dynamodb"].(map[string]any)["NewImage"].(map[string]any)
	if typ := img["type"].(map[string]any)["S"]; typ != "reward" || e["destination"] != src.OnFailureDestination {
		t.Errorf("DLQ entry: a %v record for %v, want the reward for %s", typ, e["destination"], src.OnFailureDestination)
	}
	if got, want := int(e["attempts"].(float64)), src.MaxRetries+1; got != want {
		t.Errorf("the record was tried %d times, want 1 + MaximumRetryAttempts = %d", got, want)
	}
	if got, want := int(sends.Load()), src.MaxRetries+1; got != want {
		t.Errorf("SES was asked %d times, want once per attempt (%d)", got, want)
	}
	for _, other := range jsonLines(t, dlq) {
		if other["function"] != "EmailFunction" {
			t.Errorf("%v gave up on a record too: %v", other["function"], other["error"])
		}
	}
}
