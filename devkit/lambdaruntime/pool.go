package lambdaruntime

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/referral/referrals/devkit/devlog"
	"github.com/referral/referrals/devkit/samtemplate"
)

// Function is a deployed-like Lambda function: its binary, environment and a pool of
// execution environments (processes), reused while warm and stopped after IdleTimeout.
type Function struct {
	def    *samtemplate.FunctionDef
	binary string
	env    []string
	arn    string
	sink   *devlog.Sink

	slots chan struct{} // one per concurrent invocation: the concurrency cap

	mu     sync.Mutex
	broken error       // why the function cannot run (not built), or nil
	gen    int         // bumped when a new binary is installed: older instances retire
	idle   []*instance // most recently used last
	all    map[*instance]struct{}
	closed bool
}

// Options are the local values every function process gets on top of the template's.
type Options struct {
	DynamoURL    string
	SESURL       string
	SecretsURL   string
	SQSURL       string
	LambdaURL    string                       // the stack's Invoke API, for functions that invoke another
	Env          map[string]string            // local settings for every function (the local stack's own)
	Overrides    map[string]map[string]string // SAM --env-vars format: "Parameters" for all, or per function
	BinDir       string
	MaxInstances int
}

// NewFunction is the function def with opts' local environment, its instances started from
// opts.BinDir/<LogicalId>/bootstrap.
func NewFunction(def *samtemplate.FunctionDef, opts Options, sink *devlog.Sink) *Function {
	binary := filepath.Join(opts.BinDir, def.Name, "bootstrap")
	fn := &Function{
		def:    def,
		binary: binary,
		arn:    fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", samtemplate.LocalRegion, samtemplate.LocalAccountID, def.FuncName),
		sink:   sink,
		slots:  make(chan struct{}, concurrency(def, opts.MaxInstances)),
		all:    map[*instance]struct{}{},
	}
	fn.env = Environment(def, opts, filepath.Dir(binary))
	return fn
}

// concurrency is how many invocations of def may run at once: its reserved concurrency when
// it has one (further invocations wait for a free slot), else maxInstances.
func concurrency(def *samtemplate.FunctionDef, maxInstances int) int {
	n := max(1, maxInstances)
	if def.Reserved > 0 {
		n = min(n, def.Reserved)
	}
	return n
}

// Invoke runs one invocation on a warm instance, or a new one while under the cap, and
// prints Lambda's START/END/REPORT lines. A function error is returned as *InvokeError.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if err := f.Unavailable(); err != nil {
		return nil, &InvokeError{Type: "Local.FunctionUnavailable", Message: err.Error()}
	}
	inst, cold, err := f.acquire(ctx)
	if err != nil {
		return nil, err
	}
	inv := &invocation{
		id:      NewRequestID(),
		payload: payload,
		timeout: f.def.Timeout,
		picked:  make(chan struct{}),
		done:    make(chan invokeResult, 1),
	}
	name := f.def.Name
	f.sink.Printf(name, "START RequestId: %s Version: $LATEST", inv.id)
	res := inst.invoke(inv)
	var dur time.Duration
	select {
	case <-inv.picked:
		dur = time.Since(inv.pickedAt)
	default:
	}
	mem := maxMemoryMB(inst.cmd.Process.Pid)
	f.sink.Printf(name, "END RequestId: %s", inv.id)
	report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		inv.id, ms(dur), int64(math.Ceil(ms(dur))), f.def.MemoryMB, mem)
	if cold {
		select {
		case <-inst.ready:
			report += fmt.Sprintf("\tInit Duration: %.2f ms", ms(inst.initDur))
		default:
			if res.err != nil { // the runtime never asked for work: init failed
				f.sink.Printf(name, "INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\tError Type: %s",
					ms(time.Since(inst.started)), res.err.Type)
			}
		}
	}
	if res.err != nil {
		switch {
		case res.err.Type == "Sandbox.Timedout":
			report += "\tStatus: timeout"
		case strings.HasPrefix(res.err.Type, "Runtime."):
			report += "\tStatus: error\tError Type: " + res.err.Type
		}
	}
	f.sink.Line(name, report)
	f.release(inst)
	if res.err != nil {
		return nil, res.err
	}
	return res.body, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (f *Function) acquire(ctx context.Context) (*instance, bool, error) {
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		<-f.slots
		return nil, false, ErrStackClosed
	}
	for len(f.idle) > 0 {
		inst := f.idle[len(f.idle)-1]
		f.idle = f.idle[:len(f.idle)-1]
		if inst.alive() {
			f.mu.Unlock()
			return inst, false, nil
		}
		delete(f.all, inst)
	}
	f.mu.Unlock()
	inst, err := startInstance(f)
	if err != nil {
		<-f.slots
		return nil, false, &InvokeError{Type: "Runtime.StartError", Message: err.Error()}
	}
	f.mu.Lock()
	f.all[inst] = struct{}{}
	inst.gen = f.gen
	closed := f.closed
	f.mu.Unlock()
	if closed {
		inst.kill()
	}
	return inst, true, nil
}

