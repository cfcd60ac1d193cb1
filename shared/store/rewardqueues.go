package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// RewardFilter selects the rewards of GET /rewards. Status is a status as reads show it (the
// effective status: a pending reward whose hold ended shows approved, an unfulfilled one past
// its expiry expired) or QueueFailed (approved, its delivery failed); "" is any.
type RewardFilter struct {
	Status     string
	ProgramID  string // "" = every program
	CustomerID string // "" = every customer
}

// RewardListStatuses are the statuses a reward list filters on.
var RewardListStatuses = append(append([]string{}, referral.RewardStatuses...), QueueFailed)

// maxPageQueries bounds the Queries one page of a reward list makes: a page may then hold
// fewer rewards than asked for and still have a next cursor.
const maxPageQueries = 25

// queuePart is a run of one reward queue on GSI4: all of it, or only what is due by now.
type queuePart struct {
	queue string
	due   bool
}

// queueParts are the runs of the reward queues that may hold a reward showing status: its own
// queue, and for the statuses time brings (approved at a hold's end, expired at expiry), the
// due part of the queues it comes from, until the scheduler writes the change. Every reward is
// in exactly one queue, so "" (any status) reads each queue whole.
func queueParts(status string) []queuePart {
	switch status {
	case "":
		out := make([]queuePart, 0, len(RewardListStatuses))
		for _, q := range []string{referral.RewardPending, referral.RewardReview, referral.RewardApproved, QueueFailed,
			referral.RewardFulfilled, referral.RewardReversed, referral.RewardExpired} {
			out = append(out, queuePart{queue: q})
		}
		return out
	case referral.RewardApproved:
		return []queuePart{{referral.RewardPending, true}, {queue: referral.RewardApproved}}
	case referral.RewardExpired:
		return []queuePart{{referral.RewardPending, true}, {referral.RewardReview, true}, {referral.RewardApproved, true},
			{QueueFailed, true}, {queue: referral.RewardExpired}}
	default:
		return []queuePart{{queue: status}}
	}
}

// listed reports whether the stored reward r belongs in a list of status at now.
func listed(r referral.Reward, status string, now time.Time) bool {
	eff := r.EffectiveStatus(now)
	switch status {
	case "":
		return true
	case QueueFailed:
		return rewardQueue(r) == QueueFailed && eff == referral.RewardApproved
	case referral.RewardApproved:
		return eff == status && rewardQueue(r) != QueueFailed
	default:
		return eff == status
	}
}

// rewardCursor is where a reward list resumes: a program, the run of its queues, and the key
// after which to read; or, for a customer's rewards, the key only.
type rewardCursor struct {
	Program string            `json:"p,omitempty"`
	Part    int               `json:"i,omitempty"`
	Key     map[string]string `json:"k,omitempty"`
}

func (c rewardCursor) encode() *string {
	b, _ := json.Marshal(c) // strings and an int always encode
	out := base64.RawURLEncoding.EncodeToString(b)
	return &out
}

func decodeRewardCursor(s string) (rewardCursor, error) {
	var c rewardCursor
	if s == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 2048 || json.Unmarshal(b, &c) != nil || c.Part < 0 {
		return c, badCursor()
	}
	return c, nil
}

func badCursor() error { return referral.Invalid("cursor", "the cursor is not one this API returned") }

// startKey is the cursor's key as an ExclusiveStartKey, if it is a key of the partition pk of
// index.
func (c rewardCursor) startKey(index, pk string) (map[string]types.AttributeValue, error) {
	if c.Key == nil {
		return nil, nil
	}
	ipk, isk := indexKeys(index)
	out := map[string]types.AttributeValue{}
	for k, v := range c.Key {
		switch k {
		case "PK", "SK", ipk, isk:
			out[k] = &types.AttributeValueMemberS{Value: v}
		default:
			return nil, badCursor()
		}
	}
	if c.Key[ipk] != pk || len(out) != 4 {
		return nil, badCursor()
	}
	return out, nil
}

