// Command customers upserts, reads and erases customers.
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
		log.Fatalf("customers: %v", err)
	}
	platform.Start("customers", api.NewCustomers(store.New(env.DynamoDB, env.Table, nil), env.Log).Handle)
}
