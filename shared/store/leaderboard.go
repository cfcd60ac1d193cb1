package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// leaderItem is an advocate's leaderboard entry for one program and month: how many converted
// referees count for it, when that count was reached, and the latest of those conversions
// (eventId → when recorded), so that a refund of one of them moves the time back exactly. Its
// size is bounded whatever the count. Only the insights stream consumer writes it; Version guards it
// against a concurrent batch from another shard.
type leaderItem struct {
	PK          string               `json:"PK"`
	SK          string               `json:"SK"`
	GSI2PK      string               `json:"GSI2PK"`
	GSI2SK      string               `json:"GSI2SK"`
	Type        string               `json:"type"`
	ProgramID   string               `json:"programId"`
	Period      string               `json:"period"`
	AdvocateID  string               `json:"advocateId"`
	Conversions int                  `json:"conversions"`
	ReachedAt   time.Time            `json:"reachedAt"`
	Recent      map[string]time.Time `json:"recent,omitempty"` // omitted when empty (see DATA-MODEL.md)
	Version     int64                `json:"version"`
}

// maxRecent is how many of an entry's latest conversions it remembers.
const maxRecent = 20

// move applies one leaderboard move (the caller applies each move once).
//
// The count was reached when the latest standing conversion was recorded. Removing a
// conversion older than every remembered one leaves that time as it is; removing a remembered
// one moves it to the latest left. Only when more than maxRecent of the latest conversions are
// all refunded does the time stay where it was (a later time: the entry loses ties it might
// have won, never the reverse).
func (it *leaderItem) move(m LeaderMove) {
	if m.Remove {
		it.Conversions = max(it.Conversions-1, 0)
		delete(it.Recent, m.EventID)
		return
	}
	it.Conversions++
	if it.Recent == nil {
		it.Recent = map[string]time.Time{}
	}
	it.Recent[m.EventID] = m.At.UTC()
	if len(it.Recent) > maxRecent {
		oldest := ""
		for id, at := range it.Recent {
			if oldest == "" || at.Before(it.Recent[oldest]) || at.Equal(it.Recent[oldest]) && id < oldest {
				oldest = id
			}
		}
		delete(it.Recent, oldest)
	}
}

// index sets the time the count was reached and the GSI2 keys.
func (it *leaderItem) index() {
	if len(it.Recent) > 0 {
		it.ReachedAt = time.Time{}
		for _, at := range it.Recent {
			if at.After(it.ReachedAt) {
				it.ReachedAt = at
			}
		}
	}
	it.GSI2PK = leaderboardPK(it.ProgramID, it.Period)
	it.GSI2SK = leaderboardSK(it.Conversions, it.ReachedAt, it.AdvocateID)
}

// LeaderboardEntry is one ranked advocate of a period.
type LeaderboardEntry struct {
	Rank        int
	AdvocateID  string
	Conversions int
	ReachedAt   time.Time
}

// Leaderboard ranks the advocates of a program for a period (YYYY-MM) by converted referees,
// ties to who got there first: 1 Query on GSI2 (KEYS_ONLY: the sort key carries the count,
// the time and the advocate), reading further pages only when limit outgrows one.
func (s *Store) Leaderboard(ctx context.Context, programID, period string, limit int) ([]LeaderboardEntry, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key("GSI2PK").Equal(expression.Value(leaderboardPK(programID, period)))).Build()
	if err != nil {
		return nil, err
	}
	out := []LeaderboardEntry{}
	var start map[string]types.AttributeValue
	for len(out) < limit {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(GSI2),
			KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(),
			ExpressionAttributeValues: expr.Values(), ExclusiveStartKey: start, Limit: aws.Int32(int32(min(limit-len(out), 1000)))})
		if err != nil {
			return nil, unavailable(fmt.Errorf("leaderboard %s %s: %w", programID, period, err))
		}
		for _, it := range res.Items {
			sk, _ := it["GSI2SK"].(*types.AttributeValueMemberS)
			if sk == nil {
				continue
			}
			n, at, adv, err := parseLeaderboardSK(sk.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, LeaderboardEntry{Rank: len(out) + 1, AdvocateID: adv, Conversions: n, ReachedAt: at})
		}
		if len(res.LastEvaluatedKey) == 0 {
			break
		}
		start = res.LastEvaluatedKey
	}
	return out, nil
}

// FirstNames returns the first name of each customer found (1 BatchGetItem per 100 ids,
// projected to the name). Names are read at display time, not copied into the leaderboard,
// so erasing a customer's personal data erases it from every leaderboard too.
func (s *Store) FirstNames(ctx context.Context, customerIDs []string) (map[string]string, error) {
	out := map[string]string{}
	proj, err := expression.NewBuilder().WithProjection(expression.NamesList(expression.Name("customerId"), expression.Name("name"))).Build()
	if err != nil {
		return nil, err
	}
	for len(customerIDs) > 0 {
		n := min(len(customerIDs), 100)
		keys := make([]map[string]types.AttributeValue, 0, n)
		for _, id := range customerIDs[:n] {
			keys = append(keys, key(customerPK(id), customerSK))
		}
		customerIDs = customerIDs[n:]
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ProjectionExpression: proj.Projection(), ExpressionAttributeNames: proj.Names()}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				if attempt > maxAttempts {
					return nil, unavailable(fmt.Errorf("first names: keys still unprocessed after %d attempts", attempt))
				}
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, unavailable(fmt.Errorf("first names: %w", err))
			}
			var rows []struct {
				CustomerID string `json:"customerId"`
				Name       string `json:"name"`
			}
			if err := unmarshalList(res.Responses[s.table], &rows); err != nil {
				return nil, fmt.Errorf("first names: %w", err)
			}
			for _, r := range rows {
				out[r.CustomerID] = referral.FirstName(r.Name)
			}
			req = res.UnprocessedKeys
		}
	}
	return out, nil
}
