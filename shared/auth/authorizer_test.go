package auth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeSecrets is Secrets Manager holding one secret; it counts reads.
type fakeSecrets struct {
	value string
	err   error
	reads atomic.Int32
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.reads.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	if aws.ToString(in.SecretId) != "arn:aws:secretsmanager:us-east-1:123456789012:secret:BootstrapAdminKey" {
		return nil, errors.New("ResourceNotFoundException")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value + "\n")}, nil
}

const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:BootstrapAdminKey"

func newAuthorizer(t *testing.T, b *Bootstrap) (*Authorizer, *store.Store) {
	t.Helper()
	db := dynamotest.Start(t)
	s := store.New(db.Client, db.Table, nil)
	return &Authorizer{Keys: s, Bootstrap: b, Log: quiet}, s
}

// loadAuthorizerEvent reads events/<name> as the payload 2.0 REQUEST event API Gateway sends
// to a Lambda authorizer; a field the real type lacks fails.
func loadAuthorizerEvent(t *testing.T, name string) events.APIGatewayV2CustomAuthorizerV2Request {
	t.Helper()
	var ev events.APIGatewayV2CustomAuthorizerV2Request
	if err := samtemplate.DecodeEvent(name, &ev); err != nil {
		t.Fatalf("not an HTTP API authorizer event: %v", err)
	}
	if ev.Version != "2.0" || ev.Type != "REQUEST" || len(ev.IdentitySource) != 1 || ev.IdentitySource[0] != ev.Headers["authorization"] {
		t.Fatalf("events/%s: want a 2.0 REQUEST event whose identitySource is its authorization header", name)
	}
	return ev
}

func TestSampleAuthorizerEvents(t *testing.T) {
	// The samples use make dev's admin key, which its Secrets Manager serves as the secret.
	a, _ := newAuthorizer(t, &Bootstrap{Secrets: &fakeSecrets{value: "dev-admin-key"}, SecretID: secretARN})
	for _, c := range []struct {
		event, scope, keyID string
	}{
		{"authorizer-admin-key.json", ScopeAdmin, BootstrapKeyID},
		{"authorizer-unknown-key.json", "", ""},
		{"authorizer-malformed.json", "", ""},
	} {
		t.Run(c.event, func(t *testing.T) {
			resp, err := a.Handle(context.Background(), loadAuthorizerEvent(t, c.event))
			if err != nil {
				t.Fatal(err)
			}
			// Always authorized: the functions' routers answer 401 for an empty scope.
			if !resp.IsAuthorized || resp.Context[ContextScope] != c.scope || resp.Context[ContextKeyID] != c.keyID {
				t.Fatalf("got %+v, want scope %q keyId %q", resp, c.scope, c.keyID)
			}
		})
	}
}

func TestIssuedKeysResolveToTheirScopeUntilRevoked(t *testing.T) {
	a, s := newAuthorizer(t, nil)
	ctx := context.Background()
	for _, scope := range []string{ScopeServer, ScopeAdmin} {
		secret, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		k, err := s.CreateAPIKey(ctx, Hash(secret), secret[len(secret)-4:], scope, "key "+scope)
		if err != nil {
			t.Fatal(err)
		}
		d, err := a.Decide(ctx, "Bearer "+secret)
		if err != nil || d.Scope != scope || d.KeyID != k.KeyID {
			t.Fatalf("%s key: %+v %v", scope, d, err)
		}
		if d, _ := a.Decide(ctx, "bearer  "+secret+" "); d.Scope != scope {
			t.Fatalf("the scheme is case-insensitive and space around the key is ignored: %+v", d)
		}
		if _, err := s.RevokeAPIKey(ctx, k.KeyID); err != nil {
			t.Fatal(err)
		}
		if d, err := a.Decide(ctx, "Bearer "+secret); err != nil || d.Scope != "" || d.Reason != "revoked key" {
			t.Fatalf("revoked %s key: %+v %v", scope, d, err)
		}
	}
}

func TestMalformedAndUnknownKeysHaveNoScope(t *testing.T) {
	a, _ := newAuthorizer(t, &Bootstrap{Secrets: &fakeSecrets{value: "bootstrap-secret-value"}, SecretID: secretARN})
	secret, _ := NewSecret()
	for _, h := range []string{
		"", "Bearer", "Bearer ", "Basic ZGV2OmFkbWlu", "dev-admin-key", "Bearer dev-admin-key extra",
		"Bearer " + secret, "Bearer rk_live_", "Bearer " + strings.Repeat("a", 600), "Bearer dev-admin-ke",
		"Bearer bootstrap-secret-valu", "Token bootstrap-secret-value",
	} {
		d, err := a.Decide(context.Background(), h)
		if err != nil || d.Scope != "" {
			t.Errorf("%q: %+v %v, want no scope", h, d, err)
		}
	}
}

func TestBootstrapSecretIsAnAdminKeyReadOncePerContainer(t *testing.T) {
	sm := &fakeSecrets{value: "Xq7pLr2mN9vB4tY8wZ3kH6jD1fG5sA0c"}
	a, _ := newAuthorizer(t, &Bootstrap{Secrets: sm, SecretID: secretARN})
	for range 5 {
		d, err := a.Decide(context.Background(), "Bearer Xq7pLr2mN9vB4tY8wZ3kH6jD1fG5sA0c")
		if err != nil || d.Scope != ScopeAdmin || d.KeyID != BootstrapKeyID {
			t.Fatalf("%+v %v", d, err)
		}
	}
	if _, err := a.Decide(context.Background(), "Bearer not-the-secret"); err != nil {
		t.Fatal(err)
	}
	if n := sm.reads.Load(); n != 1 {
		t.Fatalf("Secrets Manager read %d times, want once per container", n)
	}
}

