package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/webhook"
)

// Webhooks serves the webhook endpoint routes: registration (the signing secret shown once),
// listing, deletion, secret rotation, the delivery log and redelivery.
type Webhooks struct {
	Store  *store.Store
	Sealer *webhook.Sealer
	Guard  *webhook.Guard
	Queue  webhook.Queue
	Log    *slog.Logger
}

// NewWebhooks returns the webhooks function's router.
func NewWebhooks(s *store.Store, sealer *webhook.Sealer, guard *webhook.Guard, queue webhook.Queue, log *slog.Logger) *Router {
	h := &Webhooks{Store: s, Sealer: sealer, Guard: guard, Queue: queue, Log: log}
	return NewRouter(log,
		Route{"POST /webhook-endpoints", auth.ScopeAdmin, h.create},
		Route{"GET /webhook-endpoints", auth.ScopeAdmin, h.list},
		Route{"DELETE /webhook-endpoints/{endpointId}", auth.ScopeAdmin, h.delete},
		Route{"POST /webhook-endpoints/{endpointId}/rotate-secret", auth.ScopeAdmin, h.rotate},
		Route{"GET /webhook-endpoints/{endpointId}/deliveries", auth.ScopeAdmin, h.deliveries},
		Route{"POST /webhook-deliveries/{deliveryId}/redeliver", auth.ScopeAdmin, h.redeliver},
	)
}

// WebhookEndpointBody is the body of POST /webhook-endpoints.
type WebhookEndpointBody struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

// EndpointWithSecret is an endpoint with its new signing secret: the answer to registration and
// rotation, the only times the secret is shown.
type EndpointWithSecret struct {
	referral.WebhookEndpoint
	Secret string `json:"secret"`
}

func (h *Webhooks) create(ctx context.Context, req Request) (Response, error) {
	var in WebhookEndpointBody
	if err := decode(req, &in); err != nil {
		return Response{}, err
	}
	v := referral.WebhookEndpointInput{URL: in.URL, Events: in.Events, Description: in.Description}
	if err := v.Validate(h.Guard.AllowsHTTP()); err != nil {
		return Response{}, err
	}
	if err := h.Guard.CheckURL(ctx, v.URL); err != nil {
		return Response{}, err
	}
	now := h.Store.Now()
	ep := referral.WebhookEndpoint{EndpointID: "we_" + referral.NewID(now), URL: v.URL, Events: v.Events,
		Description: v.Description, CreatedAt: now, UpdatedAt: now}
	secret, sealed, err := h.newSecret(ep.EndpointID)
	if err != nil {
		return Response{}, err
	}
	if err := h.Store.CreateWebhookEndpoint(ctx, ep, sealed); err != nil {
		return Response{}, err
	}
	return noStore(JSON(http.StatusCreated, EndpointWithSecret{WebhookEndpoint: ep, Secret: secret})), nil
}

// newSecret makes a signing secret for an endpoint, and seals it for the table.
func (h *Webhooks) newSecret(endpointID string) (secret, sealed string, err error) {
	if secret, err = webhook.NewSecret(); err != nil {
		return "", "", err
	}
	if sealed, err = h.Sealer.Seal(endpointID, secret); err != nil {
		return "", "", err
	}
	return secret, sealed, nil
}

// noStore keeps a response that shows a secret out of every cache.
func noStore(resp Response) Response {
	resp.Headers["Cache-Control"] = "no-store"
	return resp
}

// WebhookEndpointList is the body of GET /webhook-endpoints.
type WebhookEndpointList struct {
	Endpoints  []referral.WebhookEndpoint `json:"endpoints"`
	NextCursor *string                    `json:"nextCursor"`
}

func (h *Webhooks) list(ctx context.Context, req Request) (Response, error) {
	page, err := pageOf(req)
	if err != nil {
		return Response{}, err
	}
	eps, next, err := h.Store.ListWebhookEndpoints(ctx, page)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, WebhookEndpointList{Endpoints: eps, NextCursor: next}), nil
}

