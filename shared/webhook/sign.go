// Package webhook sends the referral events to the merchant's endpoints as Standard Webhooks
// (https://www.standardwebhooks.com/): which table changes make which events, the stream
// consumer that turns them into deliveries, the queue consumer that attempts and retries
// them, the signatures, the sealing of the signing secrets at rest, and the SSRF guard on
// every connection.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix marks a Standard Webhooks symmetric signing secret.
const SecretPrefix = "whsec_"

// secretBytes is the length of a signing secret's key: 256 bits (the specification asks for
// 24 to 64 bytes).
const secretBytes = 32

// NewSecret returns a new signing secret, "whsec_" + base64 of 32 random bytes.
func NewSecret() (string, error) {
	var b [secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}

// secretKey is the HMAC key of a "whsec_" secret.
func secretKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("webhook secret does not start with %s", SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("webhook secret is not base64 of 24 to 64 bytes")
	}
	return key, nil
}

// Headers are the Standard Webhooks headers of one attempt.
type Headers struct {
	ID        string // webhook-id
	Timestamp string // webhook-timestamp: Unix seconds of the attempt
	Signature string // webhook-signature: "v1,<base64>" per secret, space-separated
}

// Sign signs one attempt of message id with each secret (the current one, and during a
// rotation's grace period the previous one too): HMAC-SHA256 over "<id>.<timestamp>.<body>",
// base64, as "v1,<signature>" separated by spaces.
func Sign(id string, at time.Time, body []byte, secrets ...string) (Headers, error) {
	if len(secrets) == 0 {
		return Headers{}, fmt.Errorf("sign %s: no secret", id)
	}
	h := Headers{ID: id, Timestamp: strconv.FormatInt(at.Unix(), 10)}
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := secretKey(s)
		if err != nil {
			return Headers{}, fmt.Errorf("sign %s: %w", id, err)
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id))
		m.Write([]byte{'.'})
		m.Write([]byte(h.Timestamp))
		m.Write([]byte{'.'})
		m.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	h.Signature = strings.Join(sigs, " ")
	return h, nil
}
