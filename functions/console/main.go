// Command console serves the owner's console (GET /console and its pages): sign-in with an
// admin key, programs, dashboards and reward queues, every action through the API's own
// handlers: in-process for the routes that need only the table, else by invoking the API
// function that serves the route (fulfilments, email previews and test sends, webhooks), so
// this function holds neither the providers' clients nor their secrets.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/pages/console"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
)

func main() {
	ctx := context.Background()
	env, err := platform.Load(ctx)
	if err != nil {
		log.Fatalf("console: %v", err)
	}
	sm := secretsmanager.NewFromConfig(env.AWS)
	key, err := platform.SecretValue(ctx, sm, "console session key", platform.Getenv("CONSOLE_SESSION_KEY_ARN"))
	if err != nil {
		log.Fatalf("console: %v", err)
	}
	remote, err := console.Remotes(platform.NewInvoker(env.AWS), map[string]string{
		console.RewardsFunction:   platform.Getenv("REWARDS_FUNCTION"),
		console.EmailCopyFunction: platform.Getenv("EMAIL_COPY_FUNCTION"),
		console.WebhooksFunction:  platform.Getenv("WEBHOOKS_FUNCTION"),
	})
	if err != nil {
		log.Fatalf("console: %v", err)
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	r, err := console.New(console.Config{
		Auth:       &auth.Authorizer{Keys: s, Bootstrap: auth.NewBootstrap(sm, platform.Getenv("ADMIN_KEY_SECRET_ARN")), Log: env.Log},
		SessionKey: []byte(key),
		API:        console.Local(s, &store.ProgramCache{Store: s, TTL: platform.ProgramCacheTTL}, env.Log),
		Remote:     remote,
		Log:        env.Log,
	})
	if err != nil {
		log.Fatalf("console: %v", err)
	}
	platform.Start("console", r.Handle)
}
