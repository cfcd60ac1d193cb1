// Package sqsevents delivers an SQS queue to a Lambda handler the way an SQS event source
// mapping does: long-polled batches of at most BatchSize messages with their system
// attributes (ApproximateReceiveCount...), the messages the handler does not report in
// batchItemFailures deleted, the reported ones (or all of them, when the handler fails) left to
// come back after the queue's visibility timeout, and so to its dead-letter queue after the
// redrive policy's maxReceiveCount. The tests and the local stack use it with a real SQS API.
package sqsevents

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Handler is a Lambda SQS handler with ReportBatchItemFailures.
type Handler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// Client is the part of the SQS client the mapping uses.
type Client interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// Mapping is one event source mapping: a queue and the handler it invokes.
type Mapping struct {
	Client    Client
	QueueURL  string
	QueueARN  string
	Region    string
	BatchSize int32         // 1 to 10; 0 is 10
	Wait      time.Duration // long poll per receive (at most 20s); 0 is 1s
	Handler   Handler
	// OnError is told of receive and delete failures and handler errors (nil: ignored).
	OnError func(error)
}

// Run polls until ctx ends.
func (m *Mapping) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if _, err := m.Poll(ctx); err != nil && ctx.Err() == nil {
			m.report(err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// Poll receives one batch (waiting up to Wait for it), invokes the handler and deletes what
// it handled. It returns how many messages the batch had.
func (m *Mapping) Poll(ctx context.Context) (int, error) {
	batch, wait := m.BatchSize, m.Wait
	if batch <= 0 || batch > 10 {
		batch = 10
	}
	if wait <= 0 {
		wait = time.Second
	}
	out, err := m.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(m.QueueURL), MaxNumberOfMessages: batch, WaitTimeSeconds: int32(min(wait, 20*time.Second) / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return 0, err
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(out.Messages))}
	receipts := map[string]string{}
	for i, msg := range out.Messages {
		attrs := map[string]string{}
		for k, v := range msg.Attributes {
			attrs[k] = v
		}
		ev.Records[i] = events.SQSMessage{MessageId: aws.ToString(msg.MessageId), ReceiptHandle: aws.ToString(msg.ReceiptHandle),
			Body: aws.ToString(msg.Body), Md5OfBody: aws.ToString(msg.MD5OfBody), Attributes: attrs,
			EventSource: "aws:sqs", EventSourceARN: m.QueueARN, AWSRegion: m.Region}
		receipts[ev.Records[i].MessageId] = ev.Records[i].ReceiptHandle
	}
	resp, err := m.Handler(ctx, ev)
	if err != nil {
		return len(out.Messages), err // nothing deleted: the whole batch comes back
	}
	for _, f := range resp.BatchItemFailures {
		delete(receipts, f.ItemIdentifier)
	}
	var errs []error
	for _, rh := range receipts {
		if _, err := m.Client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(m.QueueURL), ReceiptHandle: aws.String(rh)}); err != nil {
			errs = append(errs, err)
		}
	}
	return len(out.Messages), errors.Join(errs...)
}

func (m *Mapping) report(err error) {
	if m.OnError != nil {
		m.OnError(err)
	}
}
