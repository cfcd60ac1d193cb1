package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Keys serves GET /keys, POST /keys and DELETE /keys/{keyId}.
type Keys struct {
	Store *store.Store
}

// NewKeys returns the keys function's router.
func NewKeys(s *store.Store, log *slog.Logger) *Router {
	h := &Keys{Store: s}
	return NewRouter(log,
		Route{"GET /keys", auth.ScopeAdmin, h.list},
		Route{"POST /keys", auth.ScopeAdmin, h.create},
		Route{"DELETE /keys/{keyId}", auth.ScopeAdmin, h.revoke},
	)
}

// KeyInput is the body of POST /keys.
type KeyInput struct {
	Scope string `json:"scope"`
	Name  string `json:"name"`
}

func (in *KeyInput) validate() error {
	switch in.Scope {
	case auth.ScopeAdmin, auth.ScopeServer:
	case "":
		return referral.Invalid("scope", "scope is required: admin or server")
	default:
		return referral.Invalid("scope", "scope must be admin or server")
	}
	return referral.ValidText("name", in.Name, 200, false)
}

// IssuedKey is the answer to POST /keys: the only time the secret is shown.
type IssuedKey struct {
	KeyID     string    `json:"keyId"`
	Scope     string    `json:"scope"`
	Name      string    `json:"name"`
	Secret    string    `json:"secret"`
	CreatedAt time.Time `json:"createdAt"`
}

func (h *Keys) create(ctx context.Context, req Request) (Response, error) {
	var in KeyInput
	if err := decode(req, &in); err != nil {
		return Response{}, err
	}
	if err := in.validate(); err != nil {
		return Response{}, err
	}
	secret, err := auth.NewSecret()
	if err != nil {
		return Response{}, fmt.Errorf("new key: %w", err)
	}
	k, err := h.Store.CreateAPIKey(ctx, auth.Hash(secret), secret[len(secret)-4:], in.Scope, in.Name)
	if err != nil {
		return Response{}, err
	}
	resp := JSON(http.StatusCreated, IssuedKey{KeyID: k.KeyID, Scope: k.Scope, Name: k.Name, Secret: secret, CreatedAt: k.CreatedAt})
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

// KeyList is the body of GET /keys: the keys without their secrets.
type KeyList struct {
	Keys       []store.APIKey `json:"keys"`
	NextCursor *string        `json:"nextCursor"`
}

func (h *Keys) list(ctx context.Context, req Request) (Response, error) {
	page, err := pageOf(req)
	if err != nil {
		return Response{}, err
	}
	ks, next, err := h.Store.ListAPIKeys(ctx, page)
	if err != nil {
		return Response{}, err
	}
	resp := JSON(http.StatusOK, KeyList{Keys: ks, NextCursor: next})
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

func (h *Keys) revoke(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "keyId")
	if err != nil {
		return Response{}, err
	}
	if _, err := h.Store.RevokeAPIKey(ctx, id); err != nil {
		return Response{}, err
	}
	return Response{StatusCode: http.StatusNoContent, Headers: map[string]string{}}, nil
}
