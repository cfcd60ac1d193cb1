// Command webhookdelivery reads the webhook delivery queue and makes each due attempt: signed
// (Standard Webhooks), through the SSRF guard, retried with backoff for 24 hours.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/webhook"
)

func main() {
	ctx := context.Background()
	env, err := platform.Load(ctx)
	if err != nil {
		log.Fatalf("webhookdelivery: %v", err)
	}
	sealer, err := webhook.LoadSealer(ctx, secretsmanager.NewFromConfig(env.AWS), platform.Getenv("WEBHOOK_SECRET_KEY_ARN"))
	if err != nil {
		log.Fatalf("webhookdelivery: %v", err)
	}
	guard, err := webhook.NewGuard(platform.Getenv("WEBHOOK_PRIVATE_TARGETS"))
	if err != nil {
		log.Fatalf("webhookdelivery: %v", err)
	}
	h := &webhook.Deliverer{
		Store:  store.New(env.DynamoDB, env.Table, nil),
		Queue:  &webhook.SQS{Client: sqs.NewFromConfig(env.AWS), URL: platform.Getenv("WEBHOOK_QUEUE_URL")},
		Sealer: sealer,
		Client: guard.NewClient(webhook.RequestTimeout, nil),
		Log:    env.Log,
	}
	platform.Start("webhookdelivery", h.Handle)
}
