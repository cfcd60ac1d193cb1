package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Codes serves POST /programs/{programId}/codes and POST /codes/{code}/pause|resume.
type Codes struct {
	Store    *store.Store
	Programs *store.ProgramCache
}

// NewCodes returns the codes function's router.
func NewCodes(s *store.Store, programs *store.ProgramCache, log *slog.Logger) *Router {
	h := &Codes{Store: s, Programs: programs}
	return NewRouter(log,
		Route{"POST /programs/{programId}/codes", auth.ScopeServer, h.create},
		Route{"POST /codes/{code}/pause", auth.ScopeAdmin, h.pauser(true)},
		Route{"POST /codes/{code}/resume", auth.ScopeAdmin, h.pauser(false)},
	)
}

// pauser serves POST /codes/{code}/pause (paused true) or /resume: no body; the code as it
// is now.
func (h *Codes) pauser(paused bool) func(context.Context, Request) (Response, error) {
	return func(ctx context.Context, req Request) (Response, error) {
		c, err := codeParam(req)
		if err != nil {
			return Response{}, err
		}
		if err := noBody(req); err != nil {
			return Response{}, err
		}
		rec, err := h.Store.PauseCode(ctx, c, paused, h.Programs)
		if err != nil {
			return Response{}, err
		}
		return JSON(http.StatusOK, rec.Code), nil
	}
}

// CodeInput is the body of POST /programs/{programId}/codes.
type CodeInput struct {
	CustomerID string `json:"customerId"`
	Code       string `json:"code"`
}

func (h *Codes) create(ctx context.Context, req Request) (Response, error) {
	pid, err := pathID(req, "programId")
	if err != nil {
		return Response{}, err
	}
	var in CodeInput
	if err := decode(req, &in); err != nil {
		return Response{}, err
	}
	if err := referral.ValidID("customerId", in.CustomerID); err != nil {
		return Response{}, err
	}
	if in.Code != "" {
		in.Code = referral.NormalizeCode(in.Code)
		if err := referral.ValidateVanityCode("code", in.Code); err != nil {
			return Response{}, err
		}
	}
	p, err := h.Programs.Get(ctx, pid)
	if err != nil {
		return Response{}, err
	}
	rec, created, err := h.Store.CreateCode(ctx, &p, in.CustomerID, in.Code)
	if err != nil {
		return Response{}, err
	}
	if rec.Code.ShareURL == "" { // no landing page: the hosted friend page, on the domain asked
		rec.Code.ShareURL = p.ShareLink(rec.Code.Code, requestBase(req))
	}
	if created {
		return JSON(http.StatusCreated, rec.Code), nil
	}
	return JSON(http.StatusOK, rec.Code), nil
}

// PublicCodes serves the public GET /codes/{code} and GET /r/{code}.
type PublicCodes struct {
	Store    *store.Store
	Programs *store.ProgramCache
	Log      *slog.Logger
	Pages    SharePages
}

// SharePages draws what a browser sees on the share link: the friend's landing page, the error
// pages and the pages' assets. The public codes function passes the page set's (friend.Share);
// the other functions built from this package do not link the pages' templates and assets.
type SharePages struct {
	// Friend is the landing page of code for the visit req.
	Friend func(req Request, p *referral.Program, code referral.Code, advocateFirstName string) (Response, error)
	// Error is the page for err on the share link.
	Error func(req Request, err *referral.Error) Response
	// Asset answers a stylesheet or script by name (404 when there is none).
	Asset func(file string) Response
}

// routeShare is the share link: a browser's route, so its errors are pages.
const routeShare = "GET /r/{code}"

// NewPublicCodes returns the public codes function's router.
func NewPublicCodes(s *store.Store, programs *store.ProgramCache, sp SharePages, log *slog.Logger) *Router {
	h := &PublicCodes{Store: s, Programs: programs, Log: log, Pages: sp}
	r := NewRouter(log,
		Route{"GET /codes/{code}", ScopePublic, h.check},
		Route{routeShare, ScopePublic, h.redirect},
		Route{"GET /assets/{file}", ScopePublic, h.serveAsset},
	)
	r.ErrorPage = func(req Request, err *referral.Error) Response {
		if req.RouteKey != routeShare {
			return Response{}
		}
		return sp.Error(req, err)
	}
	return r
}

