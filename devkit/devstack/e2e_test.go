package devstack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/samtemplate"
)

// TestEndToEndReferralLoop boots the real stack (template.yaml, the real functions, SES) on
// free ports and drives the loop a developer runs after `make dev`: the seeded demo program
// and advocate, then the printed curl sequence, as printed — customer, code, referral,
// conversion, reward — then the thank-you email in aws-ses-v2-local's /store, which SES
// refuses until the email function has failed once on it (the record is retried and the
// email sent exactly once), then a restart that keeps everything.
func TestEndToEndReferralLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function")
	}
	tmpl, err := samtemplate.Resolve(repoRoot+"/template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The stack's shape is settled: a missing piece is a regression, not a scaffold.
	if !hasAuthorizer(tmpl) {
		t.Fatal("template.yaml has no Lambda authorizer: every non-public route would answer 401")
	}
	emailFn := streamFunction(tmpl)
	if emailFn == "" {
		t.Fatal("template.yaml has no EmailFunction on the table's stream")
	}
	if _, err := os.Stat(repoRoot + "/node_modules/.bin/aws-ses-v2-local"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node_modules/.bin/aws-ses-v2-local is missing: run npm ci")
		}
		t.Skip("no node_modules: run `npm ci` to run the end-to-end loop")
	}

	stateDir := t.TempDir()
	logs := &syncBuffer{}
	cfg := Config{
		Root: repoRoot, StateDir: stateDir, BinDir: realFunctions(t, tmpl), SkipBuild: true, Engine: testEngine(t), JarDir: jarDir,
		APIAddr: "127.0.0.1:0", LambdaAddr: "127.0.0.1:0", DynamoAddr: "127.0.0.1:0", SESAddr: "127.0.0.1:0", SecretsAddr: "127.0.0.1:0",
		SQSAddr: "127.0.0.1:0", WebhookAddr: "127.0.0.1:0",
		Log: logs, SES: true, Persist: true, RetryBase: 500 * time.Millisecond,
	}
	// SES fails the thank-you email until the email function has failed once on it: the
	// record must be retried and the email sent exactly once.
	addr, err := concreteAddr(cfg.SESAddr)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SESAddr = addr
	flaky := newFlakySES(t, "http://"+addr, "introducing")
	cfg.SESEndpoint = flaky.URL
	s := startRealStack(t, cfg, tmpl, logs)

	for _, st := range seedSteps {
		status, body, err := st.do(s.APIURL)
		if err != nil || status >= 300 {
			t.Fatalf("seed %s: %d %s %v", st.Title, status, body, err)
		}
	}
	s.seedReceiver()
	runTryIt(t, s)

	rewards := advocateRewards(t, s.APIURL)
	if len(rewards) != 1 {
		t.Fatalf("ana's advocate rewards = %v, want the one for Bo's purchase", rewards)
	}
	if v, _ := rewards[0]["value"].(map[string]any); v["amount"] != float64(1000) || v["currency"] != "USD" || rewards[0]["refereeId"] != "bo" {
		t.Errorf("reward = %v, want $10.00 (tier 1) for bo", rewards[0])
	}
	// The leaderboard is ranked by the insights stream function from the stream: Ana, 1.
	leaderboard := apiStep{Method: http.MethodGet, Path: "/programs/demo/leaderboard"}
	ranksAna := func(apiURL string) bool {
		status, body, err := leaderboard.do(apiURL)
		var lb struct {
			Entries []struct {
				CustomerID  string `json:"customerId"`
				DisplayName string `json:"displayName"`
				Conversions int    `json:"conversions"`
			} `json:"entries"`
		}
		if err != nil || status != http.StatusOK || json.Unmarshal(body, &lb) != nil || len(lb.Entries) != 1 {
			return false
		}
		e := lb.Entries[0]
		return e.CustomerID == "ana" && e.DisplayName == "Ana" && e.Conversions == 1
	}
	waitFor(t, "the demo's leaderboard to rank Ana with Bo's purchase", 60*time.Second, func() bool { return ranksAna(s.APIURL) })

	// The thank-you goes out when the reward is written approved (the demo holds rewards 0 days).
	approve := apiStep{"approve Ana's reward", http.MethodPost, "/rewards/" + rewards[0]["rewardId"].(string) + "/approve", ""}
	if status, body, err := approve.do(s.APIURL); err != nil || status != http.StatusOK {
		t.Fatalf("approve: %d %s %v", status, body, err)
	}

	// The referral and the purchase reached the receiver as signed events, each verified with
	// the Standard Webhooks library against the secret the seed registered it with.
	switch {
	case s.SQSURL != "":
		checkWebhooks(t, s)
	case os.Getenv("CI") != "":
		t.Fatal("no SQS emulator (moto_server): the webhook deliveries cannot be checked")
	default:
		t.Log("no moto_server: the webhook deliveries are not checked")
	}

	{
		failed := "[stream] " + emailFn + ": "
		waitFor(t, "the email function to fail on the thank-you email", 30*time.Second, func() bool {
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.HasPrefix(l, failed) && strings.Contains(l, "failed (attempt 1)") {
					return true
				}
			}
			return false
		})
		flaky.heal()
		waitFor(t, "the thank-you email to ana in /store", 30*time.Second, func() bool {
			return thankYouEmails(t, s.SESURL) == 1
		})
		time.Sleep(time.Second) // further retries or replays must not send it again
		if n := thankYouEmails(t, s.SESURL); n != 1 {
			t.Errorf("%d thank-you emails, want exactly 1", n)
		}
		if n := flaky.failures(); n == 0 {
			t.Error("SES never failed: the retry was not exercised")
		}
		if d := jsonLines(t, stateDir+"/dlq.jsonl"); len(d) != 0 {
			t.Errorf("stream records in the DLQ: %v", d)
		}
	}

	// Stop (saving state) and start again: programs, codes and rewards are still there.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.SkipBuild = true
	cfg.SES = false
	s2, err := Start(cfg)
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, logs)
	}
	defer s2.Close()
	if !s2.Restored {
		t.Fatal("state was not restored")
	}
	if got := advocateRewards(t, s2.APIURL); len(got) != 1 || got[0]["rewardId"] != rewards[0]["rewardId"] {
		t.Errorf("rewards after restart = %v, want %v", got, rewards)
	}
	status, body, err := tryItSteps[1].do(s2.APIURL)
	if err != nil || status != http.StatusOK || !strings.Contains(string(body), `"ANAFRIEND"`) {
		t.Errorf("ana's code after restart: %d %s %v", status, body, err)
	}
	status, _, _ = apiStep{Method: http.MethodGet, Path: "/programs/demo"}.do(s2.APIURL)
	if status != http.StatusOK {
		t.Errorf("GET /programs/demo after restart = %d", status)
	}
	if !ranksAna(s2.APIURL) {
		status, body, _ := leaderboard.do(s2.APIURL)
		t.Errorf("the leaderboard after restart: %d %s, want Ana with 1", status, body)
	}
}

