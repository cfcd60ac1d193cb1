// Command rewards lists a customer's rewards with totals and approves and fulfils rewards.
package main

import (
	"context"
	"log"

	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
)

func main() {
	env, err := platform.Load(context.Background())
	if err != nil {
		log.Fatalf("rewards: %v", err)
	}
	platform.Start("rewards", api.NewRewards(store.New(env.DynamoDB, env.Table, nil), env.Log).Handle)
}
