package store

import (
	"context"
	"math/rand/v2"
	"time"
)

// maxAttempts bounds optimistic-concurrency retries and unprocessed-key retries.
const maxAttempts = 8

// maxAttemptsInBudget bounds a conversion's retries when its context has a deadline (in
// Lambda, always): retrying goes on while the budget lasts, up to this many attempts.
const maxAttemptsInBudget = 40

// RetryAfterSeconds is what a 503 tells the client to wait.
const RetryAfterSeconds = 1

// backoff sleeps a full-jitter exponential delay before attempt (1-based): up to 5ms × 2^attempt,
// capped at 200ms, so contended writers spread out instead of colliding again.
func backoff(ctx context.Context, attempt int) error {
	ceiling := 5 * time.Millisecond << min(attempt, 6)
	d := time.Duration(rand.Int64N(int64(min(ceiling, 200*time.Millisecond))) + 1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ReplyMargin is how long before its deadline a function stops working on a request, so it
// answers (503 with Retry-After at worst) at least a second before Lambda would time it out.
const ReplyMargin = 2 * time.Second

// settleMargin is when the last read of a conversion that ran out of time must be done: a
// half second after the work stopped, still well over a second before the deadline (a busy
// machine is slow to hand the answer back).
const settleMargin = 1500 * time.Millisecond

// budget is ctx ending ReplyMargin before ctx's deadline, for work that retries; ctx itself
// stays usable for the answer.
func budget(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-ReplyMargin))
	}
	return context.WithCancel(ctx)
}
