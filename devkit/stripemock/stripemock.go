// Package stripemock runs Stripe's own API mock, stripe-mock (github.com/stripe/stripe-mock,
// pinned by go.mod's tool directive), for the tests and make dev, with a recording proxy in
// front of it. stripe-mock validates every request against Stripe's OpenAPI description and
// answers with fixtures, but keeps no state; the proxy keeps count of the requests that reach
// it, so a test can prove that a reward was credited once and not twice. The mock can be
// stopped and started again behind the same URL, to play a Stripe outage: while it is down
// the proxy drops each connection, as an unreachable API would.
package stripemock

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/referral/referrals/devkit/lambdaruntime"
)

// Version is the Stripe API version the mock's OpenAPI description is, which it holds
// requests to (-strict-version-check): the version our requests pin.
const Version = "2026-08-26.dahlia"

// TestKey is the secret key the tests and make dev call stripe-mock with: stripe-mock takes
// any test-mode key.
const TestKey = "sk_test_referralsdev"

// Request is one request that reached stripe-mock.
type Request struct {
	Method         string
	Path           string
	IdempotencyKey string
	StripeVersion  string
	Form           url.Values
	Status         int
}

// Mock is a running stripe-mock behind a recording proxy.
type Mock struct {
	// URL is the proxy's base URL: give it to the Stripe client as its API URL.
	URL string

	bin    string
	proxy  *httptest.Server
	mu     sync.Mutex
	cmd    *exec.Cmd
	target *url.URL
	log    []Request
	notify []func(Request)
}

// Binary builds stripe-mock as go.mod pins it (go tool -n, which caches the build) and
// returns its path. dir is any folder of this module.
func Binary(dir string) (string, error) {
	cmd := exec.Command("go", "tool", "-n", "stripe-mock")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("build stripe-mock (go tool -n stripe-mock): %v %s", err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
}

// Start builds and starts stripe-mock on a free loopback port, and the recording proxy on
// addr ("127.0.0.1:0" for a free port).
func Start(dir, addr string) (*Mock, error) {
	bin, err := Binary(dir)
	if err != nil {
		return nil, err
	}
	m := &Mock{bin: bin}
	if err := m.startMock(); err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			m.mu.Lock()
			target := m.target
			m.mu.Unlock()
			r.SetURL(target)
			r.Out.Host = target.Host
		},
		ModifyResponse: func(res *http.Response) error {
			m.record(res.Request, res.StatusCode)
			return nil
		},
		// stripe-mock is down: drop the connection, as an unreachable API would.
		ErrorHandler: func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) },
	}
	l, err := listen(addr)
	if err != nil {
		m.stopMock()
		return nil, err
	}
	m.proxy = &httptest.Server{Listener: l, Config: &http.Server{Handler: bodyKeeper(rp), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)}}
	m.proxy.Start()
	m.URL = m.proxy.URL
	return m, nil
}

// startMock runs stripe-mock on free loopback ports (HTTP and HTTPS: its HTTPS listener would
// otherwise take the fixed port 12112) and waits for it to listen.
func (m *Mock) startMock() error {
	cmd := exec.Command(m.bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0", "-strict-version-check")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	lambdaruntime.SetProcAttrs(cmd) // it dies with the process that started it, even a kill -9'd make dev
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start stripe-mock: %w", err)
	}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`Listening for HTTP at address: (\S+)`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if g := re.FindStringSubmatch(sc.Text()); g != nil {
				addr <- g[1]
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addr:
		m.mu.Lock()
		m.cmd, m.target = cmd, &url.URL{Scheme: "http", Host: a}
		m.mu.Unlock()
		return nil
	case <-time.After(60 * time.Second):
		kill(cmd)
		_ = cmd.Wait()
		return fmt.Errorf("stripe-mock did not listen within 60s")
	}
}

func (m *Mock) stopMock() {
	m.mu.Lock()
	cmd := m.cmd
	m.cmd = nil
	m.mu.Unlock()
	if cmd != nil {
		kill(cmd)
		_ = cmd.Wait()
	}
}

// StopMock stops stripe-mock (the proxy stays, dropping every connection) to play an outage.
func (m *Mock) StopMock() {
	m.stopMock()
	m.mu.Lock()
	m.target = &url.URL{Scheme: "http", Host: "127.0.0.1:1"} // nothing listens there
	m.mu.Unlock()
}

// StartMock starts stripe-mock again after StopMock, behind the same URL.
func (m *Mock) StartMock() error { return m.startMock() }

// Close stops the proxy and stripe-mock.
func (m *Mock) Close() {
	if m.proxy != nil {
		m.proxy.Close()
	}
	m.stopMock()
}

// Requests returns the requests that reached stripe-mock, in order, optionally only those
// whose "METHOD /path" has the prefix.
func (m *Mock) Requests(prefix string) []Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Request
	for _, r := range m.log {
		if strings.HasPrefix(r.Method+" "+r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// OnRequest has fn called with each request that reaches stripe-mock, once answered.
func (m *Mock) OnRequest(fn func(Request)) {
	m.mu.Lock()
	m.notify = append(m.notify, fn)
	m.mu.Unlock()
}

func (m *Mock) record(req *http.Request, status int) {
	form := url.Values{}
	if b, ok := req.Context().Value(bodyKey{}).([]byte); ok {
		form, _ = url.ParseQuery(string(b))
	}
	r := Request{Method: req.Method, Path: req.URL.Path, IdempotencyKey: req.Header.Get("Idempotency-Key"),
		StripeVersion: req.Header.Get("Stripe-Version"), Form: form, Status: status}
	m.mu.Lock()
	m.log = append(m.log, r)
	notify := slices.Clone(m.notify)
	m.mu.Unlock()
	for _, fn := range notify {
		fn(r)
	}
}

type bodyKey struct{}

// bodyKeeper keeps a copy of each request body in its context for the recorder.
func bodyKeeper(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyKey{}, b)))
	})
}

// ModuleRoot is the folder of this module's go.mod, found upward from the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}

// kill ends stripe-mock (one process, no children).
func kill(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

func listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("stripe-mock proxy: %w", err)
	}
	return l, nil
}
