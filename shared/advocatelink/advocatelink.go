// Package advocatelink signs and checks the links to advocates' pages: /a/<token>, where the
// token holds a program id, a customer id and an expiry, signed with HMAC-SHA256 under a
// secret that the template creates in Secrets Manager. Whoever holds the link sees that
// advocate's page until it expires (Lifetime after it was made: every advocate email carries
// a fresh one); nobody can make a link without the secret, and links need no storage.
package advocatelink

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/referral"
)

// MinSecretLen is the shortest secret accepted (bytes).
const MinSecretLen = 32

// Lifetime is how long a link works after it was made: 180 days.
const Lifetime = 180 * 24 * time.Hour

// macLen is how many bytes of the MAC a token keeps: 128 bits, plenty against guessing through
// a throttled public route, and a shorter link.
const macLen = 16

// MaxTokenLen is the longest token read (base64url characters); longer is malformed.
const MaxTokenLen = 600

// version is the token format's first byte.
const version = 1

// Signer makes and checks tokens. Build it with New.
type Signer struct {
	key []byte
}

// New returns a signer with secret, which must be at least MinSecretLen bytes.
func New(secret string) (*Signer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("advocate page secret is %d bytes; at least %d are needed", len(secret), MinSecretLen)
	}
	return &Signer{key: []byte(secret)}, nil
}

// Load returns a signer for the Secrets Manager secret arn, read through sm (with
// platform.SecretValue, as the other functions read theirs). Call it once per container (in
// main) and keep the signer: the secret is then fetched once per cold start.
func Load(ctx context.Context, sm platform.SecretsManager, arn string) (*Signer, error) {
	secret, err := platform.SecretValue(ctx, sm, "advocate page secret (ADVOCATE_PAGE_SECRET_ARN)", arn)
	if err != nil {
		return nil, err
	}
	return New(secret)
}

// Claims are what a token says: whose page, in which program, until when.
type Claims struct {
	ProgramID  string
	CustomerID string
	Expires    time.Time
}

// Token is the signed token of claims c: base64url (no padding) of a version byte, the expiry
// (Unix seconds, uvarint), the program id's length (uvarint), the program id, the customer id,
// and the first 16 bytes of the HMAC-SHA256 of all that.
func (s *Signer) Token(c Claims) string {
	b := []byte{version}
	b = binary.AppendUvarint(b, uint64(max(c.Expires.Unix(), 0)))
	b = binary.AppendUvarint(b, uint64(len(c.ProgramID)))
	b = append(b, c.ProgramID...)
	b = append(b, c.CustomerID...)
	return base64.RawURLEncoding.EncodeToString(append(b, s.mac(b)...))
}

// Check reads token: its claims when this signer made it and it has not expired at now;
// referral.ErrNotFound when it is not a token at all, referral.ErrLinkForged when its signature
// does not match (another secret, a changed byte), referral.ErrLinkExpired when it expired. The
// signature is compared in constant time, before anything in the token is believed.
func (s *Signer) Check(token string, now time.Time) (Claims, error) {
	var c Claims
	if len(token) > MaxTokenLen {
		return c, referral.ErrNotFound
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 1+macLen+3 {
		return c, referral.ErrNotFound
	}
	body, sum := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(sum, s.mac(body)) {
		return c, referral.ErrLinkForged
	}
	if body[0] != version {
		return c, referral.ErrNotFound
	}
	rest := body[1:]
	exp, n := binary.Uvarint(rest)
	if n <= 0 || exp > 1<<40 {
		return c, referral.ErrNotFound
	}
	rest = rest[n:]
	plen, n := binary.Uvarint(rest)
	if n <= 0 || plen > uint64(len(rest)-n) {
		return c, referral.ErrNotFound
	}
	rest = rest[n:]
	c.ProgramID, c.CustomerID, c.Expires = string(rest[:plen]), string(rest[plen:]), time.Unix(int64(exp), 0).UTC()
	if c.ProgramID == "" || c.CustomerID == "" {
		return Claims{}, referral.ErrNotFound
	}
	if !now.Before(c.Expires) {
		return c, referral.ErrLinkExpired
	}
	return c, nil
}

func (s *Signer) mac(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("advocate-page\x00"))
	m.Write(body)
	return m.Sum(nil)[:macLen]
}

// URL is the link to the page of customerID in programID under the API's public base URL,
// made at now and working for Lifetime.
func (s *Signer) URL(baseURL, programID, customerID string, now time.Time) string {
	tok := s.Token(Claims{ProgramID: programID, CustomerID: customerID, Expires: now.Add(Lifetime).Truncate(time.Second)})
	return strings.TrimRight(baseURL, "/") + "/a/" + tok
}
