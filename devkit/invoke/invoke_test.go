package invoke_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/devstack"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/invoke"
	"github.com/referral/referrals/devkit/samtemplate"
)

const root = "../.."

// fixtures is the part of events/fixtures.json these tests read.
type fixtures struct {
	States map[string]struct {
		From  string `json:"from"`
		Steps []struct {
			Event   string          `json:"event"`
			Merge   json.RawMessage `json:"merge"`
			Method  string          `json:"method"`
			Path    string          `json:"path"`
			Body    json.RawMessage `json:"body"`
			Advance string          `json:"advance"`
		} `json:"steps"`
	} `json:"states"`
	Events map[string]struct {
		State  string                     `json:"state"`
		Status int                        `json:"status"`
		Body   map[string]json.RawMessage `json:"body"`
	} `json:"events"`
}

// samples is one event per function, each in a state the real binaries can reach (no clock
// moves), with the answer events/fixtures.json gives it; for the functions not behind the
// HTTP API, the answer their Go tests expect (fixtures.json's testedBy), or at least no
// function error.
var samples = map[string]string{
	"AuthorizerFunction":     "authorizer-admin-key.json",
	"KeysFunction":           "keys-revoke-not-found.json",
	"ProgramsFunction":       "programs-get.json",
	"CustomersFunction":      "customers-get.json",
	"CodesFunction":          "codes-create.json",
	"PublicCodesFunction":    "publiccodes-check.json",
	"ReferralsFunction":      "referrals-create.json",
	"ConversionsFunction":    "conversions-record.json",
	"RewardsFunction":        "rewards-list.json",
	"AsksFunction":           "asks-create.json",
	"UnsubscribeFunction":    "unsubscribe-forged.json",
	"InsightsApiFunction":    "insightsapi-leaderboard-not-found.json",
	"EmailFunction":          "email-remove.json",
	"InsightsStreamFunction": "insightsstream-batch.json",
	"CouponPoolsFunction":    "couponpools-add.json",
	"SchedulerFunction":      "scheduler-tick.json",
	"EmailCopyFunction":      "emailcopy-put.json",
	"EmailFeedbackFunction":  "emailfeedback-bounce.json",
	// No DNS here, so a refused URL that needs none (the metadata address); no endpoints in
	// the table, so no delivery to record; no such delivery, so the message is dropped.
	"WebhooksFunction":        "webhooks-create-private-url.json",
	"WebhookStreamFunction":   "webhookstream-referral-insert.json",
	"WebhookDeliveryFunction": "webhookdelivery-attempt.json",
	// An HTML page: a refused sign-in (the console's own test runs the others).
	"ConsoleFunction": "console-sign-in-refused.json",
	// An HTML page: a link signed with another key is refused whatever key the stack made.
	"AdvocatePageFunction": "advocatepage-forged.json",
}

