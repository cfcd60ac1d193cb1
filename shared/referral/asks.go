package referral

import (
	"time"
)

// AskTemplateAuto lets an ask pick its template from what is known of the customer when it
// goes out (AutoAskTemplate).
const AskTemplateAuto = "auto"

// MaxSendAhead is how far ahead an ask may be scheduled.
const MaxSendAhead = 90 * 24 * time.Hour

// Statuses of a scheduled ask.
const (
	AskScheduled = "scheduled" // waiting for its sendAt
	AskSent      = "sent"      // recorded as an ask when it came due: its email goes out as any ask's
	AskSkipped   = "skipped"   // not sent when it came due; its reason is the error code an ask sent then would have had
)

// AutoAskTemplate is the ask template for a customer: past clients get ask-past-client,
// customers with a code in the program ask-promo-code, the rest ask-current.
func AutoAskTemplate(c Customer, code string) string {
	switch {
	case c.Segment == SegmentPast:
		return EmailAskPastClient
	case code != "":
		return EmailAskPromoCode
	default:
		return EmailAskCurrent
	}
}

// ValidSendAt checks when an ask is scheduled for: after now, and at most MaxSendAhead later.
func ValidSendAt(sendAt, now time.Time) error {
	switch {
	case !sendAt.After(now):
		return ErrInvalidField.With("sendAt must be in the future (an ask without sendAt is sent now)", nil).At("sendAt")
	case sendAt.Sub(now) > MaxSendAhead:
		return ErrInvalidField.With("sendAt must be at most 90 days ahead", nil).At("sendAt")
	}
	return nil
}

// CheckAsk decides whether a customer may be asked for referrals in a program at the time
// at: they have an email address, have not opted out of marketing email, their address is
// not suppressed (it bounced or complained), and they were not asked in the program within
// emails.askCooldownDays (lastAskAt: their last ask there, nil if never). The error is the
// API's answer, a cooldown's with when they may be asked again.
func CheckAsk(c Customer, suppressed bool, lastAskAt *time.Time, e Emails, at time.Time) error {
	switch {
	case c.MarketingOptOut:
		return ErrOptedOut
	case c.Email == "":
		return ErrNoEmail
	case suppressed:
		return ErrEmailSuppressed
	}
	cooldown := AskCooldown(e)
	if lastAskAt != nil && cooldown > 0 && at.Before(lastAskAt.Add(cooldown)) {
		return AskRateLimited(lastAskAt.Add(cooldown), at)
	}
	return nil
}

// AskCooldown is how long after an ask the customer may not be asked again in the program.
func AskCooldown(e Emails) time.Duration { return time.Duration(e.AskCooldownDays) * 24 * time.Hour }

// AskRateLimited is the answer to an ask inside the cooldown: when the customer can be asked
// again (next), in the message, the details and Retry-After (counted from now).
func AskRateLimited(next, now time.Time) *Error {
	at := next.UTC().Format(time.RFC3339)
	return ErrRateLimited.With("the customer was asked in this program less than askCooldownDays ago; they can be asked again from "+at,
		map[string]string{"nextAskAt": at}).RetryIn(next.Sub(now))
}
