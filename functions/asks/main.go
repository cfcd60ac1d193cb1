// Command asks records requests to ask a customer for referrals; the email goes out through
// the table's stream.
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
		log.Fatalf("asks: %v", err)
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	programs := &store.ProgramCache{Store: s, TTL: platform.ProgramCacheTTL}
	platform.Start("asks", api.NewAsks(s, programs, env.Log).Handle)
}
