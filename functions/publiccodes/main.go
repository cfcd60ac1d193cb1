// Command publiccodes answers the public code check and the share-link redirect.
package main

import (
	"context"
	"log"

	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/pages"
	"github.com/referral/referrals/shared/pages/friend"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
)

// sharePages are the share link's pages; only this function links them.
var sharePages = api.SharePages{Friend: friend.Serve, Error: pages.ErrorPage, Asset: pages.ServeAsset}

func main() {
	env, err := platform.Load(context.Background())
	if err != nil {
		log.Fatalf("publiccodes: %v", err)
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	programs := &store.ProgramCache{Store: s, TTL: platform.ProgramCacheTTL}
	platform.Start("publiccodes", api.NewPublicCodes(s, programs, sharePages, env.Log).Handle)
}
