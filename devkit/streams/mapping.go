// Package streams is the local event source mapping of DynamoDB streams: it polls a table's
// stream through the DynamoDB Streams API (DescribeTable → LatestStreamArn → DescribeStream →
// GetShardIterator → GetRecords) the way Lambda's poller does, and delivers batches to a
// function with the mapping's batch size and window, filter criteria, partial batch failures,
// bisect on error, retry limit, maximum record age and on-failure destination. Its position
// in each shard is checkpointed to a file after every batch, so a restart (even after a
// crash) resumes where it stopped; at worst the last batch is delivered again, which the
// idempotent consumers absorb. With a tumbling window (TumblingWindowInSeconds) each batch goes
// as a time-window event: the shard's id, the window (by the first record's arrival) and the
// state the function answered last in that window; a response without a state is a failed
// invocation, as in Lambda. The window's closing invocation (isFinalInvokeForWindow) is not
// made.
package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/devlog"
	"github.com/referral/referrals/devkit/dynamo"
	"github.com/referral/referrals/devkit/dynamostream"
	"github.com/referral/referrals/devkit/lambdaruntime"
	"github.com/referral/referrals/devkit/samtemplate"
)

// Mapping is one DynamoDB event source mapping of a function.
type Mapping struct {
	Fn         *lambdaruntime.Function
	Src        *samtemplate.StreamSource
	Table      string // table name
	Client     *dynamo.Client
	Checkpoint string // file of the mapping's shard positions
	DLQ        *DLQ
	Log        *devlog.Sink
	RetryBase  time.Duration // first retry delay, doubled each attempt
	Poll       time.Duration // how often an idle shard is read; Lambda polls 4 times a second

	filter    *dynamostream.Filter
	mu        sync.Mutex
	state     checkpoint
	windows   map[string]window // shard → its tumbling window and the function's state in it
	readyOnce sync.Once
	ready     chan struct{}
}

// Ready is closed once the mapping holds its starting position in every shard (a LATEST
// mapping sees every write after that), or when Run ends.
func (m *Mapping) Ready() <-chan struct{} {
	m.readyOnce.Do(func() { m.ready = make(chan struct{}) })
	return m.ready
}

func (m *Mapping) setReady() {
	m.Ready()
	select {
	case <-m.ready:
	default:
		close(m.ready)
	}
}

const maxRetryDelay = 10 * time.Second

type checkpoint struct {
	StreamARN string                `json:"streamArn"`
	Shards    map[string]shardState `json:"shards"`
}

type shardState struct {
	Seq  string `json:"seq,omitempty"` // last sequence number processed
	Done bool   `json:"done,omitempty"`
}

// window is a shard's current tumbling window and the state the function answered in it.
type window struct {
	start time.Time
	state map[string]string
}

// record is a stream record as delivered, with the time it reached the stream.
type record struct {
	rec events.DynamoDBEventRecord
	at  time.Time
}

// Run polls the stream until ctx ends.
func (m *Mapping) Run(ctx context.Context) error {
	defer m.setReady()
	f, err := dynamostream.CompileFilter(m.Src.Filters)
	if err != nil {
		return fmt.Errorf("%s event %s: %w", m.Fn.Name(), m.Src.Name, err)
	}
	m.filter = f
	if m.Poll <= 0 {
		m.Poll = 250 * time.Millisecond
	}
	if m.RetryBase <= 0 {
		m.RetryBase = 500 * time.Millisecond
	}
	m.load()
	var arn string
	for arn == "" {
		arn, err = m.Client.LatestStreamARN(ctx, m.Table)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil || arn == "" {
			if err != nil {
				m.Log.Printf("stream", "%s: DescribeTable %s: %v", m.Fn.Name(), m.Table, err)
			}
			sleep(ctx, time.Second)
		}
	}
	m.mu.Lock()
	if m.state.StreamARN != arn { // a new table or stream: old positions mean nothing
		m.state = checkpoint{StreamARN: arn, Shards: map[string]shardState{}}
	}
	first := len(m.state.Shards) == 0
	m.mu.Unlock()

	running := map[string]bool{}
	done := make(chan string, 16)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		shards, err := m.Client.Shards(ctx, arn)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			m.Log.Printf("stream", "%s: DescribeStream: %v", m.Fn.Name(), err)
		}
		known := map[string]bool{}
		for _, sh := range shards {
			known[sh.ShardID] = true
		}
		for _, sh := range shards {
			st := m.shard(sh.ShardID)
			if running[sh.ShardID] || st.Done {
				continue
			}
			// A child shard waits for its parent (when the parent is still in the stream).
			if p := sh.ParentShardID; p != "" && known[p] && !m.shard(p).Done {
				continue
			}
			start := m.Src.StartingPosition
			if start != "LATEST" || !first || sh.SequenceNumberRange.EndingSequenceNumber != "" {
				start = "TRIM_HORIZON"
			}
			it, ok := m.iterator(ctx, arn, sh.ShardID, start)
			if !ok {
				return nil
			}
			running[sh.ShardID] = true
			wg.Add(1)
			go func(sh dynamo.Shard, start string) {
				defer wg.Done()
				m.readShard(ctx, arn, sh.ShardID, start, it)
				select {
				case done <- sh.ShardID:
				case <-ctx.Done():
				}
			}(sh, start)
		}
		first = false
		m.setReady()
		select {
		case <-ctx.Done():
			return nil
		case id := <-done:
			delete(running, id)
		case <-time.After(5 * time.Second): // new shards
		}
	}
}

