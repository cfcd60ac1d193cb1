// Command webhooks registers, lists, deletes and rotates the secrets of webhook endpoints, and
// shows and redelivers their deliveries.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/webhook"
)

func main() {
	ctx := context.Background()
	env, err := platform.Load(ctx)
	if err != nil {
		log.Fatalf("webhooks: %v", err)
	}
	sealer, err := webhook.LoadSealer(ctx, secretsmanager.NewFromConfig(env.AWS), platform.Getenv("WEBHOOK_SECRET_KEY_ARN"))
	if err != nil {
		log.Fatalf("webhooks: %v", err)
	}
	guard, err := webhook.NewGuard(platform.Getenv("WEBHOOK_PRIVATE_TARGETS"))
	if err != nil {
		log.Fatalf("webhooks: %v", err)
	}
	queue := &webhook.SQS{Client: sqs.NewFromConfig(env.AWS), URL: platform.Getenv("WEBHOOK_QUEUE_URL")}
	h := api.NewWebhooks(store.New(env.DynamoDB, env.Table, nil), sealer, guard, queue, env.Log)
	platform.Start("webhooks", h.Handle)
}
