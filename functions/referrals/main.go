// Command referrals attributes referees to advocates' codes (making the friend's Stripe
// promotion code in programs that offer one) and lists referrals.
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
		log.Fatalf("referrals: %v", err)
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	programs := &store.ProgramCache{Store: s, TTL: platform.ProgramCacheTTL}
	svc := &fulfil.Service{Store: s, Programs: programs, Log: env.Log,
		Stripe: fulfil.NewStripeAccount(secretsmanager.NewFromConfig(env.AWS), platform.Getenv("STRIPE_SECRET_ARN"))}
	platform.Start("referrals", api.NewReferrals(s, programs, svc, env.Log).Handle)
}