// TestNoKeyFromTheEnvironmentIsAccepted: the bootstrap secret in Secrets Manager is the only
// admin key outside the table. The variable that once let development skip it
// (BOOTSTRAP_ADMIN_KEY) grants nothing, set or not.
func TestNoKeyFromTheEnvironmentIsAccepted(t *testing.T) {
	t.Setenv("BOOTSTRAP_ADMIN_KEY", "dev-admin-key")
	sm := &fakeSecrets{value: "Xq7pLr2mN9vB4tY8wZ3kH6jD1fG5sA0c"}
	a, _ := newAuthorizer(t, NewBootstrap(sm, secretARN))
	ctx := context.Background()
	if d, err := a.Decide(ctx, "Bearer dev-admin-key"); err != nil || d.Scope != "" {
		t.Errorf("BOOTSTRAP_ADMIN_KEY's value as a key: %+v %v, want no scope", d, err)
	}
	if d, err := a.Decide(ctx, "Bearer Xq7pLr2mN9vB4tY8wZ3kH6jD1fG5sA0c"); err != nil || d.Scope != ScopeAdmin || d.KeyID != BootstrapKeyID {
		t.Errorf("the secret's value: %+v %v, want the bootstrap admin key", d, err)
	}
	noSecret, _ := newAuthorizer(t, NewBootstrap(nil, ""))
	if d, err := noSecret.Decide(ctx, "Bearer dev-admin-key"); err != nil || d.Scope != "" {
		t.Errorf("without a secret: %+v %v, want no scope", d, err)
	}
}

func TestSecretsManagerOutageIsAnErrorNotACachedRefusal(t *testing.T) {
	a, _ := newAuthorizer(t, &Bootstrap{Secrets: &fakeSecrets{err: errors.New("throttled")}, SecretID: secretARN})
	ev := loadAuthorizerEvent(t, "authorizer-admin-key.json")
	if _, err := a.Handle(context.Background(), ev); err == nil {
		t.Fatal("want an error (API Gateway answers 500 and caches nothing), not a refusal cached for 300 s")
	}
}

func TestTableOutageIsAnError(t *testing.T) {
	s := store.New(dynamotest.NewClient("http://127.0.0.1:1"), "nowhere", nil)
	a := &Authorizer{Keys: s, Log: quiet}
	secret, _ := NewSecret()
	if _, err := a.Decide(context.Background(), "Bearer "+secret); err == nil {
		t.Fatal("want an error when the table cannot be read")
	}
}

func TestSecretsAreRandomPrefixedAndHashed(t *testing.T) {
	shape := regexp.MustCompile(`^rk_live_[A-Za-z0-9_-]{43}$`)
	seen := map[string]bool{}
	for range 100 {
		s, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(s) || seen[s] {
			t.Fatalf("secret %q: wrong shape or repeated", s)
		}
		seen[s] = true
		if h := Hash(s); len(h) != 64 || strings.Contains(h, s) || Hash(s) != h {
			t.Fatalf("hash %q of %q", h, s)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for _, c := range []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER   abc  ", "abc", true},
		{"Bearer", "", false},
		{"Bearer a b", "", false},
		{"Basic abc", "", false},
		{"abc", "", false},
		{"Bearer " + strings.Repeat("x", maxTokenLength+1), "", false},
	} {
		token, ok := BearerToken(c.header)
		if token != c.token || ok != c.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", c.header, token, ok, c.token, c.ok)
		}
	}
}

// A key known by its hash (a console session's) decides as the key itself: an issued key
// until it is revoked, the bootstrap key until the secret changes, anything else not at all.
func TestDecideHashFollowsTheKey(t *testing.T) {
	sm := &fakeSecrets{value: "Xq7pLr2mN9vB4tY8wZ3kH6jD1fG5sA0c"}
	a, s := newAuthorizer(t, &Bootstrap{Secrets: sm, SecretID: secretARN})
	ctx := context.Background()
	secret, _ := NewSecret()
	k, err := s.CreateAPIKey(ctx, Hash(secret), secret[len(secret)-4:], ScopeAdmin, "console")
	if err != nil {
		t.Fatal(err)
	}
	if d, err := a.DecideHash(ctx, Hash(secret)); err != nil || d.Scope != ScopeAdmin || d.KeyID != k.KeyID {
		t.Fatalf("issued key: %+v %v", d, err)
	}
	if d, err := a.DecideHash(ctx, Hash(sm.value)); err != nil || d.Scope != ScopeAdmin || d.KeyID != BootstrapKeyID {
		t.Fatalf("bootstrap key: %+v %v", d, err)
	}
	if d, err := a.DecideHash(ctx, Hash("something else")); err != nil || d.Scope != "" {
		t.Fatalf("unknown hash: %+v %v", d, err)
	}
	if _, err := s.RevokeAPIKey(ctx, k.KeyID); err != nil {
		t.Fatal(err)
	}
	if d, err := a.DecideHash(ctx, Hash(secret)); err != nil || d.Scope != "" || d.Reason != "revoked key" {
		t.Fatalf("revoked key: %+v %v", d, err)
	}
	noBootstrap, _ := newAuthorizer(t, nil)
	if d, err := noBootstrap.DecideHash(ctx, Hash(sm.value)); err != nil || d.Scope != "" {
		t.Fatalf("without a bootstrap secret: %+v %v", d, err)
	}
}
