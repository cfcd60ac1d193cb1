package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Programs serves PUT/GET /programs/{programId} and GET /programs.
type Programs struct {
	Store *store.Store
}

// NewPrograms returns the programs function's router.
func NewPrograms(s *store.Store, log *slog.Logger) *Router {
	h := &Programs{Store: s}
	return NewRouter(log,
		Route{"PUT /programs/{programId}", auth.ScopeAdmin, h.put},
		Route{"GET /programs/{programId}", auth.ScopeServer, h.get},
		Route{"GET /programs", auth.ScopeAdmin, h.list},
	)
}

// readOnlyProgramFields are response fields a PUT body may not set.
var readOnlyProgramFields = []string{"programId", "createdAt", "updatedAt", "endedAt"}

func (h *Programs) put(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "programId")
	if err != nil {
		return Response{}, err
	}
	var p referral.Program
	if err := decode(req, &p); err != nil {
		return Response{}, err
	}
	var present map[string]json.RawMessage
	_ = json.Unmarshal([]byte(mustBody(req)), &present) // decode already proved it is an object
	for _, f := range readOnlyProgramFields {
		if _, ok := present[f]; ok {
			return Response{}, referral.Invalid(f, "%s is set by the API and cannot be written", f)
		}
	}
	if p.Status == "" {
		p.Status = referral.ProgramActive
	}
	p.Normalize()
	p.ProgramID = id
	if err := p.Validate(); err != nil {
		return Response{}, err
	}
	saved, created, err := h.Store.PutProgram(ctx, p)
	if err != nil {
		return Response{}, err
	}
	if created {
		return JSON(http.StatusCreated, saved), nil
	}
	return JSON(http.StatusOK, saved), nil
}

func (h *Programs) get(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "programId")
	if err != nil {
		return Response{}, err
	}
	p, err := h.Store.GetProgram(ctx, id)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, p), nil
}

// ProgramList is the body of GET /programs.
type ProgramList struct {
	Programs   []referral.Program `json:"programs"`
	NextCursor *string            `json:"nextCursor"`
}

func (h *Programs) list(ctx context.Context, req Request) (Response, error) {
	page, err := pageOf(req)
	if err != nil {
		return Response{}, err
	}
	ps, next, err := h.Store.ListPrograms(ctx, page)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, ProgramList{Programs: ps, NextCursor: next}), nil
}
