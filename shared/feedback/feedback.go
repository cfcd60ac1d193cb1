// Package feedback reads what SES tells about emails after they were sent — bounces and
// complaints, published by the configuration set's event destination to an SNS topic — and
// puts the addresses that must get no more marketing email on the suppression list.
package feedback

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/store"
)

// Notification is an SES event record as SNS carries it: event publishing names its type
// eventType, an identity's feedback notifications name it notificationType; both are read.
type Notification struct {
	EventType        string     `json:"eventType"`
	NotificationType string     `json:"notificationType"`
	Bounce           *Bounce    `json:"bounce"`
	Complaint        *Complaint `json:"complaint"`
	Mail             struct {
		MessageID string `json:"messageId"`
	} `json:"mail"`
}

// Bounce is SES's bounce object.
type Bounce struct {
	BounceType        string      `json:"bounceType"` // Permanent, Transient or Undetermined
	BounceSubType     string      `json:"bounceSubType"`
	BouncedRecipients []Recipient `json:"bouncedRecipients"`
	Timestamp         time.Time   `json:"timestamp"`
	FeedbackID        string      `json:"feedbackId"`
}

// Complaint is SES's complaint object.
type Complaint struct {
	ComplainedRecipients  []Recipient `json:"complainedRecipients"`
	Timestamp             time.Time   `json:"timestamp"`
	FeedbackID            string      `json:"feedbackId"`
	ComplaintFeedbackType string      `json:"complaintFeedbackType"` // abuse, not-spam, …; often absent
}

// Recipient is one address a bounce or complaint is about.
type Recipient struct {
	EmailAddress string `json:"emailAddress"`
}

// Type is the notification's type, whichever field carries it.
func (n Notification) Type() string {
	if n.EventType != "" {
		return n.EventType
	}
	return n.NotificationType
}

// Suppressions are the addresses a notification puts on the suppression list, and why: every
// recipient of a permanent bounce (the address does not exist or refuses mail for good) and of
// a complaint (the recipient marked the email as spam) — unless the complaint says "not-spam".
// Transient and undetermined bounces (a full mailbox, an auto-reply) suppress nobody; SES
// retries those itself.
func Suppressions(n Notification) (addresses []string, why store.Suppression) {
	why.MessageID = n.Mail.MessageID
	var rs []Recipient
	switch {
	case n.Type() == "Bounce" && n.Bounce != nil && n.Bounce.BounceType == "Permanent":
		why.Reason, why.Detail, why.FeedbackID, why.At = store.SuppressedBounce, n.Bounce.BounceSubType, n.Bounce.FeedbackID, n.Bounce.Timestamp
		rs = n.Bounce.BouncedRecipients
	case n.Type() == "Complaint" && n.Complaint != nil && !strings.EqualFold(n.Complaint.ComplaintFeedbackType, "not-spam"):
		why.Reason, why.Detail, why.FeedbackID, why.At = store.SuppressedComplaint, n.Complaint.ComplaintFeedbackType, n.Complaint.FeedbackID, n.Complaint.Timestamp
		rs = n.Complaint.ComplainedRecipients
	}
	for _, r := range rs {
		if a := strings.TrimSpace(r.EmailAddress); a != "" {
			addresses = append(addresses, a)
		}
	}
	return addresses, why
}

// Handler is the feedback function: SNS invokes it with SES's notifications.
type Handler struct {
	Store *store.Store
	Log   *slog.Logger
}

// Handle suppresses the addresses of every bounce and complaint in the event. A message that
// is not an SES notification is logged and dropped (a retry cannot mend it); a failed write is
// returned, so that Lambda retries the event (suppressing twice is harmless) and, after its
// retries, sends it to the function's dead-letter queue.
func (h *Handler) Handle(ctx context.Context, ev events.SNSEvent) error {
	for _, rec := range ev.Records {
		var n Notification
		if err := json.Unmarshal([]byte(rec.SNS.Message), &n); err != nil || n.Type() == "" {
			h.Log.WarnContext(ctx, "SNS message is not an SES notification; dropped", "snsMessageId", rec.SNS.MessageID)
			continue
		}
		addresses, why := Suppressions(n)
		if why.At.IsZero() {
			why.At = rec.SNS.Timestamp
		}
		for _, a := range addresses {
			if err := h.Store.Suppress(ctx, a, why); err != nil {
				return fmt.Errorf("suppress after %s %s: %w", strings.ToLower(n.Type()), why.FeedbackID, err)
			}
		}
		h.Log.InfoContext(ctx, "SES notification", "type", n.Type(), "reason", why.Reason, "detail", why.Detail,
			"suppressed", len(addresses), "messageId", why.MessageID, "feedbackId", why.FeedbackID)
	}
	return nil
}
