package devstack

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/schedules"
)

type tickAnswer struct {
	Runs []struct {
		Function string          `json:"function"`
		Event    string          `json:"event"`
		Schedule string          `json:"schedule"`
		Result   json.RawMessage `json:"result"`
		Error    *struct {
			Type    string `json:"errorType"`
			Message string `json:"errorMessage"`
		} `json:"error"`
	} `json:"runs"`
}

func tick(t *testing.T, s *testStack) (int, tickAnswer) {
	t.Helper()
	r := do(t, http.MethodPost, s.APIURL+schedules.TickPath, nil)
	var a tickAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("tick answered %d %s: %v", r.status, r.body, err)
	}
	return r.status, a
}

// TestScheduledFunctionsRunOnTickWithEventBridgesEvent: POST /_local/tick runs each enabled
// Schedule and ScheduleV2 event of the template once, the rule's with the event EventBridge
// sends for a rule and the Scheduler's with its Input, and answers what each run returned; a
// disabled schedule does not run, and a failed run makes the tick answer 502 with the error.
func TestScheduledFunctionsRunOnTickWithEventBridgesEvent(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t, func(c *Config) { c.TickEvery = -1 })
	status, a := tick(t, s)
	if status != http.StatusOK || len(a.Runs) != 2 {
		t.Fatalf("tick: %d %+v, want 2 runs", status, a)
	}
	for i, want := range []struct{ event, schedule, result string }{
		{"Every5Minutes", "rate(5 minutes)", `{"ticks":1}`},
		{"Nightly", "cron(0 3 * * ? *)", `{"ticks":2}`},
	} {
		r := a.Runs[i]
		var result bytes.Buffer
		_ = json.Compact(&result, r.Result)
		if r.Function != "TickFunction" || r.Event != want.event || r.Schedule != want.schedule || result.String() != want.result || r.Error != nil {
			t.Errorf("run %d = %+v (result %s), want %v", i, r, r.Result, want)
		}
	}
	got := jsonLines(t, filepath.Join(s.out, "ticks.jsonl"))
	if len(got) != 2 {
		t.Fatalf("the function got %d events, want 2: %v", len(got), got)
	}
	ev := got[0]
	res, _ := ev["resources"].([]any)
	if ev["detail-type"] != "Scheduled Event" || ev["source"] != "aws.events" || ev["account"] != "123456789012" || ev["region"] != "us-east-1" ||
		len(res) != 1 || !strings.HasPrefix(res[0].(string), "arn:aws:events:us-east-1:123456789012:rule/") || ev["id"] == "" {
		t.Errorf("the rule's event = %v", ev)
	}
	if when, err := time.Parse(time.RFC3339, ev["time"].(string)); err != nil || time.Since(when) > time.Minute {
		t.Errorf("event time %v: %v", ev["time"], err)
	}
	if got[1]["job"] != "nightly" || len(got[1]) != 1 {
		t.Errorf("the Scheduler event's payload = %v, want its Input", got[1])
	}

	if err := os.WriteFile(filepath.Join(s.out, "fail"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	status, a = tick(t, s)
	if status != http.StatusBadGateway || len(a.Runs) != 2 || a.Runs[0].Error == nil || !strings.Contains(a.Runs[0].Error.Message, "asked to fail") {
		t.Fatalf("tick of a failing function: %d %+v", status, a)
	}
	if r := do(t, http.MethodGet, s.APIURL+schedules.TickPath, nil); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
		t.Errorf("GET tick: %d %v", r.status, r.header)
	}
	if !strings.Contains(s.logs.String(), "[schedule] TickFunction Every5Minutes (rate(5 minutes)): failed") {
		t.Errorf("the failed run is not in the log:\n%s", s.logs)
	}
}

// TestScheduledFunctionsRunEveryPeriodOneAtATime: the stack runs the schedules on its own
// each period; with reserved concurrency 1 a tick during a run waits for it, so runs never
// overlap.
func TestScheduledFunctionsRunEveryPeriodOneAtATime(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t, func(c *Config) { c.TickEvery = 300 * time.Millisecond })
	waitFor(t, "two periods of runs", 20*time.Second, func() bool {
		return len(lines(filepath.Join(s.out, "ticks.jsonl"))) >= 4
	})
	if fn := s.Function("TickFunction"); fn.Def().Reserved != 1 {
		t.Fatalf("TickFunction reserved concurrency = %d, want the template's 1", fn.Def().Reserved)
	}
	status, a := tick(t, s)
	if status != http.StatusOK || len(a.Runs) != 2 {
		t.Fatalf("tick between periods: %d %+v", status, a)
	}
	if strings.Contains(s.logs.String(), "Paused") {
		t.Errorf("the disabled schedule ran:\n%s", s.logs)
	}
}