// serveAsset answers the pages' stylesheet and script.
func (h *PublicCodes) serveAsset(_ context.Context, req Request) (Response, error) {
	resp := h.Pages.Asset(req.PathParameters["file"])
	if resp.StatusCode == http.StatusNotFound {
		return Response{}, referral.ErrNotFound.With("no such asset (the pages link the current versions)", nil)
	}
	return resp, nil
}

// PublicCode is what anyone holding a code may learn about it.
type PublicCode struct {
	Code              string `json:"code"`
	Status            string `json:"status"`
	ProgramID         string `json:"programId"`
	ProgramName       string `json:"programName"`
	Offer             string `json:"offer"`
	AdvocateFirstName string `json:"advocateFirstName"`
}

func codeParam(req Request) (string, error) {
	c := referral.NormalizeCode(req.PathParameters["code"])
	if !referral.ValidCodeSyntax(c) {
		return "", referral.ErrCodeNotFound
	}
	return c, nil
}

func (h *PublicCodes) check(ctx context.Context, req Request) (Response, error) {
	c, err := codeParam(req)
	if err != nil {
		return Response{}, err
	}
	rec, p, err := h.Store.LookupCode(ctx, c, h.Programs)
	if err != nil {
		return Response{}, err
	}
	resp := JSON(http.StatusOK, PublicCode{Code: rec.Code.Code, Status: rec.Status, ProgramID: p.ProgramID,
		ProgramName: p.Name, Offer: Offer(&p), AdvocateFirstName: rec.AdvocateFirstName})
	resp.Headers["Cache-Control"] = "public, max-age=60"
	return resp, nil
}

func (h *PublicCodes) redirect(ctx context.Context, req Request) (Response, error) {
	c, err := codeParam(req)
	if err != nil {
		return Response{}, err
	}
	rec, p, err := h.Store.LookupCode(ctx, c, h.Programs)
	if err != nil {
		return Response{}, err
	}
	if rec.Status != referral.CodeActive {
		return Response{}, referral.ErrCodeInactive.With("the code is "+rec.Status, nil)
	}
	q := req.QueryStringParameters
	page := q["page"] == "1" || p.LandingURL == "" // no landing page of its own: ours
	// The page's language switcher is not another visit, nor is a chat app fetching a preview.
	if (!page || q["lang"] == "") && referral.IsVisit(req.Headers["user-agent"]) {
		h.count(ctx, rec.Code, q["ch"])
	}
	if !page {
		return Response{StatusCode: http.StatusFound, Headers: map[string]string{
			"Location": rec.ShareURL, "Cache-Control": "no-store"}}, nil
	}
	return h.Pages.Friend(req, &p, rec.Code, rec.AdvocateFirstName)
}

// count records a visit for the stats. A visit that cannot be counted still goes through:
// the friend matters more than the number.
func (h *PublicCodes) count(ctx context.Context, code referral.Code, channel string) {
	if _, err := h.Store.RecordClick(ctx, store.Click{ProgramID: code.ProgramID, Code: code.Code, Channel: channel}); err != nil {
		h.Log.WarnContext(ctx, "visit not counted", "programId", code.ProgramID, "error", err.Error())
	}
}

// Offer describes in English what a friend gets, from the program's referee rules.
func Offer(p *referral.Program) string {
	parts := make([]string, 0, len(p.RefereeRewards))
	for _, r := range p.RefereeRewards {
		lr := locale.Reward{Kind: r.Kind, Currency: p.Currency, Description: r.Description, Charity: r.Charity}
		if r.Type == referral.RuleFixed && r.Amount > 0 {
			a := r.Amount
			lr.Value = &a
		}
		what := locale.Describe(lr, "en")
		if r.Type == referral.RulePercent {
			what = fmt.Sprintf("%d%% back as %s", r.Percent, strings.ReplaceAll(r.Kind, "_", " "))
		}
		parts = append(parts, fmt.Sprintf("%s at %s", what, r.Milestone))
	}
	return strings.Join(parts, "; ")
}

// requestBase is the API's public URL as the request reached it ("" when unknown).
func requestBase(req Request) string {
	if req.RequestContext.DomainName == "" {
		return ""
	}
	return "https://" + req.RequestContext.DomainName
}
