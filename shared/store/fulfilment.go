package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// A claim is a reward's lease on provider work (a delivery, a take-back): whoever holds it
// calls the provider, and only the holder may record the outcome. A claim whose holder died
// lapses at claimUntil (Unix seconds) and the next attempt takes over; the provider call it
// repeats carries the same idempotency key, so the provider does the work once.

// ClaimLease is how long a claim holds. It outlasts any function's deadline.
const ClaimLease = 2 * time.Minute

// ErrClaimed means another worker holds the reward's claim (or changed the reward first).
var ErrClaimed = errors.New("the reward is being worked on by another request")

// attrValue encodes v the way items are (json tags), for an expression value.
func attrValue(v any) types.AttributeValue {
	av, err := attributevalue.MarshalWithOptions(v, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // values are ours: a failure is a programming error
	}
	if m, ok := av.(*types.AttributeValueMemberM); ok {
		pruneEmpty(m.Value)
	}
	return av
}

func newClaim() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// claimFree holds when nobody holds the reward's claim, or its holder's lease lapsed.
func claimFree(now time.Time) expression.ConditionBuilder {
	return expression.Or(expression.AttributeNotExists(expression.Name("claim")),
		expression.Name("claimUntil").LessThan(expression.Value(now.Unix())))
}

// release ends a claim. It writes the claim empty rather than removing it: the tests' and make
// dev's engine (minidyn) ignores REMOVE.
func release(u expression.UpdateBuilder) expression.UpdateBuilder {
	return u.Set(expression.Name("claim"), expression.Value("")).Set(expression.Name("claimUntil"), expression.Value(0))
}

func heldBy(claim string) expression.ConditionBuilder {
	return expression.Name("claim").Equal(expression.Value(claim))
}

// rewardChange writes what differs between a reward's stored state and after: status, its
// stamp (approvedAt…), reference, fulfilment, and the queue keys of after.
func rewardChange(after referral.Reward, stampName string, now time.Time) expression.UpdateBuilder {
	upd := expression.Set(expression.Name("status"), expression.Value(after.Status)).
		Set(expression.Name("updatedAt"), expression.Value(now)).
		Set(expression.Name("GSI3PK"), expression.Value(rewardQueuePK(after.ProgramID, rewardQueue(after)))).
		Set(expression.Name("GSI3SK"), expression.Value(rewardQueueSK(after)))
	if stampName != "" {
		upd = upd.Set(expression.Name(stampName), expression.Value(now))
	}
	if after.Reference != "" {
		upd = upd.Set(expression.Name("reference"), expression.Value(after.Reference))
	}
	if after.Fulfilment != nil {
		upd = upd.Set(expression.Name("fulfilment"), expression.Value(attrValue(after.Fulfilment)))
	}
	return upd
}

// updateReward runs one conditional UpdateItem on a reward and returns it as stored after.
// A failed condition is ErrClaimed.
func (s *Store) updateReward(ctx context.Context, id string, upd expression.UpdateBuilder, cond expression.ConditionBuilder) (rewardItem, error) {
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return rewardItem{}, fmt.Errorf("reward %s: build expression: %w", id, err)
	}
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(rewardPK(id), rewardSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ReturnValues: types.ReturnValueAllNew})
	if conditionFailed(err) {
		return rewardItem{}, ErrClaimed
	}
	if err != nil {
		return rewardItem{}, unavailable(fmt.Errorf("update reward %s: %w", id, err))
	}
	var it rewardItem
	if err := unmarshal(res.Attributes, &it); err != nil {
		return rewardItem{}, fmt.Errorf("decode reward %s: %w", id, err)
	}
	return it, nil
}

// StoredReward reads one reward as stored, without deriving its effective status (1
// consistent GetItem): what the scheduler and the fulfilment decide on.
func (s *Store) StoredReward(ctx context.Context, id string) (referral.Reward, error) {
	var it rewardItem
	found, err := s.getItem(ctx, rewardPK(id), rewardSK, &it)
	if err != nil {
		return referral.Reward{}, fmt.Errorf("get reward %s: %w", id, err)
	}
	if !found {
		return referral.Reward{}, referral.ErrRewardNotFound
	}
	return it.Reward, nil
}