// checkWebhooks waits for the receiver to hold referral.created, conversion.recorded and
// reward.created, each with a valid signature.
func checkWebhooks(t *testing.T, s *Stack) {
	t.Helper()
	want := []string{"referral.created", "conversion.recorded", "reward.created"}
	valid := func() map[string]int {
		got := map[string]int{}
		for _, r := range s.Receiver.Requests() {
			if r.Verified == "valid" && r.Status < 300 {
				got[r.Type]++
			}
		}
		return got
	}
	waitFor(t, "the webhook receiver to get "+strings.Join(want, ", "), 60*time.Second, func() bool {
		got := valid()
		for _, w := range want {
			if got[w] == 0 {
				return false
			}
		}
		return true
	})
	ids := map[string]bool{}
	for _, r := range s.Receiver.Requests() {
		if r.Verified != "valid" {
			t.Errorf("%s %s: signature %s", r.Type, r.WebhookID, r.Verified)
		}
		if ids[r.WebhookID] {
			t.Errorf("webhook-id %s received twice", r.WebhookID)
		}
		ids[r.WebhookID] = true
		if strings.Contains(string(r.Body), "@") {
			t.Errorf("%s carries an email address: %s", r.Type, r.Body)
		}
	}
}

// runTryIt runs the banner's curl commands exactly as printed when curl is installed, and
// the same steps through Go's client otherwise.
func runTryIt(t *testing.T, s *Stack) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		for _, st := range tryItSteps {
			status, body, err := st.do(s.APIURL)
			if err != nil || status >= 300 {
				t.Fatalf("%s: %d %s %v", st.Title, status, body, err)
			}
		}
		return
	}
	n := 0
	for _, line := range strings.Split(s.Banner(), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		n++
		out, err := exec.Command("sh", "-c", line+` -w '\n%{http_code}'`).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		text := strings.TrimSpace(string(out))
		i := strings.LastIndex(text, "\n")
		body, code := text[:max(i, 0)], text[i+1:]
		if c, _ := strconv.Atoi(code); c < 200 || c >= 300 {
			t.Fatalf("%s\n→ %s %s", line, code, body)
		}
	}
	if n != len(tryItSteps) {
		t.Fatalf("banner has %d curl commands, want %d", n, len(tryItSteps))
	}
}

