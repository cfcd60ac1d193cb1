package auth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// BootstrapRefresh is how long the authorizer trusts the bootstrap secret it fetched: a
// rotated secret takes effect within this time (plus the authorizer cache TTL).
const BootstrapRefresh = 15 * time.Minute

// SecretsManager is the part of the SDK client the bootstrap key needs.
type SecretsManager interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsManager = (*secretsmanager.Client)(nil)

// Bootstrap is the admin key that exists before any key was issued: the Secrets Manager secret
// the template creates, fetched on first use, then once per BootstrapRefresh per container.
// It is the only key outside the table, in every environment: `make dev` serves its
// dev-admin-key through its local Secrets Manager, so development runs this same path.
type Bootstrap struct {
	Secrets  SecretsManager // nil: no secret
	SecretID string         // ARN or name of the secret; "" = no secret
	Now      func() time.Time

	mu      sync.Mutex
	value   string
	fetched time.Time
}

// NewBootstrap returns the bootstrap key of a container: the secret secretID read through sm.
func NewBootstrap(sm SecretsManager, secretID string) *Bootstrap {
	return &Bootstrap{Secrets: sm, SecretID: secretID, Now: time.Now}
}

// matches reports whether token is the bootstrap secret.
func (b *Bootstrap) matches(ctx context.Context, token string) (bool, error) {
	if b == nil || b.Secrets == nil || b.SecretID == "" {
		return false, nil
	}
	v, err := b.secret(ctx)
	if err != nil {
		return false, err
	}
	return v != "" && equalSecrets(token, v), nil
}

// secret returns the secret's value, fetching it when it was never fetched or is older than
// BootstrapRefresh. A failed refresh keeps the value it had and is tried again a minute later.
func (b *Bootstrap) secret(ctx context.Context) (string, error) {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.fetched.IsZero() && now().Sub(b.fetched) < BootstrapRefresh {
		return b.value, nil
	}
	out, err := b.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(b.SecretID)})
	if err != nil {
		if !b.fetched.IsZero() {
			b.fetched = now().Add(time.Minute - BootstrapRefresh) // try again in a minute
			return b.value, nil
		}
		return "", fmt.Errorf("read the bootstrap admin key: %w", err)
	}
	b.value, b.fetched = strings.TrimSpace(aws.ToString(out.SecretString)), now()
	return b.value, nil
}
