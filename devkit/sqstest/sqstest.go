// Package sqstest runs the SQS emulator of devkit/sqs (moto's server) on a free loopback port,
// for one test (Start) or for a whole test binary (Shared, with Main stopping it), and creates
// queues in it through the real SDK. Without moto_server the test is skipped, unless the CI
// environment variable is set: then it fails, so CI cannot pass without having sent a single
// message.
package sqstest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/referral/referrals/devkit/sqs"
)

// Server is a running SQS emulator.
type Server struct {
	URL    string
	Client *awssqs.Client
	proc   *sqs.Process
}

// Start runs the emulator for t and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := launch()
	check(t, s, err)
	t.Cleanup(s.proc.Stop)
	return s
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared is the test binary's emulator, started on first use: each test makes queues of its
// own in it (Queue names them apart). The package's TestMain must be Main, which stops it.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = launch() })
	check(t, shared.srv, shared.err)
	return shared.srv
}

// Main runs a package's tests and stops the shared emulator after them.
func Main(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.proc.Stop()
	}
	os.Exit(code)
}

func launch() (*Server, error) {
	p, err := sqs.Start("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &Server{URL: p.URL, Client: sqs.NewClient(p.URL), proc: p}, nil
}

// check skips or fails t when the emulator could not start.
func check(t testing.TB, s *Server, err error) {
	t.Helper()
	switch {
	case errors.Is(err, sqs.ErrNoEmulator) && os.Getenv("CI") == "":
		t.Skip(err)
	case err != nil:
		t.Fatal(err)
	case s == nil:
		t.Fatal("no SQS emulator")
	}
}

var queues atomic.Int64

// Queue creates a queue with attributes (VisibilityTimeout, RedrivePolicy...) and returns its
// URL and ARN. The name gets a suffix of its own, so tests sharing a server never share a queue.
func (s *Server) Queue(t testing.TB, name string, attrs map[string]string) (url, arn string) {
	t.Helper()
	ctx := context.Background()
	name = fmt.Sprintf("%s-%d", name, queues.Add(1))
	out, err := s.Client.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	got, err := s.Client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("queue %s attributes: %v", name, err)
	}
	return aws.ToString(out.QueueUrl), got.Attributes[string(types.QueueAttributeNameQueueArn)]
}
