package devstack

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/sestest"
)

// TestAcknowledgedConversionsSurviveKillDashNine runs `make dev`'s binary on DynamoDB Local,
// records 100 conversions under load (ten at a time, one advocate), kills the stack with
// SIGKILL right after the last one is acknowledged — emails still in flight on the stream —
// and starts it again on the same state directory: every conversion is there (replaying it
// answers 200), every thank-you went out, none twice, and the replays send nothing.
func TestAcknowledgedConversionsSurviveKillDashNine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function and runs the stack twice")
	}
	if testEngine(t) != EngineLocal {
		t.Skip("kill -9 durability is DynamoDB Local's: runs on the DynamoDB Local pass of make test")
	}
	ses := sestest.Start(t) // outlives the stack, to count emails across the crash
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "devstack")
	build := exec.Command("go", "build", "-o", bin, "./devkit/cmd/devstack")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	state := filepath.Join(tmp, "state")
	sesAddr := strings.TrimPrefix(ses.URL, "http://")

	run := func(log string) (*exec.Cmd, string) {
		t.Helper()
		cmd := exec.Command(bin, "-template", repoRoot+"/template.yaml", "-state-dir", state, "-engine", "local",
			"-api-addr", "127.0.0.1:0", "-lambda-addr", "127.0.0.1:0", "-dynamodb-addr", "127.0.0.1:0",
			"-secrets-addr", "127.0.0.1:0", "-no-ses", "-ses-addr", sesAddr, "-no-seed", "-no-watch",
			"-sqs-addr=", "-webhook-addr=", // no webhooks here: no SQS emulator, no receiver
			"-no-stripe", "-tick-every=0") // nor Stripe (its default address is a fixed port) or scheduled runs
		f, err := os.Create(filepath.Join(tmp, log))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		pr, pw := io.Pipe()
		cmd.Stdout, cmd.Stderr = pw, pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		ready := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				fmt.Fprintln(f, sc.Text())
				if strings.HasPrefix(sc.Text(), "ready: ") {
					ready <- sc.Text()
				}
			}
		}()
		select {
		case line := <-ready:
			for _, field := range strings.Fields(line) {
				if v, ok := strings.CutPrefix(field, "api="); ok {
					return cmd, v
				}
			}
			t.Fatalf("no api= in %q", line)
		case <-time.After(4 * time.Minute):
			t.Fatalf("the stack was not ready in 4 minutes; see %s", filepath.Join(tmp, log))
		}
		return nil, ""
	}
	call := func(api, method, path string, body any) (int, []byte) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, api+path, strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer "+DevAdminKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, []byte(err.Error())
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	must := func(api, method, path string, body any) {
		t.Helper()
		if st, out := call(api, method, path, body); st >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, st, out)
		}
	}

	cmd, api := run("run1.log")
	var program map[string]any
	b, _ := os.ReadFile("seed/program-demo.json")
	_ = json.Unmarshal(b, &program)
	program["holdDays"] = 0
	must(api, "PUT", "/programs/crash", program)
	must(api, "PUT", "/customers/ana", map[string]any{"email": "ana@example.com", "name": "Ana Lima", "locale": "en", "purchaseCount": 3})
	must(api, "POST", "/programs/crash/codes", map[string]any{"customerId": "ana", "code": "CRASHTEST"})
	const n = 100
	referee := func(i int) string { return fmt.Sprintf("r%03d", i) }
	conversion := func(i int) map[string]any {
		return map[string]any{"eventId": "crash-" + referee(i), "programId": "crash", "refereeId": referee(i), "milestone": "purchase",
			"amount": map[string]any{"amount": 5000, "currency": "USD"}}
	}
	for i := 1; i <= n; i++ {
		must(api, "POST", "/referrals", map[string]any{"code": "CRASHTEST", "channel": "email",
			"referee": map[string]any{"id": referee(i), "email": referee(i) + "@example.com", "name": strings.ToUpper(referee(i)) + " Test"}})
	}
	// Ten clients at a time; a conversion counts once acknowledged (201, or 200 for a retry
	// that found it). A 5xx under contention (503, or a function timeout's 500 on a slow
	// machine) is not an acknowledgement: the client retries with the same eventId, which is
	// always safe.
	work := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				for attempt := 0; ; attempt++ {
					st, out := call(api, "POST", "/conversions", conversion(i))
					if st == 201 || st == 200 {
						break
					}
					if st < 500 || attempt > 50 {
						errs <- fmt.Sprintf("conversion %d: %d %s", i, st, out)
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	for i := 1; i <= n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	// kill -9: no clean stop, no chance to save anything.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	sentBefore := len(ses.Emails(t))
	t.Logf("%d emails were sent before the kill", sentBefore)

	_, api = run("run2.log")
	for i := 1; i <= n; i++ {
		st, out := call(api, "POST", "/conversions", conversion(i))
		if st != 200 {
			t.Errorf("replay of conversion %d after the crash: %d %s, want 200 (recorded before the kill)", i, st, out)
		}
	}
	// Let the stream drain: every thank-you to Ana (one per referee at least) sent, and then no
	// more. The referees' own welcome emails name them too, so only Ana's mail counts here.
	thanked := func() (map[string]int, int) {
		per := map[string]int{}
		all := ses.Emails(t)
		for _, e := range all {
			if !slices.Contains(e.Destination.To, "ana@example.com") {
				continue
			}
			for i := 1; i <= n; i++ {
				if strings.Contains(e.Subject, strings.ToUpper(referee(i))) {
					per[referee(i)]++
				}
			}
		}
		return per, len(all)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		per, _ := thanked()
		if len(per) == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	_, total := thanked()
	time.Sleep(5 * time.Second) // longer than both stream functions' batching windows
	per, after := thanked()
	if after != total {
		t.Errorf("%d emails went out after the stream had drained and the replays were answered (%d → %d)", after-total, total, after)

	}
	if len(per) != n {
		t.Errorf("%d of %d referees' conversions got a thank-you email", len(per), n)
	}
	seen := map[string]int{}
	for _, e := range ses.Emails(t) {
		seen[strings.Join(e.Destination.To, ",")+"|"+e.Subject+"|"+e.Body.Text]++
	}
	for k, c := range seen {
		if c > 1 {
			t.Errorf("sent %d times: %.120s", c, k)
		}
	}
}
