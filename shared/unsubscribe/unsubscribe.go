// Package unsubscribe signs and checks the one-click unsubscribe links of ask emails
// (RFC 8058): /unsubscribe?c=<customer id>&t=<token>, where the token is an HMAC-SHA256 of
// the customer id under a secret that the template creates in Secrets Manager. Nobody can
// opt someone else out without the secret, and links need no storage.
package unsubscribe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/referral/referrals/shared/platform"
)

// MinSecretLen is the shortest secret accepted (bytes).
const MinSecretLen = 32

// tokenLen is how many bytes of the MAC a token keeps: 128 bits, plenty against guessing
// through a throttled public route, and a short link.
const tokenLen = 16

// Signer makes and checks tokens. Build it with New.
type Signer struct {
	key []byte
}

// New returns a signer with secret, which must be at least MinSecretLen bytes.
func New(secret string) (*Signer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("unsubscribe secret is %d bytes; at least %d are needed", len(secret), MinSecretLen)
	}
	return &Signer{key: []byte(secret)}, nil
}

// Token is the signature of an unsubscribe link for customerID.
func (s *Signer) Token(customerID string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac(customerID))
}

// Valid reports whether token was made by Token for customerID (in constant time).
func (s *Signer) Valid(customerID, token string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(got) != tokenLen {
		return false
	}
	return hmac.Equal(got, s.mac(customerID))
}

func (s *Signer) mac(customerID string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("unsubscribe\x00"))
	m.Write([]byte(customerID))
	return m.Sum(nil)[:tokenLen]
}

// URL is the unsubscribe link for customerID under the API's public base URL.
func (s *Signer) URL(baseURL, customerID string) string {
	q := url.Values{"c": {customerID}, "t": {s.Token(customerID)}}
	return strings.TrimRight(baseURL, "/") + "/unsubscribe?" + q.Encode()
}

// Load returns a signer for the Secrets Manager secret arn read through sm. Call it once per
// container (in main) and keep the signer: the secret is then fetched once per cold start.
func Load(ctx context.Context, sm platform.SecretsManager, arn string) (*Signer, error) {
	secret, err := platform.SecretValue(ctx, sm, "unsubscribe secret (UNSUBSCRIBE_SECRET_ARN)", arn)
	if err != nil {
		return nil, err
	}
	return New(secret)
}
