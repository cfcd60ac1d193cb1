package sesfeedback_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/sesfeedback"
	"github.com/referral/referrals/devkit/sestest"
	"github.com/referral/referrals/shared/email"
	"github.com/referral/referrals/shared/feedback"
	"github.com/referral/referrals/shared/store"
)

func TestNotificationsFollowTheMailboxSimulator(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for to, want := range map[string]string{
		"bounce@simulator.amazonses.com":          "Bounce",
		"Bounce+ana@Simulator.AmazonSES.com":      "Bounce",
		"suppressionlist@simulator.amazonses.com": "Bounce",
		"complaint@simulator.amazonses.com":       "Complaint",
		"success@simulator.amazonses.com":         "",
		"ooto@simulator.amazonses.com":            "",
		"bounce@example.com":                      "",
	} {
		e := sesfeedback.Email{MessageID: "ses-1", From: "referrals@example.com", Subject: "Hi", At: now.Unix()}
		e.Destination.To = []string{to}
		ev, ok := sesfeedback.Notification(e, "arn:aws:sns:us-east-1:000000000000:EmailFeedbackTopic", now)
		if ok != (want != "") {
			t.Errorf("%s: notification = %v, want %q", to, ok, want)
			continue
		}
		if !ok {
			continue
		}
		var n feedback.Notification
		if err := jsonUnmarshal(ev.Records[0].SNS.Message, &n); err != nil || n.Type() != want || n.Mail.MessageID != "ses-1" {
			t.Errorf("%s: %+v %v", to, n, err)
		}
		if addresses, _ := feedback.Suppressions(n); len(addresses) != 1 || addresses[0] != to {
			t.Errorf("%s: the feedback function would suppress %v", to, addresses)
		}
	}
}

// TestAnEmailToTheBounceSimulatorSuppressesTheAddress: an email sent through the real SES
// emulator to bounce@simulator.amazonses.com reaches the feedback function as SES's
// notification, once, and the address is suppressed.
func TestAnEmailToTheBounceSimulatorSuppressesTheAddress(t *testing.T) {
	ses := sestest.Start(t)
	db := dynamotest.Start(t)
	s := store.New(db.Client, db.Table, nil)
	h := &feedback.Handler{Store: s, Log: slog.New(slog.DiscardHandler)}
	var mu sync.Mutex
	delivered := 0
	w := &sesfeedback.Watcher{StoreURL: ses.URL + "/store", TopicARN: "arn:aws:sns:us-east-1:000000000000:EmailFeedbackTopic",
		Deliver: func(ctx context.Context, ev events.SNSEvent) error {
			mu.Lock()
			delivered++
			mu.Unlock()
			return h.Handle(ctx, ev)
		}}
	ctx := context.Background()
	w.Poll(ctx) // the store is empty: nothing to deliver
	sender := &email.SES{Client: ses.Client, From: "referrals@example.com"}
	for _, to := range []string{"bounce@simulator.amazonses.com", "success@simulator.amazonses.com"} {
		if _, err := sender.Send(ctx, email.Outgoing{To: to, Message: email.Message{Subject: "Hi", Text: "Hi", HTML: "<p>Hi</p>"}}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		w.Poll(ctx)
	}
	if delivered != 1 {
		t.Fatalf("%d notifications delivered, want the bounce's one", delivered)
	}
	for addr, want := range map[string]bool{"bounce@simulator.amazonses.com": true, "success@simulator.amazonses.com": false} {
		if _, found, err := s.Suppressed(ctx, addr); err != nil || found != want {
			t.Errorf("%s suppressed = %v (%v), want %v", addr, found, err, want)
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
