// Command advocatepage serves the advocate's page (GET /a/{token}), the signed link in every
// email to an advocate.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/referral/referrals/shared/advocatelink"
	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/pages/advocate"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
)

// advocatePages are the page's templates; only this function links them.
var advocatePages = api.AdvocatePages{Page: advocate.Serve, Error: advocate.ErrorPage}

func main() {
	ctx := context.Background()
	env, err := platform.Load(ctx)
	if err != nil {
		log.Fatalf("advocatepage: %v", err)
	}
	signer, err := advocatelink.Load(ctx, secretsmanager.NewFromConfig(env.AWS), platform.Getenv("ADVOCATE_PAGE_SECRET_ARN"))
	if err != nil {
		log.Fatalf("advocatepage: %v", err)
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	programs := &store.ProgramCache{Store: s, TTL: platform.ProgramCacheTTL}
	platform.Start("advocatepage", api.NewAdvocatePage(s, programs, signer, platform.Getenv("PUBLIC_API_URL"), advocatePages, env.Log).Handle)
}
