package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// board is an advocate's place on one month's leaderboard of a program: how many of their
// referees reached the program's last milestone that month (conversions recorded that month
// and not reversed), when that count was reached, and when the latest of those conversions
// were recorded (Unix milliseconds, at most maxRecent), so that a refund of one of them moves
// the time back exactly. Its size is bounded whatever the count.
//
// The advocate's standing carries the board of the month of its latest such conversion: the
// conversion's own transaction moves it, so the count is exact the moment the conversion is
// answered. When a conversion of a later month comes, the same transaction freezes the board
// it replaces as a leaderboard entry item of its own (leaderItem), which a later refund moves
// as it moved the standing. Neither carries index keys: the insights stream consumer ranks
// the period's advocates from their changes (rankingItem), so a conversion writes no index
// entry for its advocate.
//
// Rev orders the board's moves, across the standing and the entry frozen from it, so that the
// ranking applies an advocate's changes in order whichever shard delivers them first: each move
// sets it to the time of the move (Unix milliseconds), or one more than before if that is
// later. (A time rather than a count, so that a board written without it, by the version
// before, goes on ahead of every move before.)
type board struct {
	Period      string    `json:"period"` // YYYY-MM; "" before the advocate's first
	Conversions int       `json:"conversions,omitempty"`
	ReachedAt   time.Time `json:"reachedAt"`
	Recent      []int64   `json:"recentAt,omitempty"`
	Rev         int64     `json:"rev,omitempty"`
}

// maxRecent is how many of a board's latest conversions it remembers.
const maxRecent = 20

// add counts a conversion recorded at at (now).
func (b *board) add(at time.Time) {
	b.Conversions++
	b.Recent = append(slices.Clone(b.Recent), at.UnixMilli())
	slices.Sort(b.Recent)
	if len(b.Recent) > maxRecent {
		b.Recent = b.Recent[len(b.Recent)-maxRecent:]
	}
	b.moved(at)
	b.reached()
}

// remove takes back, now, a conversion recorded at at. Removing one older than every remembered one
// leaves the time as it is; removing a remembered one moves it to the latest left. Only when
// more than maxRecent of the latest conversions are all refunded does the time stay where it
// was (a later time: the advocate loses ties it might have won, never the reverse).
func (b *board) remove(at, now time.Time) {
	b.Conversions = max(b.Conversions-1, 0)
	if i := slices.Index(b.Recent, at.UnixMilli()); i >= 0 {
		b.Recent = slices.Delete(slices.Clone(b.Recent), i, i+1)
	}
	b.moved(now)
	b.reached()
}

func (b *board) moved(now time.Time) { b.Rev = max(b.Rev+1, now.UnixMilli()) }

func (b *board) reached() {
	if len(b.Recent) > 0 {
		b.ReachedAt = time.UnixMilli(b.Recent[len(b.Recent)-1]).UTC()
	}
}

// place is the board as the period's ranking takes it; nil before the advocate's first
// conversion.
func (b *board) place(programID, advocateID string) *BoardPlace {
	if b == nil || b.Period == "" {
		return nil
	}
	return &BoardPlace{ProgramID: programID, Period: b.Period, AdvocateID: advocateID, Conversions: b.Conversions,
		ReachedAt: b.ReachedAt, Rev: b.Rev}
}

// leaderItem is a leaderboard entry of a month the advocate's standing has moved on from: the
// board it froze, refunds of that month's conversions move it (Version guards it); one whose
// every conversion was refunded stays, at 0, so that its Rev goes on. Entries the insights
// stream consumer wrote before standings kept their board are read the same way (their latest
// conversions by eventId, Legacy), until a conversion or a refund rewrites them; entries
// written before the months' boards were kept carry GSI2 keys (docs/DATA-MODEL.md), which
// their next write drops.
type leaderItem struct {
	PK         string `json:"PK"`
	SK         string `json:"SK"`
	Type       string `json:"type"`
	ProgramID  string `json:"programId"`
	AdvocateID string `json:"advocateId"`
	board
	Legacy  map[string]time.Time `json:"recent,omitempty"`
	Version int64                `json:"version"`
}