// TestInvokeAnswersWhatTheFixturesExpect runs `make invoke`'s code for every function of the
// template with one of its sample events: each function is built and run once under AWS's
// Lambda Runtime Interface Emulator against a running local stack whose table holds the
// state the sample expects (built by replaying fixtures.json's steps through the stack).
func TestInvokeAnswersWhatTheFixturesExpect(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function")
	}
	rie, fx, engine := prepare(t)
	tmpl, err := samtemplate.Resolve(filepath.Join(root, "template.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name := range tmpl.Functions {
		if samples[name] == "" {
			t.Errorf("%s has no sample in this test: add one", name)
		}
	}
	binDir := t.TempDir()
	for fn, sample := range samples {
		t.Run(fn, func(t *testing.T) {
			want, ok := fx.Events[sample]
			if tmpl.Functions[fn] == nil {
				t.Fatalf("no %s in template.yaml", fn)
			}
			logs := &strings.Builder{}
			s, err := devstack.Start(devstack.Config{Root: root, StateDir: t.TempDir(), BinDir: binDir, Engine: engine,
				APIAddr: "127.0.0.1:0", LambdaAddr: "127.0.0.1:0", DynamoAddr: "127.0.0.1:0", SESAddr: "127.0.0.1:0", SecretsAddr: "127.0.0.1:0",
				Log: io.Discard, TTLSweep: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if ok && want.State != "" {
				replay(t, s, &fx, want.State)
			}
			event, err := os.ReadFile(filepath.Join(samtemplate.EventsDir(), sample))
			if err != nil {
				t.Fatal(err)
			}
			res, err := invoke.Run(context.Background(), invoke.Options{Root: root, Function: fn, Event: event, RIE: rie,
				BinDir: filepath.Join(binDir, "invoke"), DynamoURL: s.DynamoURL, SESURL: "http://127.0.0.1:1", SecretsURL: s.SecretURL,
				APIURL: s.APIURL, Log: logs})
			if err != nil {
				t.Fatalf("%v\n%s", err, logs)
			}
			if res.FunctionError != "" {
				t.Fatalf("function error %s: %s\n%s", res.FunctionError, res.Payload, logs)
			}
			if !strings.Contains(logs.String(), "REPORT RequestId: ") {
				t.Errorf("no REPORT line in the emulator's log:\n%s", logs)
			}
			var out map[string]any
			if err := json.Unmarshal(res.Payload, &out); err != nil {
				t.Fatalf("response is not a JSON object: %s", res.Payload)
			}
			switch fn {
			case "AuthorizerFunction":
				ctx, _ := out["context"].(map[string]any)
				if out["isAuthorized"] != true || ctx["scope"] != "admin" {
					t.Errorf("authorizer answered %s, want the admin scope for the bootstrap key", res.Payload)
				}
				return
			case "ConsoleFunction":
				if body, _ := out["body"].(string); out["statusCode"] != float64(401) || !strings.Contains(body, "not a valid admin key") {
					t.Errorf("console answered %s, want 401 with the sign-in page saying why", res.Payload)
				}
				return
			case "AdvocatePageFunction":
				if body, _ := out["body"].(string); out["statusCode"] != float64(403) || !strings.Contains(body, "<html") {
					t.Errorf("advocate page answered %s, want 403 with a page", res.Payload)
				}
				return
			case "EmailFunction", "InsightsStreamFunction", "WebhookStreamFunction", "WebhookDeliveryFunction":
				if f, _ := out["batchItemFailures"].([]any); len(f) != 0 {
					t.Errorf("%s reported failures: %s", fn, res.Payload)
				}
				return
			}
			if !ok {
				t.Fatalf("%s is not in events/fixtures.json", sample)
			}
			if want.State == "" && want.Status == 0 {
				return // tested elsewhere (fixtures.json's testedBy): it ran without a function error
			}
			status, _ := out["statusCode"].(float64)
			var body any
			if s, _ := out["body"].(string); s != "" {
				if err := json.Unmarshal([]byte(s), &body); err != nil {
					t.Fatalf("body is not JSON: %s", s)
				}
			}
			if int(status) != want.Status {
				t.Errorf("status %v, want %d: %s", status, want.Status, out["body"])
			}
			for path, raw := range want.Body {
				var w any
				_ = json.Unmarshal(raw, &w)
				if ts, ok := w.(string); ok {
					if _, err := time.Parse(time.RFC3339, ts); err == nil {
						continue // the fixtures' clock; the real binaries run on the real one
					}
				}
				if got, _ := samtemplate.Lookup(body, path); fmt.Sprint(got) != fmt.Sprint(w) {
					t.Errorf("%s = %v, want %v", path, got, w)
				}
			}
		})
	}
}

// replay builds a fixtures state in the stack: sample events through the Lambda Invoke API,
// other calls through the HTTP API with the admin key.
func replay(t *testing.T, s *devstack.Stack, fx *fixtures, state string) {
	t.Helper()
	st, ok := fx.States[state]
	if !ok {
		t.Fatalf("no state %q", state)
	}
	if st.From != "" {
		replay(t, s, fx, st.From)
	}
	tmpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range st.Steps {
		switch {
		case step.Advance != "":
			t.Fatalf("state %s moves the clock: the real binaries cannot replay it", state)
		case step.Event != "":
			b, err := os.ReadFile(filepath.Join(samtemplate.EventsDir(), step.Event))
			if err != nil {
				t.Fatal(err)
			}
			if len(step.Merge) > 0 {
				var ev map[string]any
				_ = json.Unmarshal(b, &ev)
				var body, patch any
				_ = json.Unmarshal([]byte(ev["body"].(string)), &body)
				_ = json.Unmarshal(step.Merge, &patch)
				nb, _ := json.Marshal(samtemplate.MergePatch(body, patch))
				ev["body"] = string(nb)
				b, _ = json.Marshal(ev)
			}
			fn, _ := tmpl.EventFunction(step.Event)
			resp, err := http.Post(s.LambdaURL+"/2015-03-31/functions/"+fn+"/invocations", "application/json", strings.NewReader(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var r struct{ StatusCode int }
			if json.Unmarshal(out, &r); resp.StatusCode != 200 || r.StatusCode >= 300 {
				t.Fatalf("step %s: %d %s", step.Event, resp.StatusCode, out)
			}
		default:
			req, _ := http.NewRequest(step.Method, s.APIURL+step.Path, strings.NewReader(string(step.Body)))
			req.Header.Set("Authorization", "Bearer "+devstack.DevAdminKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				t.Fatalf("step %s %s: %d %s", step.Method, step.Path, resp.StatusCode, out)
			}
		}
	}
	time.Sleep(10 * time.Millisecond)
}

// TestInvokeReplaysSamplesSignedWithTheSampleSecrets: a sample event signed with a public
// sample secret (the one-click unsubscribe link) verifies under `make invoke`, whose function
// reads the secret from the stack's Secrets Manager stand-in by the template's ARN, as a
// deployed function does: no variable carries the secret itself.
func TestInvokeReplaysSamplesSignedWithTheSampleSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a function")
	}
	rie, fx, engine := prepare(t)
	binDir := t.TempDir()
	s, err := devstack.Start(devstack.Config{Root: root, StateDir: t.TempDir(), BinDir: binDir, Engine: engine,
		APIAddr: "127.0.0.1:0", LambdaAddr: "127.0.0.1:0", DynamoAddr: "127.0.0.1:0", SESAddr: "127.0.0.1:0", SecretsAddr: "127.0.0.1:0",
		Log: io.Discard, TTLSweep: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	replay(t, s, &fx, "customers")
	for sample, want := range map[string]struct {
		status int
		words  string
	}{
		"unsubscribe-one-click.json": {200, "unsubscribed"},
		"unsubscribe-forged.json":    {403, "forbidden"},
	} {
		event, err := os.ReadFile(filepath.Join(samtemplate.EventsDir(), sample))
		if err != nil {
			t.Fatal(err)
		}
		logs := &strings.Builder{}
		res, err := invoke.Run(context.Background(), invoke.Options{Root: root, Function: "UnsubscribeFunction", Event: event, RIE: rie,
			BinDir: filepath.Join(binDir, "invoke"), DynamoURL: s.DynamoURL, SESURL: "http://127.0.0.1:1", SecretsURL: s.SecretURL,
			APIURL: s.APIURL, Log: logs})
		if err != nil || res.FunctionError != "" {
			t.Fatalf("%s: %v %s\n%s", sample, err, res.Payload, logs)
		}
		var out struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(res.Payload, &out); err != nil || out.StatusCode != want.status || !strings.Contains(strings.ToLower(out.Body), want.words) {
			t.Errorf("%s: %d, want %d with %q: %.300s", sample, out.StatusCode, want.status, want.words, out.Body)
		}
	}
}

// prepare finds aws-lambda-rie (a run without it skips, unless CI is set), reads
// events/fixtures.json and picks the DynamoDB engine of the run.
func prepare(t *testing.T) (rie string, fx fixtures, engine string) {
	t.Helper()
	rie, err := filepath.Abs(filepath.Join(root, ".local", "bin", "aws-lambda-rie"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rie); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v: run make test (it installs aws-lambda-rie)", err)
		}
		t.Skipf("%v: run `make .local/bin/aws-lambda-rie`", err)
	}
	b, err := os.ReadFile(filepath.Join(samtemplate.EventsDir(), "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	engine = devstack.EngineEmbedded
	if dynamotest.Engine() == dynamotest.Local {
		engine = devstack.EngineLocal
	}
	return rie, fx, engine
}