func advocateRewards(t *testing.T, apiURL string) []map[string]any {
	t.Helper()
	status, body, err := tryItSteps[len(tryItSteps)-1].do(apiURL)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET rewards: %d %s %v", status, body, err)
	}
	var resp struct {
		Rewards []map[string]any `json:"rewards"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("rewards: %v: %s", err, body)
	}
	var out []map[string]any
	for _, r := range resp.Rewards {
		if r["role"] == "advocate" && r["customerId"] == "ana" {
			out = append(out, r)
		}
	}
	return out
}

// flakySES stands between the functions and aws-ses-v2-local and answers 500 to every
// SendEmail whose body contains match, until healed.
type flakySES struct {
	*httptest.Server
	mu     sync.Mutex
	broken bool
	failed int
}

func newFlakySES(t *testing.T, target, match string) *flakySES {
	u, _ := url.Parse(target)
	proxy := httputil.NewSingleHostReverseProxy(u)
	f := &flakySES{broken: true}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		fail := f.broken && strings.HasSuffix(r.URL.Path, "/outbound-emails") && bytes.Contains(body, []byte(match))
		if fail {
			f.failed++
		}
		f.mu.Unlock()
		if fail {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-ErrorType", "InternalFailure")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"message":"injected failure"}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *flakySES) heal() {
	f.mu.Lock()
	f.broken = false
	f.mu.Unlock()
}

func (f *flakySES) failures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// thankYouEmails counts the emails to ana that thank her for referring someone.
func thankYouEmails(t *testing.T, sesURL string) int {
	t.Helper()
	resp, err := http.Get(sesURL + "/store")
	if err != nil {
		t.Fatalf("SES store: %v", err)
	}
	defer resp.Body.Close()
	var store struct {
		Emails []struct {
			Subject     string `json:"subject"`
			Destination struct {
				To []string `json:"to"`
			} `json:"destination"`
		} `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		t.Fatalf("SES store: %v", err)
	}
	n := 0
	for _, e := range store.Emails {
		if strings.Contains(strings.Join(e.Destination.To, ","), "ana@example.com") && strings.Contains(e.Subject, "introducing") {
			n++
		}
	}
	return n
}

func hasAuthorizer(t *samtemplate.Resolved) bool {
	for _, r := range t.Routes {
		if r.Authorizer != "" {
			return true
		}
	}
	return false
}

func streamFunction(t *samtemplate.Resolved) string {
	// The email function is the table's stream consumer that sends mail; other consumers
	// (statistics) may exist.
	if fn := t.Functions["EmailFunction"]; fn != nil && len(fn.Streams) > 0 {
		return fn.Name
	}
	return ""
}
