package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Customers serves PUT/GET/DELETE /customers/{customerId}.
type Customers struct {
	Store *store.Store
}

// NewCustomers returns the customers function's router.
func NewCustomers(s *store.Store, log *slog.Logger) *Router {
	h := &Customers{Store: s}
	return NewRouter(log,
		Route{"PUT /customers/{customerId}", auth.ScopeServer, h.put},
		Route{"GET /customers/{customerId}", auth.ScopeServer, h.get},
		Route{"DELETE /customers/{customerId}", auth.ScopeAdmin, h.erase},
	)
}

// CustomerInput is the body of PUT /customers/{customerId}.
type CustomerInput struct {
	Email           string     `json:"email"`
	Name            string     `json:"name"`
	Locale          string     `json:"locale"`
	Segment         string     `json:"segment"`
	PurchaseCount   int        `json:"purchaseCount"`
	FirstPurchaseAt *time.Time `json:"firstPurchaseAt"`
	MarketingOptOut *bool      `json:"marketingOptOut"`
	// StripeCustomerID links the customer to the merchant's Stripe account (cus_…).
	StripeCustomerID string `json:"stripeCustomerId"`
}

func (in *CustomerInput) validate(now time.Time) error {
	if in.Email != "" {
		if err := referral.ValidEmail("email", in.Email); err != nil {
			return err
		}
	}
	if err := validName("name", in.Name); err != nil {
		return err
	}
	if in.Locale == "" {
		in.Locale = "en"
	} else if err := referral.ValidLocale("locale", in.Locale); err != nil {
		return err
	}
	switch in.Segment {
	case "":
		in.Segment = referral.SegmentCurrent
	case referral.SegmentCurrent, referral.SegmentPast:
	default:
		return referral.Invalid("segment", "must be current or past")
	}
	if in.StripeCustomerID != "" {
		if err := referral.ValidStripeCustomerID("stripeCustomerId", in.StripeCustomerID); err != nil {
			return err
		}
	}
	if in.PurchaseCount < 0 || in.PurchaseCount > 1_000_000 {
		return referral.Invalid("purchaseCount", "must be from 0 to 1000000")
	}
	if in.FirstPurchaseAt != nil {
		if in.FirstPurchaseAt.After(now.Add(5*time.Minute)) || in.FirstPurchaseAt.Year() < 1970 {
			return referral.Invalid("firstPurchaseAt", "must be a past time")
		}
		t := in.FirstPurchaseAt.UTC()
		in.FirstPurchaseAt = &t
	}
	return nil
}

func (h *Customers) put(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "customerId")
	if err != nil {
		return Response{}, err
	}
	var in CustomerInput
	if err := decode(req, &in); err != nil {
		return Response{}, err
	}
	if err := in.validate(h.Store.Now()); err != nil {
		return Response{}, err
	}
	c, created, err := h.Store.PutCustomer(ctx, id, store.CustomerUpdate{Email: in.Email, Name: in.Name,
		Locale: in.Locale, Segment: in.Segment, PurchaseCount: in.PurchaseCount,
		FirstPurchaseAt: in.FirstPurchaseAt, MarketingOptOut: in.MarketingOptOut, StripeCustomerID: in.StripeCustomerID})
	if err != nil {
		return Response{}, err
	}
	if created {
		return JSON(http.StatusCreated, c), nil
	}
	return JSON(http.StatusOK, c), nil
}

func (h *Customers) get(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "customerId")
	if err != nil {
		return Response{}, err
	}
	c, err := h.Store.GetCustomer(ctx, id)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, c), nil
}

// erase removes the customer's personal data; the ledger stays, keyed by id only.
func (h *Customers) erase(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "customerId")
	if err != nil {
		return Response{}, err
	}
	if err := h.Store.EraseCustomer(ctx, id); err != nil {
		return Response{}, err
	}
	return Response{StatusCode: http.StatusNoContent, Headers: map[string]string{}}, nil
}
