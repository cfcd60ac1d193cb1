package store

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// BoardPlace is an advocate's place on one period's leaderboard as their standing or a frozen
// leaderboard entry holds it (read from a stream image): an absolute count, so applying it
// twice changes nothing, and Rev, which orders one advocate's places of a period.
type BoardPlace struct {
	ProgramID   string
	Period      string // YYYY-MM
	AdvocateID  string
	Conversions int
	ReachedAt   time.Time
	Rev         int64
}

func (p BoardPlace) same(o BoardPlace) bool {
	return p.ProgramID == o.ProgramID && p.Period == o.Period && p.AdvocateID == o.AdvocateID &&
		p.Conversions == o.Conversions && p.ReachedAt.Equal(o.ReachedAt) && p.Rev == o.Rev
}

// BoardSize is how many advocates a period's board keeps: more than the API's largest limit
// (100), so that the first 100 ranks stay exact while refunds have pushed at most
// BoardSize − 100 of the board's advocates below its floor.
const BoardSize = 150

// periodBoard is a program's leaderboard of one period, kept by the insights stream consumer
// from the standings' and entries' changes (ApplyBoards): the BoardSize best advocates by
// count, then who reached it first, then id, and Floor, the highest count that ever fell off
// it. Every advocate not on it has at most Floor conversions (one who gets more comes back
// with their absolute count). Advocates whose count went to 0 stay on it (not shown) until
// room is needed, so that a late change of theirs with an older Rev is recognized.
type periodBoard struct {
	PK        string    `json:"PK"`
	SK        string    `json:"SK"`
	Type      string    `json:"type"`
	ProgramID string    `json:"programId"`
	Period    string    `json:"period"`
	Ranked    boardList `json:"ranked"`
	Floor     int       `json:"floor,omitempty"`
	Version   int64     `json:"version"`
}

// boardRank is one advocate on a periodBoard.
type boardRank struct {
	AdvocateID  string
	Conversions int
	ReachedAt   time.Time
	Rev         int64
}

func (r boardRank) same(o boardRank) bool {
	return r.AdvocateID == o.AdvocateID && r.Conversions == o.Conversions && r.ReachedAt.Equal(o.ReachedAt) && r.Rev == o.Rev
}

// byRank orders more conversions first, then who reached the count first, then the id.
func byRank(a, b boardRank) int {
	if c := cmp.Compare(b.Conversions, a.Conversions); c != 0 {
		return c
	}
	if c := a.ReachedAt.Compare(b.ReachedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.AdvocateID, b.AdvocateID)
}

// apply takes an advocate's place (unless the board holds a later one of theirs) and keeps
// the board to BoardSize; changed says whether anything moved.
func (b *periodBoard) apply(p BoardPlace) (changed bool) {
	r := boardRank{AdvocateID: p.AdvocateID, Conversions: p.Conversions, ReachedAt: p.ReachedAt.UTC().Truncate(time.Millisecond), Rev: p.Rev}
	i := slices.IndexFunc(b.Ranked, func(x boardRank) bool { return x.AdvocateID == p.AdvocateID })
	switch {
	case i >= 0 && r.Rev != 0 && b.Ranked[i].Rev > r.Rev:
		return false // a later place of this advocate is applied already (0: written without Rev, by the version before: taken)
	case i >= 0 && b.Ranked[i].same(r):
		return false
	case i >= 0:
		b.Ranked[i] = r
	case r.Conversions == 0 && len(b.Ranked) >= BoardSize:
		return false // nothing to show and no room to remember it
	default:
		b.Ranked = append(b.Ranked, r)
	}
	slices.SortFunc(b.Ranked, byRank)
	for len(b.Ranked) > BoardSize {
		b.Floor = max(b.Floor, b.Ranked[len(b.Ranked)-1].Conversions)
		b.Ranked = b.Ranked[:len(b.Ranked)-1]
	}
	return true
}

// entries are the board's first limit advocates with a count, ranked.
func (b *periodBoard) entries(limit int) []LeaderboardEntry {
	out := []LeaderboardEntry{}
	for _, r := range b.Ranked {
		if len(out) == limit || r.Conversions == 0 {
			break
		}
		out = append(out, LeaderboardEntry{Rank: len(out) + 1, AdvocateID: r.AdvocateID, Conversions: r.Conversions, ReachedAt: r.ReachedAt})
	}
	return out
}

// boardList is stored as one binary attribute: an encoding byte, then DEFLATE of each
// advocate's id (length-prefixed), count, reachedAt (Unix milliseconds) and Rev (less
// reachedAt: a move's time is mostly the time reached, a byte) as varints.
// 150 advocates with 36-character ids store in about 4.5 KB, ids like "cus_123" in under 2 KB,
// where a list of maps would take over 15 KB.
type boardList []boardRank

// boardEncodingDeflate1 marks a boardList as described there.
const boardEncodingDeflate1 = 1

// MarshalDynamoDBAttributeValue stores the list compressed (attributevalue.Marshaler).
func (l boardList) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	var raw []byte
	for _, r := range l {
		raw = binary.AppendUvarint(raw, uint64(len(r.AdvocateID)))
		raw = append(raw, r.AdvocateID...)
		raw = binary.AppendUvarint(raw, uint64(r.Conversions))
		raw = binary.AppendVarint(raw, r.ReachedAt.UnixMilli())
		raw = binary.AppendVarint(raw, r.Rev-r.ReachedAt.UnixMilli())
	}
	return deflated(boardEncodingDeflate1, "", raw)
}

