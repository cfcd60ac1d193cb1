package advocatelink

import (
	"context"
	"errors"
	"github.com/referral/referrals/devkit/samplesecrets"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/referral/referrals/shared/referral"
)

var now = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

func TestTokensOpenOnlyTheirOwnPageUntilTheyExpire(t *testing.T) {
	s, err := New(samplesecrets.AdvocatePage)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(strings.Repeat("x", MinSecretLen))
	ana := Claims{ProgramID: "p1", CustomerID: "ana", Expires: now.Add(Lifetime)}
	tok := s.Token(ana)
	bo := s.Token(Claims{ProgramID: "p1", CustomerID: "bo", Expires: now.Add(Lifetime)})
	cases := []struct {
		name   string
		signer *Signer
		token  string
		at     time.Time
		want   Claims
		err    error
	}{
		{"valid", s, tok, now, ana, nil},
		{"valid until the last second", s, tok, ana.Expires.Add(-time.Second), ana, nil},
		{"expired", s, tok, ana.Expires, Claims{}, referral.ErrLinkExpired},
		{"another secret", other, tok, now, Claims{}, referral.ErrLinkForged},
		{"one character changed", s, flip(tok, 3), now, Claims{}, referral.ErrLinkForged},
		{"the MAC changed", s, flip(tok, len(tok)-2), now, Claims{}, referral.ErrLinkForged},
		{"truncated", s, tok[:len(tok)-1], now, Claims{}, nil},
		{"not base64", s, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!", now, Claims{}, referral.ErrNotFound},
		{"empty", s, "", now, Claims{}, referral.ErrNotFound},
		{"far too long", s, strings.Repeat("A", MaxTokenLen+1), now, Claims{}, referral.ErrNotFound},
		{"another customer's token is theirs", s, bo, now, Claims{ProgramID: "p1", CustomerID: "bo", Expires: ana.Expires}, nil},
		{"customer id with URL characters", s, s.Token(Claims{ProgramID: "p/1", CustomerID: "ana+vip@example.com", Expires: ana.Expires}), now,
			Claims{ProgramID: "p/1", CustomerID: "ana+vip@example.com", Expires: ana.Expires}, nil},
	}
	for _, c := range cases {
		got, err := c.signer.Check(c.token, c.at)
		if c.name == "truncated" {
			// A cut token is either not a token or does not verify; it never opens a page.
			if err == nil {
				t.Errorf("%s: opened %+v", c.name, got)
			}
			continue
		}
		if !errors.Is(err, c.err) && !(c.err == nil && err == nil) {
			t.Errorf("%s: Check = %v, want %v", c.name, err, c.err)
			continue
		}
		if c.err == nil && got != c.want {
			t.Errorf("%s: claims %+v, want %+v", c.name, got, c.want)
		}
	}
	if s.Token(ana) == bo {
		t.Error("two customers share a token")
	}
}

// flip changes the character at i of a base64url string.
func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestURLIsTheAPIsPageOfTheCustomer(t *testing.T) {
	s, _ := New(samplesecrets.AdvocatePage)
	raw := s.URL("https://api.example.com/", "p1", "ana", now)
	u, err := url.Parse(raw)
	if err != nil || u.Host != "api.example.com" || !strings.HasPrefix(u.Path, "/a/") {
		t.Fatalf("URL %s: %v", raw, err)
	}
	c, err := s.Check(strings.TrimPrefix(u.Path, "/a/"), now)
	if err != nil || c.CustomerID != "ana" || c.ProgramID != "p1" || !c.Expires.Equal(now.Add(Lifetime)) {
		t.Errorf("URL %s opens %+v, %v", raw, c, err)
	}
}

func TestShortSecretsAreRefused(t *testing.T) {
	if _, err := New("short"); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
}

type fakeSecrets struct{ value string }

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if aws.ToString(in.SecretId) != "arn:page" {
		return nil, errors.New("ResourceNotFoundException")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, nil
}

func TestLoadReadsTheSecret(t *testing.T) {
	s, err := Load(context.Background(), &fakeSecrets{value: samplesecrets.AdvocatePage}, "arn:page")
	if err != nil {
		t.Fatal(err)
	}
	sample, _ := New(samplesecrets.AdvocatePage)
	if s.Token(Claims{ProgramID: "p", CustomerID: "c", Expires: now}) != sample.Token(Claims{ProgramID: "p", CustomerID: "c", Expires: now}) {
		t.Error("the signer does not use the secret's value")
	}
	if _, err := Load(context.Background(), &fakeSecrets{value: samplesecrets.AdvocatePage}, ""); err == nil {
		t.Error("no ARN gave a signer")
	}
	if _, err := Load(context.Background(), &fakeSecrets{value: "short"}, "arn:page"); err == nil {
		t.Error("a short secret gave a signer")
	}
}
