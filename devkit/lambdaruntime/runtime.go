package lambdaruntime

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/referral/referrals/devkit/devlog"
)

const (
	runtimeAPIPrefix = "/2018-06-01/runtime"
	maxResponseBytes = 6 << 20 // Lambda's limit for a synchronous response
	initTimeout      = 10 * time.Second
)

// InvokeError is a failed invocation, shaped as Lambda reports it.
type InvokeError struct {
	Type    string          `json:"errorType"`
	Message string          `json:"errorMessage"`
	Trace   json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *InvokeError) Error() string { return e.Type + ": " + e.Message }

// invocation is one request handed to a runtime through GET .../invocation/next.
type invocation struct {
	id       string
	payload  []byte
	timeout  time.Duration
	picked   chan struct{} // closed once the runtime has received the event
	pickedAt time.Time     // set before picked is closed
	deadline time.Time
	done     chan invokeResult // the runtime's /response or /error
}

type invokeResult struct {
	body []byte
	err  *InvokeError
}

// instance is one function process (an execution environment) with its own Runtime API endpoint.
type instance struct {
	fn      *Function
	cmd     *exec.Cmd
	srv     *http.Server
	addr    string
	gen     int // the function's binary generation it runs
	started time.Time
	invokes chan *invocation

	ready     chan struct{} // closed on the first /next: init is over
	readyOnce sync.Once
	initDur   time.Duration

	exited  chan struct{}
	exitErr error

	mu       sync.Mutex
	current  *invocation
	initErr  *InvokeError
	lastUsed time.Time
}

// startInstance launches the function binary pointed at a fresh Runtime API endpoint.
func startInstance(fn *Function) (*instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	inst := &instance{
		fn:      fn,
		addr:    ln.Addr().String(),
		invokes: make(chan *invocation),
		ready:   make(chan struct{}),
		exited:  make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimeAPIPrefix+"/invocation/next", inst.next)
	mux.HandleFunc("POST "+runtimeAPIPrefix+"/invocation/{id}/response", inst.response)
	mux.HandleFunc("POST "+runtimeAPIPrefix+"/invocation/{id}/error", inst.invokeError)
	mux.HandleFunc("POST "+runtimeAPIPrefix+"/init/error", inst.initError)
	inst.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	stdout := fn.sink.Writer(fn.def.Name)
	stderr := fn.sink.Writer(fn.def.Name)
	cmd := exec.Command(fn.binary)
	cmd.Dir = filepath.Dir(fn.binary)
	cmd.Env = append(append([]string{}, fn.env...),
		"AWS_LAMBDA_RUNTIME_API="+inst.addr,
		"AWS_LAMBDA_LOG_STREAM_NAME="+time.Now().UTC().Format("2006/01/02")+"/[$LATEST]"+RandomHex(16),
	)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	SetProcAttrs(cmd)
	inst.cmd = cmd
	inst.started = time.Now()
	if err := cmd.Start(); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("start %s: %w", fn.binary, err)
	}
	// Serve only now: the listener queues the runtime's first call, and every field above is
	// set before a handler can read it.
	go func() { _ = inst.srv.Serve(ln) }()
	go func() {
		inst.exitErr = cmd.Wait()
		stdout.Flush()
		stderr.Flush()
		close(inst.exited)
		_ = inst.srv.Close()
	}()
	return inst, nil
}

func (i *instance) alive() bool {
	select {
	case <-i.exited:
		return false
	default:
		return true
	}
}

// kill stops the process; the exit goroutine closes the Runtime API.
func (i *instance) kill() {
	if i.cmd.Process != nil {
		_ = i.cmd.Process.Kill()
	}
}

// invoke hands inv to the runtime and waits for its result, the function's timeout or the
// process's death, whichever comes first. A timed-out instance is killed, as Lambda does.
func (i *instance) invoke(inv *invocation) invokeResult {
	initTimer := time.NewTimer(initTimeout)
	defer initTimer.Stop()
	select {
	case i.invokes <- inv:
	case <-i.exited:
		return invokeResult{err: i.deathError(inv)}
	case <-initTimer.C:
		i.kill()
		return invokeResult{err: &InvokeError{Type: "Runtime.InitTimeout", Message: fmt.Sprintf("init did not finish within %s", initTimeout)}}
	}
	<-inv.picked
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	select {
	case res := <-inv.done:
		return res
	case <-i.exited:
		select {
		case res := <-inv.done:
			return res
		default:
		}
		return invokeResult{err: i.deathError(inv)}
	case <-timer.C:
		i.kill()
		msg := fmt.Sprintf("Task timed out after %.2f seconds", inv.timeout.Seconds())
		i.fn.sink.Printf(i.fn.def.Name, "%s %s %s", time.Now().UTC().Format(time.RFC3339Nano), inv.id, msg)
		return invokeResult{err: &InvokeError{Type: "Sandbox.Timedout", Message: msg}}
	}
}