// UnmarshalDynamoDBAttributeValue reads a stored list.
func (l *boardList) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	v, ok := av.(*types.AttributeValueMemberB)
	if !ok {
		return fmt.Errorf("board: a %T attribute", av)
	}
	raw, err := inflated(boardEncodingDeflate1, "", v.Value)
	if err != nil {
		return fmt.Errorf("board: %w", err)
	}
	bad := errors.New("board: truncated")
	out := boardList{}
	for len(raw) > 0 {
		n, k := binary.Uvarint(raw)
		if k <= 0 || uint64(len(raw)-k) < n {
			return bad
		}
		r := boardRank{AdvocateID: string(raw[k : k+int(n)])}
		raw = raw[k+int(n):]
		count, k := binary.Uvarint(raw)
		if k <= 0 {
			return bad
		}
		raw = raw[k:]
		ms, k := binary.Varint(raw)
		if k <= 0 {
			return bad
		}
		raw = raw[k:]
		if r.Rev, k = binary.Varint(raw); k <= 0 {
			return bad
		}
		raw = raw[k:]
		r.Conversions, r.ReachedAt, r.Rev = int(count), time.UnixMilli(ms).UTC(), r.Rev+ms
		out = append(out, r)
	}
	*l = out
	return nil
}

// ApplyBoards applies advocates' places to their periods' boards (access pattern "keep a
// period's leaderboard", the insights stream consumer, once per batch): per program and period
// the places touch, 1 consistent GetItem of its board and, when a place moved it, 1 PutItem
// conditioned on the version read (a conflict with another shard's batch reads again). The
// board's first write seeds it from GSI2 (1 Query: the standings and entries of the period
// written before boards were kept), so the period of the upgrade stays whole.
func (s *Store) ApplyBoards(ctx context.Context, places []BoardPlace) error {
	type period struct{ programID, period string }
	byPeriod := map[period][]BoardPlace{}
	var order []period
	for _, p := range places {
		k := period{p.ProgramID, p.Period}
		if _, ok := byPeriod[k]; !ok {
			order = append(order, k)
		}
		byPeriod[k] = append(byPeriod[k], p)
	}
	for _, k := range order {
		if err := s.applyBoard(ctx, k.programID, k.period, byPeriod[k]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) applyBoard(ctx context.Context, programID, period string, places []BoardPlace) error {
	limit := attemptLimit(ctx)
	for attempt := 1; attempt <= limit; attempt++ {
		if attempt > 1 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		b, err := s.periodBoard(ctx, programID, period, true)
		if err != nil {
			return err
		}
		stored := b != nil
		changed := !stored
		if !stored {
			if b, err = s.seedBoard(ctx, programID, period); err != nil {
				return err
			}
		}
		for _, p := range places {
			if b.apply(p) {
				changed = true
			}
		}
		if !changed {
			return nil
		}
		cond := expression.AttributeNotExists(expression.Name("PK"))
		if stored {
			cond = expression.Name("version").Equal(expression.Value(b.Version))
			b.Version++
		}
		w := putWhen(*b, cond).Put
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: w.Item,
			ConditionExpression: w.ConditionExpression, ExpressionAttributeNames: w.ExpressionAttributeNames,
			ExpressionAttributeValues: w.ExpressionAttributeValues})
		switch {
		case err == nil:
			return nil
		case !conditionFailed(err):
			return unavailable(fmt.Errorf("board %s %s: %w", programID, period, err))
		}
		// Another shard's batch wrote the board since it was read: read it again.
	}
	return unavailable(fmt.Errorf("board %s %s: still contended after %d attempts", programID, period, limit))
}

// periodBoard reads a period's board (1 GetItem); nil when the insights have not written it.
func (s *Store) periodBoard(ctx context.Context, programID, period string, consistent bool) (*periodBoard, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(programPK(programID), periodBoardSK(period)), ConsistentRead: aws.Bool(consistent)})
	if err != nil {
		return nil, unavailable(fmt.Errorf("board %s %s: %w", programID, period, err))
	}
	if res.Item == nil {
		return nil, nil
	}
	var b periodBoard
	if err := unmarshal(res.Item, &b); err != nil {
		return nil, fmt.Errorf("decode board %s %s: %w", programID, period, err)
	}
	return &b, nil
}

// seedBoard is a new board of the period holding its advocates ranked on GSI2 (the best
// BoardSize + 1 of them, so that one more than fits sets the floor).
func (s *Store) seedBoard(ctx context.Context, programID, period string) (*periodBoard, error) {
	b := &periodBoard{PK: programPK(programID), SK: periodBoardSK(period), Type: TypeBoard, ProgramID: programID,
		Period: period, Ranked: boardList{}}
	indexed, more, err := s.indexedLeaderboard(ctx, programID, period, BoardSize+1)
	if err != nil {
		return nil, err
	}
	for _, e := range indexed {
		b.apply(BoardPlace{ProgramID: programID, Period: period, AdvocateID: e.AdvocateID, Conversions: e.Conversions, ReachedAt: e.ReachedAt})
	}
	if more && len(indexed) > 0 {
		b.Floor = max(b.Floor, indexed[len(indexed)-1].Conversions)
	}
	return b, nil
}
