package referral

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWebhookEndpointInputIsValidatedAndNormalized(t *testing.T) {
	cases := []struct {
		name      string
		in        WebhookEndpointInput
		allowHTTP bool
		field     string // "" = valid
		msg       string
	}{
		{name: "https with events", in: WebhookEndpointInput{URL: "https://hooks.example.com/referrals", Events: []string{"reward.approved"}}},
		{name: "port and query kept", in: WebhookEndpointInput{URL: "https://hooks.example.com:8443/in?src=referrals", Events: []string{"referral.created"}}},
		{name: "no url", in: WebhookEndpointInput{Events: []string{"reward.approved"}}, field: "url", msg: "required"},
		{name: "relative url", in: WebhookEndpointInput{URL: "/hooks", Events: []string{"reward.approved"}}, field: "url", msg: "absolute"},
		{name: "http refused when deployed", in: WebhookEndpointInput{URL: "http://hooks.example.com/", Events: []string{"reward.approved"}}, field: "url", msg: "https"},
		{name: "http allowed locally", in: WebhookEndpointInput{URL: "http://127.0.0.1:8620/hooks", Events: []string{"reward.approved"}}, allowHTTP: true},
		{name: "ftp never", in: WebhookEndpointInput{URL: "ftp://hooks.example.com/", Events: []string{"reward.approved"}}, allowHTTP: true, field: "url", msg: "https"},
		{name: "credentials in the url", in: WebhookEndpointInput{URL: "https://user:pw@hooks.example.com/", Events: []string{"reward.approved"}}, field: "url", msg: "password"},
		{name: "fragment", in: WebhookEndpointInput{URL: "https://hooks.example.com/#x", Events: []string{"reward.approved"}}, field: "url", msg: "fragment"},
		{name: "too long", in: WebhookEndpointInput{URL: "https://hooks.example.com/" + strings.Repeat("a", 2048), Events: []string{"reward.approved"}}, field: "url", msg: "at most"},
		{name: "no events", in: WebhookEndpointInput{URL: "https://hooks.example.com/"}, field: "events", msg: "required"},
		{name: "unknown event", in: WebhookEndpointInput{URL: "https://hooks.example.com/", Events: []string{"reward.approved", "reward.paid"}}, field: "events[1]", msg: `"reward.paid"`},
		{name: "description too long", in: WebhookEndpointInput{URL: "https://hooks.example.com/", Events: []string{"reward.approved"}, Description: strings.Repeat("d", 501)}, field: "description"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.in.Validate(c.allowHTTP)
			if c.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != "invalid_request" || e.Field != c.field || !strings.Contains(e.Msg, c.msg) {
				t.Fatalf("got %v, want invalid_request on %s saying %q", err, c.field, c.msg)
			}
		})
	}
}

func TestWebhookEventsAreDeduplicatedInCatalogueOrder(t *testing.T) {
	in := WebhookEndpointInput{URL: "https://hooks.example.com/", Events: []string{"reward.fulfilled", "referral.created", "reward.fulfilled"}}
	if err := in.Validate(false); err != nil {
		t.Fatal(err)
	}
	if want := []string{"referral.created", "reward.fulfilled"}; !slices.Equal(in.Events, want) {
		t.Errorf("events = %v, want %v", in.Events, want)
	}
}

func TestWebhookRetriesFollowTheScheduleForADay(t *testing.T) {
	start := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	until := start.Add(WebhookRetryWindow)
	mid := 0.5 // no jitter
	// Every attempt fails at once: the retries come at the schedule's times, the last one at
	// the end of the window, and then the delivery has failed.
	now := start
	var got []time.Duration
	for failed := 1; ; failed++ {
		next, ok := NextWebhookAttempt(WebhookRetrySchedule, failed, now, until, 0, mid)
		if !ok {
			break
		}
		got = append(got, next.Sub(start))
		now = next
	}
	want := []time.Duration{5 * time.Second, 5*time.Minute + 5*time.Second, 35*time.Minute + 5*time.Second,
		2*time.Hour + 35*time.Minute + 5*time.Second, 7*time.Hour + 35*time.Minute + 5*time.Second,
		17*time.Hour + 35*time.Minute + 5*time.Second, 24 * time.Hour}
	if !slices.Equal(got, want) {
		t.Errorf("retries at %v,\nwant %v (8 attempts in all)", got, want)
	}
}

func TestWebhookRetryWaitIsJitteredAndHonoursRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	until := now.Add(WebhookRetryWindow)
	cases := []struct {
		name       string
		failed     int
		retryAfter time.Duration
		jitter     float64
		want       time.Duration
	}{
		{name: "lowest jitter", failed: 3, jitter: 0, want: 27 * time.Minute},
		{name: "highest jitter", failed: 3, jitter: 1, want: 33 * time.Minute},
		{name: "Retry-After longer than the wait", failed: 1, retryAfter: time.Minute, jitter: 0.5, want: time.Minute},
		{name: "Retry-After shorter than the wait", failed: 2, retryAfter: time.Second, jitter: 0.5, want: 5 * time.Minute},
		{name: "Retry-After past the window: the last attempt at its end", failed: 1, retryAfter: 48 * time.Hour, jitter: 0.5, want: WebhookRetryWindow},
		{name: "beyond the schedule: its last wait, cut by the window", failed: 20, jitter: 0.5, want: WebhookRetryWindow},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next, ok := NextWebhookAttempt(WebhookRetrySchedule, c.failed, now, until, c.retryAfter, c.jitter)
			if !ok || next.Sub(now) != c.want {
				t.Errorf("next in %v (ok %v), want %v", next.Sub(now), ok, c.want)
			}
		})
	}
	if _, ok := NextWebhookAttempt(WebhookRetrySchedule, 3, until.Add(-30*time.Second), until, 0, 0.5); ok {
		t.Error("an attempt in the window's last minute is the last one, yet another was scheduled")
	}
}

func TestWebhookAnswers(t *testing.T) {
	for status, want := range map[int][2]bool{200: {true, false}, 204: {true, false}, 299: {true, false}, 302: {false, false},
		404: {false, false}, 410: {false, true}, 429: {false, false}, 500: {false, false}, 0: {false, false}} {
		if IsWebhookSuccess(status) != want[0] || IsWebhookGone(status) != want[1] {
			t.Errorf("status %d: success %v gone %v, want %v", status, IsWebhookSuccess(status), IsWebhookGone(status), want)
		}
	}
}
