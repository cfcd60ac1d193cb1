package feedback

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/store"
)

func TestSuppressionsFollowWhatSESReports(t *testing.T) {
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	rcpt := []Recipient{{EmailAddress: "a@example.com"}, {EmailAddress: " b@example.com "}}
	for _, c := range []struct {
		name   string
		n      Notification
		want   int
		reason string
	}{
		{"permanent bounce", Notification{EventType: "Bounce", Bounce: &Bounce{BounceType: "Permanent", BounceSubType: "General", BouncedRecipients: rcpt, Timestamp: at}}, 2, store.SuppressedBounce},
		{"permanent bounce, identity notification", Notification{NotificationType: "Bounce", Bounce: &Bounce{BounceType: "Permanent", BouncedRecipients: rcpt[:1]}}, 1, store.SuppressedBounce},
		{"transient bounce", Notification{EventType: "Bounce", Bounce: &Bounce{BounceType: "Transient", BouncedRecipients: rcpt}}, 0, ""},
		{"undetermined bounce", Notification{EventType: "Bounce", Bounce: &Bounce{BounceType: "Undetermined", BouncedRecipients: rcpt}}, 0, ""},
		{"complaint", Notification{EventType: "Complaint", Complaint: &Complaint{ComplainedRecipients: rcpt, ComplaintFeedbackType: "abuse"}}, 2, store.SuppressedComplaint},
		{"complaint without a type", Notification{EventType: "Complaint", Complaint: &Complaint{ComplainedRecipients: rcpt[:1]}}, 1, store.SuppressedComplaint},
		{"not-spam", Notification{EventType: "Complaint", Complaint: &Complaint{ComplainedRecipients: rcpt, ComplaintFeedbackType: "not-spam"}}, 0, ""},
		{"delivery", Notification{EventType: "Delivery"}, 0, ""},
	} {
		got, why := Suppressions(c.n)
		if len(got) != c.want || why.Reason != c.reason && c.want > 0 {
			t.Errorf("%s: %v %+v, want %d %s", c.name, got, why, c.want, c.reason)
		}
		for _, a := range got {
			if a != strings.TrimSpace(a) {
				t.Errorf("%s: untrimmed %q", c.name, a)
			}
		}
	}
}

// TestSampleFeedbackEvents runs the samples of events/ (`sam local invoke EmailFeedbackFunction
// -e events/emailfeedback-<case>.json`) through the handler against a table.
func TestSampleFeedbackEvents(t *testing.T) {
	for _, c := range []struct {
		file       string
		suppressed string // "" = the address stays deliverable
	}{
		{"emailfeedback-bounce.json", store.SuppressedBounce},
		{"emailfeedback-complaint.json", store.SuppressedComplaint},
		{"emailfeedback-transient-bounce.json", ""},
		{"emailfeedback-delivery.json", ""},
	} {
		t.Run(strings.TrimSuffix(c.file, ".json"), func(t *testing.T) {
			var ev events.SNSEvent
			if err := samtemplate.DecodeEvent(c.file, &ev); err != nil {
				t.Fatalf("not an SNS event: %v", err)
			}
			var n Notification
			if err := json.Unmarshal([]byte(ev.Records[0].SNS.Message), &n); err != nil || n.Type() == "" || n.Mail.MessageID == "" {
				t.Fatalf("the message is not an SES notification: %v %+v", err, n)
			}
			db := dynamotest.Start(t)
			s := store.New(db.Client, db.Table, nil)
			var logs bytes.Buffer
			h := &Handler{Store: s, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
			for range 2 { // SNS delivers at least once
				if err := h.Handle(context.Background(), ev); err != nil {
					t.Fatal(err)
				}
			}
			sup, found, err := s.Suppressed(context.Background(), "Bo.Chen@example.com")
			if err != nil || found != (c.suppressed != "") || sup.Reason != c.suppressed {
				t.Fatalf("suppressed = %+v %v %v, want %q", sup, found, err, c.suppressed)
			}
			if found && (sup.FeedbackID == "" || sup.MessageID == "" || sup.At.IsZero()) {
				t.Errorf("the suppression does not say which notification made it: %+v", sup)
			}
			if strings.Contains(logs.String(), "bo.chen") {
				t.Errorf("the logs hold the address:\n%s", logs.String())
			}
		})
	}
}

func TestMessagesThatAreNotSESNotificationsAreDropped(t *testing.T) {
	db := dynamotest.Start(t)
	h := &Handler{Store: store.New(db.Client, db.Table, nil), Log: slog.New(slog.DiscardHandler)}
	ev := events.SNSEvent{Records: []events.SNSEventRecord{{SNS: events.SNSEntity{MessageID: "m1", Message: "hello"}},
		{SNS: events.SNSEntity{MessageID: "m2", Message: `{"other": true}`}}}}
	if err := h.Handle(context.Background(), ev); err != nil {
		t.Fatalf("a message that is not a notification failed the event (it would be retried for nothing): %v", err)
	}
}
