package webhook_test

import (
	"errors"
	"github.com/referral/referrals/devkit/samplesecrets"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/referral/referrals/shared/webhook"
)

// asHeader is the http.Header a receiver gets for h.
func asHeader(h webhook.Headers) http.Header {
	out := http.Header{}
	out.Set(standardwebhooks.HeaderWebhookID, h.ID)
	out.Set(standardwebhooks.HeaderWebhookTimestamp, h.Timestamp)
	out.Set(standardwebhooks.HeaderWebhookSignature, h.Signature)
	return out
}

// TestSignaturesMatchTheStandardWebhooksTestVector: the vector every Standard Webhooks library
// is tested with.
func TestSignaturesMatchTheStandardWebhooksTestVector(t *testing.T) {
	h, err := webhook.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`),
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; h.Signature != want || h.Timestamp != "1614265330" {
		t.Errorf("signature %q at %s, want %q at 1614265330", h.Signature, h.Timestamp, want)
	}
}

func TestSignaturesVerifyWithTheStandardWebhooksLibrary(t *testing.T) {
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "whsec_") || len(secret) != len("whsec_")+44 {
		t.Fatalf("secret %q is not whsec_ + base64 of 32 bytes", secret)
	}
	other, _ := webhook.NewSecret()
	body := []byte(`{"type":"reward.approved","timestamp":"2026-11-20T12:00:00Z","data":{"rewardId":"r1"}}`)
	h, err := webhook.Sign("msg_abc", time.Now(), body, secret)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, asHeader(h)); err != nil {
		t.Fatalf("the library rejects our signature: %v", err)
	}
	// What must not verify: another body, another id, another secret, an old attempt.
	if err := wh.Verify(append(body[:len(body)-1:len(body)-1], ' ', '}'), asHeader(h)); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Errorf("a changed body verifies: %v", err)
	}
	forged := h
	forged.ID = "msg_abd"
	if err := wh.Verify(body, asHeader(forged)); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Errorf("another webhook-id verifies: %v", err)
	}
	wrong, _ := standardwebhooks.NewWebhook(other)
	if err := wrong.Verify(body, asHeader(h)); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Errorf("another secret verifies: %v", err)
	}
	old, _ := webhook.Sign("msg_abc", time.Now().Add(-time.Hour), body, secret)
	if err := wh.Verify(body, asHeader(old)); !errors.Is(err, standardwebhooks.ErrMessageTooOld) {
		t.Errorf("an hour-old attempt verifies: %v", err)
	}
}

// TestDuringARotationBothSecretsVerify: the header carries one signature per secret, so a
// receiver still on the old secret and one already on the new both accept the event.
func TestDuringARotationBothSecretsVerify(t *testing.T) {
	current, _ := webhook.NewSecret()
	previous, _ := webhook.NewSecret()
	body := []byte(`{"type":"referral.created"}`)
	h, err := webhook.Sign("msg_rot", time.Now(), body, current, previous)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Signature)); n != 2 {
		t.Fatalf("signature header %q has %d signatures, want 2", h.Signature, n)
	}
	for name, s := range map[string]string{"current": current, "previous": previous} {
		wh, _ := standardwebhooks.NewWebhook(s)
		if err := wh.Verify(body, asHeader(h)); err != nil {
			t.Errorf("the %s secret does not verify: %v", name, err)
		}
	}
	if _, err := webhook.Sign("msg_x", time.Now(), body); err == nil {
		t.Error("signed with no secret")
	}
	if _, err := webhook.Sign("msg_x", time.Now(), body, "not-a-secret"); err == nil {
		t.Error("signed with a secret that is not whsec_")
	}
}

func TestSealedSecretsOpenOnlyForTheirEndpointAndKey(t *testing.T) {
	s, err := webhook.NewSealer(samplesecrets.WebhookSealKey)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := webhook.NewSecret()
	sealed, err := s.Seal("we_1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, strings.TrimPrefix(secret, "whsec_")) {
		t.Fatal("the sealed value contains the secret")
	}
	if got, err := s.Open("we_1", sealed); err != nil || got != secret {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := s.Open("we_2", sealed); !errors.Is(err, webhook.ErrUnsealable) {
		t.Errorf("opened for another endpoint: %v", err)
	}
	other, _ := webhook.NewSealer(strings.Repeat("k", webhook.MinSealKeyLen))
	if _, err := other.Open("we_1", sealed); !errors.Is(err, webhook.ErrUnsealable) {
		t.Errorf("opened with another key: %v", err)
	}
	if _, err := webhook.NewSealer("short"); err == nil {
		t.Error("a short master key was accepted")
	}
}
