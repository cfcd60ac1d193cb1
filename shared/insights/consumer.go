package insights

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Consumer is the insights stream function: it aggregates a batch of one shard of the table's
// stream into the insights items, each record once (store.ApplyShard keeps a checkpoint per
// shard), and moves each leaderboard its records touch once per batch (store.ApplyBoards: the
// standings' and entries' absolute counts, so a record applied again changes nothing). The
// event source mapping has a tumbling window only so that Lambda says which shard a batch
// comes from (shardId); the window's state is not used and every batch is applied as it comes.
// Records are processed in order; when one cannot be (a store failure, an undecodable image),
// it and every later record of the batch are reported as batch item failures, so Lambda retries
// from it and, once its retries are exhausted, sends it to the on-failure destination. When
// the boards cannot be written, the whole batch is reported.
type Consumer struct {
	Store    *store.Store
	Programs *store.ProgramCache
	Log      *slog.Logger
}

// Handle is the Lambda entry point.
func (c *Consumer) Handle(ctx context.Context, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
	var records []store.RecordFacts
	var places []store.BoardPlace
	facts := 0
	failed := len(ev.Records)
	for i, rec := range ev.Records {
		ch, err := store.DecodeChange(rec)
		if err != nil {
			c.Log.ErrorContext(ctx, "stats: undecodable record", "sequenceNumber", rec.Change.SequenceNumber, "error", err.Error())
			failed = i
			break
		}
		var p *referral.Program
		if NeedsProgram(ch) {
			if p, err = c.program(ctx, ch.New.ProgramID); err != nil {
				c.Log.WarnContext(ctx, "stats: program unavailable", "sequenceNumber", ch.Seq, "error", err.Error())
				failed = i
				break
			}
		}
		r := store.RecordFacts{Seq: ch.Seq, Facts: Facts(ch, p)}
		facts += len(r.Facts)
		records = append(records, r)
		if pl := ch.BoardMove(); pl != nil {
			places = append(places, *pl)
		}
	}
	// The boards first: should they fail, the whole batch comes back (the stats skip what
	// they applied; a board takes an advocate's place again without change).
	if err := c.Store.ApplyBoards(ctx, places); err != nil {
		c.Log.WarnContext(ctx, "stats: leaderboards failed", "shardId", ev.ShardID, "error", err.Error())
		failed, records = 0, nil
	}
	done, err := c.Store.ApplyShard(ctx, ev.ShardID, records)
	if err != nil {
		c.Log.WarnContext(ctx, "stats: apply failed", "shardId", ev.ShardID, "sequenceNumber", ev.Records[done].Change.SequenceNumber, "error", err.Error())
		failed = min(failed, done)
	}
	// The response must carry a state (a tumbling window's); this function keeps none.
	resp := events.DynamoDBTimeWindowEventResponse{TimeWindowEventResponseProperties: events.TimeWindowEventResponseProperties{State: map[string]string{}}}
	for _, rec := range ev.Records[failed:] {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
	}
	c.Log.InfoContext(ctx, "stats batch", "shardId", ev.ShardID, "records", len(ev.Records), "facts", facts, "boardMoves", len(places), "applied", done, "failed", len(resp.BatchItemFailures))
	return resp, nil
}

// program is the item's program from the container cache; nil when it does not exist.
func (c *Consumer) program(ctx context.Context, id string) (*referral.Program, error) {
	p, err := c.Programs.Get(ctx, id)
	if errors.Is(err, referral.ErrProgramNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}
