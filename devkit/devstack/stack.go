// Package devstack is the `make dev` stack: the whole of template.yaml on one machine without
// Docker or an AWS account. It builds every function for the host and runs the real binaries
// behind the Lambda Runtime API; serves the HTTP API routes with the Lambda authorizer and the
// Lambda Invoke API; runs DynamoDB (Amazon DynamoDB Local when Java 17+ is there, else the
// embedded engine) with the template's table, whose stream reaches the stream functions
// through the DynamoDB Streams API as Lambda's event source mapping reads it; runs
// aws-ses-v2-local and Stripe's stripe-mock; answers Secrets Manager for the template's
// secrets; invokes the functions with Schedule events every minute and on POST /_local/tick;
// and rebuilds a function when its sources change.
package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/referral/referrals/devkit/samplesecrets"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/devlog"
	"github.com/referral/referrals/devkit/dynamo"
	"github.com/referral/referrals/devkit/httpapi"
	"github.com/referral/referrals/devkit/lambdaruntime"
	"github.com/referral/referrals/devkit/receiver"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/schedules"
	"github.com/referral/referrals/devkit/secrets"
	"github.com/referral/referrals/devkit/ses"
	"github.com/referral/referrals/devkit/sesfeedback"
	"github.com/referral/referrals/devkit/sqs"
	"github.com/referral/referrals/devkit/streams"
	"github.com/referral/referrals/devkit/stripemock"
	"github.com/referral/referrals/shared/fulfil"
)

// Engines of DynamoDB the stack can run.
const (
	EngineAuto     = "auto"     // DynamoDB Local when Java 17+ is on PATH, else embedded
	EngineLocal    = "local"    // Amazon DynamoDB Local (Java), durable in StateDir/dynamodb
	EngineEmbedded = "embedded" // minidyn in process, saved to StateDir/state.json on Close
)

// Config says where the dev stack reads the template and functions, where it keeps its
// state and where it listens. Zero values get the `make dev` defaults.
type Config struct {
	Root        string // holds the template and functions/; default "."
	Template    string // default Root/template.yaml
	StateDir    string // default Root/.local
	BinDir      string // default StateDir/bin
	JarDir      string // DynamoDB Local; default Root/node_modules/amplify-dynamodb-simulator/emulator
	APIAddr     string // default 127.0.0.1:3000
	LambdaAddr  string // the Lambda Invoke API; default 127.0.0.1:3001
	DynamoAddr  string // default 127.0.0.1:8000
	SESAddr     string // default 127.0.0.1:8005
	SecretsAddr string // default 127.0.0.1:8010
	SQSAddr     string // the SQS emulator (moto_server) for the template's queues; "" = none
	WebhookAddr string // the webhook receiver; "" = none
	StripeAddr  string // stripe-mock, behind its recording proxy; default 127.0.0.1:8025
	SESEndpoint string // the SES URL functions use; default aws-ses-v2-local's (tests put a proxy in between)
	Engine      string // EngineAuto (default), EngineLocal or EngineEmbedded

	Parameters map[string]string            // template parameter overrides
	Env        map[string]map[string]string // SAM --env-vars format: "Parameters" applies to all functions
	Secrets    map[string]string            // secret logical ID → value

	Log          io.Writer     // default os.Stdout
	MaxInstances int           // per function; default 10
	IdleTimeout  time.Duration // a warm instance is stopped after this; default 5 minutes
	RetryBase    time.Duration // first stream retry delay, doubled each attempt; default 500ms
	TTLSweep     time.Duration // how often expired items (the table's TTL) are deleted; default 30s; <0 never
	TickEvery    time.Duration // how often the functions with Schedule events run; default 1 minute; <0 never

	SES       bool          // run aws-ses-v2-local
	Stripe    bool          // run stripe-mock and give the functions its URL and a test key
	SkipBuild bool          // use the binaries already in BinDir
	Persist   bool          // keep the table between runs (embedded engine: StateDir/state.json)
	Watch     time.Duration // rebuild changed functions, checking this often; 0 = never
}