// iterator opens a shard where the mapping left it (its checkpoint), else at start.
func (m *Mapping) iterator(ctx context.Context, arn, shardID, start string) (string, bool) {
	for ctx.Err() == nil {
		var it string
		var err error
		if seq := m.shard(shardID).Seq; seq != "" {
			it, err = m.Client.Iterator(ctx, arn, shardID, "AFTER_SEQUENCE_NUMBER", seq)
		} else {
			it, err = m.Client.Iterator(ctx, arn, shardID, start, "")
		}
		if err == nil {
			return it, true
		}
		if ctx.Err() == nil {
			m.Log.Printf("stream", "%s: GetShardIterator %s: %v", m.Fn.Name(), shardID, err)
		}
		sleep(ctx, time.Second)
	}
	return "", false
}

// readShard delivers one shard's records in order from iterator it until the shard is closed
// and read, or ctx ends.
func (m *Mapping) readShard(ctx context.Context, arn, shardID, start, it string) {
	open := func() bool {
		var ok bool
		it, ok = m.iterator(ctx, arn, shardID, start)
		return ok
	}
	var pending []record
	closed := false
	for ctx.Err() == nil {
		// Fill a batch: up to BatchSize records that pass the filter, waiting at most the
		// batching window after the first one.
		var batch []record
		var lastSeq string
		var deadline time.Time
		for len(batch) < m.Src.BatchSize && ctx.Err() == nil {
			if len(pending) == 0 {
				if closed {
					break
				}
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					break
				}
				raw, next, err := m.Client.Records(ctx, it, 1000)
				switch {
				case dynamo.IsAPIError(err, "ExpiredIteratorException"):
					if !open() {
						return
					}
					continue
				case dynamo.IsAPIError(err, "TrimmedDataAccessException"):
					m.Log.Printf("stream", "%s: shard %s: records were trimmed before they were read", m.Fn.Name(), shardID)
					start = "TRIM_HORIZON"
					m.save(shardID, shardState{})
					if !open() {
						return
					}
					continue
				case err != nil:
					if ctx.Err() == nil {
						m.Log.Printf("stream", "%s: GetRecords %s: %v", m.Fn.Name(), shardID, err)
					}
					sleep(ctx, time.Second)
					continue
				}
				for _, b := range raw {
					var r events.DynamoDBEventRecord
					if err := json.Unmarshal(b, &r); err != nil {
						m.Log.Printf("stream", "%s: unreadable record: %v", m.Fn.Name(), err)
						continue
					}
					r.EventSourceArn = arn
					r.AWSRegion = m.Client.Region
					pending = append(pending, record{rec: r, at: r.Change.ApproximateCreationDateTime.Time})
				}
				if next == "" {
					closed = true
				} else {
					it = next
				}
				if len(raw) == 0 && !closed {
					wait := m.Poll
					if !deadline.IsZero() {
						wait = min(wait, time.Until(deadline))
					}
					sleep(ctx, wait)
				}
				continue
			}
			r := pending[0]
			pending = pending[1:]
			lastSeq = r.rec.Change.SequenceNumber
			if m.filter.Match(r.rec) {
				batch = append(batch, r)
				if deadline.IsZero() {
					deadline = time.Now().Add(m.Src.Window)
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		if len(batch) > 0 {
			m.deliver(ctx, shardID, batch, 0)
			if ctx.Err() != nil {
				return // not checkpointed: delivered again after a restart
			}
		}
		if lastSeq != "" {
			m.save(shardID, shardState{Seq: lastSeq})
		}
		if closed && len(pending) == 0 {
			st := m.shard(shardID)
			st.Done = true
			m.save(shardID, st)
			return
		}
	}
}

// deliver invokes the function until the records are processed or have exhausted their
// retries. attempts counts the failed invocations these records were already part of.
func (m *Mapping) deliver(ctx context.Context, shardID string, recs []record, attempts int) {
	name := m.Fn.Name()
	for len(recs) > 0 && ctx.Err() == nil {
		if m.Src.MaxRecordAge > 0 {
			var fresh []record
			for _, r := range recs {
				if time.Since(r.at) > m.Src.MaxRecordAge {
					m.DLQ.add(m, r, "record is older than MaximumRecordAgeInSeconds", attempts)
					continue
				}
				fresh = append(fresh, r)
			}
			if recs = fresh; len(recs) == 0 {
				return
			}
		}
		from, whole, reason := m.invoke(ctx, shardID, recs)
		if reason == "" || ctx.Err() != nil {
			return
		}
		attempts++
		recs = recs[from:]
		m.Log.Printf("stream", "%s: %d record(s) from %s failed (attempt %d): %s", name, len(recs), recs[0].rec.Change.SequenceNumber, attempts, reason)
		if m.Src.MaxRetries >= 0 && attempts > m.Src.MaxRetries {
			for _, r := range recs {
				m.DLQ.add(m, r, reason, attempts)
			}
			m.Log.Printf("stream", "%s: %d record(s) exhausted %d retries → %s", name, len(recs), m.Src.MaxRetries, m.DLQ.Path)
			return
		}
		if whole && m.Src.Bisect && len(recs) > 1 {
			mid := len(recs) / 2
			m.deliver(ctx, shardID, recs[:mid], attempts)
			m.deliver(ctx, shardID, recs[mid:], attempts)
			return
		}
		delay := m.RetryBase << min(attempts-1, 20)
		if delay > maxRetryDelay || delay <= 0 {
			delay = maxRetryDelay
		}
		sleep(ctx, delay)
	}
}

// invoke runs one batch. reason is "" on success; otherwise from is the index to resume at
// and whole says the batch failed as a whole (a function error, not batchItemFailures).
func (m *Mapping) invoke(ctx context.Context, shardID string, recs []record) (from int, whole bool, reason string) {
	ev := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, len(recs))}
	for i, r := range recs {
		ev.Records[i] = r.rec
	}
	var payload []byte
	var win window
	if w := m.Src.TumblingWindow; w > 0 {
		win = m.window(shardID, recs[0].at)
		payload, _ = json.Marshal(events.DynamoDBTimeWindowEvent{DynamoDBEvent: ev, TimeWindowProperties: events.TimeWindowProperties{
			Window: events.Window{Start: events.RFC3339EpochTime{Time: win.start}, End: events.RFC3339EpochTime{Time: win.start.Add(w)}},
			State:  win.state, ShardID: shardID, EventSourceARN: recs[0].rec.EventSourceArn}})
	} else {
		payload, _ = json.Marshal(ev)
	}
	out, err := m.Fn.Invoke(ctx, payload)
	if err != nil {
		var ie *lambdaruntime.InvokeError
		if errors.As(err, &ie) {
			return 0, true, ie.Error()
		}
		return 0, true, err.Error()
	}
	if m.Src.TumblingWindow > 0 {
		var resp struct {
			State map[string]string `json:"state"`
		}
		if err := json.Unmarshal(out, &resp); err != nil || resp.State == nil {
			return 0, true, "the response has no state (a function with a tumbling window must answer one)"
		}
		m.mu.Lock()
		m.windows[shardID] = window{start: win.start, state: resp.State}
		m.mu.Unlock()
	}
	if !m.Src.ReportItemFailures {
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

// window is the shard's tumbling window for a record that reached the stream at: the one it
// is in, with the state the function answered there last (a new window starts empty).
func (m *Mapping) window(shardID string, at time.Time) window {
	start := at.UTC().Truncate(m.Src.TumblingWindow)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.windows == nil {
		m.windows = map[string]window{}
	}
	if w, ok := m.windows[shardID]; ok && w.start.Equal(start) {
		return w
	}
	return window{start: start, state: map[string]string{}}
}

func (m *Mapping) shard(id string) shardState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.Shards[id]
}

func (m *Mapping) load() {
	m.state = checkpoint{Shards: map[string]shardState{}}
	if m.Checkpoint == "" {
		return
	}
	b, err := os.ReadFile(m.Checkpoint)
	if err != nil {
		return
	}
	if err := json.Unmarshal(b, &m.state); err != nil || m.state.Shards == nil {
		m.Log.Printf("stream", "%s: ignoring unreadable checkpoint %s", m.Fn.Name(), m.Checkpoint)
		m.state = checkpoint{Shards: map[string]shardState{}}
	}
}

// save records a shard's position and writes the checkpoint file atomically.
func (m *Mapping) save(shardID string, st shardState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state.Shards[shardID] = st
	if m.Checkpoint == "" {
		return
	}
	b, _ := json.Marshal(m.state)
	tmp := m.Checkpoint + ".tmp"
	if err := os.MkdirAll(filepath.Dir(m.Checkpoint), 0o755); err == nil {
		if err = os.WriteFile(tmp, b, 0o644); err == nil {
			err = os.Rename(tmp, m.Checkpoint)
		}
		if err == nil {
			return
		}
		m.Log.Printf("stream", "%s: checkpoint: %v", m.Fn.Name(), err)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// DLQ is the local stand-in for an on-failure destination: one JSON object per line.
type DLQ struct {
	Path string
	Log  *devlog.Sink
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

func (d *DLQ) add(m *Mapping, r record, reason string, attempts int) {
	b, _ := json.Marshal(dlqEntry{
		Time:           time.Now().UTC(),
		Function:       m.Fn.Name(),
		EventSource:    m.Src.Name,
		EventSourceArn: r.rec.EventSourceArn,
		Destination:    m.Src.OnFailureDestination,
		Error:          reason,
		Attempts:       attempts,
		Record:         r.rec,
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := os.OpenFile(d.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		m.Log.Printf("stream", "cannot write %s: %v", d.Path, err)
		return
	}
	defer f.Close()
	_, _ = f.Write(append(b, '\n'))
}
