// Package metrics counts what one invocation did (DynamoDB round trips and retries, conversion
// contention retries, emails sent, deliveries) and writes it as one JSON line: every count as
// a property (CloudWatch Logs Insights finds them), and, in CloudWatch's Embedded Metric Format,
// only the few counts a function publishes as metrics (Published): those an alarm watches or
// an operator reads. Lambda publishes each function's duration, errors and throttles itself.
package metrics

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
)

// Names of the counters.
const (
	DynamoDBCalls      = "DynamoDBCalls"      // API operations called
	DynamoDBRoundTrips = "DynamoDBRoundTrips" // HTTP requests sent, retries included
	DynamoDBRetries    = "DynamoDBRetries"    // round trips beyond the first of each call
	ContentionRetries  = "ContentionRetries"  // conversion transactions retried after a version conflict
	EmailsSent         = "EmailsSent"

	// Fulfilment and the scheduler (emitted only by the functions that do them).
	RewardsDelivered = "RewardsDelivered" // rewards a provider delivered (coupon drawn, Stripe credit or promotion code)
	DeliveriesFailed = "DeliveriesFailed" // deliveries that ended failed after the provider's retries (alarmed)
	CouponPoolEmpty  = "CouponPoolEmpty"  // rewards that found their coupon pool empty (alarmed)
	CreditsTakenBack = "CreditsTakenBack" // delivered Stripe credits taken back after a reversal
	RewardsApproved  = "RewardsApproved"  // pending rewards the scheduler approved at the end of their hold
	RewardsExpired   = "RewardsExpired"   // unfulfilled rewards the scheduler expired
	ContestsClosed   = "ContestsClosed"   // contests the scheduler closed
	ScheduledAsks    = "ScheduledAsks"    // asks scheduled for later that the scheduler sent
	RemindersSent    = "RemindersSent"    // reminders to share that the scheduler recorded (their emails go out from the stream)
	SchedulerBacklog = "SchedulerBacklog" // 1 when a run stopped at its bounds with due work left for the next run

	// Webhooks (emitted only by the webhook functions).
	WebhookDeliveries = "WebhookDeliveries" // deliveries recorded (one per event and endpoint)
	WebhookAttempts   = "WebhookAttempts"   // HTTP requests made to endpoints
	WebhooksDelivered = "WebhooksDelivered" // deliveries answered 2xx
	WebhooksFailed    = "WebhooksFailed"    // deliveries given up (retry window over, or 410 Gone)
)

// baseCounters are in every invocation's metrics line; other counters only when counted.
var baseCounters = []string{DynamoDBCalls, DynamoDBRoundTrips, DynamoDBRetries, ContentionRetries, EmailsSent}

// Published are the CloudWatch metrics (namespace Namespace, dimension Function) each function
// publishes, by the name it runs under (platform.Start): what an alarm of template.yaml
// watches, or what an operator reads (docs/OPERATIONS.md says who and why). Each is a custom
// metric, billed per month whether or not it moves, so the list stays short; every other count
// is only a property of the line. A function absent here publishes none.
var Published = map[string][]string{
	"conversions": {ContentionRetries},                                   // read: how hot the hottest advocate is
	"rewards":     {DeliveriesFailed, CouponPoolEmpty},                   // alarmed
	"scheduler":   {DeliveriesFailed, CouponPoolEmpty, SchedulerBacklog}, // alarmed
}

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "Referrals"

// Counters are one invocation's counts. Safe for concurrent use.
type Counters struct {
	mu sync.Mutex
	n  map[string]float64
}

// Add adds v to the counter name.
func (c *Counters) Add(name string, v float64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]float64{}
	}
	c.n[name] += v
	c.mu.Unlock()
}

// Get returns the counter name.
func (c *Counters) Get(name string) float64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

type ctxKey struct{}

// With returns ctx carrying fresh counters.
func With(ctx context.Context) (context.Context, *Counters) {
	c := &Counters{}
	return context.WithValue(ctx, ctxKey{}, c), c
}

// From returns the counters of ctx, or nil (Add on nil does nothing).
func From(ctx context.Context) *Counters {
	c, _ := ctx.Value(ctxKey{}).(*Counters)
	return c
}

// Add adds v to the counter name of ctx's invocation.
func Add(ctx context.Context, name string, v float64) { From(ctx).Add(name, v) }

// SDKMiddleware counts every DynamoDB call and every HTTP attempt it makes into the context's
// counters. Install it with the client options' APIOptions.
func SDKMiddleware(stack *middleware.Stack) error {
	err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CountCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			Add(ctx, DynamoDBCalls, 1)
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	if err != nil {
		return err
	}
	// After the retry middleware, this runs once per attempt: one round trip each.
	attempt := middleware.FinalizeMiddlewareFunc("CountRoundTrips",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			Add(ctx, DynamoDBRoundTrips, 1)
			return next.HandleFinalize(ctx, in)
		})
	if err := stack.Finalize.Insert(attempt, "Retry", middleware.After); err != nil {
		return stack.Finalize.Add(attempt, middleware.After)
	}
	return nil
}

// Emitter writes one metrics line per invocation.
type Emitter struct {
	W        io.Writer
	Function string
	mu       sync.Mutex
}

// Emit writes the invocation's counts as one JSON line: the function's name, whether it was a
// cold start and every counter as properties, and the function's Published metrics declared
// in EMF (each every time, 0 when not counted, so an alarm sees data). A function that
// publishes nothing writes no EMF declaration, only the properties.
func (e *Emitter) Emit(c *Counters, start time.Time, coldStart bool) error {
	doc := map[string]any{"Function": e.Function, "ColdStart": coldStart}
	names := append([]string(nil), baseCounters...)
	if c != nil {
		c.mu.Lock()
		for n := range c.n {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		c.mu.Unlock()
	}
	if retries := c.Get(DynamoDBRoundTrips) - c.Get(DynamoDBCalls); retries > 0 {
		c.Add(DynamoDBRetries, retries-c.Get(DynamoDBRetries))
	}
	for _, n := range names {
		doc[n] = c.Get(n)
	}
	if published := Published[e.Function]; len(published) > 0 {
		defs := make([]map[string]string, 0, len(published))
		for _, n := range published {
			doc[n] = c.Get(n)
			defs = append(defs, map[string]string{"Name": n, "Unit": "Count"})
		}
		sort.Slice(defs, func(i, j int) bool { return defs[i]["Name"] < defs[j]["Name"] })
		doc["_aws"] = map[string]any{
			"Timestamp": start.UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  Namespace,
				"Dimensions": [][]string{{"Function"}},
				"Metrics":    defs,
			}},
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = e.W.Write(append(b, '\n'))
	return err
}

// Handler wraps a Lambda handler so each invocation gets counters and one EMF line.
func Handler[In, Out any](e *Emitter, h func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	var once sync.Once
	return func(ctx context.Context, in In) (Out, error) {
		cold := false
		once.Do(func() { cold = true })
		ctx, c := With(ctx)
		start := time.Now()
		out, err := h(ctx, in)
		_ = e.Emit(c, start, cold) // metrics must never fail a request
		return out, err
	}
}
