// Command webhookstream reads the table's stream and queues a webhook delivery for each event
// and each endpoint subscribed to it.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/webhook"
)

func main() {
	env, err := platform.Load(context.Background())
	if err != nil {
		log.Fatalf("webhookstream: %v", err)
	}
	h := &webhook.Stream{
		Store: store.New(env.DynamoDB, env.Table, nil),
		Queue: &webhook.SQS{Client: sqs.NewFromConfig(env.AWS), URL: platform.Getenv("WEBHOOK_QUEUE_URL")},
		Log:   env.Log,
	}
	platform.Start("webhookstream", h.Handle)
}
