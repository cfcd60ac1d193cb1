package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/referral/referrals/shared/referral"
)

// API keys are kept as two items written together: one under the SHA-256 of the secret, so
// the authorizer finds a key in one GetItem without the secret ever being stored, and one
// under the key id, so an admin can revoke a key by the id they were shown.
//
//	item         PK                  SK      GSI1PK   GSI1SK
//	apikey       APIKEY#<sha256 hex> APIKEY  -        -
//	apikey id    KEY#<keyId>         KEY     APIKEYS  <keyId> (time-ordered: the list, oldest first)
const (
	TypeAPIKey   = "apikey"
	TypeAPIKeyID = "apikey_id"
)

// APIKey is an issued API key without its secret.
type APIKey struct {
	KeyID     string     `json:"keyId"`
	Scope     string     `json:"scope"`
	Name      string     `json:"name"`
	Last4     string     `json:"last4,omitempty"` // the secret's last 4 characters, to tell keys apart
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// Revoked reports whether the key was revoked.
func (k *APIKey) Revoked() bool { return k.RevokedAt != nil }

type apiKeyItem struct {
	PK   string `json:"PK"`
	SK   string `json:"SK"`
	Type string `json:"type"`
	APIKey
}

type apiKeyIDItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI1PK string `json:"GSI1PK,omitempty"`
	GSI1SK string `json:"GSI1SK,omitempty"`
	Type   string `json:"type"`
	Hash   string `json:"hash"` // SHA-256 of the secret: finds the key item to revoke
	APIKey
}

// CreateAPIKey stores a new key under the hash of its secret, with the secret's last 4
// characters (1 TransactWriteItems: the hash item and the id item, both only if new).
func (s *Store) CreateAPIKey(ctx context.Context, hash, last4, scope, name string) (APIKey, error) {
	now := s.now()
	k := APIKey{KeyID: "key_" + referral.NewID(now), Scope: scope, Name: name, Last4: last4, CreatedAt: now}
	err := s.transact(ctx,
		putNew(apiKeyItem{PK: apiKeyPK(hash), SK: apiKeySK, Type: TypeAPIKey, APIKey: k}),
		putNew(apiKeyIDItem{PK: apiKeyIDPK(k.KeyID), SK: apiKeyIDSK, GSI1PK: apiKeysPK, GSI1SK: k.KeyID,
			Type: TypeAPIKeyID, Hash: hash, APIKey: k}))
	if err != nil {
		// Both keys are fresh random values: a failed condition is as unexpected as an outage.
		return APIKey{}, unavailable(fmt.Errorf("create API key: %w", err))
	}
	return k, nil
}

// APIKeyByHash finds a key by the SHA-256 of its secret (1 consistent GetItem, so a key works
// the moment it is issued). found is false for an unknown secret.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (k APIKey, found bool, err error) {
	var it apiKeyItem
	found, err = s.getItem(ctx, apiKeyPK(hash), apiKeySK, &it)
	if err != nil {
		return APIKey{}, false, fmt.Errorf("get API key: %w", err)
	}
	return it.APIKey, found, nil
}

// ListAPIKeys is the access pattern "the issued keys, oldest first, revoked ones too": 1 Query
// of GSI5 partition APIKEYS for the page's keys, then 1 eventually consistent BatchGetItem per
// 100 of them for the keys as stored (0.5 RRU each). Keys issued before the list existed are
// not in it.
func (s *Store) ListAPIKeys(ctx context.Context, page Page) ([]APIKey, *string, error) {
	var items []apiKeyIDItem
	next, err := s.queryThrough(ctx, GSI5, apiKeysPK, page, true, &items)
	if err != nil {
		return nil, nil, fmt.Errorf("list API keys: %w", err)
	}
	out := make([]APIKey, len(items))
	for i := range items {
		out[i] = items[i].APIKey
	}
	return out, next, nil
}

// RevokeAPIKey revokes a key by id: 1 consistent GetItem (the id item) and 1
// TransactWriteItems stamping revokedAt on both items. Revoking a revoked key answers the
// same; an unknown id is ErrKeyNotFound.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) (APIKey, error) {
	now := s.now()
	var it apiKeyIDItem
	found, err := s.getItem(ctx, apiKeyIDPK(id), apiKeyIDSK, &it)
	if err != nil {
		return APIKey{}, fmt.Errorf("revoke API key %s: %w", id, err)
	}
	if !found {
		return APIKey{}, referral.ErrKeyNotFound
	}
	if it.Revoked() {
		return it.APIKey, nil
	}
	cond := expression.AttributeExists(expression.Name("PK")).And(expression.AttributeNotExists(expression.Name("revokedAt")))
	stampRevoked := expression.Set(expression.Name("revokedAt"), expression.Value(now))
	err = s.transact(ctx,
		update(apiKeyIDPK(id), apiKeyIDSK, stampRevoked, &cond),
		update(apiKeyPK(it.Hash), apiKeySK, stampRevoked, &cond))
	if reasons := cancellationReasons(err); reasons != nil && reasons[0] == "ConditionalCheckFailed" {
		return s.RevokeAPIKey(ctx, id) // revoked concurrently: answer what is stored
	}
	if err != nil {
		return APIKey{}, unavailable(fmt.Errorf("revoke API key %s: %w", id, err))
	}
	it.RevokedAt = &now
	return it.APIKey, nil
}