func (c *Config) defaults() {
	if c.Root == "" {
		c.Root = "."
	}
	if abs, err := filepath.Abs(c.Root); err == nil {
		c.Root = abs
	}
	if c.Template == "" {
		c.Template = filepath.Join(c.Root, "template.yaml")
	}
	if c.StateDir == "" {
		c.StateDir = filepath.Join(c.Root, ".local")
	}
	if abs, err := filepath.Abs(c.StateDir); err == nil {
		c.StateDir = abs
	}
	if c.BinDir == "" {
		c.BinDir = filepath.Join(c.StateDir, "bin")
	}
	if c.JarDir == "" {
		c.JarDir = filepath.Join(c.Root, filepath.FromSlash(dynamo.JarDir))
	}
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.APIAddr, "127.0.0.1:3000")
	def(&c.LambdaAddr, "127.0.0.1:3001")
	def(&c.DynamoAddr, "127.0.0.1:8000")
	def(&c.SESAddr, "127.0.0.1:8005")
	def(&c.SecretsAddr, "127.0.0.1:8010")
	def(&c.StripeAddr, "127.0.0.1:8025")
	def(&c.Engine, EngineAuto)
	if c.Log == nil {
		c.Log = os.Stdout
	}
	if c.MaxInstances <= 0 {
		c.MaxInstances = 10
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 500 * time.Millisecond
	}
	if c.TTLSweep == 0 {
		c.TTLSweep = 30 * time.Second
	}
	if c.TickEvery == 0 {
		c.TickEvery = time.Minute
	}
}

