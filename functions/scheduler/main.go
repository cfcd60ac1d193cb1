// Command scheduler does the scheduled work (an EventBridge schedule): approves rewards whose
// hold ended, expires rewards past expiry, delivers the rewards of programs that fulfil
// automatically, takes back reversed Stripe credits, sends the asks scheduled for now, reminds
// advocates who have not shared their code and closes each month's contest.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/referral/referrals/shared/asks"
	"github.com/referral/referrals/shared/fulfil"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/scheduler"
	"github.com/referral/referrals/shared/store"
)

func main() {
	env, err := platform.Load(context.Background())
	if err != nil {
		log.Fatalf("scheduler: %v", err)
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	svc := &fulfil.Service{Store: s, Programs: &store.ProgramCache{Store: s, TTL: platform.ProgramCacheTTL}, Log: env.Log,
		Stripe: fulfil.NewStripeAccount(secretsmanager.NewFromConfig(env.AWS), platform.Getenv("STRIPE_SECRET_ARN"))}
	h := &scheduler.Scheduler{Store: s, Fulfil: svc, Asks: &asks.Service{Store: s, Programs: svc.Programs},
		Contests: &insights.Service{Store: s}, Log: env.Log}
	platform.Start("scheduler", h.Handle)
}
