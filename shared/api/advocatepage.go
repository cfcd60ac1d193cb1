package api

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/referral/referrals/shared/advocatelink"
	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// AdvocatePages draws the advocate's page and its error pages. The advocate page function
// passes the page set's (package pages/advocate); no other function links its templates.
type AdvocatePages struct {
	// Page is the page of advocate a in program p for the visit req, in lang when it is not
	// empty (else in the browser's language); share links are publicURL's /r/{code}?ch=….
	Page func(req Request, lang string, p *referral.Program, a store.AdvocatePage, publicURL string) (Response, error)
	// Error is the page for err.
	Error func(req Request, err *referral.Error) Response
}

// AdvocatePage serves GET /a/{token}, the advocate's page behind the signed link of their
// emails (the token is the credential: no API key).
type AdvocatePage struct {
	Store     *store.Store
	Programs  *store.ProgramCache
	Signer    *advocatelink.Signer
	PublicURL string
	Pages     AdvocatePages
}

// NewAdvocatePage returns the advocate page function's router: every answer, errors included,
// is an HTML page.
func NewAdvocatePage(s *store.Store, programs *store.ProgramCache, signer *advocatelink.Signer, publicURL string, ap AdvocatePages, log *slog.Logger) *Router {
	h := &AdvocatePage{Store: s, Programs: programs, Signer: signer, PublicURL: publicURL, Pages: ap}
	r := NewRouter(log, Route{"GET /a/{token}", ScopePublic, h.page})
	r.ErrorPage = ap.Error
	return r
}

// page checks the token (no read: expired → link_expired, forged → link_invalid, not a token →
// not_found), then reads the program (cached) and the advocate's page (store.AdvocatePage:
// three round trips), and draws it in the language asked for (the page's ?lang= switcher),
// else the advocate's, else the browser's. An archived program, an erased customer and a
// paused, blocked, expired or used-up code revoke the page (link_revoked); a paused program's
// advocates keep theirs (their friends' progress still shows).
func (h *AdvocatePage) page(ctx context.Context, req Request) (Response, error) {
	claims, err := h.Signer.Check(req.PathParameters["token"], h.Store.Now())
	if err != nil {
		return Response{}, err
	}
	p, err := h.Programs.Get(ctx, claims.ProgramID)
	switch {
	case errors.Is(err, referral.ErrProgramNotFound):
		return Response{}, referral.ErrNotFound
	case err != nil:
		return Response{}, err
	case p.Status == referral.ProgramArchived:
		return Response{}, referral.ErrLinkRevoked
	}
	a, err := h.Store.AdvocatePage(ctx, &p, claims.CustomerID)
	switch {
	case errors.Is(err, referral.ErrCustomerNotFound):
		return Response{}, referral.ErrNotFound
	case err != nil:
		return Response{}, err
	case a.Erased, a.Code.Code.Code == "", a.Code.Paused,
		a.Code.Code.Status != referral.CodeActive && p.Status != referral.ProgramPaused:
		return Response{}, referral.ErrLinkRevoked
	}
	lang := strings.ToLower(req.QueryStringParameters["lang"])
	if !locale.Supported(lang) {
		lang = ""
		if strings.TrimSpace(a.Customer.Locale) != "" {
			lang = locale.Lang(a.Customer.Locale)
		}
	}
	base := h.PublicURL
	if base == "" { // the API's own domain, as the request came to it
		proto := req.Headers["x-forwarded-proto"]
		if proto != "http" {
			proto = "https"
		}
		base = proto + "://" + req.RequestContext.DomainName
	}
	return h.Pages.Page(req, lang, &p, a, base)
}
