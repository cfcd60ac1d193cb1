package insights

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Consumer is the insights stream function: it aggregates a batch of the table's stream records into the
// insights items. Records are processed in order; when one cannot be (a store failure, an
// undecodable image), it and every later record of the batch are reported as batch item
// failures, so Lambda retries from it (facts already applied are skipped then) and, once its
// retries are exhausted, sends it to the on-failure destination.
type Consumer struct {
	Store    *store.Store
	Programs *store.ProgramCache
	Log      *slog.Logger
}

// Handle is the Lambda entry point.
func (c *Consumer) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var facts []store.Fact
	var from []int // facts[i] came from ev.Records[from[i]]
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
		for _, f := range Facts(ch, p) {
			facts = append(facts, f)
			from = append(from, i)
		}
	}
	done, err := c.Store.ApplyFacts(ctx, facts)
	if err != nil {
		c.Log.WarnContext(ctx, "stats: apply failed", "sequenceNumber", ev.Records[from[done]].Change.SequenceNumber, "error", err.Error())
		failed = min(failed, from[done])
	}
	var resp events.DynamoDBEventResponse
	for _, rec := range ev.Records[failed:] {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
	}
	c.Log.InfoContext(ctx, "stats batch", "records", len(ev.Records), "facts", len(facts), "applied", done, "failed", len(resp.BatchItemFailures))
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
