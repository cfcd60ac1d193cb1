// Command insightsstream is the second consumer of the table's stream: it aggregates
// conversions, referrals, advocates and rewards into per-program monthly stats (the figures
// the insightsapi function serves, with the leaderboards the conversions keep).
package main

import (
	"context"
	"log"

	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
)

func main() {
	env, err := platform.Load(context.Background())
	if err != nil {
		log.Fatalf("insightsstream: %v", err)
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	c := &insights.Consumer{Store: s, Programs: &store.ProgramCache{Store: s, TTL: platform.ProgramCacheTTL}, Log: env.Log}
	platform.Start("insightsstream", c.Handle)
}