// Stack is the running local stack: HTTP API, DynamoDB with its stream, SES, the functions.
type Stack struct {
	cfg        Config
	Template   *samtemplate.Resolved
	APIURL     string
	LambdaURL  string
	DynamoURL  string
	SESURL     string // "" when SES is not started
	SecretURL  string
	SQSURL     string // "" when no SQS emulator runs
	WebhookURL string // the webhook receiver; "" when it does not run
	Receiver   *receiver.Receiver
	StripeURL  string           // stripe-mock's recording proxy; "" when Stripe is not started
	Stripe     *stripemock.Mock // nil when Stripe is not started
	Engine     string           // which DynamoDB engine runs, in words
	Restored   bool             // the table was there already: not a fresh start
	EngineNote string           // why the embedded engine runs in auto mode ("" otherwise)

	sink      *devlog.Sink
	embedded  *dynamo.Embedded // nil with DynamoDB Local
	local     *dynamo.Local    // nil with the embedded engine
	client    *dynamo.Client
	functions map[string]*lambdaruntime.Function
	api       *httpapi.API
	apiServer *http.Server
	schedules *schedules.Runner
	secrets   *secrets.Server
	servers   []*http.Server
	lns       []net.Listener
	ses       *ses.Process
	sqs       *sqs.Process
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start builds the functions and brings every part of the stack up.
func Start(cfg Config) (s *Stack, err error) {
	cfg.defaults()
	sink := devlog.New(cfg.Log)
	tmpl, err := samtemplate.Resolve(cfg.Template, withReceiverNetwork(cfg.Parameters))
	if err != nil {
		return nil, err
	}
	for _, w := range tmpl.Warnings {
		sink.Printf("template", "warning: %s", w)
	}
	for _, dir := range []string{cfg.StateDir, cfg.BinDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s = &Stack{cfg: cfg, Template: tmpl, sink: sink, functions: map[string]*lambdaruntime.Function{}, cancel: cancel}
	defer func() {
		if err != nil {
			s.shutdown(false)
		}
	}()

	listen := s.listen
	apiLn, apiURL, err := listen("api", cfg.APIAddr)
	if err != nil {
		return s, err
	}
	s.APIURL = apiURL
	lambdaLn, lambdaURL, err := listen("lambda", cfg.LambdaAddr)
	if err != nil {
		return s, err
	}
	s.LambdaURL = lambdaURL
	secLn, secURL, err := listen("secrets", cfg.SecretsAddr)
	if err != nil {
		return s, err
	}
	s.SecretURL = secURL
	sesAddr := cfg.SESAddr
	if cfg.SES {
		if sesAddr, err = concreteAddr(sesAddr); err != nil {
			return s, fmt.Errorf("ses: %w", err)
		}
		s.SESURL = "http://" + sesAddr
	}

	if err := s.startDynamo(ctx); err != nil {
		return s, err
	}
	configured := withSampleSecrets(tmpl, maps.Clone(cfg.Secrets))
	if cfg.Stripe {
		if err := s.startStripe(); err != nil {
			return s, err
		}
		configured = stripeSecrets(tmpl, configured)
	}
	s.secrets = secrets.New(tmpl, configured, filepath.Join(cfg.StateDir, "secrets.json"), sink)
	s.serve(secLn, s.secrets)
	if err := s.startSQS(ctx); err != nil {
		return s, err
	}
	if err := s.startReceiver(); err != nil {
		return s, err
	}

	// Functions.
	broken := map[string]error{}
	var sources []string
	if cfg.SkipBuild {
		for name, fn := range tmpl.Functions {
			if st, err := os.Stat(fn.AbsDir(cfg.Root)); err != nil || !st.IsDir() {
				broken[name] = fmt.Errorf("%s: package %s does not exist", name, fn.Dir)
			} else if _, err := os.Stat(filepath.Join(cfg.BinDir, name, "bootstrap")); err != nil {
				broken[name] = fmt.Errorf("%s is not built (%s)", name, filepath.Join(cfg.BinDir, name, "bootstrap"))
			}
		}
	} else {
		broken, sources = lambdaruntime.Build(cfg.Root, cfg.BinDir, tmpl.Functions, sink.Writer("build"))
	}
	opts := lambdaruntime.Options{DynamoURL: s.DynamoURL, SESURL: s.SESURL, SecretsURL: s.SecretURL, SQSURL: s.SQSURL,
		LambdaURL: s.LambdaURL, Env: map[string]string{}, Overrides: cfg.Env, BinDir: cfg.BinDir, MaxInstances: cfg.MaxInstances}
	if s.StripeURL != "" {
		// Stripe's endpoint, as AWS_ENDPOINT_URL_* are AWS's: the key comes from the template's
		// secret, through the Secrets Manager stand-in, as in a deployed stack.
		opts.Env[fulfil.URLVar] = s.StripeURL
	}
	switch {
	case cfg.SESEndpoint != "":
		opts.SESURL = cfg.SESEndpoint
	case opts.SESURL == "":
		opts.SESURL = "http://" + cfg.SESAddr
	}
	for _, name := range slices.Sorted(maps.Keys(tmpl.Functions)) {
		fn := lambdaruntime.NewFunction(tmpl.Functions[name].WithAPIURL(s.APIURL), opts, sink)
		if err := broken[name]; err != nil {
			fn.SetBroken(err)
			sink.Printf("build", "warning: %v: it answers 502 until fixed", err)
		}
		s.functions[name] = fn
	}

	if cfg.SES {
		if s.ses, err = ses.Start(cfg.Root, sesAddr, sink.Writer("ses")); err != nil {
			return s, err
		}
		s.watchSESFeedback(ctx, tmpl, sink)
	}

	// Stream consumers, before anything can write.
	var mappings []*streams.Mapping
	dlq := &streams.DLQ{Path: filepath.Join(cfg.StateDir, "dlq.jsonl"), Log: sink}
	for _, name := range slices.Sorted(maps.Keys(s.functions)) {
		fn := s.functions[name]
		for _, src := range fn.Def().Streams {
			if !src.Enabled {
				continue
			}
			td := tmpl.Tables[src.Table]
			if td.ViewType == "" {
				sink.Printf("stream", "warning: %s event %s: table %s has no StreamSpecification", name, src.Name, src.Table)
				continue
			}
			m := &streams.Mapping{Fn: fn, Src: src, Table: td.Name, Client: s.client, DLQ: dlq, Log: sink, RetryBase: cfg.RetryBase,
				Checkpoint: filepath.Join(cfg.StateDir, "streams", name+"."+src.Name+".json")}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				if err := m.Run(ctx); err != nil {
					sink.Printf("stream", "%v", err)
				}
			}()
			mappings = append(mappings, m)
		}
	}
	for _, m := range mappings {
		select {
		case <-m.Ready():
		case <-time.After(30 * time.Second):
			sink.Printf("stream", "warning: %s event %s has no position in the stream after 30s", m.Fn.Name(), m.Src.Name)
		}
	}

	s.startQueueMappings(ctx)

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.reapLoop(ctx)
	}()
	s.schedules = schedules.New(s.functions, sink)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.schedules.Loop(ctx, cfg.TickEvery)
	}()
	if cfg.Watch > 0 && !cfg.SkipBuild && sources != nil {
		w := newWatch(s, sources)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			w.run(ctx, cfg.Watch)
		}()
	}

	for _, r := range tmpl.Routes {
		if s.functions[r.Function] == nil {
			return s, fmt.Errorf("route %s: no function %s", r.Key(), r.Function)
		}
	}
	s.serve(lambdaLn, lambdaruntime.NewInvokeAPI(s.functions, sink))
	s.api = httpapi.New(tmpl.Routes, tmpl.APIs, s.functions, sink)
	s.apiServer = s.serve(apiLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == schedules.TickPath {
			s.schedules.ServeHTTP(w, r)
			return
		}
		s.api.ServeHTTP(w, r)
	}))
	return s, nil
}

