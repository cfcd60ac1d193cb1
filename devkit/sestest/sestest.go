// Package sestest runs the real SES v2 emulator of the repository, aws-ses-v2-local (npm, pinned
// in package.json), on a free loopback port for one test, and reads what it received through
// its GET /store. Without Node or node_modules the test is skipped, unless the CI environment
// variable is set: then it fails, so CI cannot pass without having sent a single email.
package sestest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/referral/referrals/devkit/lambdaruntime"
)

// Server is a running aws-ses-v2-local.
type Server struct {
	URL    string
	Client *sesv2.Client

	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

// Email is one email as GET /store lists it.
type Email struct {
	MessageID   string `json:"messageId"`
	From        string `json:"from"`
	Destination struct {
		To  []string `json:"to"`
		Cc  []string `json:"cc"`
		Bcc []string `json:"bcc"`
	} `json:"destination"`
	ReplyTo []string `json:"replyTo"`
	Subject string   `json:"subject"`
	Body    struct {
		HTML string `json:"html"`
		Text string `json:"text"`
	} `json:"body"`
	Headers []Header `json:"headers"`
	At      int64    `json:"at"`
}

// Header is a custom header of an email.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Header returns the value of the header name, or "".
func (e Email) Header(name string) string {
	for _, h := range e.Headers {
		if http.CanonicalHeaderKey(h.Name) == http.CanonicalHeaderKey(name) {
			return h.Value
		}
	}
	return ""
}

// Root is the repository root, found from this source file.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start runs aws-ses-v2-local for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	node, err := exec.LookPath("node")
	script := filepath.Join(Root(), "node_modules", "aws-ses-v2-local", "dist", "cli.js")
	if err == nil {
		_, err = os.Stat(script)
	}
	if err != nil {
		msg := fmt.Sprintf("the SES emulator needs Node and `npm ci` (%v)", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var last error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken between probe and listen
		s, err := start(node, script)
		if err == nil {
			t.Cleanup(s.stop)
			return s
		}
		last = err
	}
	t.Fatalf("start aws-ses-v2-local: %v", last)
	return nil
}

func start(node, script string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), out: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(node, script, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	s.cmd.Dir = Root()
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("exited during start-up: %s", s.out.String())
		default:
		}
		if resp, err := http.Get(s.URL + "/health-check"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.Client = NewClient(s.URL)
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("no answer on %s within 20s: %s", s.URL, s.out.String())
}

func (s *Server) stop() {
	lambdaruntime.StopChild(s.cmd, s.exited)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// NewClient is an SES v2 client for the endpoint at url with dummy credentials. The emulator
// only checks that requests are signed. Options may shorten retries (an unreachable endpoint).
func NewClient(url string, opts ...func(*sesv2.Options)) *sesv2.Client {
	return sesv2.New(sesv2.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, opts...)
}

// Unreachable is an SES v2 client for a loopback port nothing listens on, that tries once.
func Unreachable(t testing.TB) *sesv2.Client {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return NewClient("http://127.0.0.1:"+strconv.Itoa(port), func(o *sesv2.Options) { o.RetryMaxAttempts = 1 })
}

// Emails lists every email the emulator has received, oldest first.
func (s *Server) Emails(t testing.TB) []Email {
	t.Helper()
	resp, err := http.Get(s.URL + "/store")
	if err != nil {
		t.Fatalf("GET /store: %v", err)
	}
	defer resp.Body.Close()
	var store struct {
		Emails []Email `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		t.Fatalf("GET /store: %v", err)
	}
	return store.Emails
}

// Clear forgets every email received so far.
func (s *Server) Clear(t testing.TB) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL+"/clear-store", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /clear-store: %v", err)
	}
	resp.Body.Close()
}

// syncBuffer collects the emulator's output for error messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
