package referral

import (
	"errors"
	"testing"
	"time"
)

func TestCheckAskDecidesWhetherACustomerMayBeAsked(t *testing.T) {
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { x := at.Add(-d); return &x }
	day := 24 * time.Hour
	e := Emails{AskCooldownDays: 30}
	ok := Customer{Email: "ana@example.com"}
	tests := []struct {
		name       string
		c          Customer
		suppressed bool
		lastAskAt  *time.Time
		e          Emails
		want       error
	}{
		{"never asked", ok, false, nil, e, nil},
		{"asked 30 days ago", ok, false, ago(30 * day), e, nil},
		{"asked 29 days ago", ok, false, ago(29 * day), e, ErrRateLimited},
		{"asked a minute ago, no cooldown", ok, false, ago(time.Minute), Emails{}, nil},
		{"opted out (before anything else)", Customer{Email: "ana@example.com", MarketingOptOut: true}, true, ago(time.Minute), e, ErrOptedOut},
		{"no address", Customer{}, false, nil, e, ErrNoEmail},
		{"suppressed", ok, true, nil, e, ErrEmailSuppressed},
	}
	for _, tt := range tests {
		err := CheckAsk(tt.c, tt.suppressed, tt.lastAskAt, tt.e, at)
		if (tt.want == nil) != (err == nil) || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// A cooldown says when the customer may be asked again, counted from the time asked about.
	var rl *Error
	if err := CheckAsk(ok, false, ago(29*day), e, at); !errors.As(err, &rl) || rl.RetryAfter != day ||
		rl.Details.(map[string]string)["nextAskAt"] != "2026-11-21T12:00:00Z" {
		t.Errorf("cooldown: %+v", err)
	}
}

func TestValidSendAtIsInTheNext90Days(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		sendAt time.Time
		ok     bool
	}{
		{now.Add(time.Second), true},
		{now.Add(MaxSendAhead), true},
		{now, false},
		{now.Add(-time.Hour), false},
		{now.Add(MaxSendAhead + time.Second), false},
	}
	for _, tt := range tests {
		err := ValidSendAt(tt.sendAt, now)
		if (err == nil) != tt.ok || err != nil && (!errors.Is(err, ErrInvalidField) || err.(*Error).Field != "sendAt") {
			t.Errorf("ValidSendAt(%s): %v, want ok=%v", tt.sendAt, err, tt.ok)
		}
	}
}
