// Package sesfeedback gives the local SES emulator (aws-ses-v2-local) the feedback of SES's
// mailbox simulator: an email to bounce@simulator.amazonses.com bounces for good, one to
// complaint@simulator.amazonses.com draws a complaint. Each becomes the SNS notification a
// configuration set's event destination publishes, for the function subscribed to that topic.
// It is part of the make dev stack, never deployed.
package sesfeedback

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// simulatorDomain is SES's mailbox simulator; a +label after the local part is allowed.
const simulatorDomain = "simulator.amazonses.com"

// Email is an email as aws-ses-v2-local's GET /store lists it.
type Email struct {
	MessageID   string `json:"messageId"`
	From        string `json:"from"`
	Destination struct {
		To, Cc, Bcc []string
	} `json:"destination"`
	Subject string `json:"subject"`
	At      int64  `json:"at"` // Unix seconds
}

// Notification is the SNS event that SES would publish for email, and whether the email calls
// for one: a bounce (Permanent, General) or a complaint (abuse) for each simulator recipient.
func Notification(email Email, topicARN string, now time.Time) (events.SNSEvent, bool) {
	var ev events.SNSEvent
	sent := time.Unix(email.At, 0).UTC()
	for _, to := range append(append(append([]string{}, email.Destination.To...), email.Destination.Cc...), email.Destination.Bcc...) {
		local, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(to)), "@")
		if !ok || domain != simulatorDomain {
			continue
		}
		local, _, _ = strings.Cut(local, "+")
		mail := map[string]any{"timestamp": sent.Format(time.RFC3339Nano), "source": email.From, "messageId": email.MessageID,
			"destination": []string{to}, "headersTruncated": false,
			"commonHeaders": map[string]any{"from": []string{email.From}, "to": []string{to}, "subject": email.Subject}}
		feedbackID := fmt.Sprintf("local-%s-%s", local, email.MessageID)
		var msg map[string]any
		switch local {
		case "bounce", "suppressionlist":
			sub := map[string]string{"bounce": "General", "suppressionlist": "OnAccountSuppressionList"}[local]
			msg = map[string]any{"eventType": "Bounce", "mail": mail, "bounce": map[string]any{
				"bounceType": "Permanent", "bounceSubType": sub, "feedbackId": feedbackID, "timestamp": now.Format(time.RFC3339Nano),
				"reportingMTA": "dsn; " + simulatorDomain,
				"bouncedRecipients": []map[string]string{{"emailAddress": to, "action": "failed", "status": "5.1.1",
					"diagnosticCode": "smtp; 550 5.1.1 user unknown"}}}}
		case "complaint":
			msg = map[string]any{"eventType": "Complaint", "mail": mail, "complaint": map[string]any{
				"complainedRecipients": []map[string]string{{"emailAddress": to}}, "feedbackId": feedbackID,
				"timestamp": now.Format(time.RFC3339Nano), "complaintFeedbackType": "abuse", "userAgent": "make dev"}}
		default:
			continue // success@, ooto@: nothing a configuration set publishes to this topic
		}
		b, err := json.Marshal(msg)
		if err != nil {
			continue
		}
		ev.Records = append(ev.Records, events.SNSEventRecord{EventSource: "aws:sns", EventVersion: "1.0",
			EventSubscriptionArn: topicARN + ":local",
			SNS: events.SNSEntity{Type: "Notification", MessageID: feedbackID, TopicArn: topicARN, Message: string(b),
				Timestamp: now, SignatureVersion: "1", MessageAttributes: map[string]any{}}})
	}
	return ev, len(ev.Records) > 0
}

// Watcher polls aws-ses-v2-local's store and delivers the notifications of new emails to
// simulator addresses, each email once.
type Watcher struct {
	StoreURL string                                       // aws-ses-v2-local's GET /store
	TopicARN string                                       // the topic the notifications are said to come from
	Deliver  func(context.Context, events.SNSEvent) error // invokes the subscribed function
	Logf     func(format string, args ...any)
	Client   *http.Client

	seen map[string]bool
}

// Run polls every interval until ctx ends. Emails already in the store when it starts (a
// restart) are not delivered again.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	w.seen = map[string]bool{}
	if emails, err := w.list(ctx); err == nil {
		for _, e := range emails {
			w.seen[e.MessageID] = true
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Poll(ctx)
		}
	}
}

// Poll delivers the notifications of the emails that arrived since the last poll. A failed
// delivery is retried on the next poll, as SNS retries a failed Lambda invocation.
func (w *Watcher) Poll(ctx context.Context) {
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	emails, err := w.list(ctx)
	if err != nil {
		return // the emulator is starting or stopping
	}
	for _, e := range emails {
		if w.seen[e.MessageID] {
			continue
		}
		ev, ok := Notification(e, w.TopicARN, time.Now().UTC())
		if !ok {
			w.seen[e.MessageID] = true
			continue
		}
		if err := w.Deliver(ctx, ev); err != nil {
			w.logf("SES feedback for %s not delivered (retried): %v", e.MessageID, err)
			continue
		}
		w.seen[e.MessageID] = true
		w.logf("SES feedback: %d notification(s) for %s published to %s", len(ev.Records), e.MessageID, w.TopicARN)
	}
}

func (w *Watcher) list(ctx context.Context) ([]Email, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.StoreURL, nil)
	if err != nil {
		return nil, err
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", w.StoreURL, resp.Status)
	}
	var store struct {
		Emails []Email `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		return nil, fmt.Errorf("GET %s: %w", w.StoreURL, err)
	}
	return store.Emails, nil
}

func (w *Watcher) logf(format string, args ...any) {
	if w.Logf != nil {
		w.Logf(format, args...)
	}
}
