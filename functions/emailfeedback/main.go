// Command emailfeedback receives SES's bounce and complaint notifications (the configuration
// set's event destination, through SNS) and suppresses those addresses: they get no more
// marketing email.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/events"

	"github.com/referral/referrals/shared/feedback"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
)

func main() {
	env, err := platform.Load(context.Background())
	if err != nil {
		log.Fatalf("emailfeedback: %v", err)
	}
	h := &feedback.Handler{Store: store.New(env.DynamoDB, env.Table, nil), Log: env.Log}
	platform.Start("emailfeedback", func(ctx context.Context, ev events.SNSEvent) (struct{}, error) {
		return struct{}{}, h.Handle(ctx, ev)
	})
}
