package api

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"

	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Referrals serves POST /referrals and GET /customers/{customerId}/referrals.
type Referrals struct {
	Store    *store.Store
	Programs *store.ProgramCache
	Coupons  FriendCoupons
}

// FriendCoupons make a referred friend's promotion code (*fulfil.Service).
type FriendCoupons interface {
	FriendCoupon(ctx context.Context, p *referral.Program, r referral.Referral) (referral.Referral, error)
}

// NewReferrals returns the referrals function's router; friends' promotion codes are made
// through coupons.
func NewReferrals(s *store.Store, programs *store.ProgramCache, coupons FriendCoupons, log *slog.Logger) *Router {
	h := &Referrals{Store: s, Programs: programs, Coupons: coupons}
	return NewRouter(log,
		Route{"POST /referrals", auth.ScopeServer, h.create},
		Route{"GET /customers/{customerId}/referrals", auth.ScopeServer, h.list},
		Route{"GET /programs/{programId}/referrals", auth.ScopeAdmin, h.program},
	)
}

// RefereeInput is the person referred.
type RefereeInput struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Locale string `json:"locale"`
}

func (r *RefereeInput) validate(field string) error {
	if err := referral.ValidID(field+".id", r.ID); err != nil {
		return err
	}
	if r.Email != "" {
		if err := referral.ValidEmail(field+".email", r.Email); err != nil {
			return err
		}
	}
	if err := validName(field+".name", r.Name); err != nil {
		return err
	}
	if r.Locale != "" {
		return referral.ValidLocale(field+".locale", r.Locale)
	}
	return nil
}

// ReferralInput is the body of POST /referrals.
type ReferralInput struct {
	Code    string       `json:"code"`
	Referee RefereeInput `json:"referee"`
	Channel string       `json:"channel"`
}

var channelRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

func (h *Referrals) create(ctx context.Context, req Request) (Response, error) {
	var in ReferralInput
	if err := decode(req, &in); err != nil {
		return Response{}, err
	}
	code, err := validCode("code", in.Code)
	if err != nil {
		return Response{}, err
	}
	if err := in.Referee.validate("referee"); err != nil {
		return Response{}, err
	}
	if in.Channel == "" {
		in.Channel = "link"
	} else if !channelRE.MatchString(in.Channel) {
		return Response{}, referral.Invalid("channel", "must be a short lower-case word like email, link or sms")
	}
	rc, err := h.Store.ReadReferralCode(ctx, code, h.Programs)
	if err != nil {
		return Response{}, err
	}
	r, _, err := h.Store.Attribute(ctx, rc, store.NewReferral{Code: code, Channel: in.Channel,
		Referee: store.Referee{ID: in.Referee.ID, Email: in.Referee.Email, Name: in.Referee.Name, Locale: in.Referee.Locale}})
	if err != nil {
		return Response{}, err
	}
	// The friend's Stripe promotion code, made now so they can use it at checkout; the
	// referral stands whether Stripe answers or not (friendCoupon says which).
	if r, err = h.Coupons.FriendCoupon(ctx, &rc.Program, r); err != nil {
		return Response{}, err
	}
	return JSON(http.StatusCreated, r), nil
}

// ReferralList is the body of GET /customers/{customerId}/referrals.
type ReferralList struct {
	Referrals  []referral.Referral `json:"referrals"`
	NextCursor *string             `json:"nextCursor"`
}

func (h *Referrals) list(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "customerId")
	if err != nil {
		return Response{}, err
	}
	page, err := pageOf(req)
	if err != nil {
		return Response{}, err
	}
	rs, next, err := h.Store.ListReferrals(ctx, id, page)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, ReferralList{Referrals: rs, NextCursor: next}), nil
}

// referralColumns are the columns of a program's referrals as CSV.
var referralColumns = []string{"referralId", "programId", "code", "advocateId", "refereeId", "channel", "stage",
	"createdAt", "attributionExpiresAt"}

// program is GET /programs/{programId}/referrals: the program's referrals, newest first, as
// JSON or, with Accept: text/csv, CSV.
func (h *Referrals) program(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "programId")
	if err != nil {
		return Response{}, err
	}
	page, err := pageOf(req)
	if err != nil {
		return Response{}, err
	}
	if _, err := h.Programs.Get(ctx, id); err != nil {
		return Response{}, err
	}
	rs, next, err := h.Store.ProgramReferrals(ctx, id, page)
	if err != nil {
		return Response{}, err
	}
	return listAnswer(req, rs, next, ReferralList{Referrals: rs, NextCursor: next}, "referrals-"+id+".csv", referralColumns, referralRow), nil
}

func referralRow(r referral.Referral) []string {
	return []string{r.ReferralID, r.ProgramID, r.Code, r.AdvocateID, r.RefereeID, r.Channel, r.Stage,
		csvTime(&r.CreatedAt), csvTime(r.AttributionExpiresAt)}
}