// frozen is the entry of board b of the advocate's standing a.
func frozen(a advocateItem, b board) leaderItem {
	return leaderItem{PK: a.PK, SK: leaderSK(a.ProgramID, b.Period), Type: TypeLeader, ProgramID: a.ProgramID,
		AdvocateID: a.CustomerID, board: b}
}

// decodeLeader reads an entry, an old one's latest conversions into its board.
func decodeLeader(raw map[string]types.AttributeValue) (leaderItem, error) {
	var it leaderItem
	if err := unmarshal(raw, &it); err != nil {
		return it, fmt.Errorf("decode leaderboard entry: %w", err)
	}
	for _, at := range it.Legacy {
		it.Recent = append(it.Recent, at.UnixMilli())
	}
	slices.Sort(it.Recent)
	it.Legacy = nil
	return it, nil
}

// boardWrite is what recording a conversion that reaches the program's last milestone at
// now (or reversing one recorded at now) does to the leaderboard: the standing's new board
// and the entries the same transaction writes (a board frozen, an old entry taken over).
type boardWrite struct {
	board *board // nil: the standing's board does not change
	items []types.TransactWriteItem
}

// LeaderboardEntry is one ranked advocate of a period.
type LeaderboardEntry struct {
	Rank        int
	AdvocateID  string
	Conversions int
	ReachedAt   time.Time
}

// Leaderboard ranks the advocates of a program for a period (YYYY-MM) by converted referees,
// ties to who got there first (access pattern "a month's leaderboard": 1 GetItem of the
// period's board, which the insights stream consumer keeps within a minute of the conversions;
// a period whose board was never written, one that ended before boards were kept, is read
// from GSI2 as it was then: 1 Query, more only when limit outgrows a page).
func (s *Store) Leaderboard(ctx context.Context, programID, period string, limit int) ([]LeaderboardEntry, error) {
	b, err := s.periodBoard(ctx, programID, period, false)
	if err != nil {
		return nil, err
	}
	if b != nil {
		return b.entries(limit), nil
	}
	out, _, err := s.indexedLeaderboard(ctx, programID, period, limit)
	return out, err
}

// indexedLeaderboard ranks the advocates of a period from GSI2 (KEYS_ONLY: the sort key
// carries the count, the time and the advocate), where standings and entries were ranked
// before the period's board was kept; more says the index may hold more.
func (s *Store) indexedLeaderboard(ctx context.Context, programID, period string, limit int) (out []LeaderboardEntry, more bool, err error) {
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key("GSI2PK").Equal(expression.Value(leaderboardPK(programID, period)))).Build()
	if err != nil {
		return nil, false, err
	}
	out = []LeaderboardEntry{}
	var start map[string]types.AttributeValue
	for len(out) < limit {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(GSI2),
			KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(),
			ExpressionAttributeValues: expr.Values(), ExclusiveStartKey: start, Limit: aws.Int32(int32(min(limit-len(out), 1000)))})
		if err != nil {
			return nil, false, unavailable(fmt.Errorf("leaderboard %s %s: %w", programID, period, err))
		}
		for _, it := range res.Items {
			sk, _ := it["GSI2SK"].(*types.AttributeValueMemberS)
			if sk == nil {
				continue
			}
			n, at, adv, err := parseLeaderboardSK(sk.Value)
			if err != nil {
				return nil, false, err
			}
			if n == 0 {
				continue // every conversion of the month refunded: ranked last, not shown
			}
			out = append(out, LeaderboardEntry{Rank: len(out) + 1, AdvocateID: adv, Conversions: n, ReachedAt: at})
		}
		if len(res.LastEvaluatedKey) == 0 {
			return out, false, nil
		}
		start = res.LastEvaluatedKey
	}
	return out, true, nil
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

// leaderPeriod is the leaderboard month of a conversion recorded at t.
func leaderPeriod(t time.Time) string { return t.UTC().Format("2006-01") }

// lastMilestone is the milestone whose conversions rank advocates.
func lastMilestone(p *referral.Program) string {
	if len(p.Milestones) == 0 {
		return ""
	}
	return p.Milestones[len(p.Milestones)-1]
}

