package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// CouponPools serves POST /coupon-pools/{pool}/codes and GET /coupon-pools/{pool}: the codes
// that rules and prizes with the coupon_pool provider draw from.
type CouponPools struct {
	Store *store.Store
}

// NewCouponPools returns the coupon pools function's router.
func NewCouponPools(s *store.Store, log *slog.Logger) *Router {
	h := &CouponPools{Store: s}
	return NewRouter(log,
		Route{"POST /coupon-pools/{pool}/codes", auth.ScopeAdmin, h.add},
		Route{"GET /coupon-pools/{pool}", auth.ScopeAdmin, h.get},
	)
}

// CouponCodesInput is the body of POST /coupon-pools/{pool}/codes.
type CouponCodesInput struct {
	Codes []string `json:"codes"`
}

// CouponCodesAdded is the answer of POST /coupon-pools/{pool}/codes: how many codes were new
// (repeats, in the request or already in the pool, are not added again) and how many the
// pool has available now.
type CouponCodesAdded struct {
	Pool      string `json:"pool"`
	Added     int    `json:"added"`
	Available int    `json:"available"`
	Used      int    `json:"used"`
}

// CouponPool is the answer of GET /coupon-pools/{pool}.
type CouponPool struct {
	Pool      string `json:"pool"`
	Available int    `json:"available"`
	Used      int    `json:"used"`
}

func poolName(req Request) (string, error) {
	name := req.PathParameters["pool"]
	return name, referral.ValidPoolName("pool", name)
}

func (h *CouponPools) add(ctx context.Context, req Request) (Response, error) {
	pool, err := poolName(req)
	if err != nil {
		return Response{}, err
	}
	var in CouponCodesInput
	if err := decode(req, &in); err != nil {
		return Response{}, err
	}
	codes, err := referral.CouponCodes("codes", in.Codes)
	if err != nil {
		return Response{}, err
	}
	added, counts, err := h.Store.AddCouponCodes(ctx, pool, codes)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, CouponCodesAdded{Pool: pool, Added: added, Available: counts.Available, Used: counts.Used}), nil
}

func (h *CouponPools) get(ctx context.Context, req Request) (Response, error) {
	pool, err := poolName(req)
	if err != nil {
		return Response{}, err
	}
	counts, err := h.Store.CouponPool(ctx, pool)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, CouponPool{Pool: pool, Available: counts.Available, Used: counts.Used}), nil
}
