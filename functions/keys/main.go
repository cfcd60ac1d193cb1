// Command keys issues and revokes API keys (POST /keys, DELETE /keys/{keyId}).
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
		log.Fatalf("keys: %v", err)
	}
	platform.Start("keys", api.NewKeys(store.New(env.DynamoDB, env.Table, nil), env.Log).Handle)
}