func plainKey(k map[string]types.AttributeValue) map[string]string {
	if len(k) == 0 {
		return nil
	}
	out := make(map[string]string, len(k))
	for name, v := range k {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out[name] = s.Value
		}
	}
	return out
}

// ListRewardsBy pages through rewards by status, program and customer, each with the status
// reads show (GET /rewards).
//
// With a customer: their ledger, oldest first (1 Query on GSI5, REWARDS#<customer>, for the
// keys, then the rewards from the table, kept to the program). Otherwise the reward queues
// (access pattern "a program's rewards by status": GSI4, RQ#<program>#<queue>, in due order:
// the payout queue by expiry), one Query per run of a queue that the status needs
// (queueParts), every program in id order when none is named (1 Query on GSI5 to find each
// next program). Each Query that lists rewards is followed by 1 eventually consistent
// BatchGetItem of them as stored (GSI4 and GSI5 hold keys only). A page makes at most
// maxPageQueries Queries, so it may hold fewer rewards than page.Limit and still have a next
// cursor.
func (s *Store) ListRewardsBy(ctx context.Context, f RewardFilter, page Page) ([]referral.Reward, *string, error) {
	cur, err := decodeRewardCursor(page.Cursor)
	if err != nil {
		return nil, nil, err
	}
	limit := int(page.Limit)
	if limit <= 0 {
		limit = 50
	}
	if f.CustomerID != "" {
		return s.customerRewardsBy(ctx, f, cur, limit)
	}
	now := s.now()
	parts := queueParts(f.Status)
	pid := f.ProgramID
	switch {
	case cur.Part > len(parts), pid != "" && cur.Program != "" && cur.Program != pid, pid == "" && cur.Key != nil && cur.Program == "":
		return nil, nil, badCursor()
	case pid == "":
		pid = cur.Program
	}
	out := []referral.Reward{}
	queries := 0
	if pid == "" {
		if pid, err = s.programAfter(ctx, ""); err != nil {
			return nil, nil, err
		}
		queries++
	}
	part, start := cur.Part, cur
	for pid != "" {
		for ; part < len(parts); part, start = part+1, (rewardCursor{}) {
			pk := rewardQueuePK(pid, parts[part].queue)
			key, err := start.startKey(GSI4, pk)
			if err != nil {
				return nil, nil, err
			}
			for {
				if len(out) >= limit || queries >= maxPageQueries {
					return out, rewardCursor{Program: pid, Part: part, Key: plainKey(key)}.encode(), nil
				}
				items, next, err := s.queuePage(ctx, pk, parts[part].due, now, key, int32(limit-len(out)))
				queries++
				if err != nil {
					return nil, nil, err
				}
				for _, it := range items {
					if listed(it.Reward, f.Status, now) {
						r := it.Reward
						r.Status = r.EffectiveStatus(now)
						out = append(out, r)
					}
				}
				if key = next; key == nil {
					break
				}
			}
		}
		if f.ProgramID != "" {
			break
		}
		if queries >= maxPageQueries {
			return out, rewardCursor{Program: pid, Part: part}.encode(), nil
		}
		if pid, err = s.programAfter(ctx, pid); err != nil {
			return nil, nil, err
		}
		queries++
		part = 0
	}
	return out, nil, nil
}

// queuePage reads up to limit rewards of the GSI4 partition pk after start, all of it or only
// what is due by now: 1 Query for their keys, then 1 eventually consistent BatchGetItem for the
// rewards as stored (GSI4 holds keys only).
func (s *Store) queuePage(ctx context.Context, pk string, due bool, now time.Time, start map[string]types.AttributeValue, limit int32) ([]rewardItem, map[string]types.AttributeValue, error) {
	r := indexRun{index: GSI4, pk: pk}
	if due {
		r.hi = dueBy(now)
	}
	var items []rewardItem
	last, err := s.runThrough(ctx, r, start, limit, &items)
	if err != nil {
		return nil, nil, fmt.Errorf("reward queue %s: %w", pk, err)
	}
	return items, last, nil
}

