// Package sqs runs an SQS endpoint for the local stack and the tests: moto's server
// (moto_server, from the Python package moto), which speaks SQS's JSON protocol to the real
// SDK, with delays, visibility timeouts and redrive to dead-letter queues; and creates the
// template's queues in it.
package sqs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/referral/referrals/devkit/lambdaruntime"
	"github.com/referral/referrals/devkit/samtemplate"
)

// ErrNoEmulator means moto_server is not on PATH.
var ErrNoEmulator = errors.New("moto_server is not on PATH (it comes with the Python package moto: pip install 'moto[server]')")

// Process is a running moto_server.
type Process struct {
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}
}

var listening = regexp.MustCompile(`Running on (http://[0-9.]+:\d+)`)

// Start runs moto_server on addr (host:port; port 0 picks a free one) and waits until it
// listens. Its request log is dropped; start-up problems are reported.
func Start(addr string) (*Process, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNoEmulator
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p := &Process{cmd: exec.Command(bin, "-H", host, "-p", port), exited: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout = io.Discard
	lambdaruntime.SetProcAttrs(p.cmd) // and it dies with its parent
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
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
		_, _ = io.Copy(io.Discard, stderr) // it logs every request: keep the pipe drained
	}()
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	select {
	case p.URL = <-found:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("moto_server exited during start-up (is %s free?)", addr)
	case <-time.After(30 * time.Second):
		p.Stop()
		return nil, fmt.Errorf("moto_server did not listen on %s within 30s", addr)
	}
}

// Stop kills the process this package started (by its handle) and waits for it.
func (p *Process) Stop() {
	if p == nil {
		return
	}
	lambdaruntime.StopChild(p.cmd, p.exited)
}

// NewClient is an SQS client for the endpoint at url with dummy credentials.
func NewClient(url string) *awssqs.Client {
	return awssqs.New(awssqs.Options{Region: samtemplate.LocalRegion, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
}

// EnsureQueues creates the template's queues (dead-letter queues first) with their visibility
// timeouts and redrive policies; a queue that exists is left as it is.
func EnsureQueues(ctx context.Context, c *awssqs.Client, queues map[string]*samtemplate.QueueDef) error {
	byARN := map[string]bool{}
	for _, q := range queues {
		if q.DeadLetterARN != "" {
			byARN[q.DeadLetterARN] = true
		}
	}
	for _, first := range []bool{true, false} {
		for _, q := range queues {
			if byARN[q.ARN] != first {
				continue
			}
			attrs := map[string]string{}
			if q.VisibilityTimeout > 0 {
				attrs["VisibilityTimeout"] = strconv.Itoa(q.VisibilityTimeout)
			}
			if q.DeadLetterARN != "" {
				rp, _ := json.Marshal(map[string]string{"deadLetterTargetArn": q.DeadLetterARN, "maxReceiveCount": strconv.Itoa(max(q.MaxReceiveCount, 1))})
				attrs["RedrivePolicy"] = string(rp)
			}
			if _, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(q.Name), Attributes: attrs}); err != nil {
				return fmt.Errorf("create queue %s: %w", q.Name, err)
			}
		}
	}
	return nil
}
