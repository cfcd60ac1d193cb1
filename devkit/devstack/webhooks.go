package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/lambdaruntime"
	"github.com/referral/referrals/devkit/receiver"
	"github.com/referral/referrals/devkit/sqs"
	"github.com/referral/referrals/devkit/sqsevents"
	"github.com/referral/referrals/shared/referral"
)

// withReceiverNetwork sets the template's WebhookPrivateTargets parameter to loopback, unless
// params sets it: the stack's receiver (below) listens on 127.0.0.1, a private network as a
// business's own receiver would be on one, so the webhook functions may send to it (over
// http) as a stack deployed with that parameter would.
func withReceiverNetwork(params map[string]string) map[string]string {
	if _, ok := params["WebhookPrivateTargets"]; ok {
		return params
	}
	out := maps.Clone(params)
	if out == nil {
		out = map[string]string{}
	}
	out["WebhookPrivateTargets"] = "127.0.0.0/8,::1/128"
	return out
}

// startSQS runs the SQS emulator with the template's queues, when the config asks for it. A
// machine without moto_server runs the stack without it, and says what that costs.
func (s *Stack) startSQS(ctx context.Context) error {
	if s.cfg.SQSAddr == "" || len(s.Template.Queues) == 0 {
		return nil
	}
	p, err := sqs.Start(s.cfg.SQSAddr)
	if errors.Is(err, sqs.ErrNoEmulator) {
		s.sink.Printf("sqs", "warning: %v: webhooks are recorded but not delivered locally", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqs: %w", err)
	}
	s.sqs, s.SQSURL = p, p.URL
	return sqs.EnsureQueues(ctx, sqs.NewClient(p.URL), s.Template.Queues)
}

// startQueueMappings runs the SQS event source mappings of the functions' SQS events.
func (s *Stack) startQueueMappings(ctx context.Context) {
	if s.SQSURL == "" {
		return
	}
	client := sqs.NewClient(s.SQSURL)
	for name, fn := range s.functions {
		for _, src := range fn.Def().Queues {
			q := s.Template.Queues[src.Queue]
			if !src.Enabled || q == nil {
				continue
			}
			m := &sqsevents.Mapping{Client: client, QueueURL: q.URL, QueueARN: q.ARN, Region: "us-east-1",
				BatchSize: int32(src.BatchSize), Wait: 5 * time.Second, Handler: invoker(fn),
				OnError: func(err error) { s.sink.Printf("sqs", "%s event %s: %v", name, src.Name, err) }}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				m.Run(ctx)
			}()
		}
	}
}

// invoker runs an SQS batch on a local function.
func invoker(fn *lambdaruntime.Function) sqsevents.Handler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		payload, _ := json.Marshal(ev)
		out, err := fn.Invoke(ctx, payload)
		if err != nil {
			return events.SQSEventResponse{}, err
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			return resp, fmt.Errorf("invalid batch response: %w", err)
		}
		return resp, nil
	}
}

// receiverState is where the receiver's endpoint secret is kept between runs.
func (s *Stack) receiverState() string { return filepath.Join(s.cfg.StateDir, "webhook-receiver.json") }

// startReceiver serves the webhook receiver, which knows the secret of the endpoint seeding
// registered for it.
func (s *Stack) startReceiver() error {
	if s.cfg.WebhookAddr == "" {
		return nil
	}
	s.Receiver = &receiver.Receiver{}
	if b, err := os.ReadFile(s.receiverState()); err == nil {
		var st struct{ Secret string }
		if json.Unmarshal(b, &st) == nil && st.Secret != "" {
			s.Receiver.AddSecret(st.Secret)
		}
	}
	ln, url, err := s.listen("webhooks", s.cfg.WebhookAddr)
	if err != nil {
		return err
	}
	s.WebhookURL = url
	s.serve(ln, s.Receiver)
	return nil
}

// seedReceiver registers the receiver as an endpoint for every event and keeps its secret.
func (s *Stack) seedReceiver() {
	if s.WebhookURL == "" {
		return
	}
	body, _ := json.Marshal(map[string]any{"url": s.WebhookURL + "/hooks", "events": referral.WebhookEventTypes,
		"description": "make dev receiver"})
	st := apiStep{"webhook endpoint for the local receiver", http.MethodPost, "/webhook-endpoints", string(body)}
	status, out, err := st.do(s.APIURL)
	var created struct{ Secret string }
	if err == nil && status == http.StatusCreated {
		err = json.Unmarshal(out, &created)
	}
	switch {
	case err != nil:
		s.sink.Printf("seed", "%s: %v", st.Title, err)
		return
	case status != http.StatusCreated:
		s.sink.Printf("seed", "%s: answered %d %s — skipped", st.Title, status, strings.TrimSpace(string(out)))
		return
	}
	s.Receiver.AddSecret(created.Secret)
	b, _ := json.Marshal(map[string]string{"secret": created.Secret})
	if err := os.WriteFile(s.receiverState(), b, 0o600); err != nil {
		s.sink.Printf("seed", "keep the receiver's secret: %v", err)
	}
	s.sink.Printf("seed", "%s: %s/hooks receives every event", st.Title, s.WebhookURL)
}
