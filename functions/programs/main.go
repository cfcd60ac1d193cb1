// Command programs creates, replaces, reads and lists referral programs.
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
		log.Fatalf("programs: %v", err)
	}
	platform.Start("programs", api.NewPrograms(store.New(env.DynamoDB, env.Table, nil), env.Log).Handle)
}
