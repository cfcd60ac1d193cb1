package store

import (
	"context"
	"time"
)

// Answering in time. Lambda stops a function at its deadline D; an API function answers by
// D−1 s, 503 with Retry-After at worst, never a timeout:
//
//   - its work (reads, retries, transactions) runs on a context that ends WorkMargin before
//     D, so an SDK call still in flight then is cancelled by its context, not merely not
//     retried (Budget);
//   - a write that was in flight when the work stopped may have committed all the same: one
//     read on a context of its own (not cancelled with the work) tells, and it ends
//     SettleMargin before D;
//   - the answer goes out AnswerMargin before D even if unwinding the cancelled work is slow
//     (a starved machine): the API's router answers 503 then without waiting for it, as
//     net/http's TimeoutHandler does. The 600 ms left before the last second are for the
//     scheduler to run the router at all on a starved machine (under a loaded test run, its
//     timer was seen to fire 300 ms late).
const (
	WorkMargin   = 2 * time.Second
	SettleMargin = 1750 * time.Millisecond
	AnswerMargin = 1600 * time.Millisecond
)

// requestDeadline carries a request's own deadline D under a Budget context, whose deadline
// is earlier.
type requestDeadline struct{}

// Budget returns the context a request's work runs on: ending WorkMargin before ctx's
// deadline, and remembering that deadline (RequestDeadline). Without a deadline (tests,
// tools) it is ctx made cancellable; budgeting a budgeted context changes nothing.
func Budget(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if _, nested := RequestDeadline(ctx); !ok || nested {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(context.WithValue(ctx, requestDeadline{}, dl), dl.Add(-WorkMargin))
}

// RequestDeadline is the deadline of the request whose Budget context ctx is (or is derived
// from); ok is false outside one.
func RequestDeadline(ctx context.Context) (time.Time, bool) {
	dl, ok := ctx.Value(requestDeadline{}).(time.Time)
	return dl, ok
}

// settling returns the context of the one read that settles work which ran out of time: it
// is not cancelled with the work and ends SettleMargin before the request's deadline (ctx's
// own when ctx is not a Budget context). ok is false when that moment has passed already.
func settling(ctx context.Context) (_ context.Context, cancel context.CancelFunc, ok bool) {
	dl, found := RequestDeadline(ctx)
	if !found {
		if dl, found = ctx.Deadline(); !found {
			c, cancel := context.WithCancel(context.WithoutCancel(ctx))
			return c, cancel, true
		}
	}
	end := dl.Add(-SettleMargin)
	c, cancel := context.WithDeadline(context.WithoutCancel(ctx), end)
	return c, cancel, time.Now().Before(end)
}
