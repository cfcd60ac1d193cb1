package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/metrics"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Conversions serves POST /conversions and POST /conversions/{eventId}/reverse.
type Conversions struct {
	Store       *store.Store
	Programs    *store.ProgramCache
	Conversions *store.Conversions
	Log         *slog.Logger
}

// NewConversions returns the conversions function's router.
func NewConversions(s *store.Store, programs *store.ProgramCache, log *slog.Logger) *Router {
	h := &Conversions{Store: s, Programs: programs, Conversions: &store.Conversions{Store: s, Programs: programs}, Log: log}
	return NewRouter(log,
		Route{"POST /conversions", auth.ScopeServer, h.record},
		Route{"POST /conversions/{eventId}/reverse", auth.ScopeServer, h.reverse},
	)
}

// ConversionInput is the body of POST /conversions: a referee (by id, or by code + referee to
// attribute and convert in one call, as at checkout) reached a milestone.
type ConversionInput struct {
	EventID    string          `json:"eventId"`
	RefereeID  string          `json:"refereeId"`
	Code       string          `json:"code"`
	Referee    *RefereeInput   `json:"referee"`
	Milestone  string          `json:"milestone"`
	Amount     *referral.Money `json:"amount"`
	OccurredAt *time.Time      `json:"occurredAt"`
	ProgramID  string          `json:"programId"`
}

// maxAmount bounds conversion amounts (10^12 minor units) so no arithmetic on them overflows.
const maxAmount = 1_000_000_000_000

func (in *ConversionInput) validate(now time.Time) error {
	if err := referral.ValidID("eventId", in.EventID); err != nil {
		return err
	}
	switch {
	case in.Referee != nil:
		if err := in.Referee.validate("referee"); err != nil {
			return err
		}
		if in.RefereeID != "" && in.RefereeID != in.Referee.ID {
			return referral.Invalid("refereeId", "must match referee.id when both are given")
		}
		in.RefereeID = in.Referee.ID
		if in.Code == "" {
			return referral.Invalid("code", "is required with referee (attribute and convert in one call)")
		}
	case in.RefereeID == "":
		return referral.Invalid("refereeId", "is required (or code with referee)")
	default:
		if err := referral.ValidID("refereeId", in.RefereeID); err != nil {
			return err
		}
	}
	if in.Code != "" {
		c, err := validCode("code", in.Code)
		if err != nil {
			return err
		}
		in.Code = c
		if in.Referee == nil {
			in.Referee = &RefereeInput{ID: in.RefereeID}
		}
	}
	if in.Milestone == "" {
		return referral.Invalid("milestone", "is required")
	}
	if len(in.Milestone) > 40 {
		return referral.Invalid("milestone", "must be at most 40 characters")
	}
	if in.Amount != nil {
		if in.Amount.Amount < 0 || in.Amount.Amount > maxAmount {
			return referral.Invalid("amount.amount", "must be from 0 to 10^12 minor units")
		}
		if err := referral.ValidCurrency("amount.currency", in.Amount.Currency); err != nil {
			return err
		}
	}
	if in.OccurredAt != nil {
		if err := referral.ValidTime("occurredAt", *in.OccurredAt); err != nil {
			return err
		}
	}
	if in.ProgramID != "" {
		return referral.ValidID("programId", in.ProgramID)
	}
	return nil
}

// hash identifies the payload as sent, so a replay with other content is told apart.
func (in *ConversionInput) hash() string {
	b, _ := json.Marshal(in) // a struct of plain fields always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (h *Conversions) record(ctx context.Context, req Request) (Response, error) {
	now := h.Store.Now()
	var in ConversionInput
	if err := decode(req, &in); err != nil {
		return Response{}, err
	}
	if err := in.validate(now); err != nil {
		return Response{}, err
	}
	hash := in.hash()
	p, code, err := h.program(ctx, &in)
	if err != nil {
		return Response{}, err
	}
	if p.MilestoneIndex(in.Milestone) < 0 {
		return Response{}, referral.Invalid("milestone", "must be one of the program's milestones %v", p.Milestones)
	}
	if in.Amount != nil && in.Amount.Currency != p.Currency {
		return Response{}, referral.Invalid("amount.currency", "must be the program's currency %s", p.Currency)
	}
	occurred := now
	if in.OccurredAt != nil {
		occurred = in.OccurredAt.UTC()
	}
	newReferral := false
	if in.Code != "" {
		// Checkout: attribute first if the referee is new. A referee already attributed to
		// this code's advocate proceeds; one attributed to another advocate is a 409.
		nr := store.NewReferral{Code: in.Code, Channel: "checkout", Checkout: true,
			Referee: store.Referee{ID: in.Referee.ID, Email: in.Referee.Email, Name: in.Referee.Name, Locale: in.Referee.Locale}}
		if code == nil { // not read yet to find the program
			rc, err := h.Store.ReadReferralCode(ctx, in.Code, h.Programs)
			if err != nil {
				return Response{}, err
			}
			if rc.Program.ProgramID != p.ProgramID {
				return Response{}, referral.Invalid("code", "the code belongs to another program than programId")
			}
			code = &rc
		}
		_, reused, err := h.Store.Attribute(ctx, *code, nr)
		if err != nil {
			return Response{}, err
		}
		newReferral = !reused
	}
	res, st, err := h.Conversions.Record(ctx, &p, store.ConversionRequest{EventID: in.EventID, ProgramID: p.ProgramID,
		RefereeID: in.RefereeID, Milestone: in.Milestone, Amount: in.Amount, OccurredAt: occurred, PayloadHash: hash,
		NewReferral: newReferral})
	metrics.Add(ctx, metrics.ContentionRetries, float64(max(st.Attempts-1, 0)))
	h.Log.InfoContext(ctx, "conversion", "eventId", in.EventID, "programId", p.ProgramID, "attempts", st.Attempts,
		"replay", st.Replay, "rewards", len(res.Rewards), "ok", err == nil)
	if err != nil {
		return Response{}, err
	}
	if st.Replay {
		return JSON(http.StatusOK, res), nil
	}
	return JSON(http.StatusCreated, res), nil
}

// program resolves the conversion's program: named, from its code, or the one program the
// referee is attributed in. The code, when it had to be read for that, comes back so that
// attribution does not read it again.
func (h *Conversions) program(ctx context.Context, in *ConversionInput) (referral.Program, *store.ReferralCode, error) {
	id := in.ProgramID
	if id == "" && in.Code != "" {
		rc, err := h.Store.ReadReferralCode(ctx, in.Code, h.Programs)
		if err != nil {
			return referral.Program{}, nil, err
		}
		return rc.Program, &rc, nil
	}
	if id == "" {
		ids, err := h.Store.RefereePrograms(ctx, in.RefereeID)
		if err != nil {
			return referral.Program{}, nil, err
		}
		switch len(ids) {
		case 0:
			return referral.Program{}, nil, referral.ErrNotReferred
		case 1:
			id = ids[0]
		default:
			return referral.Program{}, nil, referral.Invalid("programId", "the referee is attributed in several programs; say which")
		}
	}
	p, err := h.Programs.Get(ctx, id)
	if errors.Is(err, referral.ErrProgramNotFound) && in.ProgramID != "" {
		return p, nil, referral.ErrProgramNotFound.With("", nil)
	}
	return p, nil, err
}

func (h *Conversions) reverse(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "eventId")
	if err != nil {
		return Response{}, err
	}
	if _, err := optionalText(req, "reason"); err != nil {
		return Response{}, err
	}
	res, err := h.Store.Reverse(ctx, id, h.Programs)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, res), nil
}
