package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// devAdminKey is the admin key `make dev` accepts (README, devkit/devstack/seed.go).
const devAdminKey = "dev-admin-key"

// programID is the program the load runs on: devkit/devstack/seed/program-demo.json under another id.
const programID = "bench"

// report is one Lambda REPORT line of the local runtime.
type report struct {
	Function   string
	DurationMs float64
	BilledMs   float64
	MemoryMB   float64
	MaxUsedMB  float64
	InitMs     float64 // 0 unless a cold start
	Phase      string
}

// emf is one metrics line a function printed (shared/metrics: its counts, some in CloudWatch EMF).
type emf struct {
	Function string
	Values   map[string]float64
	Phase    string
}

// phaseResult is one load phase driven over HTTP.
type phaseResult struct {
	Name        string
	Function    string // the function serving it
	Requests    int
	Concurrency int
	Elapsed     time.Duration
	Latencies   []time.Duration // per request, first attempt to final answer
	Status503   int             // answers 503 (each retried after Retry-After)
	Errors      int
	FirstError  string
	ItemsBefore int
	ItemsAfter  int

	// From the function's EMF and REPORT lines printed during the phase.
	ContentionRetries float64
	DynamoDBRetries   float64
	RoundTrips        float64
	Invocations       int
	Durations         []float64 // REPORT Duration, ms
	MaxUsedMB         float64
}

func (p *phaseResult) perSecond() float64 { return float64(p.Requests) / p.Elapsed.Seconds() }

func (p *phaseResult) percentile(q float64) time.Duration {
	if len(p.Latencies) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), p.Latencies...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// stackResults is what the local stack run measured.
type stackResults struct {
	Engine      string // the DynamoDB engine the stack ran, as its banner says
	SES         bool
	Started     time.Duration // from launch to the ready line (includes building the functions)
	ColdStarts  map[string]report
	Phases      []*phaseResult
	Viral       []viralLevel // the viral advocate's conversions at each concurrency
	Reports     []report
	EMF         []emf
	LogBytes    map[string]int // bytes of application log lines (EMF included) per function
	Requests    int            // authorized API requests sent
	HotCheck    string         // the hot advocate's rewards against the tier table
	HotOK       bool
	FinalItems  int
	DLQ         int // stream records given up on
	UnknownLogs int
}

// stackRun is a running dev stack (./devkit/cmd/devstack) and what it printed so far.
type stackRun struct {
	cmd    *exec.Cmd
	api    string
	dynamo string
	client *http.Client
	ddb    *dynamodb.Client
	log    *os.File

	mu       sync.Mutex
	phase    string
	res      *stackResults
	ready    chan string
	requests atomic.Int64
}

var (
	reportLine = regexp.MustCompile(`^REPORT RequestId: \S+\s+Duration: ([\d.]+) ms\s+Billed Duration: ([\d.]+) ms\s+Memory Size: (\d+) MB\s+Max Memory Used: (\d+) MB(?:\s+Init Duration: ([\d.]+) ms)?`)
	prefixed   = regexp.MustCompile(`^\[([A-Za-z0-9]+)\] (.*)$`)
	pathParam  = regexp.MustCompile(`\{[^}]+\}`)
)

