// Command insightsapi serves a program's stats and leaderboard and closes its contests, from
// the figures the insightsstream function aggregates.
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
		log.Fatalf("insightsapi: %v", err)
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	programs := &store.ProgramCache{Store: s, TTL: platform.ProgramCacheTTL}
	platform.Start("insightsapi", api.NewInsights(s, programs, env.Log).Handle)
}
