package store

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// Insights items. The insights stream consumer reads the stream filtered to the request path's item
// types, so it never sees (and never loops on) these, which only it and contest closing write.
//
//	item              PK                   SK                      GSI2PK            GSI2SK
//	stats (month)     STATS#<programId>    MONTH#<YYYY-MM>         -                 -
//	stats (business)  STATS                TOTAL                   -                 -
//	shard checkpoint  SHARD#<shardId>      INSIGHTS (ttl: 3 days)  -                 -
//	contest           PROGRAM#<programId>  CONTEST#<YYYY-MM>       -                 -
//	board             PROGRAM#<programId>  BOARD#<YYYY-MM>         -                 -
const (
	TypeStats      = "stats"
	TypeLeader     = "leader"
	TypeCheckpoint = "shard-checkpoint"
	TypeContest    = "contest"
	// TypeBoard is a program's leaderboard of a period (periodBoard).
	TypeBoard = "board"
)

// checkpointTTL is how long a shard's checkpoint outlives its last write. A stream keeps a
// record 24 hours, so no record of a shard can come back three days after the last one was
// applied; TTL then deletes the checkpoint for free.
const checkpointTTL = 72 * time.Hour

// Change is one item change read from the table's stream, decoded into what insights need.
type Change struct {
	Seq  string    // the record's sequence number: what a batch item failure names
	Name string    // INSERT, MODIFY or REMOVE
	At   time.Time // when DynamoDB recorded the change (to the second)
	Keys string    // "PK|SK" of the item
	Old  *Image    // nil on INSERT
	New  *Image    // nil on REMOVE
}

// Image is an item as the insights stream consumer sees it: the stats-relevant attributes of the item
// types it reads (customer, advocate, code, referral, event, reward, click), by their stored names.
type Image struct {
	Type        string          `json:"type"`
	ProgramID   string          `json:"programId"`
	CustomerID  string          `json:"customerId"`
	AdvocateID  string          `json:"advocateId"`
	RefereeID   string          `json:"refereeId"`
	ReferralID  string          `json:"referralId"`
	EventID     string          `json:"eventId"`
	RewardID    string          `json:"rewardId"`
	Code        string          `json:"code"`
	ClickID     string          `json:"clickId"`
	Channel     string          `json:"channel"` // click: its share channel
	Milestone   string          `json:"milestone"`
	Amount      *referral.Money `json:"amount"` // event: the conversion amount
	Counted     bool            `json:"counted"`
	Reversed    bool            `json:"reversed"`
	Counts      map[string]int  `json:"counts"` // advocate: referees who reached each milestone
	Uses        int             `json:"uses"`   // code: referrals made with it
	Role        string          `json:"role"`
	Rule        string          `json:"rule"`
	Status      string          `json:"status"`
	Value       *referral.Money `json:"value"` // reward
	CreatedAt   time.Time       `json:"createdAt"`
	AvailableAt time.Time       `json:"availableAt"`
	ExpiresAt   *time.Time      `json:"expiresAt"`
	// Board is the advocate's place on a period's leaderboard that a standing or a leaderboard
	// entry holds; nil for other items and before the advocate's first conversion.
	Board *BoardPlace `json:"-"`
}

// statsSources are the item types whose changes feed the insights.
var statsSources = []string{TypeCustomer, TypeAdvocate, TypeCode, TypeReferral, TypeEvent, TypeReward, TypeClick, TypeLeader}

// DecodeChange reads a stream record. Items of other types decode with only Type set.
func DecodeChange(rec events.DynamoDBEventRecord) (Change, error) {
	c := Change{Seq: rec.Change.SequenceNumber, Name: rec.EventName, At: rec.Change.ApproximateCreationDateTime.UTC()}
	c.Keys = streamString(rec.Change.Keys["PK"]) + "|" + streamString(rec.Change.Keys["SK"])
	var err error
	if c.Old, err = decodeImage(rec.Change.OldImage); err != nil {
		return c, fmt.Errorf("record %s: old image: %w", c.Seq, err)
	}
	if c.New, err = decodeImage(rec.Change.NewImage); err != nil {
		return c, fmt.Errorf("record %s: new image: %w", c.Seq, err)
	}
	return c, nil
}

