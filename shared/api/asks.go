package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/referral/referrals/shared/email"
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
	return NewRouter(log, Route{"POST /asks", ScopeServer, h.create})
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

// errNoEmail refuses an ask for a customer the business has no address for.
var errNoEmail = &referral.Error{Code: "no_email", Status: http.StatusUnprocessableEntity, Msg: "the customer has no email address to send the ask to"}

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
	case TemplateAuto, email.AskCurrent, email.AskPromoCode, email.AskPastClient:
	default:
		return referral.Invalid("template", "must be auto, %s, %s or %s", email.AskCurrent, email.AskPromoCode, email.AskPastClient)
	}
	return nil
}

// AutoTemplate is the ask template for a customer (SPEC §3): past clients get
// ask-past-client, customers with a code in the program ask-promo-code, the rest ask-current.
func AutoTemplate(c referral.Customer, code string) string {
	switch {
	case c.Segment == referral.SegmentPast:
		return email.AskPastClient
	case code != "":
		return email.AskPromoCode
	default:
		return email.AskCurrent
	}
}

// create costs 1 BatchGetItem (customer, code, last ask) and 1 TransactWriteItems, plus the
// code's own read and transaction when ask-promo-code needs a code that does not exist yet.
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
		return Response{}, errNoEmail
	}
	cooldown := time.Duration(p.Emails.AskCooldownDays) * 24 * time.Hour
	if st.LastAskAt != nil && cooldown > 0 && now.Before(st.LastAskAt.Add(cooldown)) {
		return rateLimited(st.LastAskAt.Add(cooldown), now), nil
	}
	a := store.Ask{AskID: referral.NewID(now), CustomerID: in.CustomerID, ProgramID: in.ProgramID,
		Template: in.Template, Code: st.Code, CreatedAt: now}
	if a.Template == TemplateAuto {
		a.Template = AutoTemplate(st.Customer, st.Code)
	}
	if a.Template == email.AskPromoCode && a.Code == "" {
		rec, created, err := h.Store.CreateCode(ctx, &p, in.CustomerID, "")
		if err != nil {
			return Response{}, fmt.Errorf("code for ask: %w", err)
		}
		a.Code = rec.Code.Code
		a.ViaCode = created && p.Emails.SendOnCodeCreated
	}
	if err := h.Store.RecordAsk(ctx, a, cooldown); err != nil {
		if errors.Is(err, referral.ErrRateLimited) { // another ask won the race
			return rateLimited(now.Add(cooldown), now), nil
		}
		return Response{}, err
	}
	return JSON(http.StatusAccepted, AskOutput{AskID: a.AskID, CustomerID: a.CustomerID, ProgramID: a.ProgramID, Template: a.Template}), nil
}

// rateLimited is the 429 of an ask inside the cooldown, with Retry-After in seconds.
func rateLimited(next, now time.Time) Response {
	wait := int64(math.Ceil(next.Sub(now).Seconds()))
	resp := JSON(http.StatusTooManyRequests, errorBody{errorDetail{Code: referral.ErrRateLimited.Code,
		Message: "the customer was asked in this program less than askCooldownDays ago; they can be asked again from " + next.UTC().Format(time.RFC3339),
		Details: map[string]string{"nextAskAt": next.UTC().Format(time.RFC3339)}}})
	resp.Headers["Retry-After"] = strconv.FormatInt(max(wait, 1), 10)
	return resp
}