// runStack boots the local stack on free ports with a fresh state directory, measures each
// function's cold start, drives the load phases and stops it.
func runStack(cfg config, tmp string, fns []function) (*stackResults, error) {
	bin := filepath.Join(tmp, "local-stack")
	if b, err := exec.Command("go", "build", "-o", bin, "./devkit/cmd/devstack").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build ./devkit/cmd/devstack: %v\n%s", err, b)
	}
	res := &stackResults{ColdStarts: map[string]report{}, LogBytes: map[string]int{}}
	args := []string{"-api-addr", "127.0.0.1:0", "-lambda-addr", "127.0.0.1:0", "-dynamodb-addr", "127.0.0.1:0", "-ses-addr", "127.0.0.1:0",
		"-secrets-addr", "127.0.0.1:0", "-state-dir", filepath.Join(tmp, "state"), "-no-seed", "-no-state", "-no-watch"}
	if _, err := os.Stat("node_modules/.bin/aws-ses-v2-local"); err == nil {
		res.SES = true
	} else {
		args = append(args, "-no-ses") // emails then fail and end in the DLQ; run npm ci for the full picture
	}
	logf, err := os.Create(filepath.Join(tmp, "stack.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s := &stackRun{cmd: exec.Command(bin, args...), res: res, ready: make(chan string, 1), log: logf,
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4 * cfg.concurrency}}}
	pr, pw := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = pw, pw
	started := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait(); pw.Close() }()
	readDone := make(chan struct{})
	go func() { s.read(pr); close(readDone) }()
	defer func() {
		// Ctrl-C, as a developer stops `make dev`: functions and SES stop with it.
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-exited
		}
		<-readDone
	}()

	select {
	case line := <-s.ready:
		s.api, s.dynamo = field(line, "api"), field(line, "dynamodb")
	case err := <-exited:
		return nil, fmt.Errorf("the local stack exited before it was ready (%v); its log:\n%s", err, tail(logf.Name(), 40))
	case <-time.After(5 * time.Minute):
		return nil, fmt.Errorf("the local stack was not ready after 5 minutes; its log:\n%s", tail(logf.Name(), 40))
	}
	res.Started = time.Since(started)
	s.ddb = dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.dynamo),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})

	if err := s.coldStarts(fns); err != nil {
		return nil, err
	}
	if err := s.load(cfg); err != nil {
		return nil, fmt.Errorf("%w; the stack's log ends:\n%s", err, tail(logf.Name(), 30))
	}
	s.drain(fns)
	res.FinalItems = s.items()
	if b, err := os.ReadFile(filepath.Join(tmp, "state", "dlq.jsonl")); err == nil {
		res.DLQ = bytes.Count(b, []byte("\n"))
	}
	res.Requests = int(s.requests.Load())
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range res.Reports {
		if _, seen := res.ColdStarts[r.Function]; !seen && r.InitMs > 0 {
			res.ColdStarts[r.Function] = r
		}
	}
	return res, nil
}

func field(line, name string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// read parses the stack's output: the ready line, REPORT lines and EMF lines by function.
func (s *stackRun) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(s.log, line)
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "DynamoDB" && strings.HasPrefix(f[1], "http") {
			s.mu.Lock()
			s.res.Engine = strings.Join(f[2:], " ")
			s.mu.Unlock()
		}
		if strings.HasPrefix(line, "ready: ") {
			select {
			case s.ready <- line:
			default:
			}
			continue
		}
		m := prefixed.FindStringSubmatch(line)
		if m == nil || !strings.HasSuffix(m[1], "Function") {
			continue
		}
		fn, text := m[1], m[2]
		s.mu.Lock()
		phase := s.phase
		switch {
		case strings.HasPrefix(text, "REPORT "):
			if rm := reportLine.FindStringSubmatch(text); rm != nil {
				rep := report{Function: fn, Phase: phase}
				rep.DurationMs, _ = strconv.ParseFloat(rm[1], 64)
				rep.BilledMs, _ = strconv.ParseFloat(rm[2], 64)
				rep.MemoryMB, _ = strconv.ParseFloat(rm[3], 64)
				rep.MaxUsedMB, _ = strconv.ParseFloat(rm[4], 64)
				rep.InitMs, _ = strconv.ParseFloat(rm[5], 64)
				s.res.Reports = append(s.res.Reports, rep)
			}
		case strings.HasPrefix(text, "START ") || strings.HasPrefix(text, "END ") || strings.HasPrefix(text, "INIT_REPORT "):
			// Platform lines: with LoggingConfig SystemLogLevel WARN they are not ingested.
		default:
			s.res.LogBytes[fn] += len(text) + 1
			// The metrics line (shared/metrics): every count as a property, EMF or not.
			if strings.HasPrefix(text, "{") && strings.Contains(text, `"DynamoDBCalls"`) {
				var doc map[string]any
				if json.Unmarshal([]byte(text), &doc) == nil {
					e := emf{Function: fn, Values: map[string]float64{}, Phase: phase}
					for k, v := range doc {
						if f, ok := v.(float64); ok {
							e.Values[k] = f
						}
					}
					s.res.EMF = append(s.res.EMF, e)
				}
			}
		}
		s.mu.Unlock()
	}
}