// startStripe runs stripe-mock (as go.mod pins it) behind its recording proxy on StripeAddr,
// each request it answers logged as [stripe].
func (s *Stack) startStripe() error {
	m, err := stripemock.Start(s.cfg.Root, s.cfg.StripeAddr)
	if err != nil {
		return fmt.Errorf("stripe-mock: %w (another address: -stripe-addr or DEV_STRIPE_ADDR; none: -no-stripe)", err)
	}
	m.OnRequest(func(r stripemock.Request) {
		line := fmt.Sprintf("%s %s → %d", r.Method, r.Path, r.Status)
		if r.IdempotencyKey != "" {
			line += " Idempotency-Key: " + r.IdempotencyKey
		}
		s.sink.Line("stripe", line)
	})
	s.Stripe, s.StripeURL = m, m.URL
	return nil
}

// stripeSecrets gives every secret of the template whose logical ID mentions Stripe the
// stripe-mock test key, unless configured says otherwise: the functions read it from the
// Secrets Manager stand-in as a deployed stack reads the merchant's key.
// withSampleSecrets gives the template's secrets that sign the sample events (unsubscribe
// links, sealed webhook secrets) their public sample values (samplesecrets), unless configured
// says otherwise: the samples then replay against the stack, as `make invoke` and `sam local
// invoke` pointed at its secrets endpoint do, and the functions read them from Secrets Manager
// as in a stack.
func withSampleSecrets(tmpl *samtemplate.Resolved, configured map[string]string) map[string]string {
	if configured == nil {
		configured = map[string]string{}
	}
	for id, v := range samplesecrets.ByLogicalID {
		if _, ok := configured[id]; !ok && tmpl.Secrets[id] != nil {
			configured[id] = v
		}
	}
	return configured
}

func stripeSecrets(tmpl *samtemplate.Resolved, configured map[string]string) map[string]string {
	if configured == nil {
		configured = map[string]string{}
	}
	for id := range tmpl.Secrets {
		if _, ok := configured[id]; !ok && strings.Contains(strings.ToLower(id), "stripe") {
			configured[id] = stripemock.TestKey
		}
	}
	return configured
}