// programAfter is the id of the first program after the id after in id order, "" if none
// (1 Query on GSI5, PROGRAMS: the id is in the program's key).
func (s *Store) programAfter(ctx context.Context, after string) (string, error) {
	kc := expression.Key("GSI1PK").Equal(expression.Value(programsPK))
	if after != "" {
		kc = kc.And(expression.Key("GSI1SK").GreaterThan(expression.Value(after)))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return "", err
	}
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(GSI5),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(),
		ExpressionAttributeValues: expr.Values(), Limit: aws.Int32(1)})
	if err != nil {
		return "", unavailable(fmt.Errorf("programs after %q: %w", after, err))
	}
	if len(res.Items) == 0 {
		return "", nil
	}
	var k listedKey
	if err := unmarshal(res.Items[0], &k); err != nil {
		return "", err
	}
	return programOf(k), nil
}

// customerRewardsBy is ListRewardsBy for one customer: their ledger on GSI5, oldest first.
func (s *Store) customerRewardsBy(ctx context.Context, f RewardFilter, cur rewardCursor, limit int) ([]referral.Reward, *string, error) {
	now := s.now()
	pk := rewardsByCustomerPK(f.CustomerID)
	if cur.Program != "" || cur.Part != 0 {
		return nil, nil, badCursor()
	}
	key, err := cur.startKey(GSI5, pk)
	if err != nil {
		return nil, nil, err
	}
	out := []referral.Reward{}
	for queries := 0; ; queries++ {
		if len(out) >= limit || queries >= maxPageQueries {
			return out, rewardCursor{Key: plainKey(key)}.encode(), nil
		}
		var items []rewardItem
		if key, err = s.runThrough(ctx, ledgerRun(f.CustomerID), key, int32(limit-len(out)), &items); err != nil {
			return nil, nil, fmt.Errorf("rewards of %s: %w", f.CustomerID, err)
		}
		for _, it := range items {
			if (f.ProgramID == "" || it.ProgramID == f.ProgramID) && listed(it.Reward, f.Status, now) {
				r := it.Reward
				r.Status = r.EffectiveStatus(now)
				out = append(out, r)
			}
		}
		if key == nil {
			return out, nil, nil
		}
	}
}

// RewardsTurning lists a program's rewards whose status time may have changed without the
// change being written yet (access pattern "rewards whose status is turning": 1 Query on GSI4
// per queue, side by side, a further page per MB of keys; then 1 eventually consistent
// BatchGetItem per 100 of the rewards listed, as stored): the whole due part of the pending
// queue (holds that ended: the scheduler writes them approved within its period), and the part
// of the review, approved and failed queues that came due after since (expiries since then).
// Stats read it to show every reward in the status it has now.
func (s *Store) RewardsTurning(ctx context.Context, programID string, since, now time.Time) ([]referral.Reward, error) {
	queues := []string{referral.RewardPending, referral.RewardReview, referral.RewardApproved, QueueFailed}
	runs := make([]indexRun, len(queues))
	keys := make([][]listedKey, len(queues))
	errs := make([]error, len(queues))
	var wg sync.WaitGroup
	for i, q := range queues {
		runs[i] = indexRun{index: GSI4, pk: rewardQueuePK(programID, q), hi: dueBy(now)}
		if q != referral.RewardPending {
			runs[i].lo = stamp(since)
		}
		wg.Go(func() { keys[i], errs[i] = s.allKeys(ctx, runs[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("rewards turning in %s: %w", runs[i].pk, err)
		}
	}
	var items []rewardItem
	if err := s.readListed(ctx, slices.Concat(keys...), &items, runs...); err != nil {
		return nil, fmt.Errorf("rewards turning in %s: %w", programID, err)
	}
	out := make([]referral.Reward, len(items))
	for i := range items {
		out[i] = items[i].Reward
	}
	return out, nil
}
