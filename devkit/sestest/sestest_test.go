package sestest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

func TestEmulatorStoresWhatSESv2Sends(t *testing.T) {
	s := Start(t)
	_, err := s.Client.SendEmail(context.Background(), &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(`"Ana at Acme" <referrals@example.com>`),
		Destination:      &types.Destination{ToAddresses: []string{"bo@example.com"}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String("สวัสดี")},
			Body:    &types.Body{Text: &types.Content{Data: aws.String("hi")}, Html: &types.Content{Data: aws.String("<p>hi</p>")}},
			Headers: []types.MessageHeader{{Name: aws.String("List-Unsubscribe"), Value: aws.String("<https://x/u>")}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Emails(t)
	if len(got) != 1 || got[0].Subject != "สวัสดี" || got[0].Header("list-unsubscribe") != "<https://x/u>" ||
		got[0].Destination.To[0] != "bo@example.com" || got[0].From != `"Ana at Acme" <referrals@example.com>` {
		t.Fatalf("store: %+v", got)
	}
	s.Clear(t)
	if got := s.Emails(t); len(got) != 0 {
		t.Fatalf("after clear: %+v", got)
	}
	if _, err := Unreachable(t).SendEmail(context.Background(), &sesv2.SendEmailInput{}); err == nil {
		t.Fatal("an unreachable endpoint answered")
	}
}
