package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/referral/referrals/shared/referral"
)

type rewardItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI1PK string `json:"GSI1PK"`
	GSI1SK string `json:"GSI1SK"`
	GSI3PK string `json:"GSI3PK"`
	GSI3SK string `json:"GSI3SK"`
	Type   string `json:"type"`
	referral.Reward
	PreviousStatus string     `json:"previousStatus,omitempty"`
	ExpiredAt      *time.Time `json:"expiredAt,omitempty"`
	// ConversionRewards are the ids of every reward the reward's conversion made, itself
	// included, so a stream consumer knows them from the reward's image (a conversion's
	// rewards are thanked for together). Absent on contest prizes and on rewards written
	// before it was kept.
	ConversionRewards []string `json:"conversionRewards,omitempty"`
}

func newRewardItem(r referral.Reward) rewardItem {
	return rewardItem{PK: rewardPK(r.RewardID), SK: rewardSK, GSI1PK: rewardsByCustomerPK(r.CustomerID),
		GSI1SK: rewardsByCustomerSK(r.CreatedAt, r.RewardID), GSI3PK: rewardQueuePK(r.ProgramID, rewardQueue(r)),
		GSI3SK: rewardQueueSK(r), Type: TypeReward, Reward: r}
}

// requeue sets a reward's queue keys for the status it moves to.
func requeue(upd expression.UpdateBuilder, r referral.Reward, status string) expression.UpdateBuilder {
	r.Status = status
	return upd.Set(expression.Name("GSI3PK"), expression.Value(rewardQueuePK(r.ProgramID, rewardQueue(r)))).
		Set(expression.Name("GSI3SK"), expression.Value(rewardQueueSK(r)))
}

// Totals are reward amounts by currency, then by status.
type Totals map[string]map[string]int64

// ledgerRun is a customer's reward ledger on GSI5, oldest first.
func ledgerRun(customerID string) indexRun {
	return indexRun{index: GSI5, pk: rewardsByCustomerPK(customerID)}
}

// ListRewards returns one page of a customer's rewards, oldest first, with their effective
// status, and totals over all of them (access pattern "a customer's rewards"): 1 Query on
// GSI5, REWARDS#<customer>, for the keys of the whole ledger (a further one per MB of keys),
// then 1 eventually consistent BatchGetItem per 100 of them for the rewards as stored; the
// page is cut from them.
func (s *Store) ListRewards(ctx context.Context, customerID string, page Page) ([]referral.Reward, Totals, *string, error) {
	keys, err := s.allKeys(ctx, ledgerRun(customerID))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list rewards of %s: %w", customerID, err)
	}
	var all []rewardItem
	if err := s.readListed(ctx, keys, &all, ledgerRun(customerID)); err != nil {
		return nil, nil, nil, fmt.Errorf("list rewards of %s: %w", customerID, err)
	}
	return ledgerPage(all, page, s.now())
}

// ledgerPage cuts a page from a customer's whole ledger, oldest first, each reward with its
// effective status at now, and totals over all of them.
func ledgerPage(all []rewardItem, page Page, now time.Time) ([]referral.Reward, Totals, *string, error) {
	totals := Totals{}
	start := 0
	if page.Cursor != "" {
		start = -1
		for i := range all {
			if all[i].RewardID == page.Cursor {
				start = i + 1
			}
		}
		if start < 0 {
			return nil, nil, nil, referral.Invalid("cursor", "the cursor is not one this API returned")
		}
	}
	out := []referral.Reward{}
	var next *string
	for i := range all {
		r := all[i].Reward
		r.Status = r.EffectiveStatus(now)
		if r.Value != nil {
			if totals[r.Value.Currency] == nil {
				totals[r.Value.Currency] = map[string]int64{}
				for _, st := range referral.RewardStatuses {
					totals[r.Value.Currency][st] = 0
				}
			}
			totals[r.Value.Currency][r.Status] += r.Value.Amount
		}
		if i >= start && (page.Limit == 0 || len(out) < int(page.Limit)) {
			out = append(out, r)
			if page.Limit > 0 && len(out) == int(page.Limit) && i+1 < len(all) {
				id := r.RewardID
				next = &id
			}
		}
	}
	return out, totals, next, nil
}

// GetReward reads one reward with its effective status (1 consistent GetItem).
func (s *Store) GetReward(ctx context.Context, id string) (referral.Reward, error) {
	r, err := s.StoredReward(ctx, id)
	if err != nil {
		return r, err
	}
	r.Status = r.EffectiveStatus(s.now())
	return r, nil
}

