package email

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/referral/referrals/shared/metrics"
)

// Outgoing is one rendered email to one recipient.
type Outgoing struct {
	To          string
	SenderName  string // display name of From; the address is the deployment's sender
	ReplyTo     string // where replies go: the business's address, or "" (the From address)
	Message     Message
	Unsubscribe string            // the one-click unsubscribe URL; set for marketing emails
	Tags        map[string]string // SES message tags (template, program)
}

// Sender sends emails. Send returns the provider's message id, a *Rejected error when the
// email can never be sent (retrying is pointless), or another error worth retrying.
type Sender interface {
	Send(ctx context.Context, o Outgoing) (messageID string, err error)
}

// Rejected is a permanent refusal: the message or address is not acceptable to SES.
type Rejected struct {
	Code string // the SES error code, e.g. MessageRejected
	Err  error
}

func (e *Rejected) Error() string { return "rejected by SES (" + e.Code + "): " + e.Err.Error() }
func (e *Rejected) Unwrap() error { return e.Err }

// Rejected is the SES error code of the refusal.
func (e *Rejected) Rejected() string { return e.Code }

// SESAPI is the part of the SES v2 client the sender uses; *sesv2.Client satisfies it.
type SESAPI interface {
	SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

var (
	_ SESAPI = (*sesv2.Client)(nil)
	_ Sender = (*SES)(nil)
)

// SES sends through Amazon SES v2 SendEmail with simple content (subject, text and HTML in
// UTF-8), From "Sender Name" <From>, Reply-To, the configuration set when there is one,
// message tags, and for marketing emails the List-Unsubscribe and List-Unsubscribe-Post
// headers (RFC 8058).
type SES struct {
	Client           SESAPI
	From             string        // the verified sender address (SENDER_EMAIL)
	ConfigurationSet string        // optional
	Timeout          time.Duration // per call; 0 means 10s
}

// Send sends o.
func (s *SES) Send(ctx context.Context, o Outgoing) (string, error) {
	from := s.From
	if o.SenderName != "" {
		from = (&mail.Address{Name: o.SenderName, Address: s.From}).String()
	}
	utf8 := func(v string) *types.Content {
		return &types.Content{Data: aws.String(v), Charset: aws.String("UTF-8")}
	}
	msg := &types.Message{
		Subject: utf8(o.Message.Subject),
		Body:    &types.Body{Text: utf8(o.Message.Text), Html: utf8(o.Message.HTML)},
	}
	if o.Unsubscribe != "" {
		msg.Headers = []types.MessageHeader{
			{Name: aws.String("List-Unsubscribe"), Value: aws.String("<" + o.Unsubscribe + ">")},
			{Name: aws.String("List-Unsubscribe-Post"), Value: aws.String("List-Unsubscribe=One-Click")},
		}
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &types.Destination{ToAddresses: []string{o.To}},
		Content:          &types.EmailContent{Simple: msg},
	}
	if o.ReplyTo != "" {
		in.ReplyToAddresses = []string{o.ReplyTo}
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
	}
	for _, name := range slices.Sorted(maps.Keys(o.Tags)) {
		in.EmailTags = append(in.EmailTags, types.MessageTag{Name: aws.String(tagValue(name)), Value: aws.String(tagValue(o.Tags[name]))})
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := s.Client.SendEmail(ctx, in)
	if err != nil {
		return "", classify(err)
	}
	metrics.Add(ctx, metrics.EmailsSent, 1)
	return aws.ToString(out.MessageId), nil
}

// classify marks the refusals that no retry can fix: a rejected message (SES's content
// checks, an unverified recipient in the sandbox) and a malformed request (an address SES
// cannot parse). Throttling, quotas, 5xx, a paused account and network trouble stay
// retryable: they pass, or an operator fixes them while the record waits.
func classify(err error) error {
	var rejected *types.MessageRejected
	var bad *types.BadRequestException
	switch {
	case errors.As(err, &rejected):
		return &Rejected{Code: "MessageRejected", Err: err}
	case errors.As(err, &bad):
		return &Rejected{Code: "BadRequest", Err: err}
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "MessageRejected" {
		return &Rejected{Code: "MessageRejected", Err: err}
	}
	return err
}

// tagValue keeps what SES allows in tag names and values: ASCII letters, digits, _ and -.
func tagValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 256 {
		b = b[:256]
	}
	return string(b)
}

var addressLike = regexp.MustCompile(`[^\s<>()"',;:]+@[^\s<>()"',;:]+`)

// Redact replaces anything that looks like an email address in s, so that error texts from
// SES ("... failed the check: ana@example.com") can be logged without personal data.
func Redact(s string) string {
	return addressLike.ReplaceAllString(s, "<address>")
}

// describeErr is err's text for logs: addresses redacted, one line.
func describeErr(err error) string {
	return strings.ReplaceAll(Redact(fmt.Sprint(err)), "\n", " ")
}
