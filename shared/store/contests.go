package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// Contest is a closed contest: who won which prize, and the prize rewards put in the ledger.
type Contest struct {
	ProgramID string            `json:"programId"`
	Period    string            `json:"period"`
	ClosedAt  time.Time         `json:"closedAt"`
	Awards    []ContestAward    `json:"awards"`
	Rewards   []referral.Reward `json:"rewards"` // Rewards[i] is the reward of Awards[i]
}

// ContestAward is one prize given: the rank, the advocate there and the reward created.
type ContestAward struct {
	Rank        int    `json:"rank"`
	CustomerID  string `json:"customerId"`
	Conversions int    `json:"conversions"`
	RewardID    string `json:"rewardId"`
}

type contestItem struct {
	PK        string            `json:"PK"`
	SK        string            `json:"SK"`
	Type      string            `json:"type"`
	ProgramID string            `json:"programId"`
	Period    string            `json:"period"`
	ClosedAt  time.Time         `json:"closedAt"`
	Awards    []ContestAward    `json:"awards,omitempty"` // never an empty list (see DATA-MODEL.md)
	Rewards   []referral.Reward `json:"rewards,omitempty"`
}

func (it *contestItem) contest() Contest {
	c := Contest{ProgramID: it.ProgramID, Period: it.Period, ClosedAt: it.ClosedAt, Awards: it.Awards, Rewards: it.Rewards}
	if c.Awards == nil {
		c.Awards, c.Rewards = []ContestAward{}, []referral.Reward{}
	}
	return c
}

// GetContest reads a closed contest (1 consistent GetItem); found is false while it is open.
func (s *Store) GetContest(ctx context.Context, programID, period string) (c Contest, found bool, err error) {
	var it contestItem
	found, err = s.getItem(ctx, programPK(programID), contestSK(period), &it)
	if err != nil || !found {
		return Contest{}, false, err
	}
	c = it.contest()
	if err := s.putRewardsOnce(ctx, c.Rewards); err != nil { // finish a close that stopped after its first transaction
		return Contest{}, false, err
	}
	return c, true, nil
}

// contestRewardsInFirst is how many prize rewards go in the transaction with the contest item.
const contestRewardsInFirst = maxTransactItems - 1

// SaveContest closes a contest once: 1 TransactWriteItems puts the contest item (only if the
// contest is not closed yet) with its prize rewards, in the ledger's reward shape. closed is
// false when another request closed it first; the stored contest is returned then, and
// nothing more is awarded. A contest with more than 99 prizes given puts the rest after the
// transaction, each at most once (GetContest completes them if this request stops half-way).
func (s *Store) SaveContest(ctx context.Context, c Contest) (Contest, bool, error) {
	it := contestItem{PK: programPK(c.ProgramID), SK: contestSK(c.Period), Type: TypeContest, ProgramID: c.ProgramID,
		Period: c.Period, ClosedAt: c.ClosedAt, Awards: c.Awards, Rewards: c.Rewards}
	if len(it.Awards) == 0 {
		it.Awards, it.Rewards = nil, nil
	}
	txn := []types.TransactWriteItem{putNew(it)}
	for i, r := range c.Rewards {
		if i < contestRewardsInFirst {
			txn = append(txn, putNew(newRewardItem(r)))
		}
	}
	err := s.transact(ctx, txn...)
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		if err := s.putRewardsOnce(ctx, c.Rewards); err != nil {
			return Contest{}, false, err
		}
		return it.contest(), true, nil
	case reasons != nil && reasons[0] == "ConditionalCheckFailed":
		stored, found, err := s.GetContest(ctx, c.ProgramID, c.Period)
		if err != nil {
			return Contest{}, false, err
		}
		if !found {
			return Contest{}, false, fmt.Errorf("close contest %s %s: condition failed but no contest is stored", c.ProgramID, c.Period)
		}
		return stored, false, nil
	case reasons != nil:
		return Contest{}, false, referral.ErrUnavailable.With("the contest is being closed by another request; retry shortly", nil)
	default:
		return Contest{}, false, unavailable(fmt.Errorf("close contest %s %s: %w", c.ProgramID, c.Period, err))
	}
}

// putRewardsOnce puts the prize rewards beyond the first transaction, each only if absent.
func (s *Store) putRewardsOnce(ctx context.Context, rewards []referral.Reward) error {
	if len(rewards) <= contestRewardsInFirst {
		return nil
	}
	for _, r := range rewards[contestRewardsInFirst:] {
		item, err := marshal(newRewardItem(r))
		if err != nil {
			return err
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
			ConditionExpression: aws.String("attribute_not_exists(PK)")})
		if err != nil && !conditionFailed(err) {
			return unavailable(fmt.Errorf("contest prize %s: %w", r.RewardID, err))
		}
	}
	return nil
}
