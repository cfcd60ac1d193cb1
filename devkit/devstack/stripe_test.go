package devstack

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/stripemock"
)

// TestStackRunsStripeMockForTheFunctions: with Stripe on, the stack runs stripe-mock behind
// its recording proxy, every function gets its URL as Stripe's endpoint, and the template's
// Stripe secret holds the test key on the Secrets Manager stand-in (the path a deployed
// function reads its key by); each request stripe-mock answers is in the log.
func TestStackRunsStripeMockForTheFunctions(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t, func(c *Config) { c.Stripe, c.StripeAddr = true, "127.0.0.1:0" })
	if s.StripeURL == "" || s.Stripe == nil {
		t.Fatal("no stripe-mock")
	}
	env := eventEnv(t, do(t, http.MethodGet, s.APIURL+"/public", nil))
	if env["STRIPE_API_URL"] != s.StripeURL {
		t.Errorf("STRIPE_API_URL = %q, want %q", env["STRIPE_API_URL"], s.StripeURL)
	}
	status, out := secretsCall(t, s.SecretURL, "secretsmanager.GetSecretValue", map[string]string{"SecretId": s.Template.Secrets["StripeKeySecret"].ARN})
	if status != 200 || out["SecretString"] != stripemock.TestKey {
		t.Fatalf("the Stripe secret: %d %v, want the test key", status, out)
	}
	req, _ := http.NewRequest(http.MethodPost, s.StripeURL+"/v1/customers", strings.NewReader(url.Values{"name": {"Ana"}}.Encode()))
	req.Header.Set("Authorization", "Bearer "+out["SecretString"].(string))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Idempotency-Key", "k1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(s.Stripe.Requests("POST /v1/customers")) != 1 {
		t.Fatalf("stripe-mock answered %d; recorded %v", resp.StatusCode, s.Stripe.Requests(""))
	}
	waitFor(t, "the request in the log", 5*time.Second, func() bool {
		return strings.Contains(s.logs.String(), "[stripe] POST /v1/customers → 200 Idempotency-Key: k1")
	})
}

// TestStackWithoutStripeLeavesTheSecretAlone: without Stripe the secret keeps the template's
// value and no function is pointed anywhere.
func TestStackWithoutStripeLeavesTheSecretAlone(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t)
	status, out := secretsCall(t, s.SecretURL, "secretsmanager.GetSecretValue", map[string]string{"SecretId": s.Template.Secrets["StripeKeySecret"].ARN})
	if status != 200 || out["SecretString"] != "not-configured" {
		t.Fatalf("the Stripe secret without stripe-mock: %d %v", status, out)
	}
	if env := eventEnv(t, do(t, http.MethodGet, s.APIURL+"/public", nil)); env["STRIPE_API_URL"] != "" {
		t.Errorf("STRIPE_API_URL = %q without stripe-mock", env["STRIPE_API_URL"])
	}
}

func eventEnv(t *testing.T, r httpResult) map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("echo: %d %s", r.status, r.body)
	}
	env, _ := r.json(t)["env"].(map[string]any)
	return env
}
