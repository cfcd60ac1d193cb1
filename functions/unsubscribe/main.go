// Command unsubscribe serves the signed one-click opt-out links of ask emails (RFC 8058).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/unsubscribe"
)

func main() {
	ctx := context.Background()
	env, err := platform.Load(ctx)
	if err != nil {
		log.Fatalf("unsubscribe: %v", err)
	}
	signer, err := unsubscribe.Load(ctx, secretsmanager.NewFromConfig(env.AWS), platform.Getenv("UNSUBSCRIBE_SECRET_ARN"))
	if err != nil {
		log.Fatalf("unsubscribe: %v", err)
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	platform.Start("unsubscribe", api.NewUnsubscribe(s, signer, env.Log).Handle)
}
