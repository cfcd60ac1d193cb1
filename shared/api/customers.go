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

// Customers serves PUT/PATCH/GET/DELETE /customers/{customerId}.
type Customers struct {
	Store *store.Store
}

// NewCustomers returns the customers function's router.
func NewCustomers(s *store.Store, log *slog.Logger) *Router {
	h := &Customers{Store: s}
	return NewRouter(log,
		Route{"PUT /customers/{customerId}", auth.ScopeServer, h.put},
		Route{"PATCH /customers/{customerId}", auth.ScopeServer, h.patch},
		Route{"GET /customers/{customerId}", auth.ScopeServer, h.get},
		Route{"DELETE /customers/{customerId}", auth.ScopeAdmin, h.erase},
		Route{"PUT /blocklist/{customerId}", auth.ScopeAdmin, h.blocker(true)},
		Route{"DELETE /blocklist/{customerId}", auth.ScopeAdmin, h.blocker(false)},
	)
}

// CustomerView is a customer as GET /customers/{customerId} shows them: with who referred
// them, one entry per program they were referred in (oldest first).
type CustomerView struct {
	referral.Customer
	ReferredBy []ReferredBy `json:"referredBy"`
}

// ReferredBy is the advocate who referred a customer in a program.
type ReferredBy struct {
	AdvocateID string    `json:"advocateId"`
	ProgramID  string    `json:"programId"`
	Code       string    `json:"code"`
	ReferredAt time.Time `json:"referredAt"`
}

// blocker serves PUT /blocklist/{customerId} (blocked true) and DELETE: no body; the customer
// as stored after.
func (h *Customers) blocker(blocked bool) func(context.Context, Request) (Response, error) {
	return func(ctx context.Context, req Request) (Response, error) {
		id, err := pathID(req, "customerId")
		if err != nil {
			return Response{}, err
		}
		if err := noBody(req); err != nil {
			return Response{}, err
		}
		c, err := h.Store.SetBlocked(ctx, id, blocked)
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusOK, c), nil
	}
}

// CustomerInput is the body of PUT /customers/{customerId}: the whole customer. A field left
// out is reset to its default (no email or name, locale en, segment current, no purchases),
// except marketingOptOut, which keeps the customer's own choice unless it is given.
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

// CustomerPatchInput is the body of PATCH /customers/{customerId}, a JSON merge patch (RFC 7396,
// application/merge-patch+json): a field given is set, a field given as null goes back to
// its default, a field left out keeps its stored value. marketingOptOut cannot be null: it is
// the customer's choice, changed only by saying true or false.
type CustomerPatchInput struct {
	Email            *string    `json:"email"`
	Name             *string    `json:"name"`
	Locale           *string    `json:"locale"`
	Segment          *string    `json:"segment"`
	PurchaseCount    *int       `json:"purchaseCount"`
	FirstPurchaseAt  *time.Time `json:"firstPurchaseAt"`
	MarketingOptOut  *bool      `json:"marketingOptOut"`
	StripeCustomerID *string    `json:"stripeCustomerId"`
}

// mergePatchJSON is the media type of a JSON merge patch (RFC 7396).
const mergePatchJSON = "application/merge-patch+json"

