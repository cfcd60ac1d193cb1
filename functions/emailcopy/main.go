// Command emailcopy serves the merchant's wording of the referral emails per template and
// language: read, replace and remove it, preview it with the program's data, send a test.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/email"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
)

var _ api.EmailPreviewer = (*email.Previewer)(nil)

func main() {
	env, err := platform.Load(context.Background())
	if err != nil {
		log.Fatalf("emailcopy: %v", err)
	}
	from := platform.Getenv("SENDER_EMAIL")
	if from == "" {
		log.Fatalf("emailcopy: SENDER_EMAIL is not set")
	}
	s := store.New(env.DynamoDB, env.Table, nil)
	previews := &email.Previewer{Sender: &email.SES{Client: sesv2.NewFromConfig(env.AWS), From: from,
		ConfigurationSet: platform.Getenv("CONFIGURATION_SET_NAME")}}
	platform.Start("emailcopy", api.NewEmailCopy(s, previews, platform.Getenv("PUBLIC_API_URL"), env.Log).Handle)
}
