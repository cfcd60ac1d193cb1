// Command couponpools adds codes to the coupon pools that rewards draw from and reports what
// a pool has left.
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
		log.Fatalf("couponpools: %v", err)
	}
	platform.Start("couponpools", api.NewCouponPools(store.New(env.DynamoDB, env.Table, nil), env.Log).Handle)
}
