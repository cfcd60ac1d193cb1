package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Asks serves POST /asks: it records an ask, and the table's stream sends the email.
type Asks struct {
	Store    *store.Store
	Programs *store.ProgramCache
}

// NewAsks returns the asks function's router.
func NewAsks(s *store.Store, programs *store.ProgramCache, log *slog.Logger) *Router {
	h := &Asks{Store: s, Programs: programs}
	return NewRouter(log, Route{"POST /asks", auth.ScopeServer, h.create})
}

// AskInput is the body of POST /asks.
type AskInput struct {
	CustomerID string `json:"customerId"`
	ProgramID  string `json:"programId"`
	Template   string `json:"template"`
}

// AskOutput is the 202 answer of POST /asks.
type AskOutput struct {
	AskID      string `json:"askId"`
	CustomerID string `json:"customerId"`
	ProgramID  string `json:"programId"`
	Template   string `json:"template"`
}

// TemplateAuto lets POST /asks pick the ask template from what is known of the customer.
const TemplateAuto = "auto"

func (in *AskInput) validate() error {
	if err := referral.ValidID("customerId", in.CustomerID); err != nil {
		return err
	}
	if err := referral.ValidID("programId", in.ProgramID); err != nil {
		return err
	}
	switch in.Template {
	case "":
		in.Template = TemplateAuto
	case TemplateAuto, referral.EmailAskCurrent, referral.EmailAskPromoCode, referral.EmailAskPastClient:
	default:
		return referral.Invalid("template", "must be auto, %s, %s or %s", referral.EmailAskCurrent, referral.EmailAskPromoCode, referral.EmailAskPastClient)
	}
	return nil
}

// AutoTemplate is the ask template for a customer: past clients get
// ask-past-client, customers with a code in the program ask-promo-code, the rest ask-current.
func AutoTemplate(c referral.Customer, code string) string {
	switch {
	case c.Segment == referral.SegmentPast:
		return referral.EmailAskPastClient
	case code != "":
		return referral.EmailAskPromoCode
	default:
		return referral.EmailAskCurrent
	}
}

// create costs 1 BatchGetItem (customer, code, last ask), 1 GetItem (the suppression list) and
// 1 TransactWriteItems, plus the code's own read and transaction when the customer has no code
// in the program yet.
func (h *Asks) create(ctx context.Context, req Request) (Response, error) {
	var in AskInput
	if err := decode(req, &in); err != nil {
		return Response{}, err
	}
	if err := in.validate(); err != nil {
		return Response{}, err
	}
	p, err := h.Programs.Get(ctx, in.ProgramID)
	if err != nil {
		return Response{}, err
	}
	now := h.Store.Now()
	if !p.ActiveAt(now) {
		return Response{}, referral.ErrProgramInactive
	}
	st, err := h.Store.AskState(ctx, in.CustomerID, in.ProgramID)
	if err != nil {
		return Response{}, err
	}
	switch {
	case st.Customer.MarketingOptOut:
		return Response{}, referral.ErrOptedOut
	case st.Customer.Email == "":
		return Response{}, referral.ErrNoEmail
	}
	if _, suppressed, err := h.Store.Suppressed(ctx, st.Customer.Email); err != nil {
		return Response{}, err
	} else if suppressed {
		return Response{}, referral.ErrEmailSuppressed
	}
	cooldown := time.Duration(p.Emails.AskCooldownDays) * 24 * time.Hour
	if st.LastAskAt != nil && cooldown > 0 && now.Before(st.LastAskAt.Add(cooldown)) {
		return Response{}, rateLimited(st.LastAskAt.Add(cooldown), now)
	}
	a := store.Ask{AskID: referral.NewID(now), CustomerID: in.CustomerID, ProgramID: in.ProgramID,
		Template: in.Template, Code: st.Code, CreatedAt: now}
	if a.Template == TemplateAuto {
		a.Template = AutoTemplate(st.Customer, st.Code)
	}
	if a.Code == "" {
		// Every ask carries the advocate's code and link: one is made now, by the usual code
		// rules, and marked as the ask's, so that the ask's email alone announces it.
		rec, created, err := h.Store.CreateAskCode(ctx, &p, in.CustomerID)
		if err != nil {
			return Response{}, fmt.Errorf("code for ask: %w", err)
		}
		a.Code, a.CodeCreated = rec.Code.Code, created
	}
	if err := h.Store.RecordAsk(ctx, a, cooldown); err != nil {
		if errors.Is(err, referral.ErrRateLimited) { // another ask won the race
			return Response{}, rateLimited(now.Add(cooldown), now)
		}
		return Response{}, err
	}
	return JSON(http.StatusAccepted, AskOutput{AskID: a.AskID, CustomerID: a.CustomerID, ProgramID: a.ProgramID, Template: a.Template}), nil
}

// rateLimited is the 429 of an ask inside the cooldown: when the customer can be asked again,
// in the message, the details and Retry-After.
func rateLimited(next, now time.Time) error {
	at := next.UTC().Format(time.RFC3339)
	return referral.ErrRateLimited.With("the customer was asked in this program less than askCooldownDays ago; they can be asked again from "+at,
		map[string]string{"nextAskAt": at}).RetryIn(next.Sub(now))
}