// RewardsDue lists up to limit rewards of a program's queue that are due at or before now,
// most overdue first (access pattern "due work": 1 Query on GSI4). The index is eventually
// consistent: every change made from what it returns is conditional on the state read.
func (s *Store) RewardsDue(ctx context.Context, programID, queue string, now time.Time, limit int32) ([]referral.Reward, error) {
	var items []rewardItem
	if err := s.dueItems(ctx, rewardQueuePK(programID, queue), now, limit, &items); err != nil {
		return nil, fmt.Errorf("rewards due in %s of %s: %w", queue, programID, err)
	}
	out := make([]referral.Reward, len(items))
	for i := range items {
		out[i] = items[i].Reward
	}
	return out, nil
}

// ApproveHeld writes a pending reward approved once its hold ended (1 UpdateItem conditional
// on it still being pending): approvedAt stamped, queued for automatic fulfilment when p
// fulfils automatically. changed is false when another run approved (or reversed) it first.
func (s *Store) ApproveHeld(ctx context.Context, r referral.Reward, p *referral.Program) (referral.Reward, bool, error) {
	now := s.now()
	after := r.Approve(p, now)
	cond := expression.Name("status").Equal(expression.Value(referral.RewardPending))
	it, err := s.updateReward(ctx, r.RewardID, rewardChange(after, "approvedAt", now), cond)
	if errors.Is(err, ErrClaimed) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	return it.Reward, true, nil
}

// Expire writes an unfulfilled reward expired (1 UpdateItem conditional on its status being
// the one read and on no delivery being under way): expiredAt stamped, off every queue.
// changed is false when its status moved first.
func (s *Store) Expire(ctx context.Context, r referral.Reward) (referral.Reward, bool, error) {
	now := s.now()
	after := r
	after.Status = referral.RewardExpired
	upd := rewardChange(after, "expiredAt", now).Set(expression.Name("previousStatus"), expression.Value(r.Status))
	cond := expression.Name("status").Equal(expression.Value(r.Status)).And(claimFree(now))
	it, err := s.updateReward(ctx, r.RewardID, upd, cond)
	if errors.Is(err, ErrClaimed) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	return it.Reward, true, nil
}

// ClaimDelivery takes the claim on delivering an approved reward through its provider (1
// UpdateItem): the reward must still be approved, its fulfilment as read (pending or failed),
// and nobody else delivering it. The fulfilment shows pending again while the claim holds.
// It returns the reward as stored and the claim; ErrClaimed when that does not hold.
func (s *Store) ClaimDelivery(ctx context.Context, r referral.Reward) (referral.Reward, string, error) {
	if r.Fulfilment == nil {
		return r, "", fmt.Errorf("claim delivery of %s: the reward has no provider", r.RewardID)
	}
	now := s.now()
	claim := newClaim()
	after := r
	f := *r.Fulfilment
	f.Status, f.Reason, f.At = referral.FulfilmentPending, "", &now
	after.Fulfilment = &f
	upd := rewardChange(after, "", now).
		Set(expression.Name("claim"), expression.Value(claim)).
		Set(expression.Name("claimUntil"), expression.Value(now.Add(ClaimLease).Unix()))
	cond := expression.Name("status").Equal(expression.Value(referral.RewardApproved)).
		And(expression.Name("fulfilment.status").Equal(expression.Value(r.Fulfilment.Status)), claimFree(now))
	it, err := s.updateReward(ctx, r.RewardID, upd, cond)
	if err != nil {
		return r, "", err
	}
	return it.Reward, claim, nil
}

// Delivered records a delivery made under claim (1 UpdateItem conditional on the claim): an
// approved reward becomes fulfilled with the provider's reference. A reward reversed while
// its delivery was under way keeps its reversed status, records the delivery, and is queued
// for the scheduler to take it back (2 UpdateItems then).
func (s *Store) Delivered(ctx context.Context, r referral.Reward, claim, reference string) (referral.Reward, error) {
	now := s.now()
	after := r
	f := *r.Fulfilment
	f.Status, f.Reference, f.Reason, f.At = referral.FulfilmentDone, reference, "", &now
	after.Fulfilment, after.Reference, after.Status = &f, reference, referral.RewardFulfilled
	cond := heldBy(claim).And(expression.Name("status").Equal(expression.Value(referral.RewardApproved)))
	it, err := s.updateReward(ctx, r.RewardID, release(rewardChange(after, "fulfilledAt", now)), cond)
	if !errors.Is(err, ErrClaimed) {
		return it.Reward, err
	}
	// Reversed meanwhile (nothing else moves a claimed reward): what was delivered is owed back.
	after.Status, after.Reference = referral.RewardReversed, r.Reference
	f.Reversal = &referral.Reversal{Status: referral.ReversalPending, At: &now}
	cond = heldBy(claim).And(expression.Name("status").Equal(expression.Value(referral.RewardReversed)))
	it, err = s.updateReward(ctx, r.RewardID, release(rewardChange(after, "", now)), cond)
	if err != nil {
		return r, fmt.Errorf("record delivery of %s: %w", r.RewardID, err)
	}
	return it.Reward, nil
}

