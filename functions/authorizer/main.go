// Command authorizer is the HTTP API's Lambda authorizer: it checks the API key of a request
// and passes its scope and key id to the functions.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
)

func main() {
	env, err := platform.Load(context.Background())
	if err != nil {
		log.Fatalf("authorizer: %v", err)
	}
	a := &auth.Authorizer{
		Keys:      store.New(env.DynamoDB, env.Table, nil),
		Bootstrap: auth.NewBootstrap(secretsmanager.NewFromConfig(env.AWS), platform.Getenv("ADMIN_KEY_SECRET_ARN")),
		Log:       env.Log,
	}
	platform.Start("authorizer", a.Handle)
}