func streamString(v events.DynamoDBAttributeValue) string {
	if v.DataType() != events.DataTypeString {
		return ""
	}
	return v.String()
}

func decodeImage(img map[string]events.DynamoDBAttributeValue) (*Image, error) {
	if len(img) == 0 {
		return nil, nil
	}
	im := &Image{Type: streamString(img["type"])}
	if !slices.Contains(statsSources, im.Type) {
		return im, nil
	}
	m, err := FromStream(img)
	if err != nil {
		return nil, err
	}
	if err := unmarshal(m, im); err != nil {
		return nil, err
	}
	switch im.Type {
	case TypeAdvocate:
		var a struct {
			LB *board `json:"lb"`
		}
		if err := unmarshal(m, &a); err != nil {
			return nil, err
		}
		im.Board = a.LB.place(im.ProgramID, im.CustomerID)
	case TypeLeader:
		it, err := decodeLeader(m)
		if err != nil {
			return nil, err
		}
		im.Board = it.place(it.ProgramID, it.AdvocateID)
	}
	return im, nil
}

// BoardMove is the advocate's place on a period's leaderboard that the change sets, or nil
// when it sets none (another item, a standing whose board did not move, a removal: an entry
// is removed only when its advocate's standing takes it over, the standing's change then
// says where they are).
func (c Change) BoardMove() *BoardPlace {
	if c.New == nil || c.New.Board == nil {
		return nil
	}
	if c.Old != nil && c.Old.Board != nil && c.Old.Board.same(*c.New.Board) {
		return nil
	}
	return c.New.Board
}

// Fact is one change's contribution to the insights. ID names the business fact ("event E
// was recorded", "reward R went from pending to reversed"), for logs and tests; what keeps a
// fact from being applied twice is the shard checkpoint of the record it came from (ApplyShard).
type Fact struct {
	ID        string
	ProgramID string           // "" for business-wide counters
	Month     string           // YYYY-MM; "" for the all-time total item
	Add       map[string]int64 // counters to add to (negative to take back)
	At        time.Time        // when the change happened; the aggregate's asOf
}

// RecordFacts are the facts of one stream record, named by its sequence number.
type RecordFacts struct {
	Seq   string
	Facts []Fact
}

// statsItem is a stats aggregate: fixed attributes plus one number attribute per counter.
type statsItem struct {
	PK        string    `json:"PK"`
	SK        string    `json:"SK"`
	Type      string    `json:"type"`
	ProgramID string    `json:"programId"`
	Month     string    `json:"month"`
	AsOf      time.Time `json:"asOf"`
}

var statsFixed = []string{"PK", "SK", "type", "programId", "month", "asOf"}

// checkpointItem is how far the insights have applied one shard of the table's stream: the
// sequence number of the last record applied.
type checkpointItem struct {
	PK   string `json:"PK"`
	SK   string `json:"SK"`
	Type string `json:"type"`
	Seq  string `json:"seq"`
	TTL  int64  `json:"ttl"`
}

