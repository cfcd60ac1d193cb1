package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Message is what the delivery queue carries: a delivery, and how many attempts it had when
// the message was sent (the message is for the next one). A message whose attempt has been
// made already is a duplicate and is dropped, so a delivery never has two chains of retries.
type Message struct {
	DeliveryID string `json:"deliveryId"`
	Attempt    int    `json:"attempt"`
}

// MaxDelay is the longest an SQS message can be delayed. A longer wait is made of hops: the
// message comes back early, sees its delivery is not due, and sends itself on again.
const MaxDelay = 15 * time.Minute

// Queue passes deliveries to the delivery function, after a delay of at most MaxDelay.
type Queue interface {
	Send(ctx context.Context, m Message, delay time.Duration) error
}

// SQSAPI is the part of the SQS client the queue uses.
type SQSAPI interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// SQS is the delivery queue (WebhookDeliveryQueue).
type SQS struct {
	Client SQSAPI
	URL    string
}

var _ Queue = (*SQS)(nil)

// Send sends m with delay rounded up to whole seconds and capped at MaxDelay.
func (q *SQS) Send(ctx context.Context, m Message, delay time.Duration) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	secs := int32(math.Ceil(min(max(delay, 0), MaxDelay).Seconds()))
	if _, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL),
		MessageBody: aws.String(string(b)), DelaySeconds: secs}); err != nil {
		return fmt.Errorf("enqueue delivery %s: %w", m.DeliveryID, err)
	}
	return nil
}