// DeliveryFailed records a delivery that failed under claim (1 UpdateItem conditional on the
// claim): the fulfilment shows failed with the reason, and an approved reward moves to the
// failed queue, where POST /rewards/{id}/fulfill retries it.
func (s *Store) DeliveryFailed(ctx context.Context, r referral.Reward, claim, reason string) (referral.Reward, error) {
	now := s.now()
	stored, err := s.StoredReward(ctx, r.RewardID) // the status may have moved (a reversal)
	if err != nil {
		return r, err
	}
	after := stored
	f := *r.Fulfilment
	f.Status, f.Reason, f.At = referral.FulfilmentFailed, reason, &now
	after.Fulfilment = &f
	upd := release(rewardChange(after, "", now))
	cond := heldBy(claim).And(expression.Name("status").Equal(expression.Value(stored.Status)))
	it, err := s.updateReward(ctx, r.RewardID, upd, cond)
	if err != nil {
		return r, fmt.Errorf("record failed delivery of %s: %w", r.RewardID, err)
	}
	return it.Reward, nil
}

// ClaimTakeBack takes the claim on taking back a reversed reward's delivered credit (1
// UpdateItem): still reversed, its reversal as read, nobody else on it.
func (s *Store) ClaimTakeBack(ctx context.Context, r referral.Reward) (referral.Reward, string, error) {
	now := s.now()
	claim := newClaim()
	cond := expression.Name("status").Equal(expression.Value(referral.RewardReversed)).
		And(expression.Name("fulfilment.reversal.status").Equal(expression.Value(r.Fulfilment.Reversal.Status)), claimFree(now))
	upd := expression.Set(expression.Name("claim"), expression.Value(claim)).
		Set(expression.Name("claimUntil"), expression.Value(now.Add(ClaimLease).Unix()))
	it, err := s.updateReward(ctx, r.RewardID, upd, cond)
	if err != nil {
		return r, "", err
	}
	return it.Reward, claim, nil
}

// SettleTakeBack records the outcome of a take-back made under claim (1 UpdateItem
// conditional on the claim): done, skipped (nothing had been delivered), or failed and due
// again later. The reward leaves the scheduler's queue unless the reversal is to be retried.
func (s *Store) SettleTakeBack(ctx context.Context, r referral.Reward, claim string, rev referral.Reversal) (referral.Reward, error) {
	now := s.now()
	after := r
	f := *r.Fulfilment
	f.Reversal = &rev
	after.Fulfilment = &f
	upd := release(rewardChange(after, "", now))
	it, err := s.updateReward(ctx, r.RewardID, upd, heldBy(claim))
	if err != nil {
		return r, fmt.Errorf("record take-back of %s: %w", r.RewardID, err)
	}
	return it.Reward, nil
}

// SettleUndelivered takes a reversed reward whose provider never delivered it off the
// scheduler's queue (1 UpdateItem, conditional on its reversal still pending and nobody
// delivering it): there is nothing to take back.
func (s *Store) SettleUndelivered(ctx context.Context, r referral.Reward) (referral.Reward, error) {
	now := s.now()
	after := r
	f := *r.Fulfilment
	f.Reversal = &referral.Reversal{Status: referral.ReversalSkipped, Reason: referral.ReasonNothingCredited, At: &now}
	after.Fulfilment = &f
	cond := expression.Name("status").Equal(expression.Value(referral.RewardReversed)).
		And(expression.Name("fulfilment.status").NotEqual(expression.Value(referral.FulfilmentDone)), claimFree(now))
	it, err := s.updateReward(ctx, r.RewardID, rewardChange(after, "", now), cond)
	if err != nil {
		return r, err
	}
	return it.Reward, nil
}
