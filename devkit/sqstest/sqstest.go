// Package sqstest runs an SQS emulator, moto's server (moto_server, from the Python package
// moto), on a free loopback port, for one test (Start) or for a whole test binary (Shared, with
// Main stopping it), and creates queues in it through the real SDK. Without moto_server the test
// is skipped, unless the CI environment variable is set: then it fails, so CI cannot pass
// without having sent a single message.
package sqstest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Server is a running moto_server.
type Server struct {
	URL    string
	Client *sqs.Client

	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs moto_server for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := launch()
	check(t, s, err)
	t.Cleanup(s.stop)
	return s
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared is the test binary's moto_server, started on first use: each test makes queues of its
// own in it (Queue names them apart). The package's TestMain must be Main, which stops it.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = launch() })
	check(t, shared.srv, shared.err)
	return shared.srv
}

// Main runs a package's tests and stops the shared moto_server after them.
func Main(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.stop()
	}
	os.Exit(code)
}

var errNoEmulator = errors.New("the SQS emulator needs moto_server (the Python package moto)")

func launch() (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoEmulator, err)
	}
	return start(bin)
}

// check skips or fails t when the emulator could not start.
func check(t testing.TB, s *Server, err error) {
	t.Helper()
	switch {
	case errors.Is(err, errNoEmulator) && os.Getenv("CI") == "":
		t.Skip(err)
	case err != nil:
		t.Fatalf("start moto_server: %v", err)
	case s == nil:
		t.Fatal("no moto_server")
	}
}

var queues atomic.Int64

var listening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// start runs moto_server on port 0 and reads the port it took from its banner.
func start(bin string) (*Server, error) {
	s := &Server{exited: make(chan struct{})}
	s.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stdout = io.Discard
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stderr) // moto logs every request: keep the pipe drained
	}()
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.URL = <-found:
	case <-s.exited:
		return nil, fmt.Errorf("moto_server exited during start-up")
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("moto_server did not start listening within 30s")
	}
	s.Client = NewClient(s.URL)
	return s, nil
}

func (s *Server) stop() {
	_ = s.cmd.Process.Kill() // only the process this package started, by its handle
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
	}
}

// NewClient is an SQS client for the endpoint at url with dummy credentials.
func NewClient(url string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// Queue creates a queue with attributes (VisibilityTimeout, RedrivePolicy...) and returns its
// URL and ARN. The name gets a suffix of its own, so tests sharing a server never share a queue.
func (s *Server) Queue(t testing.TB, name string, attrs map[string]string) (url, arn string) {
	t.Helper()
	ctx := context.Background()
	name = fmt.Sprintf("%s-%d", name, queues.Add(1))
	out, err := s.Client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	got, err := s.Client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("queue %s attributes: %v", name, err)
	}
	return aws.ToString(out.QueueUrl), got.Attributes[string(types.QueueAttributeNameQueueArn)]
}
