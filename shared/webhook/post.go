package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// UserAgent names the sender to receivers.
const UserAgent = "referrals-webhooks/1.0"

// RequestTimeout is how long one attempt may take, connection to last byte of the answer's
// headers (Standard Webhooks recommends 15 to 30 seconds). A slower receiver's attempt fails
// and is retried later.
const RequestTimeout = 15 * time.Second

// maxRetryAfter bounds a receiver's Retry-After (the retry window ends sooner anyway).
const maxRetryAfter = 24 * time.Hour

// Result is what one attempt came to.
type Result struct {
	StatusCode int // 0 when no answer came back
	Duration   time.Duration
	Error      string        // "" on a 2xx
	RetryAfter time.Duration // the receiver's Retry-After, when it sent one
}

// Post sends one attempt: the body with the signed headers, to url through client (from
// Guard.NewClient). It never returns an error: a failure is in the result, for the log.
func Post(ctx context.Context, client *http.Client, url string, h Headers, body []byte) Result {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{Error: "the URL cannot be requested: " + errorText(err, client.Timeout)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("webhook-id", h.ID)
	req.Header.Set("webhook-timestamp", h.Timestamp)
	req.Header.Set("webhook-signature", h.Signature)
	resp, err := client.Do(req)
	if err != nil {
		return Result{Duration: time.Since(start), Error: errorText(err, client.Timeout)}
	}
	// Read (a little of) the answer so the connection can be reused; its content is not kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	r := Result{StatusCode: resp.StatusCode, Duration: time.Since(start), RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		r.Error = fmt.Sprintf("HTTP %d: redirects are not followed; register the URL it points to", resp.StatusCode)
	default:
		r.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return r
}

// retryAfter reads a Retry-After header: seconds or an HTTP date; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
