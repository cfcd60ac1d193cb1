package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/referral/referrals/shared/asks"
	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Asks serves POST /asks: it records an ask, and the table's stream sends the email; or, with
// sendAt, schedules it, and the scheduler sends it when due.
type Asks struct {
	Asks  *asks.Service
	Store *store.Store
}

// NewAsks returns the asks function's router.
func NewAsks(s *store.Store, programs *store.ProgramCache, log *slog.Logger) *Router {
	h := &Asks{Asks: &asks.Service{Store: s, Programs: programs}, Store: s}
	return NewRouter(log, Route{"POST /asks", auth.ScopeServer, h.create})
}

// AskInput is the body of POST /asks.
type AskInput struct {
	CustomerID string     `json:"customerId"`
	ProgramID  string     `json:"programId"`
	Template   string     `json:"template"`
	SendAt     *time.Time `json:"sendAt"` // RFC 3339; nil sends now
}

// AskOutput is the 202 answer of POST /asks. A scheduled ask adds its status and sendAt, and
// shows the template as asked (auto is decided when it is sent).
type AskOutput struct {
	AskID      string     `json:"askId"`
	CustomerID string     `json:"customerId"`
	ProgramID  string     `json:"programId"`
	Template   string     `json:"template"`
	Status     string     `json:"status,omitempty"`
	SendAt     *time.Time `json:"sendAt,omitempty"`
}

func (in *AskInput) validate(now time.Time) error {
	if err := referral.ValidID("customerId", in.CustomerID); err != nil {
		return err
	}
	if err := referral.ValidID("programId", in.ProgramID); err != nil {
		return err
	}
	switch in.Template {
	case "":
		in.Template = referral.AskTemplateAuto
	case referral.AskTemplateAuto, referral.EmailAskCurrent, referral.EmailAskPromoCode, referral.EmailAskPastClient:
	default:
		return referral.Invalid("template", "must be auto, %s, %s or %s", referral.EmailAskCurrent, referral.EmailAskPromoCode, referral.EmailAskPastClient)
	}
	if in.SendAt != nil {
		return referral.ValidSendAt(*in.SendAt, now)
	}
	return nil
}

// create is POST /asks: see asks.Service.Send and Schedule for what it checks and costs.
func (h *Asks) create(ctx context.Context, req Request) (Response, error) {
	var in AskInput
	if err := decode(req, &in); err != nil {
		return Response{}, err
	}
	if err := in.validate(h.Store.Now()); err != nil {
		return Response{}, err
	}
	r := asks.Request{CustomerID: in.CustomerID, ProgramID: in.ProgramID, Template: in.Template}
	if in.SendAt != nil {
		a, err := h.Asks.Schedule(ctx, r, *in.SendAt)
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusAccepted, AskOutput{AskID: a.AskID, CustomerID: a.CustomerID, ProgramID: a.ProgramID,
			Template: a.Template, Status: a.Status, SendAt: &a.SendAt}), nil
	}
	a, err := h.Asks.Send(ctx, r)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusAccepted, AskOutput{AskID: a.AskID, CustomerID: a.CustomerID, ProgramID: a.ProgramID, Template: a.Template}), nil
}