// request is one HTTP call of the load.
type request struct {
	method, path string
	body         any
	want         int // the success status; 0 = any 2xx
}

// send makes one request with the admin key and returns status, body and Retry-After.
func (s *stackRun) send(ctx context.Context, rq request) (int, []byte, time.Duration, error) {
	var body io.Reader
	if rq.body != nil {
		b, err := json.Marshal(rq.body)
		if err != nil {
			return 0, nil, 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, s.api+rq.path, body)
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+devAdminKey)
	if rq.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	s.requests.Add(1)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	wait := time.Duration(0)
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		wait = time.Duration(ra) * time.Second
	}
	return resp.StatusCode, b, wait, err
}

// coldStarts invokes every HTTP function once, one at a time, before anything else ran, and
// waits for its REPORT line (with Init Duration). The first authorized request cold-starts the
// authorizer too. Then it writes what wakes the stream functions (a program that emails on
// new codes, a customer and their code) and waits for theirs.
func (s *stackRun) coldStarts(fns []function) error {
	for _, fn := range fns {
		if len(fn.Routes) == 0 {
			continue
		}
		route := fn.Routes[0]
		for _, r := range fn.Routes {
			if strings.HasPrefix(r, "GET ") {
				route = r
				break
			}
		}
		method, pattern, _ := strings.Cut(route, " ")
		path := pathParam.ReplaceAllString(pattern, "bench-cold")
		var body any
		if method != http.MethodGet && method != http.MethodDelete {
			body = map[string]any{}
		}
		if _, _, _, err := s.send(context.Background(), request{method: method, path: path, body: body}); err != nil {
			return fmt.Errorf("cold start of %s (%s): %w", fn.Name, route, err)
		}
		s.waitReport(fn.Name, 15*time.Second)
	}
	p, err := demoProgram()
	if err != nil {
		return err
	}
	for _, rq := range []request{
		{method: http.MethodPut, path: "/programs/" + programID, body: p},
		{method: http.MethodPut, path: "/customers/cold-start", body: map[string]any{"email": "cold-start@example.com", "name": "Cold Start"}},
		{method: http.MethodPost, path: "/programs/" + programID + "/codes", body: map[string]any{"customerId": "cold-start"}},
	} {
		if status, body, _, err := s.send(context.Background(), rq); err != nil || status >= 300 {
			return fmt.Errorf("%s %s: %d %s %v", rq.method, rq.path, status, truncate(body, 300), err)
		}
	}
	for _, fn := range fns {
		if fn.Stream {
			s.waitReport(fn.Name, 20*time.Second) // up to the mapping's batching window, and then some
		}
	}
	return nil
}

