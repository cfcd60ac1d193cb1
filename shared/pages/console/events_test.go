package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/pages"
)

// The console function's sample events (events/console-*.json, which `make invoke` and sam
// local invoke use too) answer what a visitor without a session gets: the sign-in page, a
// refused key, a refused form, and the way back to sign-in.
func TestSampleEvents(t *testing.T) {
	r := newRig(t)
	c := r.console
	for name, want := range map[string]struct {
		status int
		words  string
	}{
		"console-sign-in-page.json":         {200, "Admin API key"},
		"console-sign-in-refused.json":      {401, "not a valid admin key"},
		"console-forged-form.json":          {403, "Nothing was changed"},
		"console-dashboard-signed-out.json": {303, ""},
	} {
		var ev events.APIGatewayV2HTTPRequest
		if err := samtemplate.DecodeEvent(name, &ev); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Handle(context.Background(), ev)
		if err != nil || resp.StatusCode != want.status || !strings.Contains(resp.Body, want.words) {
			t.Errorf("%s: %d %v, want %d with %q:\n%s", name, resp.StatusCode, err, want.status, want.words, resp.Body)
		}
		if resp.Headers["Content-Security-Policy"] != pages.CSP {
			t.Errorf("%s: CSP %q", name, resp.Headers["Content-Security-Policy"])
		}
		if want.status == 303 && resp.Headers["Location"] != "../../console" {
			t.Errorf("%s: Location %q", name, resp.Headers["Location"])
		}
	}
}
