// Package auth issues and checks API keys: random secrets shown once and stored only as
// SHA-256 hashes, and the Lambda authorizer that turns "Authorization: Bearer <key>" into the
// scope the functions enforce.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// SecretPrefix starts every issued secret, so a leaked key is recognisable (secret scanners,
// logs) and the authorizer knows to look it up in the table.
const SecretPrefix = "rk_live_"

// secretBytes is the randomness of a secret: 256 bits.
const secretBytes = 32

// maxTokenLength bounds what the authorizer hashes; real keys are far shorter.
const maxTokenLength = 512

// NewSecret returns a fresh secret: SecretPrefix and 32 bytes from crypto/rand in base64url.
func NewSecret() (string, error) {
	var b [secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Hash is the form a secret is stored and looked up in: hex SHA-256. A plain hash is enough
// (no salt or stretching) because secrets are 256-bit random values, not passwords.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// BearerToken extracts the key from an Authorization header value ("Bearer <key>", the scheme
// case-insensitive). ok is false for any other shape.
func BearerToken(header string) (token string, ok bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxTokenLength || strings.ContainsAny(token, " \t\r\n") {
		return "", false
	}
	return token, true
}
