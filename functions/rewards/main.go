// Command rewards lists a customer's rewards with totals, approves rewards held for review,
// and fulfils rewards: manually with a reference, or through their provider (a coupon pool,
// Stripe).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/fulfil"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
)

func main() {
	env, err := platform.Load(context.Background())
	if err != nil {
		log.Fatalf("rewards: %v", err)
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	svc := &fulfil.Service{Store: s, Programs: &store.ProgramCache{Store: s, TTL: platform.ProgramCacheTTL}, Log: env.Log,
		Stripe: fulfil.NewStripeAccount(secretsmanager.NewFromConfig(env.AWS), platform.Getenv("STRIPE_SECRET_ARN"))}
	platform.Start("rewards", api.NewRewards(s, svc, env.Log).Handle)
}