// waitReport waits until fn has printed a REPORT line.
func (s *stackRun) waitReport(fn string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for !s.hasReport(fn) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// demoProgram is the program `make dev` seeds.
func demoProgram() (map[string]any, error) {
	b, err := os.ReadFile("devkit/devstack/seed/program-demo.json")
	if err != nil {
		return nil, err
	}
	var p map[string]any
	return p, json.Unmarshal(b, &p)
}

func (s *stackRun) hasReport(fn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.res.Reports {
		if r.Function == fn {
			return true
		}
	}
	return false
}

// load seeds the bench program and drives the phases: referrals and conversions spread over
// many advocates, then referrals and conversions all for one advocate.
func (s *stackRun) load(cfg config) error {
	p, err := demoProgram()
	if err != nil {
		return err
	}
	if _, err := s.drive("setup: program", "", 1, 1, func(int) request {
		return request{method: http.MethodPut, path: "/programs/" + programID, body: p}
	}); err != nil {
		return err
	}
	codes := make([]string, cfg.advocates+1) // the last one is the hot advocate
	for i := range codes {
		id := fmt.Sprintf("adv-%03d", i)
		if i == cfg.advocates {
			id = "hot"
		}
		if _, err := s.drive("setup: advocate", "", 1, 1, func(int) request {
			return request{method: http.MethodPut, path: "/customers/" + id,
				body: map[string]any{"email": id + "@example.com", "name": "Advocate " + id, "purchaseCount": 3}}
		}); err != nil {
			return err
		}
		var code string
		if _, err := s.drive("setup: code", "", 1, 1, func(int) request {
			return request{method: http.MethodPost, path: "/programs/" + programID + "/codes", body: map[string]any{"customerId": id}}
		}, func(b []byte) {
			var c struct{ Code string }
			_ = json.Unmarshal(b, &c)
			code = c.Code
		}); err != nil {
			return err
		}
		codes[i] = code
	}
	referral := func(code, referee string) request {
		return request{method: http.MethodPost, path: "/referrals", want: http.StatusCreated, body: map[string]any{"code": code, "channel": "email",
			"referee": map[string]any{"id": referee, "email": referee + "@example.com", "name": "Friend " + referee}}}
	}
	conversion := func(referee string) request {
		return request{method: http.MethodPost, path: "/conversions", want: http.StatusCreated, body: map[string]any{
			"eventId": "order-" + referee, "programId": programID, "refereeId": referee, "milestone": "purchase",
			"amount": map[string]any{"amount": 5000, "currency": "USD"}}}
	}
	spreadRef := func(i int) string { return fmt.Sprintf("spread-%05d", i) }
	hotRef := func(i int) string { return fmt.Sprintf("hot-%05d", i) }
	codeCheck := func(i int) request {
		return request{method: http.MethodGet, path: "/codes/" + codes[i%cfg.advocates], want: http.StatusOK}
	}
	// One client first: the function's duration without queueing (what the cost model bills);
	// then concurrent clients: throughput. The hot advocate runs before the spread conversions,
	// on the smaller table.
	seq := min(cfg.sequential, cfg.spread)
	phases := []struct {
		name, function string
		n, clients     int
		req            func(int) request
	}{
		{"public code checks, one client", "PublicCodesFunction", seq, 1, codeCheck},
		{"public code checks, spread", "PublicCodesFunction", cfg.spread, cfg.concurrency, codeCheck},
		{"referrals, one client", "ReferralsFunction", seq, 1, func(i int) request { return referral(codes[i%cfg.advocates], spreadRef(i)) }},
		{"referrals, spread over many advocates", "ReferralsFunction", cfg.spread - seq, cfg.concurrency, func(i int) request {
			return referral(codes[(seq+i)%cfg.advocates], spreadRef(seq+i))
		}},
		{"referrals, all for one advocate", "ReferralsFunction", cfg.hot, cfg.concurrency, func(i int) request { return referral(codes[cfg.advocates], hotRef(i)) }},
		{"conversions, one client", "ConversionsFunction", seq, 1, func(i int) request { return conversion(spreadRef(i)) }},
		{"conversions, all for one hot advocate", "ConversionsFunction", cfg.hot, cfg.concurrency, func(i int) request { return conversion(hotRef(i)) }},
		{"conversions, spread over many advocates", "ConversionsFunction", cfg.spread - seq, cfg.concurrency, func(i int) request { return conversion(spreadRef(seq + i)) }},
	}
	for _, ph := range phases {
		if ph.n <= 0 {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench:   %s: %d requests, %d at a time\n", ph.name, ph.n, ph.clients)
		res, err := s.drive(ph.name, ph.function, ph.n, ph.clients, ph.req)
		if err != nil {
			return err
		}
		s.res.Phases = append(s.res.Phases, res)
	}
	s.checkHot(cfg.hot)
	for _, c := range cfg.viral {
		if err := s.viral(cfg, c); err != nil {
			return err
		}
	}
	return nil
}

// viralLevel is one concurrency level of the viral advocate: a fresh advocate whose referees
// all convert at once, c clients at a time.
type viralLevel struct {
	Clients int
	*phaseResult
	Check string // its rewards against the tier table
	OK    bool
}

// viral measures one advocate's sustained conversions per second with c clients: a fresh
// advocate, its referees referred first, then cfg.viralConversions conversions of them.
func (s *stackRun) viral(cfg config, c int) error {
	id := fmt.Sprintf("viral-%02d", c)
	var code string
	for _, rq := range []request{
		{method: http.MethodPut, path: "/customers/" + id, body: map[string]any{"email": id + "@example.com", "name": "Viral " + id, "purchaseCount": 3}},
		{method: http.MethodPost, path: "/programs/" + programID + "/codes", body: map[string]any{"customerId": id}},
	} {
		if _, err := s.drive("setup: viral advocate", "", 1, 1, func(int) request { return rq }, func(b []byte) {
			var c struct{ Code string }
			if json.Unmarshal(b, &c) == nil && c.Code != "" {
				code = c.Code
			}
		}); err != nil {
			return err
		}
	}
	n := cfg.viralConversions
	referee := func(i int) string { return fmt.Sprintf("%s-friend-%04d", id, i) }
	if _, err := s.drive("setup: viral referrals", "", n, cfg.concurrency, func(i int) request {
		return request{method: http.MethodPost, path: "/referrals", want: http.StatusCreated, body: map[string]any{"code": code, "channel": "email",
			"referee": map[string]any{"id": referee(i), "email": referee(i) + "@example.com", "name": "Friend " + referee(i)}}}
	}); err != nil {
		return err
	}
	name := "viral advocate, " + plural(c, "client")
	fmt.Fprintf(os.Stderr, "bench:   %s: %d conversions\n", name, n)
	ph, err := s.drive(name, conversionFunction, n, c, func(i int) request {
		return request{method: http.MethodPost, path: "/conversions", want: http.StatusCreated, body: map[string]any{
			"eventId": "order-" + referee(i), "programId": programID, "refereeId": referee(i), "milestone": "purchase",
			"amount": map[string]any{"amount": 5000, "currency": "USD"}}}
	})
	if err != nil {
		return err
	}
	lvl := viralLevel{Clients: c, phaseResult: ph}
	lvl.Check, lvl.OK = s.rewardsMatchTiers(id, n)
	s.res.Viral = append(s.res.Viral, lvl)
	return nil
}

// drive sends n requests from conc clients. A 503 is retried after its Retry-After, as the API
// asks clients to; any other failure is counted. onBody sees each successful body.
func (s *stackRun) drive(name, function string, n, conc int, mk func(int) request, onBody ...func([]byte)) (*phaseResult, error) {
	ph := &phaseResult{Name: name, Function: function, Requests: n, Concurrency: conc}
	if function != "" {
		ph.ItemsBefore = s.items()
		s.setPhase(name)
	}
	var mu sync.Mutex
	next := atomic.Int64{}
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				rq := mk(i)
				began := time.Now()
				for attempt := 0; ; attempt++ {
					status, body, wait, err := s.send(context.Background(), rq)
					ok := err == nil && (status == rq.want || rq.want == 0 && status >= 200 && status < 300)
					mu.Lock()
					switch {
					case ok:
						ph.Latencies = append(ph.Latencies, time.Since(began))
						for _, f := range onBody {
							f(body)
						}
					case status == http.StatusServiceUnavailable && attempt < 20:
						ph.Status503++
					default:
						ph.Errors++
						if ph.FirstError == "" {
							ph.FirstError = fmt.Sprintf("%s %s: %d %s %v", rq.method, rq.path, status, truncate(body, 300), err)
						}
					}
					mu.Unlock()
					if status != http.StatusServiceUnavailable || ok || attempt >= 20 {
						break
					}
					time.Sleep(max(wait, 100*time.Millisecond) + time.Duration(rand.Int64N(int64(100*time.Millisecond))))
				}
			}
		}()
	}
	wg.Wait()
	ph.Elapsed = time.Since(start)
	if function == "" {
		if ph.Errors > 0 {
			return nil, fmt.Errorf("%s: %s", name, ph.FirstError)
		}
		return ph, nil
	}
	time.Sleep(500 * time.Millisecond) // the last lines of the phase
	s.setPhase("")
	ph.ItemsAfter = s.items()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.res.EMF {
		if e.Phase == name && e.Function == function {
			ph.ContentionRetries += e.Values["ContentionRetries"]
			ph.DynamoDBRetries += e.Values["DynamoDBRetries"]
			ph.RoundTrips += e.Values["DynamoDBRoundTrips"]
		}
	}
	for _, r := range s.res.Reports {
		if r.Phase == name && r.Function == function {
			ph.Invocations++
			ph.Durations = append(ph.Durations, r.DurationMs)
			ph.MaxUsedMB = max(ph.MaxUsedMB, r.MaxUsedMB)
		}
	}
	return ph, nil
}

