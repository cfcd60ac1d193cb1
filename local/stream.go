package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/referral/referrals/devkit/dynamostream"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// streamConsumer is one DynamoDB event source mapping: it reads the table's shard in order
// and delivers batches to the function as Lambda's poller does.
type streamConsumer struct {
	fn        *function
	src       *StreamSource
	cur       *cursor
	filter    *dynamostream.Filter
	dlq       *dlqFile
	sink      *logSink
	retryBase time.Duration
}

const maxRetryDelay = 10 * time.Second

func (c *streamConsumer) run(ctx context.Context) {
	defer c.cur.close()
	for {
		batch, consumed := c.nextBatch(ctx)
		if ctx.Err() != nil {
			return
		}
		c.deliver(ctx, batch, 0)
		if ctx.Err() != nil {
			return
		}
		c.cur.advance(consumed)
	}
}

// nextBatch waits for records that pass the filter and returns up to BatchSize of them,
// waiting up to the batching window for a full batch. consumed counts every record read,
// the ones the filter dropped included.
func (c *streamConsumer) nextBatch(ctx context.Context) ([]streamRecord, int) {
	var deadline time.Time
	for {
		recs, more := c.cur.peek(10000)
		var batch []streamRecord
		consumed := 0
		for _, r := range recs {
			consumed++
			if c.filter.Match(r.rec) {
				batch = append(batch, r)
				if len(batch) == c.src.BatchSize {
					break
				}
			}
		}
		switch {
		case len(batch) == c.src.BatchSize:
			return batch, consumed
		case len(batch) == 0 && consumed > 0:
			c.cur.advance(consumed) // nothing here for this function
			continue
		case len(batch) > 0:
			if deadline.IsZero() {
				deadline = time.Now().Add(c.src.Window)
			}
			if !time.Now().Before(deadline) {
				return batch, consumed
			}
		}
		var timeout <-chan time.Time
		var timer *time.Timer
		if !deadline.IsZero() {
			timer = time.NewTimer(time.Until(deadline))
			timeout = timer.C
		}
		select {
		case <-more:
		case <-timeout:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return nil, 0
		}
	}
}

// deliver invokes the function until the records are processed or have exhausted their
// retries. attempts counts the failed invocations these records were already part of.
func (c *streamConsumer) deliver(ctx context.Context, recs []streamRecord, attempts int) {
	name := c.fn.def.Name
	for len(recs) > 0 && ctx.Err() == nil {
		if c.src.MaxRecordAge > 0 {
			var fresh []streamRecord
			for _, r := range recs {
				if time.Since(r.at) > c.src.MaxRecordAge {
					c.dlq.add(c, r, "record is older than MaximumRecordAgeInSeconds", attempts)
					continue
				}
				fresh = append(fresh, r)
			}
			if recs = fresh; len(recs) == 0 {
				return
			}
		}
		from, whole, reason := c.invoke(ctx, recs)
		if reason == "" {
			return
		}
		attempts++
		recs = recs[from:]
		c.sink.printf("stream", "%s: %d record(s) from %s failed (attempt %d): %s", name, len(recs), recs[0].rec.Change.SequenceNumber, attempts, reason)
		if c.src.MaxRetries >= 0 && attempts > c.src.MaxRetries {
			for _, r := range recs {
				c.dlq.add(c, r, reason, attempts)
			}
			c.sink.printf("stream", "%s: %d record(s) exhausted %d retries → %s", name, len(recs), c.src.MaxRetries, c.dlq.path)
			return
		}
		if whole && c.src.Bisect && len(recs) > 1 {
			mid := len(recs) / 2
			c.deliver(ctx, recs[:mid], attempts)
			c.deliver(ctx, recs[mid:], attempts)
			return
		}
		delay := c.retryBase << min(attempts-1, 20)
		if delay > maxRetryDelay || delay <= 0 {
			delay = maxRetryDelay
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
	}
}

// invoke runs one batch. reason is "" on success; otherwise from is the index to resume at
// and whole says the batch failed as a whole (a function error, not batchItemFailures).
func (c *streamConsumer) invoke(ctx context.Context, recs []streamRecord) (from int, whole bool, reason string) {
	ev := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, len(recs))}
	for i, r := range recs {
		ev.Records[i] = r.rec
	}
	payload, _ := json.Marshal(ev)
	out, err := c.fn.Invoke(ctx, payload)
	if err != nil {
		var ie *InvokeError
		if errors.As(err, &ie) {
			return 0, true, ie.Error()
		}
		return 0, true, err.Error()
	}
	if !c.src.ReportItemFailures {
		return 0, false, ""
	}
	var resp *events.DynamoDBEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, true, "invalid batch response: " + err.Error()
	}
	if resp == nil || len(resp.BatchItemFailures) == 0 {
		return 0, false, ""
	}
	lowest := -1
	for _, f := range resp.BatchItemFailures {
		idx := -1
		for i, r := range recs {
			if r.rec.Change.SequenceNumber == f.ItemIdentifier {
				idx = i
				break
			}
		}
		if idx < 0 {
			return 0, true, fmt.Sprintf("batchItemFailures names %q, which is not a sequence number of the batch", f.ItemIdentifier)
		}
		if lowest < 0 || idx < lowest {
			lowest = idx
		}
	}
	return lowest, false, "batchItemFailures from " + recs[lowest].rec.Change.SequenceNumber
}

// dlqFile is the local stand-in for an on-failure destination: one JSON object per line.
type dlqFile struct {
	path string
	mu   sync.Mutex
}

type dlqEntry struct {
	Time           time.Time                  `json:"time"`
	Function       string                     `json:"function"`
	EventSource    string                     `json:"eventSource"`
	EventSourceArn string                     `json:"eventSourceArn"`
	Destination    string                     `json:"destination,omitempty"`
	Error          string                     `json:"error"`
	Attempts       int                        `json:"attempts"`
	Record         events.DynamoDBEventRecord `json:"record"`
}

func (d *dlqFile) add(c *streamConsumer, r streamRecord, reason string, attempts int) {
	b, _ := json.Marshal(dlqEntry{
		Time:           time.Now().UTC(),
		Function:       c.fn.def.Name,
		EventSource:    c.src.Name,
		EventSourceArn: r.rec.EventSourceArn,
		Destination:    c.src.OnFailureDestination,
		Error:          reason,
		Attempts:       attempts,
		Record:         r.rec,
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.OpenFile(d.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.sink.printf("stream", "cannot write %s: %v", d.path, err)
		return
	}
	defer f.Close()
	_, _ = f.Write(append(b, '\n'))
}