func (h *Webhooks) delete(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "endpointId")
	if err != nil {
		return Response{}, err
	}
	if err := h.Store.DeleteWebhookEndpoint(ctx, id); err != nil {
		return Response{}, err
	}
	return Response{StatusCode: http.StatusNoContent, Headers: map[string]string{}}, nil
}

// RotateSecretBody is the optional body of POST /webhook-endpoints/{endpointId}/rotate-secret.
type RotateSecretBody struct {
	// GracePeriodHours is how long the current secret keeps signing beside the new one
	// (default 24; 0 stops it at once, for a leaked secret; at most 168).
	GracePeriodHours *int `json:"gracePeriodHours"`
}

func (h *Webhooks) rotate(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "endpointId")
	if err != nil {
		return Response{}, err
	}
	grace := referral.DefaultWebhookGrace
	if b, err := body(req); err != nil {
		return Response{}, err
	} else if len(b) > 0 {
		var in RotateSecretBody
		if err := decode(req, &in); err != nil {
			return Response{}, err
		}
		if in.GracePeriodHours != nil {
			hours := time.Duration(*in.GracePeriodHours) * time.Hour
			if *in.GracePeriodHours < 0 || hours > referral.MaxWebhookGracePeriod {
				return Response{}, referral.Invalid("gracePeriodHours", "must be a whole number of hours from 0 to %d", int(referral.MaxWebhookGracePeriod.Hours()))
			}
			grace = hours
		}
	}
	secret, sealed, err := h.newSecret(id)
	if err != nil {
		return Response{}, err
	}
	ep, err := h.Store.RotateWebhookSecret(ctx, id, sealed, grace)
	if err != nil {
		return Response{}, err
	}
	return noStore(JSON(http.StatusOK, EndpointWithSecret{WebhookEndpoint: ep, Secret: secret})), nil
}

// DeliveryList is the body of GET /webhook-endpoints/{endpointId}/deliveries.
type DeliveryList struct {
	Deliveries []referral.WebhookDelivery `json:"deliveries"`
	NextCursor *string                    `json:"nextCursor"`
}

func (h *Webhooks) deliveries(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "endpointId")
	if err != nil {
		return Response{}, err
	}
	page, err := pageOf(req)
	if err != nil {
		return Response{}, err
	}
	if ep, err := h.Store.WebhookEndpoint(ctx, id); err != nil {
		return Response{}, err
	} else if ep.Deleted {
		return Response{}, referral.ErrWebhookNotFound
	}
	ds, next, err := h.Store.ListWebhookDeliveries(ctx, id, page)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, DeliveryList{Deliveries: ds, NextCursor: next}), nil
}

func (h *Webhooks) redeliver(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "deliveryId")
	if err != nil {
		return Response{}, err
	}
	d, found, err := h.Store.WebhookDelivery(ctx, id)
	if err != nil {
		return Response{}, err
	}
	if !found {
		return Response{}, referral.ErrDeliveryNotFound
	}
	ep, err := h.Store.WebhookEndpoint(ctx, d.EndpointID)
	if errors.Is(err, referral.ErrWebhookNotFound) || (err == nil && ep.Deleted) {
		return Response{}, referral.ErrWebhookNotFound.With("the delivery's endpoint was deleted", nil)
	}
	if err != nil {
		return Response{}, err
	}
	d, err = h.Store.RedeliverWebhook(ctx, id)
	if err != nil {
		return Response{}, err
	}
	if err := h.Queue.Send(ctx, webhook.Message{DeliveryID: d.DeliveryID, Attempt: d.AttemptCount}, 0); err != nil {
		// The delivery is due but not queued: say so. A redelivery a minute later queues it.
		h.Log.WarnContext(ctx, "redelivery not queued", "deliveryId", id, "error", err.Error())
		return Response{}, referral.ErrUnavailable.With("the delivery could not be queued; redeliver it again in a minute", nil).
			RetryIn(store.StuckAfter)
	}
	return JSON(http.StatusAccepted, d.WebhookDelivery), nil
}