// FulfillReward marks an approved reward fulfilled with the merchant's reference (gift card
// number, coupon): 1 GetItem and 1 UpdateItem conditioned on the status read. Fulfilling
// again with the same reference answers the same; a reward past its expiry has its expiry
// recorded and is refused with ErrRewardExpired.
func (s *Store) FulfillReward(ctx context.Context, id, reference string) (referral.Reward, error) {
	now := s.now()
	var it rewardItem
	found, err := s.getItem(ctx, rewardPK(id), rewardSK, &it)
	if err != nil {
		return referral.Reward{}, fmt.Errorf("fulfil reward %s: %w", id, err)
	}
	if !found {
		return referral.Reward{}, referral.ErrRewardNotFound
	}
	r := it.Reward
	switch eff := r.EffectiveStatus(now); eff {
	case referral.RewardFulfilled:
		if r.Reference == reference {
			return r, nil
		}
		return r, referral.ErrRewardState.With("the reward was already fulfilled with another reference", nil)
	case referral.RewardExpired:
		if r.Status != referral.RewardExpired {
			if err := s.setStatus(ctx, r, referral.RewardExpired, "expiredAt", now, ""); err != nil {
				return r, err
			}
		}
		return r, referral.ErrRewardExpired
	case referral.RewardApproved:
		if err := s.setStatus(ctx, it.Reward, referral.RewardFulfilled, "fulfilledAt", now, reference); err != nil {
			return r, err
		}
		r.Status, r.Reference, r.UpdatedAt = referral.RewardFulfilled, reference, &now
		return r, nil
	case referral.RewardPending:
		return r, referral.ErrRewardState.With("the reward is in its hold period until "+r.AvailableAt.Format(time.RFC3339), nil)
	default:
		return r, referral.ErrRewardState.With("a reward in status "+eff+" cannot be fulfilled", nil)
	}
}

// ApproveReward writes a reward approved: one held for review, or a pending one whose hold
// has ended and the scheduler has not released yet (1 GetItem, 1 UpdateItem conditioned on
// the status read; 1 more GetItem for its program when a provider delivers it, to queue it in
// programs that fulfil automatically). The written status is what the stream's consumers
// react to (the thank-you email goes out then). Approving an approved reward answers the same.
func (s *Store) ApproveReward(ctx context.Context, id string) (referral.Reward, error) {
	now := s.now()
	r, err := s.StoredReward(ctx, id)
	if err != nil {
		return r, err
	}
	switch eff := r.EffectiveStatus(now); {
	case r.Status == referral.RewardApproved:
		return r, nil
	case eff == referral.RewardExpired:
		return r, referral.ErrRewardState.With("the reward expired before it was approved", nil)
	case r.Status == referral.RewardPending && eff == referral.RewardPending:
		return r, referral.ErrRewardState.With("the reward is in its hold period until "+r.AvailableAt.Format(time.RFC3339), nil)
	case r.Status == referral.RewardReview, r.Status == referral.RewardPending:
		var p *referral.Program
		if r.Fulfilment != nil { // a provider's reward is queued for delivery in autoFulfil programs
			prog, err := s.GetProgram(ctx, r.ProgramID)
			if err != nil {
				return r, fmt.Errorf("approve reward %s: %w", id, err)
			}
			p = &prog
		}
		after := r.Approve(p, now)
		cond := expression.Name("status").Equal(expression.Value(r.Status))
		it, err := s.updateReward(ctx, id, rewardChange(after, "approvedAt", now), cond)
		if errors.Is(err, ErrClaimed) {
			return r, referral.ErrRewardState.With("the reward changed while this request ran; read it and try again", nil)
		}
		if err != nil {
			return r, err
		}
		return it.Reward, nil
	default:
		return r, referral.ErrRewardState.With("only a reward in review, or pending after its hold, can be approved; this one is "+eff, nil)
	}
}

// setStatus moves a reward from its stored status (r.Status) to another, stamping when, and
// moves it to the queue of its new status.
func (s *Store) setStatus(ctx context.Context, r referral.Reward, to, stampName string, now time.Time, reference string) error {
	id, from := r.RewardID, r.Status
	upd := requeue(expression.Set(expression.Name("status"), expression.Value(to)), r, to).
		Set(expression.Name("updatedAt"), expression.Value(now)).
		Set(expression.Name(stampName), expression.Value(now))
	if reference != "" {
		upd = upd.Set(expression.Name("reference"), expression.Value(reference))
	}
	cond := expression.Name("status").Equal(expression.Value(from))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(rewardPK(id), rewardSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	if conditionFailed(err) {
		return referral.ErrRewardState.With("the reward changed while this request ran; read it and try again", nil)
	}
	if err != nil {
		return unavailable(fmt.Errorf("reward %s → %s: %w", id, to, err))
	}
	return nil
}
