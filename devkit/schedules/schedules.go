// Package schedules plays EventBridge for the local stack: every function with a Schedule or
// ScheduleV2 event in the template is invoked with the event EventBridge would send, on a
// fixed local period (every minute by default, whatever the template's rate: locally the work
// should show soon) and on demand through POST /_local/tick, which answers what each run
// returned. A schedule never runs twice at once: a period that finds its last run still going
// skips it, and a tick waits for it to end, then runs.
package schedules

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/referral/referrals/devkit/devlog"
	"github.com/referral/referrals/devkit/lambdaruntime"
	"github.com/referral/referrals/devkit/samtemplate"
)

// TickPath is where the local stack's API address takes POST to run every schedule now.
const TickPath = "/_local/tick"

// Runner invokes the scheduled functions of a stack.
type Runner struct {
	jobs []*job
	sink *devlog.Sink
}

type job struct {
	fn  *lambdaruntime.Function
	src *samtemplate.ScheduleSource
	mu  sync.Mutex // held while a run is in flight
}

// Run is one invocation of a scheduled function: what it returned, or its error.
type Run struct {
	Function   string                     `json:"function"`
	Event      string                     `json:"event"`
	Schedule   string                     `json:"schedule"`
	StartedAt  time.Time                  `json:"startedAt"`
	DurationMS int64                      `json:"durationMs"`
	Result     json.RawMessage            `json:"result,omitempty"`
	Error      *lambdaruntime.InvokeError `json:"error,omitempty"`
}

// New is the runner of every enabled schedule of fns, in function and event name order.
func New(fns map[string]*lambdaruntime.Function, sink *devlog.Sink) *Runner {
	r := &Runner{sink: sink}
	for _, name := range slices.Sorted(maps.Keys(fns)) {
		for _, src := range fns[name].Def().Schedules {
			if src.Enabled {
				r.jobs = append(r.jobs, &job{fn: fns[name], src: src})
			}
		}
	}
	return r
}

// Len is how many schedules the runner runs.
func (r *Runner) Len() int { return len(r.jobs) }

// Names lists the schedules as "Function (Event: expression)".
func (r *Runner) Names() []string {
	out := make([]string, len(r.jobs))
	for i, j := range r.jobs {
		out[i] = j.fn.Name() + " (" + j.src.Name + ": " + j.src.Expression + ")"
	}
	return out
}

// Tick runs every schedule now, one after another, each after its run in flight if any.
func (r *Runner) Tick(ctx context.Context) []Run {
	out := make([]Run, 0, len(r.jobs))
	for _, j := range r.jobs {
		j.mu.Lock()
		out = append(out, r.run(ctx, j))
		j.mu.Unlock()
	}
	return out
}

// Loop runs every schedule each period until ctx ends; a schedule whose last run is still
// going is skipped for that period, as a function with reserved concurrency 1 would be.
func (r *Runner) Loop(ctx context.Context, every time.Duration) {
	if len(r.jobs) == 0 || every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, j := range r.jobs {
			if !j.mu.TryLock() {
				r.sink.Printf("schedule", "%s %s: the last run is still going; skipped", j.fn.Name(), j.src.Name)
				continue
			}
			wg.Go(func() {
				defer j.mu.Unlock()
				r.run(ctx, j)
			})
		}
	}
}

// run invokes j once and logs the outcome.
func (r *Runner) run(ctx context.Context, j *job) Run {
	now := time.Now().UTC()
	run := Run{Function: j.fn.Name(), Event: j.src.Name, Schedule: j.src.Expression, StartedAt: now}
	out, err := j.fn.Invoke(ctx, j.src.Payload(now))
	run.DurationMS = time.Since(now).Milliseconds()
	if err != nil {
		var ie *lambdaruntime.InvokeError
		if !errors.As(err, &ie) {
			ie = &lambdaruntime.InvokeError{Type: "Local.InvokeFailed", Message: err.Error()}
		}
		run.Error = ie
		r.sink.Printf("schedule", "%s %s (%s): failed after %d ms: %s", run.Function, run.Event, run.Schedule, run.DurationMS, ie.Error())
		return run
	}
	if json.Valid(out) {
		run.Result = out
	} else {
		b, _ := json.Marshal(string(out))
		run.Result = b
	}
	r.sink.Printf("schedule", "%s %s (%s): %d ms: %s", run.Function, run.Event, run.Schedule, run.DurationMS, devlog.Truncate(out, 400))
	return run
}

// ServeHTTP is POST /_local/tick: every schedule runs now; the answer lists the runs (200, or
// 502 when a function failed).
func (r *Runner) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		lambdaruntime.WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "POST " + TickPath + " runs every scheduled function now"})
		return
	}
	runs := r.Tick(context.WithoutCancel(req.Context())) // a client that hangs up does not stop a run
	status := http.StatusOK
	for _, run := range runs {
		if run.Error != nil {
			status = http.StatusBadGateway
		}
	}
	b, _ := json.MarshalIndent(map[string]any{"runs": runs}, "", "  ") // plain values and valid JSON always encode
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