// startDynamo runs the engine the config asks for and creates the template's tables in it.
func (s *Stack) startDynamo(ctx context.Context) error {
	cfg := s.cfg
	engine := cfg.Engine
	if engine == EngineAuto || engine == EngineLocal {
		dbPath := ""
		if cfg.Persist {
			dbPath = filepath.Join(cfg.StateDir, "dynamodb")
		}
		l, err := dynamo.StartLocal(cfg.JarDir, cfg.DynamoAddr, dbPath, s.sink)
		switch {
		case err == nil:
			s.local, s.DynamoURL, s.Engine = l, l.URL, l.Name()
		case engine == EngineLocal:
			return fmt.Errorf("dynamodb: %w", err)
		default:
			s.EngineNote = fmt.Sprintf("DynamoDB Local cannot run (%v): using the embedded engine (minidyn)", err)
			s.sink.Printf("dynamodb", "%s", s.EngineNote)
			engine = EngineEmbedded
		}
	}
	if s.local == nil {
		if engine != EngineEmbedded && engine != EngineAuto {
			return fmt.Errorf("unknown DynamoDB engine %q (want %s, %s or %s)", engine, EngineAuto, EngineLocal, EngineEmbedded)
		}
		ln, err := net.Listen("tcp", cfg.DynamoAddr)
		if err != nil {
			return fmt.Errorf("dynamodb: %w (set another address with -dynamodb-addr or DEV_DYNAMODB_ADDR)", err)
		}
		s.lns = append(s.lns, ln)
		s.embedded = dynamo.NewEmbedded(s.sink)
		s.DynamoURL, s.Engine = "http://"+ln.Addr().String(), s.embedded.Name()
		s.serve(ln, s.embedded)
	}
	s.client = &dynamo.Client{Endpoint: s.DynamoURL, Region: samtemplate.LocalRegion}
	created := false
	for _, td := range sortedTables(s.Template) {
		c, err := dynamo.EnsureTable(ctx, s.client, td)
		if err != nil {
			return err
		}
		created = created || c
	}
	s.Restored = !created
	if s.embedded != nil {
		s.Restored = false
		if cfg.Persist {
			path := filepath.Join(cfg.StateDir, "state.json")
			restored, n, skipped, err := s.embedded.Restore(path)
			if err != nil {
				return err
			}
			s.Restored = restored
			if restored {
				s.sink.Printf("dynamodb", "restored %d items from %s", n, path)
			}
			for _, t := range skipped {
				s.sink.Printf("dynamodb", "warning: state has items of table %s, which the template no longer defines", t)
			}
		}
	}
	return nil
}

// watchSESFeedback plays SES's mailbox simulator: an email sent to
// bounce@simulator.amazonses.com (or complaint@) becomes the notification that the template's
// configuration set publishes, delivered to the functions subscribed to that topic.
func (s *Stack) watchSESFeedback(ctx context.Context, tmpl *samtemplate.Resolved, sink *devlog.Sink) {
	for topic, arn := range tmpl.SESFeedbackTopics() {
		for _, name := range slices.Sorted(maps.Keys(s.functions)) {
			fn := s.functions[name]
			if !slices.Contains(fn.Def().Topics, topic) {
				continue
			}
			w := &sesfeedback.Watcher{StoreURL: s.SESURL + "/store", TopicARN: arn,
				Deliver: func(ctx context.Context, ev events.SNSEvent) error {
					payload, err := json.Marshal(ev)
					if err != nil {
						return err
					}
					_, err = fn.Invoke(ctx, payload)
					return err
				},
				Logf: func(format string, args ...any) { sink.Printf("ses", format, args...) }}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				w.Run(ctx, 500*time.Millisecond)
			}()
		}
	}
}

func (s *Stack) serve(ln net.Listener, h http.Handler) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.sink.Printf("dev", "server on %s: %v", ln.Addr(), err)
		}
	}()
	return srv
}

