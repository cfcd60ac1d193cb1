package unsubscribe

import (
	"context"
	"errors"
	"github.com/referral/referrals/devkit/samplesecrets"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestTokensAreValidOnlyForTheirCustomerAndSecret(t *testing.T) {
	s, err := New(samplesecrets.Unsubscribe)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(strings.Repeat("x", MinSecretLen))
	tok := s.Token("ana")
	if len(tok) != 22 {
		t.Errorf("token %q: want 22 characters (128 bits, base64url)", tok)
	}
	cases := []struct {
		name     string
		signer   *Signer
		customer string
		token    string
		want     bool
	}{
		{"its own token", s, "ana", tok, true},
		{"another customer", s, "bo", tok, false},
		{"another secret", other, "ana", tok, false},
		{"one character changed", s, "ana", flip(tok), false},
		{"truncated", s, "ana", tok[:21], false},
		{"longer", s, "ana", tok + "AA", false},
		{"not base64", s, "ana", "!!!!!!!!!!!!!!!!!!!!!!", false},
		{"empty", s, "ana", "", false},
		{"customer id with URL characters", s, "ana+vip@example.com", s.Token("ana+vip@example.com"), true},
	}
	for _, c := range cases {
		if got := c.signer.Valid(c.customer, c.token); got != c.want {
			t.Errorf("%s: Valid = %v, want %v", c.name, got, c.want)
		}
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[3] == 'A' {
		b[3] = 'B'
	} else {
		b[3] = 'A'
	}
	return string(b)
}

func TestURLCarriesTheCustomerAndTokenEscaped(t *testing.T) {
	s, _ := New(samplesecrets.Unsubscribe)
	raw := s.URL("https://api.example.com/", "ana+vip@example.com")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Host != "api.example.com" || u.Path != "/unsubscribe" {
		t.Errorf("URL %s", raw)
	}
	if c, tok := u.Query().Get("c"), u.Query().Get("t"); c != "ana+vip@example.com" || !s.Valid(c, tok) {
		t.Errorf("URL %s: c=%q t=%q do not verify", raw, c, tok)
	}
}

func TestShortSecretsAreRefused(t *testing.T) {
	if _, err := New("short"); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
}

type fakeSecrets struct {
	value string
	err   error
	calls int
	asked string
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	f.asked = aws.ToString(in.SecretId)
	if f.err != nil {
		return nil, f.err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, nil
}

func TestLoadReadsTheSecret(t *testing.T) {
	sm := &fakeSecrets{value: strings.Repeat("k", 64)}
	s, err := Load(context.Background(), sm, "arn:aws:secretsmanager:us-east-1:1:secret:unsub")
	if err != nil || sm.calls != 1 || sm.asked != "arn:aws:secretsmanager:us-east-1:1:secret:unsub" {
		t.Fatalf("Load: %v (calls %d, asked %q)", err, sm.calls, sm.asked)
	}
	want, _ := New(strings.Repeat("k", 64))
	if s.Token("ana") != want.Token("ana") {
		t.Error("the signer does not use the secret's value")
	}
	if _, err := Load(context.Background(), &fakeSecrets{err: errors.New("AccessDenied")}, "arn:x"); err == nil {
		t.Error("a failed read gave a signer")
	}
	if _, err := Load(context.Background(), sm, ""); err == nil {
		t.Error("no ARN gave a signer")
	}
}
