package webhook

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/referral/referrals/shared/platform"
)

// Sealer encrypts endpoint signing secrets for the table and decrypts them to sign: AES-256-GCM
// under a key derived (HKDF-SHA256) from the WebhookSecretKey secret in Secrets Manager, with
// the endpoint's id as additional data, so a sealed secret opens only for its own endpoint.
// Someone who can read the table (an export, a backup, a read-only role) learns no secret;
// docs/SECURITY.md says why this is worth its one Secrets Manager read per cold start.
type Sealer struct {
	aead cipher.AEAD
}

// sealVersion prefixes sealed values, so the scheme can change without guessing.
const sealVersion = "v1."

// MinSealKeyLen is the shortest master key accepted (bytes).
const MinSealKeyLen = 32

// NewSealer returns a sealer keyed by master (at least MinSealKeyLen bytes).
func NewSealer(master string) (*Sealer, error) {
	if len(master) < MinSealKeyLen {
		return nil, fmt.Errorf("webhook secret key is %d bytes; at least %d are needed", len(master), MinSealKeyLen)
	}
	key, err := hkdf.Key(sha256.New, []byte(master), nil, "referrals webhook endpoint secrets v1", 32)
	if err != nil {
		return nil, fmt.Errorf("webhook secret key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("webhook secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("webhook secret key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts an endpoint's secret.
func (s *Sealer) Seal(endpointID, secret string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(secret)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal webhook secret: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, []byte(secret), []byte(endpointID))
	return sealVersion + base64.RawStdEncoding.EncodeToString(out), nil
}

// ErrUnsealable means a sealed secret does not open: another key, another endpoint, or damage.
var ErrUnsealable = errors.New("webhook secret does not open with this key")

// Open decrypts a secret sealed for endpointID.
func (s *Sealer) Open(endpointID, sealed string) (string, error) {
	b64, ok := strings.CutPrefix(sealed, sealVersion)
	if !ok {
		return "", ErrUnsealable
	}
	b, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(b) < s.aead.NonceSize()+s.aead.Overhead() {
		return "", ErrUnsealable
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(endpointID))
	if err != nil {
		return "", ErrUnsealable
	}
	return string(plain), nil
}

// LoadSealer returns the sealer of the master key, the Secrets Manager secret arn. Call it once
// per container (in main).
func LoadSealer(ctx context.Context, sm platform.SecretsManager, arn string) (*Sealer, error) {
	key, err := platform.SecretValue(ctx, sm, "webhook secret key (WEBHOOK_SECRET_KEY_ARN)", arn)
	if err != nil {
		return nil, err
	}
	return NewSealer(key)
}
