package api

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/shared/email"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/metrics"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/webhook"
)

// countingSender is SES for the cost model: it counts the emails and sends nothing.
type countingSender struct {
	mu   sync.Mutex
	sent int
}

func (c *countingSender) Send(context.Context, email.Outgoing) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent++
	return fmt.Sprintf("bench-%d", c.sent), nil
}

// countingQueue is the webhook delivery queue for the cost model: it counts the messages and
// sends nothing.
type countingQueue struct {
	mu   sync.Mutex
	sent int
}

func (q *countingQueue) Send(context.Context, webhook.Message, time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent++
	return nil
}

// streamMappingOf reads a stream function's BatchSize and FilterCriteria from template.yaml.
func streamMappingOf(tb testing.TB, function string) (int, []string) {
	tb.Helper()
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		tb.Fatal(err)
	}
	fn, ok := tpl.Functions()[function]
	if !ok {
		tb.Skipf("template.yaml has no %s", function)
	}
	for _, ev := range fn.Events() {
		if ev.Type != "DynamoDB" {
			continue
		}
		size, _ := ev.Properties["BatchSize"].(int64)
		var patterns []string
		fc, _ := ev.Properties["FilterCriteria"].(map[string]any)
		filters, _ := fc["Filters"].([]any)
		for _, f := range filters {
			m, _ := f.(map[string]any)
			if p, ok := m["Pattern"].(string); ok {
				patterns = append(patterns, p)
			}
		}
		return int(size), patterns
	}
	tb.Skipf("%s has no DynamoDB stream event", function)
	return 0, nil
}

// BenchmarkStreamConsumers measures what the table's stream consumers (the email, insights
// stream and webhook stream functions) spend per API operation, for the cost model: the
// operation's stream records are filtered and batched as each function's event source mapping
// in template.yaml does, in full batches (steady traffic), and handed to the real handlers over
// a metered client. It reports invocations, DynamoDB round trips, request units, emails and
// webhook deliveries queued per operation. No webhook endpoint is registered: what every
// program pays (each endpoint adds its deliveries). DynamoDB Streams reads by Lambda triggers
// are free.
//
// Whose conversions share a batch: "conversion" gives every conversion of a batch its own
// advocate, as steady traffic from many advocates does (an advocate rarely converts twice
// within a batch's few seconds); "conversion, 10 per advocate" sends ten conversions of each
// advocate in a row.
func BenchmarkStreamConsumers(b *testing.B) {
	for _, op := range []string{"referral", "conversion", "conversion, 10 per advocate"} {
		perAdvocate := 10
		if op == "conversion" {
			perAdvocate = 1
		}
		converts := strings.HasPrefix(op, "conversion")
		b.Run(strings.ReplaceAll(op, " ", "_"), func(b *testing.B) {
			tbl := streamtest.Start(b)
			e := newPerfEnv(b, tbl.DB)
			tbl.SetClock(e.seed.clock)
			sender := &countingSender{}
			programs := &store.ProgramCache{Store: e.store, TTL: platform.ProgramCacheTTL} // as the functions' mains build it
			mail := &email.Stream{Store: e.store, Programs: programs, Sender: sender, Unsubscribe: sampleSigner,
				PublicURL: "https://api.example.com", Log: quietLog}
			stats := &insights.Consumer{Store: e.store, Programs: programs, Log: quietLog}
			queue := &countingQueue{}
			hooks := &webhook.Stream{Store: e.store, Queue: queue, Log: quietLog} // no endpoint registered: what every program pays
			// handle runs one batch and returns how many records failed.
			consumers := []struct {
				function string
				handle   func(context.Context, []events.DynamoDBEventRecord) (int, error)
			}{
				{"EmailFunction", func(ctx context.Context, batch []events.DynamoDBEventRecord) (int, error) {
					resp, err := mail.Handle(ctx, events.DynamoDBEvent{Records: batch})
					return len(resp.BatchItemFailures), err
				}},
				{"InsightsStreamFunction", func(ctx context.Context, batch []events.DynamoDBEventRecord) (int, error) {
					resp, err := stats.Handle(ctx, streamtest.WindowEvent("shardId-bench", batch))
					return len(resp.BatchItemFailures), err
				}},
				{"WebhookStreamFunction", func(ctx context.Context, batch []events.DynamoDBEventRecord) (int, error) {
					resp, err := hooks.Handle(ctx, events.DynamoDBEvent{Records: batch})
					return len(resp.BatchItemFailures), err
				}},
			}

			// b.N operations on fresh data, perAdvocate in a row for each advocate.
			type job struct{ code, referee string }
			jobs := make([]job, b.N)
			var code string
			for i := range jobs {
				if i%perAdvocate == 0 {
					_, code = e.advocate()
				}
				jobs[i].code = code
				if converts {
					jobs[i].referee = e.referee(code)
				}
			}
			tbl.Take()
			for _, j := range jobs {
				if converts {
					e.must("POST", "/conversions", conversionBody(e.id("order"), j.referee))
				} else {
					e.must("POST", "/referrals", referralBody(j.code, e.id("ref")))
				}
			}
			records := tbl.Take()
			e.meter.take()

			data := map[string]any{"operation": op, "operations": b.N, "records": len(records)}
			n := float64(b.N)
			for _, c := range consumers {
				size, patterns := streamMappingOf(b, c.function)
				batches, err := streamtest.Batches(records, size, patterns)
				if err != nil {
					b.Fatal(err)
				}
				var roundTrips, delivered float64
				before, queued := sender.sent, queue.sent
				for _, batch := range batches {
					ctx, counters := metrics.With(context.Background())
					failed, err := c.handle(ctx, batch)
					if err != nil || failed > 0 {
						b.Fatalf("%s: %v, %d records failed", c.function, err, failed)
					}
					roundTrips += counters.Get(metrics.DynamoDBRoundTrips)
					delivered += float64(len(batch))
				}
				var rru, wru float64
				for _, q := range e.meter.take() {
					rru += q.RRU
					wru += q.WRU + q.GSIWRU
				}
				data[c.function] = map[string]any{"batchSize": size, "invocations": float64(len(batches)) / n,
					"records": delivered / n, "roundTrips": roundTrips / n, "rru": rru / n, "wru": wru / n,
					"emails": float64(sender.sent-before) / n, "queued": float64(queue.sent-queued) / n}
				b.ReportMetric(wru/n, c.function+"-WRU/op")
			}
			b.ReportMetric(float64(sender.sent)/n, "emails/op")
			writeRecord(b, "StreamConsumers", op, data)
		})
	}
}
