// Command console serves the owner's console (GET /console and its pages): sign-in with an
// admin key, programs, dashboards and reward queues, every action through the API's own
// handlers in-process.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/email"
	"github.com/referral/referrals/shared/fulfil"
	"github.com/referral/referrals/shared/pages/console"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/webhook"
)

func main() {
	ctx := context.Background()
	env, err := platform.Load(ctx)
	if err != nil {
		log.Fatalf("console: %v", err)
	}
	sm := secretsmanager.NewFromConfig(env.AWS)
	key, err := platform.SecretValue(ctx, sm, "console session key", os.Getenv("CONSOLE_SESSION_KEY"), platform.Getenv("CONSOLE_SESSION_KEY_ARN"))
	if err != nil {
		log.Fatalf("console: %v", err)
	}
	from := platform.Getenv("SENDER_EMAIL")
	if from == "" {
		log.Fatalf("console: SENDER_EMAIL is not set")
	}
	sealer, err := webhook.LoadSealer(ctx, sm, platform.Getenv("WEBHOOK_SECRET_KEY_ARN"))
	if err != nil {
		log.Fatalf("console: %v", err)
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	programs := &store.ProgramCache{Store: s, TTL: platform.ProgramCacheTTL}
	svc := &fulfil.Service{Store: s, Programs: programs, Log: env.Log,
		Stripe: fulfil.NewStripeAccount(sm, platform.Getenv("STRIPE_SECRET_ARN"))}
	r, err := console.New(console.Config{
		Auth:       &auth.Authorizer{Keys: s, Bootstrap: auth.NewBootstrap(sm, platform.Getenv("ADMIN_KEY_SECRET_ARN")), Log: env.Log},
		SessionKey: []byte(key),
		API: console.Handlers{Store: s, Programs: programs, Fulfil: svc, Log: env.Log,
			Emails: &email.Previewer{Sender: &email.SES{Client: sesv2.NewFromConfig(env.AWS), From: from,
				ConfigurationSet: platform.Getenv("CONFIGURATION_SET_NAME")}},
			PublicURL: platform.Getenv("PUBLIC_API_URL"),
			Sealer:    sealer, Guard: webhook.GuardFromEnv(),
			Queue: &webhook.SQS{Client: sqs.NewFromConfig(env.AWS), URL: platform.Getenv("WEBHOOK_QUEUE_URL")}}.Routers(),
		Log: env.Log,
	})
	if err != nil {
		log.Fatalf("console: %v", err)
	}
	platform.Start("console", r.Handle)
}