// leaderEntry reads the advocate's leaderboard entry of a month (1 consistent GetItem); nil
// when there is none.
func (s *Store) leaderEntry(ctx context.Context, programID, advocateID, period string) (*leaderItem, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(customerPK(advocateID), leaderSK(programID, period)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, unavailable(fmt.Errorf("leaderboard entry of %s: %w", advocateID, err))
	}
	if res.Item == nil {
		return nil, nil
	}
	it, err := decodeLeader(res.Item)
	return &it, err
}

// put writes item whatever is there (in a transaction whose other items decide).
func put(item any) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{Item: mustMarshal(item)}}
}

// entryWrite puts an entry as moved (at 0 too: the ranking then drops the advocate), only if
// it is still as read (stored: the version read, nil for a new entry).
func entryWrite(it leaderItem, stored *int64) types.TransactWriteItem {
	cond := expression.AttributeNotExists(expression.Name("PK"))
	if stored != nil {
		cond = expression.Name("version").Equal(expression.Value(*stored))
	}
	if stored != nil {
		it.Version = *stored + 1
	}
	return putWhen(it, cond)
}

// boardOnConversion is what a counted conversion of the program's last milestone, recorded at
// now, does to the leaderboard, for the advocate's standing a as read. Usually it moves the
// standing's board (no read, no other item). The first of a month freezes the standing's board
// of an earlier month as an entry (1 put in the transaction). Two rare cases read an entry
// first (1 GetItem): a standing written before standings kept their board takes over the entry
// of this month the insights wrote then (deleting it), and a conversion recorded a moment
// before the month its standing is already in (another container's clock) moves the entry of
// its own month, so that a refund finds it where it was counted.
func (s *Store) boardOnConversion(ctx context.Context, a advocateItem, now time.Time) (boardWrite, error) {
	var w boardWrite
	month := leaderPeriod(now)
	switch {
	case a.LB == nil:
		b := board{Period: month}
		old, err := s.leaderEntry(ctx, a.ProgramID, a.CustomerID, month)
		if err != nil {
			return w, err
		}
		if old != nil {
			b = old.board
			w.items = append(w.items, deleteWhen(old.PK, old.SK, expression.Name("version").Equal(expression.Value(old.Version))))
		}
		b.add(now)
		w.board = &b
	case a.LB.Period == month || a.LB.Period == "":
		b := *a.LB
		b.Period = month
		b.add(now)
		w.board = &b
	case a.LB.Period < month:
		// A board refunded to 0 is frozen too (Rev > 0), so that a late conversion of its month
		// counts on from its Rev and the ranking takes it.
		if a.LB.Conversions > 0 || a.LB.Rev > 0 {
			w.items = append(w.items, put(frozen(a, *a.LB)))
		}
		b := board{Period: month}
		b.add(now)
		w.board = &b
	default: // the standing is in a later month already
		it, err := s.leaderEntry(ctx, a.ProgramID, a.CustomerID, month)
		if err != nil {
			return w, err
		}
		var stored *int64
		if it == nil {
			it = &leaderItem{PK: a.PK, SK: leaderSK(a.ProgramID, month), Type: TypeLeader, ProgramID: a.ProgramID,
				AdvocateID: a.CustomerID, board: board{Period: month}}
		} else {
			stored = &it.Version
		}
		it.add(now)
		w.items = append(w.items, entryWrite(*it, stored))
	}
	return w, nil
}

// boardOnReversal is what reversing a counted conversion of the program's last milestone,
// recorded at at, does now to the leaderboard: it takes the conversion off the standing's board
// when that is still its month's, else off the month's entry (entry: as read, nil when there
// is none, and then nothing ranks it).
func boardOnReversal(a advocateItem, entry *leaderItem, at, now time.Time) boardWrite {
	var w boardWrite
	month := leaderPeriod(at)
	switch {
	case a.LB != nil && a.LB.Period == month:
		b := *a.LB
		b.remove(at, now)
		w.board = &b
	case entry != nil:
		it := *entry
		stored := it.Version
		it.remove(at, now)
		w.items = append(w.items, entryWrite(it, &stored))
	}
	return w
}