// customerFields validates the customer fields that u sets, normalizing them in place (an
// empty locale is en, an empty segment current, times UTC). PUT and PATCH share it.
func customerFields(u *store.CustomerChanges, now time.Time) error {
	if u.Email != nil && *u.Email != "" {
		if err := referral.ValidEmail("email", *u.Email); err != nil {
			return err
		}
	}
	if u.Name != nil {
		if err := validName("name", *u.Name); err != nil {
			return err
		}
	}
	if u.Locale != nil {
		if *u.Locale == "" {
			*u.Locale = "en"
		} else if err := referral.ValidLocale("locale", *u.Locale); err != nil {
			return err
		}
	}
	if u.Segment != nil {
		switch *u.Segment {
		case "":
			*u.Segment = referral.SegmentCurrent
		case referral.SegmentCurrent, referral.SegmentPast:
		default:
			return referral.Invalid("segment", "must be current or past")
		}
	}
	if u.StripeCustomerID != nil && *u.StripeCustomerID != "" {
		if err := referral.ValidStripeCustomerID("stripeCustomerId", *u.StripeCustomerID); err != nil {
			return err
		}
	}
	if u.PurchaseCount != nil && (*u.PurchaseCount < 0 || *u.PurchaseCount > 1_000_000) {
		return referral.Invalid("purchaseCount", "must be from 0 to 1000000")
	}
	if u.FirstPurchaseAt != nil {
		if u.FirstPurchaseAt.After(now.Add(5*time.Minute)) || u.FirstPurchaseAt.Year() < 1970 {
			return referral.Invalid("firstPurchaseAt", "must be a past time")
		}
		t := u.FirstPurchaseAt.UTC()
		u.FirstPurchaseAt = &t
	}
	return nil
}

// validate checks and normalizes the whole customer that a PUT writes.
func (in *CustomerInput) validate(now time.Time) error {
	return customerFields(&store.CustomerChanges{Email: &in.Email, Name: &in.Name, Locale: &in.Locale, Segment: &in.Segment,
		PurchaseCount: &in.PurchaseCount, FirstPurchaseAt: in.FirstPurchaseAt, StripeCustomerID: &in.StripeCustomerID}, now)
}

// changes is what a merge patch changes; members holds the patch's top-level members as sent,
// to tell a null (back to the default) from a field left out.
func (p *CustomerPatchInput) changes(members map[string]any) (store.CustomerChanges, error) {
	var u store.CustomerChanges
	reset := func(name string) bool { v, ok := members[name]; return ok && v == nil }
	empty := func(set *string, name string) *string {
		if set == nil && reset(name) {
			return new(string)
		}
		return set
	}
	u.Email, u.Name, u.Locale, u.Segment = empty(p.Email, "email"), empty(p.Name, "name"), empty(p.Locale, "locale"), empty(p.Segment, "segment")
	u.StripeCustomerID = empty(p.StripeCustomerID, "stripeCustomerId")
	u.PurchaseCount = p.PurchaseCount
	if p.PurchaseCount == nil && reset("purchaseCount") {
		u.PurchaseCount = new(int)
	}
	u.FirstPurchaseAt, u.ClearFirstPurchaseAt = p.FirstPurchaseAt, reset("firstPurchaseAt")
	if reset("marketingOptOut") {
		return u, referral.Invalid("marketingOptOut", "cannot be removed: it is the customer's choice; send true or false")
	}
	u.MarketingOptOut = p.MarketingOptOut
	return u, nil
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

// patch applies a JSON merge patch to a stored customer; an unknown customer is a 404 (PUT
// creates customers).
func (h *Customers) patch(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "customerId")
	if err != nil {
		return Response{}, err
	}
	var in CustomerPatchInput
	members, err := decodeAs(req, &in, mergePatchJSON)
	if err != nil {
		return Response{}, err
	}
	u, err := in.changes(members)
	if err != nil {
		return Response{}, err
	}
	if err := customerFields(&u, h.Store.Now()); err != nil {
		return Response{}, err
	}
	c, err := h.Store.PatchCustomer(ctx, id, u)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, c), nil
}

func (h *Customers) get(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "customerId")
	if err != nil {
		return Response{}, err
	}
	c, refs, err := h.Store.CustomerWithReferrals(ctx, id)
	if err != nil {
		return Response{}, err
	}
	view := CustomerView{Customer: c, ReferredBy: make([]ReferredBy, len(refs))}
	for i, r := range refs {
		view.ReferredBy[i] = ReferredBy{AdvocateID: r.AdvocateID, ProgramID: r.ProgramID, Code: r.Code, ReferredAt: r.CreatedAt}
	}
	return JSON(http.StatusOK, view), nil
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
