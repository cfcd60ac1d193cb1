package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// A coupon pool holds codes a merchant uploaded (gift card numbers, shop coupon codes) for
// rewards to draw. Each code is one item: AVAILABLE#<code> until a reward draws it, then
// USED#<code> with the reward's id. The pool item counts both, changed in the same
// transaction as the codes, so its counts are exact.

// PoolCounts are a coupon pool's counts.
type PoolCounts struct {
	Available int `json:"available"`
	Used      int `json:"used"`
}

type poolItem struct {
	PK        string    `json:"PK"`
	SK        string    `json:"SK"`
	Type      string    `json:"type"`
	Pool      string    `json:"pool"`
	Available int       `json:"available"`
	Used      int       `json:"used"`
	CreatedAt time.Time `json:"createdAt"`
}

type couponCodeItem struct {
	PK        string     `json:"PK"`
	SK        string     `json:"SK"`
	Type      string     `json:"type"`
	Pool      string     `json:"pool"`
	Code      string     `json:"code"`
	AddedAt   time.Time  `json:"addedAt"`
	RewardID  string     `json:"rewardId,omitempty"`
	ProgramID string     `json:"programId,omitempty"`
	UsedAt    *time.Time `json:"usedAt,omitempty"`
}

// ErrPoolEmpty means the pool has no code left for a reward.
var ErrPoolEmpty = errors.New(referral.ReasonPoolEmpty)

// CouponPool reads a pool's counts (1 consistent GetItem); an unknown pool is ErrPoolNotFound.
func (s *Store) CouponPool(ctx context.Context, pool string) (PoolCounts, error) {
	var it poolItem
	found, err := s.getItem(ctx, poolPK(pool), poolSK, &it)
	if err != nil {
		return PoolCounts{}, fmt.Errorf("coupon pool %s: %w", pool, err)
	}
	if !found {
		return PoolCounts{}, referral.ErrPoolNotFound
	}
	return PoolCounts{Available: it.Available, Used: it.Used}, nil
}

// codesPerTransaction: each new code is a Put of its available item and a check that it was
// never used, next to the pool's counter, within DynamoDB's 100 items per transaction.
const codesPerTransaction = (maxTransactItems - 1) / 2

// AddCouponCodes adds codes (already checked and without repeats) to a pool, creating the
// pool on its first codes, and reports how many were new: a code the pool holds already,
// available or used, is left as it is, so a used code never comes back. Cost per 49 codes:
// 1 consistent BatchGetItem (both items of each code) and 1 TransactWriteItems (the new codes
// and the pool's counters), repeated only for codes another upload added meanwhile.
func (s *Store) AddCouponCodes(ctx context.Context, pool string, codes []string) (added int, counts PoolCounts, err error) {
	for start := 0; start < len(codes); start += codesPerTransaction {
		chunk := codes[start:min(start+codesPerTransaction, len(codes))]
		n, err := s.addCodes(ctx, pool, chunk)
		if err != nil {
			return added, counts, fmt.Errorf("add codes to pool %s: %w", pool, err)
		}
		added += n
	}
	counts, err = s.CouponPool(ctx, pool)
	return added, counts, err
}

func (s *Store) addCodes(ctx context.Context, pool string, codes []string) (int, error) {
	for attempt := 1; ; attempt++ {
		keys := make([]map[string]types.AttributeValue, 0, 2*len(codes))
		for _, c := range codes {
			keys = append(keys, key(poolPK(pool), poolAvailableSK(c)), key(poolPK(pool), poolUsedSK(c)))
		}
		got, err := s.batchGet(ctx, keys...)
		if err != nil {
			return 0, err
		}
		var fresh []string
		for _, c := range codes {
			if _, ok := got[poolPK(pool)+"|"+poolAvailableSK(c)]; ok {
				continue
			}
			if _, ok := got[poolPK(pool)+"|"+poolUsedSK(c)]; ok {
				continue
			}
			fresh = append(fresh, c)
		}
		if len(fresh) == 0 {
			return 0, nil
		}
		now := s.now()
		upd := expression.Add(expression.Name("available"), expression.Value(len(fresh))).
			Set(expression.Name("used"), expression.IfNotExists(expression.Name("used"), expression.Value(0))).
			Set(expression.Name("type"), expression.Value(TypeCouponPool)).
			Set(expression.Name("pool"), expression.Value(pool)).
			Set(expression.Name("createdAt"), expression.IfNotExists(expression.Name("createdAt"), expression.Value(now)))
		items := []types.TransactWriteItem{update(poolPK(pool), poolSK, upd, nil)}
		never := expression.AttributeNotExists(expression.Name("PK"))
		for _, c := range fresh {
			items = append(items, putNew(couponCodeItem{PK: poolPK(pool), SK: poolAvailableSK(c), Type: TypeCouponCode,
				Pool: pool, Code: c, AddedAt: now}), conditionCheck(poolPK(pool), poolUsedSK(c), never))
		}
		err = s.transact(ctx, items...)
		if err == nil {
			return len(fresh), nil
		}
		if cancellationReasons(err) == nil {
			return 0, unavailable(err)
		}
		// Another upload added some of these codes, or drew one, meanwhile: read again.
		if attempt == maxAttempts {
			return 0, referral.ErrUnavailable.With("the pool is being changed by other requests; retry shortly", nil)
		}
		if err := backoff(ctx, attempt); err != nil {
			return 0, err
		}
	}
}