func (f *Function) release(inst *instance) {
	f.mu.Lock()
	if inst.alive() && !f.closed && inst.gen == f.gen {
		inst.lastUsed = time.Now()
		f.idle = append(f.idle, inst)
	} else {
		delete(f.all, inst)
		inst.kill()
	}
	f.mu.Unlock()
	<-f.slots
}

// Unavailable says why the function cannot run, or nil.
func (f *Function) Unavailable() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.broken
}

// SetBroken records why the function cannot run (nil: it can).
func (f *Function) SetBroken(err error) {
	f.mu.Lock()
	f.broken = err
	f.mu.Unlock()
}

// Swap retires every instance of the old binary: idle ones stop now, busy ones when their
// invocation ends. The next invocation cold-starts the new binary.
func (f *Function) Swap() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.broken = nil
	f.gen++
	for _, inst := range f.idle {
		delete(f.all, inst)
		inst.kill()
	}
	f.idle = nil
}

// Reap stops instances idle for longer than ttl.
func (f *Function) Reap(ttl time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	keep := f.idle[:0]
	for _, inst := range f.idle {
		if time.Since(inst.lastUsed) > ttl || !inst.alive() {
			delete(f.all, inst)
			inst.kill()
			continue
		}
		keep = append(keep, inst)
	}
	f.idle = keep
}

// Close kills every instance and waits for them to exit.
func (f *Function) Close() {
	f.mu.Lock()
	f.closed = true
	all := make([]*instance, 0, len(f.all))
	for inst := range f.all {
		all = append(all, inst)
	}
	f.idle = nil
	f.mu.Unlock()
	for _, inst := range all {
		inst.kill()
	}
	for _, inst := range all {
		select {
		case <-inst.exited:
		case <-time.After(5 * time.Second):
		}
	}
}

// Instances reports how many processes the function has (for tests).
func (f *Function) Instances() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.all)
}

// Def is the function's definition in the template.
func (f *Function) Def() *samtemplate.FunctionDef { return f.def }

// Name is the function's logical ID.
func (f *Function) Name() string { return f.def.Name }

// ARN is the function's local ARN.
func (f *Function) ARN() string { return f.arn }

// Environment is what a function's process sees, as Lambda sets it up: Lambda's own variables
// (name, memory, timeout, log format, dummy credentials, region), the template's, the local
// stack's endpoints from opts and opts' overrides (sam's --env-vars format), as KEY=value
// lines sorted by key. taskRoot is where the bootstrap lives.
func Environment(def *samtemplate.FunctionDef, opts Options, taskRoot string) []string {
	vars := map[string]string{
		"PATH":                            os.Getenv("PATH"),
		"TZ":                              "UTC",
		"LANG":                            "en_US.UTF-8",
		"LAMBDA_TASK_ROOT":                taskRoot,
		"LAMBDA_RUNTIME_DIR":              taskRoot,
		"_HANDLER":                        def.Handler,
		"AWS_REGION":                      samtemplate.LocalRegion,
		"AWS_DEFAULT_REGION":              samtemplate.LocalRegion,
		"AWS_ACCESS_KEY_ID":               "local",
		"AWS_SECRET_ACCESS_KEY":           "local",
		"AWS_EC2_METADATA_DISABLED":       "true",
		"AWS_LAMBDA_FUNCTION_NAME":        def.FuncName,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": fmt.Sprint(def.MemoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     fmt.Sprint(int(def.Timeout.Seconds())),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + def.FuncName,
	}
	if def.LogFmt != "" {
		vars["AWS_LAMBDA_LOG_FORMAT"] = def.LogFmt
	}
	if def.LogLevel != "" {
		vars["AWS_LAMBDA_LOG_LEVEL"] = def.LogLevel
	}
	for k, v := range def.Env {
		vars[k] = v
	}
	if opts.DynamoURL != "" {
		vars["AWS_ENDPOINT_URL_DYNAMODB"] = opts.DynamoURL
	}
	if opts.SESURL != "" {
		vars["AWS_ENDPOINT_URL_SESV2"] = opts.SESURL
	}
	if opts.SecretsURL != "" {
		vars["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = opts.SecretsURL
	}
	if opts.SQSURL != "" {
		vars["AWS_ENDPOINT_URL_SQS"] = opts.SQSURL
	}
	if opts.LambdaURL != "" {
		vars["AWS_ENDPOINT_URL_LAMBDA"] = opts.LambdaURL
	}
	for k, v := range opts.Env {
		vars[k] = v
	}
	for _, scope := range []string{"Parameters", def.Name} {
		for k, v := range opts.Overrides[scope] {
			vars[k] = v
		}
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+vars[k])
	}
	return env
}
