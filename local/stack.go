package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/referral/referrals/devkit/dynamostream"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Config says where the dev stack reads the template and functions, where it keeps its
// state and where it listens. Zero values get the `make dev` defaults.
type Config struct {
	Root        string // holds the template and functions/; default "."
	Template    string // default Root/template.yaml
	StateDir    string // default Root/.local
	BinDir      string // default StateDir/bin
	APIAddr     string // default 127.0.0.1:3000
	DynamoAddr  string // default 127.0.0.1:8000
	SESAddr     string // default 127.0.0.1:8005
	SecretsAddr string // default 127.0.0.1:8010
	SESEndpoint string // the SES URL functions use; default aws-ses-v2-local's (tests put a proxy in between)

	Parameters map[string]string            // template parameter overrides
	Env        map[string]map[string]string // SAM --env-vars format: "Parameters" applies to all functions
	Secrets    map[string]string            // secret logical ID → value

	Log          io.Writer     // default os.Stdout
	MaxInstances int           // per function; default 10
	IdleTimeout  time.Duration // a warm instance is stopped after this; default 5 minutes
	RetryBase    time.Duration // first stream retry delay, doubled each attempt; default 500ms
	TTLSweep     time.Duration // how often expired items (the table's TTL) are deleted; default 30s

	SES       bool          // run aws-ses-v2-local
	SkipBuild bool          // use the binaries already in BinDir
	Persist   bool          // restore StateDir/state.json on start, save it on Close
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
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.APIAddr, "127.0.0.1:3000")
	def(&c.DynamoAddr, "127.0.0.1:8000")
	def(&c.SESAddr, "127.0.0.1:8005")
	def(&c.SecretsAddr, "127.0.0.1:8010")
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
	if c.TTLSweep <= 0 {
		c.TTLSweep = 30 * time.Second
	}
}

// Stack is the running local stack: HTTP API, DynamoDB with its stream, SES, the functions.
type Stack struct {
	cfg       Config
	Template  *Template
	APIURL    string
	DynamoURL string
	SESURL    string // "" when SES is not started
	SecretURL string
	Restored  bool // state.json was loaded: not a fresh start

	sink      *logSink
	dyn       *dynamo
	functions map[string]*function
	servers   []*http.Server
	lns       []net.Listener
	ses       *sesProcess
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start builds the functions and brings every part of the stack up.
func Start(cfg Config) (s *Stack, err error) {
	cfg.defaults()
	sink := &logSink{w: cfg.Log}
	tmpl, err := LoadTemplate(cfg.Template, cfg.Parameters)
	if err != nil {
		return nil, err
	}
	for _, w := range tmpl.Warnings {
		sink.printf("template", "warning: %s", w)
	}
	for _, dir := range []string{cfg.StateDir, cfg.BinDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s = &Stack{cfg: cfg, Template: tmpl, sink: sink, functions: map[string]*function{}, cancel: cancel}
	defer func() {
		if err != nil {
			s.shutdown(false)
		}
	}()

	listen := func(name, addr string) (net.Listener, string, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w (set another address with a flag or environment variable)", name, err)
		}
		s.lns = append(s.lns, ln)
		return ln, "http://" + ln.Addr().String(), nil
	}
	dynLn, dynURL, err := listen("dynamodb", cfg.DynamoAddr)
	if err != nil {
		return s, err
	}
	s.DynamoURL = dynURL
	secLn, secURL, err := listen("secrets", cfg.SecretsAddr)
	if err != nil {
		return s, err
	}
	s.SecretURL = secURL
	apiLn, apiURL, err := listen("api", cfg.APIAddr)
	if err != nil {
		return s, err
	}
	s.APIURL = apiURL
	sesAddr := cfg.SESAddr
	if cfg.SES {
		if sesAddr, err = concreteAddr(sesAddr); err != nil {
			return s, fmt.Errorf("ses: %w", err)
		}
		s.SESURL = "http://" + sesAddr
	}

	// DynamoDB: tables from the template, then the saved items (which make no stream records).
	s.dyn = newDynamo(sink)
	for _, td := range sortedTables(tmpl) {
		if err := s.dyn.CreateTable(td); err != nil {
			return s, err
		}
	}
	if cfg.Persist {
		restored, n, skipped, err := restoreState(filepath.Join(cfg.StateDir, "state.json"), s.dyn)
		if err != nil {
			return s, err
		}
		s.Restored = restored
		if restored {
			sink.printf("dynamodb", "restored %d items from %s", n, filepath.Join(cfg.StateDir, "state.json"))
		}
		for _, t := range skipped {
			sink.printf("dynamodb", "warning: state has items of table %s, which the template no longer defines", t)
		}
	}
	s.serve(dynLn, s.dyn)
	s.serve(secLn, newSecretsServer(tmpl, cfg.Secrets, filepath.Join(cfg.StateDir, "secrets.json"), sink))

	// Functions.
	broken := map[string]error{}
	var sources []string
	if cfg.SkipBuild {
		for name, fn := range tmpl.Functions {
			if st, err := os.Stat(functionDir(cfg.Root, fn)); err != nil || !st.IsDir() {
				broken[name] = fmt.Errorf("%s: package %s does not exist", name, fn.Dir)
			} else if _, err := os.Stat(filepath.Join(cfg.BinDir, name, "bootstrap")); err != nil {
				broken[name] = fmt.Errorf("%s is not built (%s)", name, filepath.Join(cfg.BinDir, name, "bootstrap"))
			}
		}
	} else {
		broken, sources = buildFunctions(cfg.Root, cfg.BinDir, tmpl.Functions, &sinkWriter{sink: sink, prefix: "build"})
	}
	opts := envOptions{DynamoURL: s.DynamoURL, SESURL: s.SESURL, SecretsURL: s.SecretURL, Overrides: cfg.Env, BinDir: cfg.BinDir, MaxInstances: cfg.MaxInstances}
	switch {
	case cfg.SESEndpoint != "":
		opts.SESURL = cfg.SESEndpoint
	case opts.SESURL == "":
		opts.SESURL = "http://" + cfg.SESAddr
	}
	for _, name := range sortedKeys(tmpl.Functions) {
		fn := newFunction(tmpl.Functions[name], opts, sink)
		fn.broken = broken[name]
		if fn.broken != nil {
			sink.printf("build", "warning: %v: it answers 502 until fixed", fn.broken)
		}
		s.functions[name] = fn
	}

	if cfg.SES {
		if s.ses, err = startSES(cfg.Root, sesAddr, sink); err != nil {
			return s, err
		}
	}

	// Stream consumers, before anything can write.
	dlq := &dlqFile{path: filepath.Join(cfg.StateDir, "dlq.jsonl")}
	for _, name := range sortedKeys(s.functions) {
		fn := s.functions[name]
		for _, src := range fn.def.Streams {
			if !src.Enabled {
				continue
			}
			td := tmpl.Tables[src.Table]
			info := s.dyn.table(td.Name)
			if info == nil || info.shard == nil {
				sink.printf("stream", "warning: %s event %s: table %s has no StreamSpecification", name, src.Name, src.Table)
				continue
			}
			filter, err := dynamostream.CompileFilter(src.Filters)
			if err != nil {
				return s, fmt.Errorf("%s event %s: %w", name, src.Name, err)
			}
			c := &streamConsumer{fn: fn, src: src, cur: info.shard.open(), filter: filter, dlq: dlq, sink: sink, retryBase: cfg.RetryBase}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				c.run(ctx)
			}()
		}
	}

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.reapLoop(ctx)
	}()
	if cfg.Watch > 0 && !cfg.SkipBuild && sources != nil {
		w := newWatch(s, sources)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			w.run(ctx, cfg.Watch)
		}()
	}

	api := &httpAPI{routes: tmpl.Routes, functions: s.functions, sink: sink}
	api.auth = newAuthorizers(tmpl.APIs, s.functions, sink)
	for _, r := range tmpl.Routes {
		if s.functions[r.Function] == nil {
			return s, fmt.Errorf("route %s: no function %s", r.RouteKey(), r.Function)
		}
	}
	s.serve(apiLn, api)
	return s, nil
}

