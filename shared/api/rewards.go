package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Fulfiller fulfils rewards: manually with the merchant's reference, or through the reward's
// provider (*fulfil.Service). An interface, so that only the functions that deliver rewards
// link the providers' clients.
type Fulfiller interface {
	Fulfil(ctx context.Context, rewardID, reference string) (referral.Reward, error)
}

// Rewards serves GET /customers/{customerId}/rewards, GET /rewards and POST
// /rewards/{rewardId}/fulfill|approve.
type Rewards struct {
	Store  *store.Store
	Fulfil Fulfiller
}

// NewRewards returns the rewards function's router; fulfilments go through svc.
func NewRewards(s *store.Store, svc Fulfiller, log *slog.Logger) *Router {
	h := &Rewards{Store: s, Fulfil: svc}
	return NewRouter(log,
		Route{"GET /customers/{customerId}/rewards", auth.ScopeServer, h.list},
		Route{"GET /rewards", auth.ScopeAdmin, h.queue},
		Route{"POST /rewards/{rewardId}/fulfill", auth.ScopeAdmin, h.fulfill},
		Route{"POST /rewards/{rewardId}/approve", auth.ScopeAdmin, h.approve},
	)
}

// RewardList is the body of GET /customers/{customerId}/rewards.
type RewardList struct {
	Rewards    []referral.Reward `json:"rewards"`
	Totals     store.Totals      `json:"totals"`
	NextCursor *string           `json:"nextCursor"`
}

func (h *Rewards) list(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "customerId")
	if err != nil {
		return Response{}, err
	}
	page, err := pageOf(req)
	if err != nil {
		return Response{}, err
	}
	rs, totals, next, err := h.Store.ListRewards(ctx, id, page)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, RewardList{Rewards: rs, Totals: totals, NextCursor: next}), nil
}

// RewardPage is the body of GET /rewards.
type RewardPage struct {
	Rewards    []referral.Reward `json:"rewards"`
	NextCursor *string           `json:"nextCursor"`
}

// rewardColumns are the columns of GET /rewards as CSV: amounts in minor units, as in JSON.
var rewardColumns = []string{"rewardId", "programId", "customerId", "role", "refereeId", "eventId", "milestone", "rule",
	"kind", "amount", "currency", "description", "charity", "status", "createdAt", "availableAt", "expiresAt", "reference",
	"fulfilmentProvider", "fulfilmentStatus", "fulfilmentReference", "fulfilmentReason"}

func rewardRow(r referral.Reward) []string {
	amount, currency := "", ""
	if r.Value != nil {
		amount, currency = strconv.FormatInt(r.Value.Amount, 10), r.Value.Currency
	}
	var f referral.Fulfilment
	if r.Fulfilment != nil {
		f = *r.Fulfilment
	}
	return []string{r.RewardID, r.ProgramID, r.CustomerID, r.Role, r.RefereeID, r.EventID, r.Milestone, r.Rule,
		r.Kind, amount, currency, r.Description, r.Charity, r.Status, csvTime(&r.CreatedAt), csvTime(&r.AvailableAt),
		csvTime(r.ExpiresAt), r.Reference, f.Provider, f.Status, f.Reference, f.Reason}
}

// queue is GET /rewards?status=&programId=&customerId=&limit=&cursor=: the reward queues
// (review: waiting for an admin; approved: the payout queue; failed: deliveries that failed),
// as JSON or, with Accept: text/csv, CSV.
func (h *Rewards) queue(ctx context.Context, req Request) (Response, error) {
	page, err := pageOf(req)
	if err != nil {
		return Response{}, err
	}
	q := req.QueryStringParameters
	f := store.RewardFilter{Status: q["status"], ProgramID: q["programId"], CustomerID: q["customerId"]}
	if f.Status != "" && !slices.Contains(store.RewardListStatuses, f.Status) {
		return Response{}, referral.Invalid("status", "must be one of %s", strings.Join(store.RewardListStatuses, ", "))
	}
	for name, id := range map[string]string{"programId": f.ProgramID, "customerId": f.CustomerID} {
		if id != "" {
			if err := referral.ValidID(name, id); err != nil {
				return Response{}, err
			}
		}
	}
	if f.ProgramID != "" {
		if _, err := h.Store.GetProgram(ctx, f.ProgramID); err != nil {
			return Response{}, err
		}
	}
	rs, next, err := h.Store.ListRewardsBy(ctx, f, page)
	if err != nil {
		return Response{}, err
	}
	name := "rewards"
	for _, part := range []string{f.Status, f.ProgramID, f.CustomerID} {
		if part != "" {
			name += "-" + part
		}
	}
	return listAnswer(req, rs, next, RewardPage{Rewards: rs, NextCursor: next}, name+".csv", rewardColumns, rewardRow), nil
}

// FulfillInput is the body of POST /rewards/{rewardId}/fulfill: the merchant's reference for
// a manual reward; nothing (no body, or {}) for a provider's reward, which is delivered (or
// its failed delivery retried) now.
type FulfillInput struct {
	Reference string `json:"reference"`
}

func (h *Rewards) fulfill(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "rewardId")
	if err != nil {
		return Response{}, err
	}
	var in FulfillInput
	if b, err := body(req); err != nil {
		return Response{}, err
	} else if len(strings.TrimSpace(string(b))) > 0 {
		if err := decode(req, &in); err != nil {
			return Response{}, err
		}
	}
	if len(in.Reference) > 200 {
		return Response{}, referral.Invalid("reference", "the gift card number, coupon or payout id is at most 200 characters")
	}
	if err := validName("reference", in.Reference); err != nil {
		return Response{}, err
	}
	r, err := h.Fulfil.Fulfil(ctx, id, in.Reference)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, r), nil
}

func (h *Rewards) approve(ctx context.Context, req Request) (Response, error) {
	id, err := pathID(req, "rewardId")
	if err != nil {
		return Response{}, err
	}
	if _, err := optionalText(req, "note"); err != nil {
		return Response{}, err
	}
	r, err := h.Store.ApproveReward(ctx, id)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, r), nil
}
