package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/store"
)

// Scopes a key can carry: admin may do everything, server what the merchant's
// backend needs.
const (
	ScopeAdmin  = "admin"
	ScopeServer = "server"
)

// Context keys the authorizer sets and the functions read from
// requestContext.authorizer.lambda.
const (
	ContextScope = "scope"
	ContextKeyID = "keyId"
)

// BootstrapKeyID is the key id of the one key that is not in the table, the bootstrap secret.
const BootstrapKeyID = "bootstrap"

// Keys finds an issued key by the hash of its secret; *store.Store satisfies it.
type Keys interface {
	APIKeyByHash(ctx context.Context, hash string) (store.APIKey, bool, error)
}

var _ Keys = (*store.Store)(nil)

// Authorizer is the HTTP API's Lambda authorizer (REQUEST type, payload 2.0, simple
// responses).
//
// It always answers isAuthorized true and puts the key's scope in the context; a missing,
// malformed, unknown or revoked key gets an empty scope, which every function's router
// answers with 401 (and a key without the route's scope with 403). With simple responses API
// Gateway can only turn isAuthorized false into 403, so deciding in the router is what keeps
// the API's 401/403 contract. API Gateway caches the answer per Authorization header for the
// template's ReauthorizeEvery (300 s): a revoked key stops working within five minutes.
type Authorizer struct {
	Keys      Keys
	Bootstrap *Bootstrap // nil: no bootstrap key
	Log       *slog.Logger
}

// Decision is what the authorizer concluded about one key.
type Decision struct {
	Scope  string // "" = not authenticated
	KeyID  string
	Reason string // why a key was refused, for the log
}

// Handle is the Lambda entry point. A Go error (the table or Secrets Manager unreachable)
// makes API Gateway answer 500 without caching, so a valid key is not locked out for the
// cache TTL by a passing outage.
func (a *Authorizer) Handle(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	header := req.Headers["authorization"]
	if header == "" && len(req.IdentitySource) > 0 {
		header = req.IdentitySource[0]
	}
	d, err := a.Decide(ctx, header)
	if err != nil {
		a.Log.ErrorContext(ctx, "authorizer failed", "route", req.RouteKey, "error", err.Error())
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, err
	}
	if d.Scope == "" {
		a.Log.InfoContext(ctx, "key refused", "route", req.RouteKey, "reason", d.Reason)
	} else {
		a.Log.InfoContext(ctx, "key accepted", "route", req.RouteKey, "keyId", d.KeyID, "scope", d.Scope)
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true,
		Context: map[string]any{ContextScope: d.Scope, ContextKeyID: d.KeyID}}, nil
}

// Decide finds the scope of the key in an Authorization header value. The secret itself is
// never logged or returned.
func (a *Authorizer) Decide(ctx context.Context, header string) (Decision, error) {
	if strings.TrimSpace(header) == "" {
		return Decision{Reason: "no Authorization header"}, nil
	}
	token, ok := BearerToken(header)
	if !ok {
		return Decision{Reason: "the Authorization header is not \"Bearer <key>\""}, nil
	}
	if strings.HasPrefix(token, SecretPrefix) {
		return a.issued(ctx, Hash(token))
	}
	ok, err := a.Bootstrap.matches(ctx, token)
	if err != nil {
		return Decision{}, err
	}
	if ok {
		return Decision{Scope: ScopeAdmin, KeyID: BootstrapKeyID}, nil
	}
	return Decision{Reason: "unknown key"}, nil
}

// equalSecrets compares two secrets in constant time (over their hashes, so lengths leak
// nothing either).
func equalSecrets(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// DecideHash is Decide for a key known by its hash (Hash) only: the console keeps the hash of
// the key a session signed in with and decides again on every request, so revoking the key
// (or rotating the bootstrap secret) ends the session.
func (a *Authorizer) DecideHash(ctx context.Context, hash string) (Decision, error) {
	d, err := a.issued(ctx, hash)
	if err != nil || d.KeyID != "" {
		return d, err
	}
	if a.Bootstrap == nil || a.Bootstrap.Secrets == nil || a.Bootstrap.SecretID == "" {
		return d, nil
	}
	v, err := a.Bootstrap.secret(ctx)
	if err != nil {
		return Decision{}, err
	}
	if v != "" && equalSecrets(Hash(v), hash) {
		return Decision{Scope: ScopeAdmin, KeyID: BootstrapKeyID}, nil
	}
	return d, nil
}

// issued decides about an issued key (one in the table) by its secret's hash.
func (a *Authorizer) issued(ctx context.Context, hash string) (Decision, error) {
	k, found, err := a.Keys.APIKeyByHash(ctx, hash)
	switch {
	case err != nil:
		return Decision{}, fmt.Errorf("look up key: %w", err)
	case !found:
		return Decision{Reason: "unknown key"}, nil
	case k.Revoked():
		return Decision{KeyID: k.KeyID, Reason: "revoked key"}, nil
	case k.Scope != ScopeAdmin && k.Scope != ScopeServer:
		return Decision{KeyID: k.KeyID, Reason: "key with unknown scope " + k.Scope}, nil
	}
	return Decision{Scope: k.Scope, KeyID: k.KeyID}, nil
}
