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

// attemptLimit is how many attempts an optimistic write gets: maxAttempts, or, when ctx has a
// deadline (in Lambda, always), maxAttemptsInBudget, the deadline bounding them.
func attemptLimit(ctx context.Context) int {
	if _, ok := ctx.Deadline(); ok {
		return maxAttemptsInBudget
	}
	return maxAttempts
}

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