func (s *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.sink.printf("dev", "server on %s: %v", ln.Addr(), err)
		}
	}()
}

// reapLoop stops idle instances and deletes expired items.
func (s *Stack) reapLoop(ctx context.Context) {
	every := min(s.cfg.IdleTimeout/2, s.cfg.TTLSweep, 5*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, fn := range s.functions {
				fn.reap(s.cfg.IdleTimeout)
			}
			if now.Sub(lastSweep) < s.cfg.TTLSweep {
				continue
			}
			lastSweep = now
			for _, td := range sortedTables(s.Template) {
				if td.TTLAttr == "" {
					continue
				}
				if n, err := s.dyn.expire(td.Name, td.TTLAttr, now); err != nil {
					s.sink.printf("dynamodb", "TTL sweep of %s: %v", td.Name, err)
				} else if n > 0 {
					s.sink.printf("dynamodb", "TTL deleted %d expired items of %s", n, td.Name)
				}
			}
		}
	}
}

// Close stops the stack: no new requests, stream delivery stopped, processes killed, and
// (with Persist) every item saved to StateDir/state.json.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.shutdown(s.cfg.Persist) })
	return s.closeErr
}

func (s *Stack) shutdown(save bool) error {
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The API first, letting requests in flight finish, then everything behind it.
	if len(s.servers) > 0 {
		_ = s.servers[len(s.servers)-1].Shutdown(ctx)
	}
	for _, fn := range s.functions {
		fn.close()
	}
	s.wg.Wait()
	var err error
	if save && s.dyn != nil {
		var names []string
		for _, td := range sortedTables(s.Template) {
			names = append(names, td.Name)
		}
		path := filepath.Join(s.cfg.StateDir, "state.json")
		n, serr := saveState(path, s.dyn, names)
		if serr != nil {
			err = fmt.Errorf("save state: %w", serr)
		} else {
			s.sink.printf("dynamodb", "saved %d items to %s", n, path)
		}
	}
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.ses.stop()
	return err
}

// Function returns a function of the stack by logical ID (for tests and seeding).
func (s *Stack) Function(name string) *function { return s.functions[name] }

func sortedTables(t *Template) []*TableDef {
	out := make([]*TableDef, 0, len(t.Tables))
	for _, id := range sortedKeys(t.Tables) {
		out = append(out, t.Tables[id])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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

// sinkWriter adapts the log sink to an io.Writer of whole lines.
type sinkWriter struct {
	sink   *logSink
	prefix string
}

func (w *sinkWriter) Write(p []byte) (int, error) {
	for _, line := range splitLines(string(p)) {
		if line != "" {
			w.sink.line(w.prefix, line)
		}
	}
	return len(p), nil
}