func conditionCheck(pk, sk string, cond expression.ConditionBuilder) types.TransactWriteItem {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		panic(fmt.Sprintf("condition check: %v", err)) // conditions are ours: a failure is a programming error
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{Key: key(pk, sk), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}
}

// drawWindow is how many available codes a draw chooses from at random, so concurrent draws
// rarely reach for the same code.
const drawWindow = 25

// DrawCoupon gives a reward under claim one code of its pool: 1 consistent Query for up to
// drawWindow available codes, then 1 TransactWriteItems that moves a random one of them to
// used (only if still available), counts it, and records the reward fulfilled with the code
// (only while the claim holds). A code another draw took first is never given twice: the
// transaction fails and the draw picks again, with backoff, a bounded number of times. An
// empty pool is ErrPoolEmpty; a lost claim is ErrClaimed.
func (s *Store) DrawCoupon(ctx context.Context, r referral.Reward, claim string) (referral.Reward, error) {
	pool := r.Fulfilment.Pool
	taken := map[string]bool{}
	for attempt := 1; attempt <= maxAttempts*2; attempt++ {
		if attempt > 1 {
			if err := backoff(ctx, attempt); err != nil {
				return r, err
			}
		}
		codes, err := s.availableCodes(ctx, pool)
		if err != nil {
			return r, err
		}
		var choice []string
		for _, c := range codes {
			if !taken[c] {
				choice = append(choice, c)
			}
		}
		if len(choice) == 0 {
			if len(codes) == 0 {
				return r, ErrPoolEmpty
			}
			clear(taken) // the window filled with codes taken meanwhile: read afresh
			continue
		}
		code := choice[rand.IntN(len(choice))]
		now := s.now()
		after := r
		f := *r.Fulfilment
		f.Status, f.Reference, f.Reason, f.At = referral.FulfilmentDone, code, "", &now
		after.Fulfilment, after.Reference, after.Status = &f, code, referral.RewardFulfilled
		rewardUpd := release(rewardChange(after, "fulfilledAt", now))
		rewardCond := heldBy(claim).And(expression.Name("status").Equal(expression.Value(referral.RewardApproved)))
		exists := expression.AttributeExists(expression.Name("PK"))
		counted := expression.Name("available").GreaterThan(expression.Value(0))
		err = s.transact(ctx,
			deleteWhen(poolPK(pool), poolAvailableSK(code), exists),
			putNew(couponCodeItem{PK: poolPK(pool), SK: poolUsedSK(code), Type: TypeCouponCode, Pool: pool, Code: code,
				AddedAt: now, RewardID: r.RewardID, ProgramID: r.ProgramID, UsedAt: &now}),
			update(poolPK(pool), poolSK, expression.Add(expression.Name("available"), expression.Value(-1)).
				Add(expression.Name("used"), expression.Value(1)), &counted),
			update(rewardPK(r.RewardID), rewardSK, rewardUpd, &rewardCond))
		reasons := cancellationReasons(err)
		switch {
		case err == nil:
			return after, nil
		case reasons == nil:
			return r, unavailable(fmt.Errorf("draw a code from %s for %s: %w", pool, r.RewardID, err))
		case len(reasons) > 3 && reasons[3] == "ConditionalCheckFailed":
			return r, ErrClaimed
		case reasons[0] == "ConditionalCheckFailed" || reasons[1] == "ConditionalCheckFailed":
			taken[code] = true // another reward drew it first
		}
		// A transaction conflict (another draw on the pool's counter): try again.
	}
	return r, referral.ErrUnavailable.With("too many rewards are drawing from the pool at once; retry shortly", nil)
}

// availableCodes reads up to drawWindow available codes of a pool (1 consistent Query on its
// partition, reading available codes only).
func (s *Store) availableCodes(ctx context.Context, pool string) ([]string, error) {
	kc := expression.Key("PK").Equal(expression.Value(poolPK(pool))).
		And(expression.Key("SK").BeginsWith(poolAvailablePrefix))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, err
	}
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ConsistentRead: aws.Bool(true), Limit: aws.Int32(drawWindow)})
	if err != nil {
		return nil, unavailable(fmt.Errorf("codes of pool %s: %w", pool, err))
	}
	var items []couponCodeItem
	if err := unmarshalList(res.Items, &items); err != nil {
		return nil, err
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Code
	}
	return out, nil
}