// ApplyShard applies the facts of a batch of one shard's stream records, in order, each record
// once: per transaction 1 consistent BatchGetItem (the shard's checkpoint) and 1 TransactWriteItems
// holding one ADD update per stats item touched and the shard's checkpoint moved to the last
// record applied. A batch that needs more than 100 items is applied in several
// transactions, cut between records.
//
// Why a checkpoint per shard: Lambda delivers a shard's records in order, one batch at a time,
// and after a failure delivers again from the failed record (a batch item failure) or the
// whole batch (a function error, bisected), so every record it delivers again either was
// applied (its sequence number is at most the checkpoint: skipped) or comes after every record
// applied. Sequence numbers are ordered within a shard only, hence one checkpoint per shard,
// written in the same transaction as what the records add. This costs one small write per
// batch, where a marker per fact cost one per record; the aggregates get one write per batch.
//
// done counts the leading records that are applied (those before a failure). Contention
// (another shard's batch on the same aggregate) is retried with jittered backoff.
func (s *Store) ApplyShard(ctx context.Context, shard string, records []RecordFacts) (done int, err error) {
	if shard == "" {
		return 0, fmt.Errorf("apply %d stream records: no shard id (the event source mapping needs TumblingWindowInSeconds)", len(records))
	}
	for done < len(records) {
		n := chunkRecords(records[done:])
		if err := s.applyChunk(ctx, shard, records[done:done+n]); err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

// chunkRecords is how many leading records fit one transaction (at least one): their stats
// items and the checkpoint.
func chunkRecords(records []RecordFacts) int {
	targets := map[string]bool{}
	for i, r := range records {
		need := 0
		for _, f := range r.Facts {
			for _, k := range factTargets(f) {
				if !targets[k] {
					need++
				}
			}
		}
		if i > 0 && len(targets)+need+1 > maxTransactItems {
			return i
		}
		for _, f := range r.Facts {
			for _, k := range factTargets(f) {
				targets[k] = true
			}
		}
	}
	return len(records)
}

func factTargets(f Fact) []string {
	var out []string
	if len(f.Add) > 0 {
		out = append(out, statsPK(f.ProgramID)+"|"+statsSK(f.Month))
	}
	return out
}

func (s *Store) applyChunk(ctx context.Context, shard string, records []RecordFacts) error {
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt > 1 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		retry, err := s.tryChunk(ctx, shard, records)
		if !retry {
			return err
		}
	}
	return unavailable(fmt.Errorf("apply %d stream records: still contended after %d attempts", len(records), maxAttempts))
}

func (s *Store) tryChunk(ctx context.Context, shard string, records []RecordFacts) (retry bool, err error) {
	now := s.now()
	cpKey := key(checkpointPK(shard), checkpointSK)
	got, err := s.batchGet(ctx, cpKey)
	if err != nil {
		return false, fmt.Errorf("apply stream records: %w", err)
	}
	var cp checkpointItem
	raw, hasCheckpoint := got[itemKey(cpKey)]
	if hasCheckpoint {
		if err := unmarshal(raw, &cp); err != nil {
			return false, fmt.Errorf("decode the checkpoint of %s: %w", shard, err)
		}
	}

	type agg struct {
		pid, month string
		add        map[string]int64
		at         time.Time
	}
	aggs := map[string]*agg{}
	var aggOrder []string
	facts := 0
	for _, r := range records {
		if hasCheckpoint && !seqAfter(r.Seq, cp.Seq) {
			continue // applied before: a batch delivered again
		}
		for _, f := range r.Facts {
			facts++
			if len(f.Add) > 0 {
				k := statsPK(f.ProgramID) + "|" + statsSK(f.Month)
				a := aggs[k]
				if a == nil {
					a = &agg{pid: f.ProgramID, month: f.Month, add: map[string]int64{}}
					aggs[k] = a
					aggOrder = append(aggOrder, k)
				}
				for name, d := range f.Add {
					a.add[name] += d
				}
				if f.At.After(a.at) {
					a.at = f.At
				}
			}
		}
	}
	if facts == 0 {
		return false, nil // nothing new: records without facts need no checkpoint
	}

	var items []types.TransactWriteItem
	for _, k := range aggOrder {
		a := aggs[k]
		upd := expression.Set(expression.Name("type"), expression.Value(TypeStats)).
			Set(expression.Name("programId"), expression.Value(a.pid)).
			Set(expression.Name("month"), expression.Value(a.month)).
			Set(expression.Name("asOf"), expression.Value(a.at))
		names := slices.Sorted(maps.Keys(a.add))
		for _, name := range names {
			if a.add[name] != 0 {
				upd = upd.Add(expression.Name(name), expression.Value(a.add[name]))
			}
		}
		items = append(items, update(statsPK(a.pid), statsSK(a.month), upd, nil))
	}
	cond := expression.AttributeNotExists(expression.Name("PK"))
	if hasCheckpoint {
		cond = expression.Name("seq").Equal(expression.Value(cp.Seq))
	}
	items = append(items, putWhen(checkpointItem{PK: checkpointPK(shard), SK: checkpointSK, Type: TypeCheckpoint,
		Seq: records[len(records)-1].Seq, TTL: now.Add(checkpointTTL).Unix()}, cond))
	err = s.transact(ctx, items...)
	switch {
	case err == nil:
		return false, nil
	case cancellationReasons(err) != nil:
		// DynamoDB reported a transaction conflict on an aggregate (another shard's batch),
		// or, should Lambda ever run one shard twice at once, the checkpoint moved: retry.
		return true, nil
	default:
		return false, unavailable(fmt.Errorf("apply stream records: %w", err))
	}
}

// seqAfter reports whether stream sequence number a comes after b (decimal strings of any
// length, compared as numbers).
func seqAfter(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}

// MonthStats is one stats aggregate: its counters by name.
type MonthStats struct {
	Month    string
	Counters map[string]int64
	AsOf     time.Time
}

// ProgramStats reads a program's monthly aggregates from from to to (YYYY-MM, inclusive; ""
// leaves that end open) with 1 Query, and the business-wide total (customers) with 1 GetItem.
func (s *Store) ProgramStats(ctx context.Context, programID, from, to string) ([]MonthStats, MonthStats, error) {
	lo, hi := statsSK("0000-00"), statsSK("9999-99")
	if from != "" {
		lo = statsSK(from)
	}
	if to != "" {
		hi = statsSK(to)
	}
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key("PK").Equal(expression.Value(statsPK(programID))).
			And(expression.Key("SK").Between(expression.Value(lo), expression.Value(hi)))).Build()
	if err != nil {
		return nil, MonthStats{}, err
	}
	var months []MonthStats
	var start map[string]types.AttributeValue
	for {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.table),
			KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(),
			ExpressionAttributeValues: expr.Values(), ExclusiveStartKey: start})
		if err != nil {
			return nil, MonthStats{}, unavailable(fmt.Errorf("stats of %s: %w", programID, err))
		}
		for _, it := range res.Items {
			m, err := decodeStats(it)
			if err != nil {
				return nil, MonthStats{}, fmt.Errorf("stats of %s: %w", programID, err)
			}
			months = append(months, m)
		}
		if len(res.LastEvaluatedKey) == 0 {
			break
		}
		start = res.LastEvaluatedKey
	}
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(statsPK(""), statsSK(""))})
	if err != nil {
		return nil, MonthStats{}, unavailable(fmt.Errorf("business stats: %w", err))
	}
	total := MonthStats{Counters: map[string]int64{}}
	if res.Item != nil {
		if total, err = decodeStats(res.Item); err != nil {
			return nil, MonthStats{}, fmt.Errorf("business stats: %w", err)
		}
	}
	return months, total, nil
}

func decodeStats(raw map[string]types.AttributeValue) (MonthStats, error) {
	var it statsItem
	if err := unmarshal(raw, &it); err != nil {
		return MonthStats{}, err
	}
	m := MonthStats{Month: it.Month, AsOf: it.AsOf, Counters: map[string]int64{}}
	for name, v := range raw {
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok || slices.Contains(statsFixed, name) {
			continue
		}
		x, err := parseCount(n.Value)
		if err != nil {
			return MonthStats{}, fmt.Errorf("counter %s: %w", name, err)
		}
		m.Counters[name] = x
	}
	return m, nil
}

// parseCount reads an integral number attribute (some engines answer 1e+12 for 10^12).
func parseCount(s string) (int64, error) {
	if x, err := strconv.ParseInt(s, 10, 64); err == nil {
		return x, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return int64(f), nil
}
