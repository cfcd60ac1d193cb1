// Command email consumes the table's DynamoDB stream and sends the referral emails (asks,
// reminders, thank-yous, friend welcomes, rewards ready) through SES v2, each once.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/referral/referrals/shared/advocatelink"
	"github.com/referral/referrals/shared/email"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/unsubscribe"
)

func main() {
	ctx := context.Background()
	env, err := platform.Load(ctx)
	if err != nil {
		log.Fatalf("email: %v", err)
	}
	from := platform.Getenv("SENDER_EMAIL")
	if from == "" {
		log.Fatalf("email: SENDER_EMAIL is not set")
	}
	sm := secretsmanager.NewFromConfig(env.AWS)
	signer, err := unsubscribe.Load(ctx, sm, platform.Getenv("UNSUBSCRIBE_SECRET_ARN"))
	if err != nil {
		log.Fatalf("email: %v", err)
	}
	pages, err := advocatelink.Load(ctx, sm, platform.Getenv("ADVOCATE_PAGE_SECRET_ARN"))
	if err != nil {
		log.Fatalf("email: %v", err)
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	h := &email.Stream{
		Store:    s,
		Programs: &store.ProgramCache{Store: s, TTL: platform.ProgramCacheTTL},
		Copies:   &store.CopyCache{Store: s, TTL: platform.ProgramCacheTTL},
		Sender: &email.SES{Client: sesv2.NewFromConfig(env.AWS), From: from,
			ConfigurationSet: platform.Getenv("CONFIGURATION_SET_NAME")},
		Unsubscribe: signer,
		Pages:       pages,
		PublicURL:   platform.Getenv("PUBLIC_API_URL"),
		Log:         env.Log,
	}
	platform.Start("email", h.Handle)
}