func (i *instance) deathError(inv *invocation) *InvokeError {
	i.mu.Lock()
	initErr := i.initErr
	i.mu.Unlock()
	if initErr != nil {
		return initErr
	}
	msg := "Runtime exited without providing a reason"
	if i.exitErr != nil {
		msg = "Runtime exited with error: " + i.exitErr.Error()
	}
	return &InvokeError{Type: "Runtime.ExitError", Message: fmt.Sprintf("RequestId: %s Error: %s", inv.id, msg)}
}

func (i *instance) next(w http.ResponseWriter, r *http.Request) {
	i.readyOnce.Do(func() {
		i.initDur = time.Since(i.started)
		close(i.ready)
	})
	select {
	case inv := <-i.invokes:
		now := time.Now()
		inv.pickedAt = now
		inv.deadline = now.Add(inv.timeout)
		i.mu.Lock()
		i.current = inv
		i.mu.Unlock()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", i.fn.arn)
		h.Set("Lambda-Runtime-Trace-Id", TraceID())
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
		close(inv.picked)
	case <-r.Context().Done():
	case <-i.exited:
	}
}

// finish delivers the runtime's answer to the waiting invocation.
func (i *instance) finish(id string, res invokeResult) bool {
	i.mu.Lock()
	inv := i.current
	if inv == nil || inv.id != id {
		i.mu.Unlock()
		return false
	}
	i.current = nil
	i.mu.Unlock()
	inv.done <- res
	return true
}

func (i *instance) response(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	res := invokeResult{body: body}
	status := http.StatusAccepted
	switch {
	case err != nil:
		res = invokeResult{err: &InvokeError{Type: "Runtime.InvalidResponse", Message: err.Error()}}
	case len(body) > maxResponseBytes:
		res = invokeResult{err: &InvokeError{Type: "Function.ResponseSizeTooLarge", Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponseBytes)}}
		status = http.StatusRequestEntityTooLarge
	}
	if !i.finish(r.PathValue("id"), res) {
		runtimeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "unknown or finished request id")
		return
	}
	if status != http.StatusAccepted {
		runtimeAPIError(w, status, "RequestEntityTooLarge", res.err.Message)
		return
	}
	WriteJSON(w, status, map[string]string{"status": "OK"})
}

func (i *instance) invokeError(w http.ResponseWriter, r *http.Request) {
	e := readRuntimeError(r)
	if !i.finish(r.PathValue("id"), invokeResult{err: e}) {
		runtimeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "unknown or finished request id")
		return
	}
	WriteJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (i *instance) initError(w http.ResponseWriter, r *http.Request) {
	e := readRuntimeError(r)
	if e.Type == "Unhandled" {
		e.Type = "Runtime.InitError"
	}
	i.mu.Lock()
	i.initErr = e
	i.mu.Unlock()
	WriteJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func readRuntimeError(r *http.Request) *InvokeError {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	e := &InvokeError{}
	if err := json.Unmarshal(body, e); err != nil || (e.Type == "" && e.Message == "") {
		e = &InvokeError{Message: string(body)}
	}
	if e.Type == "" {
		e.Type = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	if e.Type == "" {
		e.Type = "Unhandled"
	}
	return e
}

func runtimeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	WriteJSON(w, status, map[string]string{"errorType": typ, "errorMessage": msg})
}

func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxMemoryMB is the process's peak resident set (VmHWM), in MB, or 0 where /proc is missing.
func maxMemoryMB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	var kb int
	for _, line := range devlog.Lines(string(b)) {
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			return (kb + 1023) / 1024
		}
	}
	return 0
}

func RandomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// NewRequestID returns a random UUID, the shape of Lambda request ids.
func NewRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func TraceID() string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), RandomHex(24), RandomHex(16))
}

var ErrStackClosed = errors.New("the dev stack is shutting down")
