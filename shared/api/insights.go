package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Insights serves a program's stats, leaderboard and contest closing.
type Insights struct {
	Store    *store.Store
	Programs *store.ProgramCache
	Service  *insights.Service
}

// NewInsights returns the insights API function's router.
func NewInsights(s *store.Store, programs *store.ProgramCache, log *slog.Logger) *Router {
	h := &Insights{Store: s, Programs: programs, Service: &insights.Service{Store: s}}
	return NewRouter(log,
		Route{"GET /programs/{programId}/stats", auth.ScopeAdmin, h.stats},
		Route{"GET /programs/{programId}/leaderboard", auth.ScopeServer, h.leaderboard},
		Route{"POST /programs/{programId}/contests/{period}/close", auth.ScopeAdmin, h.closeContest},
	)
}

// Leaderboard limits: ten entries unless ?limit= says otherwise.
const (
	defaultLeaderboardLimit = 10
	maxLeaderboardLimit     = 100
)

func (h *Insights) stats(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "programId")
	if err != nil {
		return Response{}, err
	}
	from, to := req.QueryStringParameters["from"], req.QueryStringParameters["to"]
	for field, v := range map[string]string{"from": from, "to": to} {
		if v != "" {
			if _, err := insights.ParsePeriod(field, v); err != nil {
				return Response{}, err
			}
		}
	}
	if from != "" && to != "" && from > to {
		return Response{}, referral.Invalid("to", "must not be before from")
	}
	p, err := h.Programs.Get(ctx, id)
	if err != nil {
		return Response{}, err
	}
	st, err := h.Service.Stats(ctx, &p, from, to)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, st), nil
}

func (h *Insights) leaderboard(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "programId")
	if err != nil {
		return Response{}, err
	}
	period := req.QueryStringParameters["period"]
	if period == "" {
		period = insights.MonthOf(h.Store.Now())
	} else if _, err := insights.ParsePeriod("period", period); err != nil {
		return Response{}, err
	}
	limit := defaultLeaderboardLimit
	if s, ok := req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLeaderboardLimit {
			return Response{}, referral.Invalid("limit", "must be a whole number from 1 to %d", maxLeaderboardLimit)
		}
		limit = n
	}
	if _, err := h.Programs.Get(ctx, id); err != nil {
		return Response{}, err
	}
	lb, err := h.Service.Leaderboard(ctx, id, period, limit)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, lb), nil
}

func (h *Insights) closeContest(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "programId")
	if err != nil {
		return Response{}, err
	}
	period := req.PathParameters["period"]
	if _, err := insights.ParsePeriod("period", period); err != nil {
		return Response{}, err
	}
	if b, err := body(req); err != nil {
		return Response{}, err
	} else if len(b) > 0 {
		var in struct{} // nothing to say yet; an empty object is accepted
		if err := decode(req, &in); err != nil {
			return Response{}, err
		}
	}
	// The prizes as configured now, not as cached by a warm container.
	p, err := h.Store.GetProgram(ctx, id)
	if err != nil {
		return Response{}, err
	}
	c, closed, err := h.Service.CloseContest(ctx, &p, period)
	if err != nil {
		return Response{}, err
	}
	if closed {
		return JSON(http.StatusCreated, c), nil
	}
	return JSON(http.StatusOK, c), nil
}