// reapLoop stops idle instances and deletes expired items.
func (s *Stack) reapLoop(ctx context.Context) {
	every := min(s.cfg.IdleTimeout/2, 5*time.Second)
	if s.cfg.TTLSweep > 0 {
		every = min(every, s.cfg.TTLSweep)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, fn := range s.functions {
				fn.Reap(s.cfg.IdleTimeout)
			}
			if s.cfg.TTLSweep < 0 || now.Sub(lastSweep) < s.cfg.TTLSweep {
				continue
			}
			lastSweep = now
			s.SweepTTL(ctx, now)
		}
	}
}

// SweepTTL deletes the items whose TTL has passed at now, in every table with TTL on, as
// DynamoDB's TTL does in the background.
func (s *Stack) SweepTTL(ctx context.Context, now time.Time) int {
	total := 0
	for _, td := range sortedTables(s.Template) {
		if td.TTLAttr == "" {
			continue
		}
		var n int
		var err error
		if s.embedded != nil {
			n, err = s.embedded.Sweep(td.Name, td.TTLAttr, now)
		} else {
			n, err = dynamo.Sweep(ctx, s.client, td.Name, td.TTLAttr, dynamo.KeyNames(td), now)
		}
		if err != nil && ctx.Err() == nil {
			s.sink.Printf("dynamodb", "TTL sweep of %s: %v", td.Name, err)
		} else if n > 0 {
			s.sink.Printf("dynamodb", "TTL deleted %d expired items of %s", n, td.Name)
		}
		total += n
	}
	return total
}

// Close stops the stack: no new requests, stream delivery stopped, processes killed, and
// (embedded engine with Persist) every item saved to StateDir/state.json.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.shutdown(s.cfg.Persist) })
	return s.closeErr
}

func (s *Stack) shutdown(save bool) error {
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The API first, letting requests in flight finish, then everything behind it.
	if s.apiServer != nil {
		_ = s.apiServer.Shutdown(ctx)
	}
	for _, fn := range s.functions {
		fn.Close()
	}
	s.wg.Wait()
	var err error
	if save && s.embedded != nil {
		path := filepath.Join(s.cfg.StateDir, "state.json")
		n, serr := s.embedded.Save(path)
		if serr != nil {
			err = fmt.Errorf("save state: %w", serr)
		} else {
			s.sink.Printf("dynamodb", "saved %d items to %s", n, path)
		}
	}
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.local.Close()
	s.ses.Stop()
	s.sqs.Stop()
	if s.Stripe != nil {
		s.Stripe.Close()
	}
	return err
}

// listen opens a listener of the stack (closed by Close) and returns its URL.
func (s *Stack) listen(name, addr string) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w (set another address with a flag or environment variable)", name, err)
	}
	s.lns = append(s.lns, ln)
	return ln, "http://" + ln.Addr().String(), nil
}

// Function returns a function of the stack by logical ID (for tests and seeding).
func (s *Stack) Function(name string) *lambdaruntime.Function { return s.functions[name] }

// Embedded is the embedded engine, or nil when DynamoDB Local runs.
func (s *Stack) Embedded() *dynamo.Embedded { return s.embedded }

// API is the HTTP API (for tests).
func (s *Stack) API() *httpapi.API { return s.api }

// Tick runs every function with a Schedule event now, as POST /_local/tick does.
func (s *Stack) Tick(ctx context.Context) []schedules.Run { return s.schedules.Tick(ctx) }

func sortedTables(t *samtemplate.Resolved) []*samtemplate.TableDef {
	out := make([]*samtemplate.TableDef, 0, len(t.Tables))
	for _, id := range slices.Sorted(maps.Keys(t.Tables)) {
		out = append(out, t.Tables[id])
	}
	return out
}

// concreteAddr turns host:0 into a free port on host, for children that need a number.
func concreteAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if port != "0" {
		return addr, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