func truncate(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (s *stackRun) setPhase(name string) {
	s.mu.Lock()
	s.phase = name
	s.mu.Unlock()
}

// items counts the table's items (a Scan through the stack's DynamoDB endpoint).
func (s *stackRun) items() int {
	out, err := s.ddb.ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil || len(out.TableNames) == 0 {
		return 0
	}
	n := 0
	var start map[string]types.AttributeValue
	for {
		res, err := s.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(out.TableNames[0]),
			Select: types.SelectCount, ExclusiveStartKey: start})
		if err != nil {
			return n
		}
		n += int(res.Count)
		if len(res.LastEvaluatedKey) == 0 {
			return n
		}
		start = res.LastEvaluatedKey
	}
}

// drain waits until the stream functions have been quiet for 3 seconds (at most a minute).
func (s *stackRun) drain(fns []function) {
	stream := map[string]bool{}
	for _, fn := range fns {
		stream[fn.Name] = fn.Stream
	}
	count := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		n := 0
		for _, r := range s.res.Reports {
			if stream[r.Function] {
				n++
			}
		}
		return n
	}
	last, quietSince, deadline := count(), time.Now(), time.Now().Add(time.Minute)
	for time.Since(quietSince) < 3*time.Second && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		if n := count(); n != last {
			last, quietSince = n, time.Now()
		}
	}
}

// checkHot checks the hot advocate's rewards against the tier table.
func (s *stackRun) checkHot(n int) {
	s.res.HotCheck, s.res.HotOK = s.rewardsMatchTiers("hot", n)
}

// rewardsMatchTiers reads an advocate's rewards and compares them with the tier table of the
// demo program for n conversions: $10 for each of the first five referrals, $25 after, whatever
// their status (held or approved).
func (s *stackRun) rewardsMatchTiers(advocate string, n int) (string, bool) {
	status, body, _, err := s.send(context.Background(), request{method: http.MethodGet, path: "/customers/" + advocate + "/rewards?limit=1"})
	if err != nil || status != http.StatusOK {
		return fmt.Sprintf("could not read the rewards: %d %v", status, err), false
	}
	var list struct {
		Totals map[string]map[string]int64 `json:"totals"`
	}
	_ = json.Unmarshal(body, &list)
	want := int64(min(n, 5)*1000 + max(n-5, 0)*2500)
	got := int64(0)
	for st, amount := range list.Totals["USD"] {
		if st != "reversed" && st != "expired" {
			got += amount
		}
	}
	return fmt.Sprintf("rewards total $%.2f, the tier table says $%.2f for %d conversions", float64(got)/100, float64(want)/100, n), got == want
}
