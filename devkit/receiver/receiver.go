// Package receiver is the local stack's webhook receiver: an endpoint that records every event
// it gets, checks its Standard Webhooks signature with the official library against the
// secrets it was given, and shows the deliveries on a page (like the email viewer does for
// emails). It answers 2xx, unless the URL asks it to fail: register
// http://127.0.0.1:8620/hooks?fail=3 and each event is refused three times (500, or
// ?status=503...) before it is accepted, to watch retries happen.
package receiver

import (
	"embed"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

//go:embed page.html page.css
var files embed.FS

var page = template.Must(template.ParseFS(files, "page.html"))

// maxKept bounds the requests kept (the oldest go first).
const maxKept = 500

// Request is one request the receiver got and what it answered.
type Request struct {
	At        time.Time       `json:"at"`
	Path      string          `json:"path"`
	WebhookID string          `json:"webhookId"`
	Timestamp string          `json:"webhookTimestamp"`
	Signature string          `json:"webhookSignature"`
	Type      string          `json:"type"`
	Attempt   int             `json:"attempt"`  // of this webhook-id at this path, from 1
	Verified  string          `json:"verified"` // "valid", "invalid: …", or "no secret to check with"
	Status    int             `json:"status"`   // what the receiver answered
	Body      json.RawMessage `json:"body"`
}

// Receiver records webhook requests. Its zero value is ready; it is safe for concurrent use.
type Receiver struct {
	mu       sync.Mutex
	secrets  []string
	requests []Request
	seen     map[string]int // path + webhook-id → attempts
	now      func() time.Time
}

// AddSecret lets the receiver check signatures made with secret (an endpoint's whsec_...).
func (rc *Receiver) AddSecret(secret string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !slices.Contains(rc.secrets, secret) {
		rc.secrets = append(rc.secrets, secret)
	}
}

// Requests returns what the receiver got, oldest first.
func (rc *Receiver) Requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.requests)
}

// ServeHTTP records a POST (any path but the page's), shows the page on GET /, and lists the
// requests as JSON on GET /requests.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/":
		rc.page(w)
	case r.Method == http.MethodGet && r.URL.Path == "/page.css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		b, _ := files.ReadFile("page.css")
		_, _ = w.Write(b)
	case r.Method == http.MethodGet && r.URL.Path == "/requests":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"requests": rc.Requests()})
	case r.Method == http.MethodPost:
		rc.receive(w, r)
	default:
		http.Error(w, "POST events to any path; GET / shows them", http.StatusMethodNotAllowed)
	}
}

func (rc *Receiver) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	now := time.Now
	if rc.now != nil {
		now = rc.now
	}
	req := Request{At: now().UTC(), Path: r.URL.RequestURI(), WebhookID: r.Header.Get(standardwebhooks.HeaderWebhookID),
		Timestamp: r.Header.Get(standardwebhooks.HeaderWebhookTimestamp), Signature: r.Header.Get(standardwebhooks.HeaderWebhookSignature)}
	var envelope struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(body, &envelope) == nil {
		req.Type = envelope.Type
		req.Body = body
	} else {
		req.Body, _ = json.Marshal(string(body))
	}
	rc.mu.Lock()
	if rc.seen == nil {
		rc.seen = map[string]int{}
	}
	rc.seen[r.URL.Path+"\x00"+req.WebhookID]++
	req.Attempt = rc.seen[r.URL.Path+"\x00"+req.WebhookID]
	secrets := slices.Clone(rc.secrets)
	rc.mu.Unlock()

	req.Verified = verify(secrets, body, r.Header)
	req.Status = http.StatusNoContent
	q := r.URL.Query()
	if fail, err := strconv.Atoi(q.Get("fail")); err == nil && req.Attempt <= fail {
		req.Status = http.StatusInternalServerError
		if st, err := strconv.Atoi(q.Get("status")); err == nil && st >= 300 && st <= 599 {
			req.Status = st
		}
	}
	rc.mu.Lock()
	rc.requests = append(rc.requests, req)
	if len(rc.requests) > maxKept {
		rc.requests = rc.requests[len(rc.requests)-maxKept:]
	}
	rc.mu.Unlock()
	w.WriteHeader(req.Status)
}

// verify checks the signature with the Standard Webhooks library against each known secret.
func verify(secrets []string, body []byte, h http.Header) string {
	if len(secrets) == 0 {
		return "no secret to check with"
	}
	var last error
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			last = err
			continue
		}
		if last = wh.Verify(body, h); last == nil {
			return "valid"
		}
	}
	return "invalid: " + last.Error()
}

func (rc *Receiver) page(w http.ResponseWriter) {
	reqs := rc.Requests()
	slices.Reverse(reqs)
	type row struct {
		Request
		Pretty string
	}
	rows := make([]row, len(reqs))
	for i, r := range reqs {
		rows[i] = row{Request: r, Pretty: string(r.Body)}
		var v any
		if json.Unmarshal(r.Body, &v) == nil {
			if b, err := json.MarshalIndent(v, "", "  "); err == nil {
				rows[i].Pretty = string(b)
			}
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'")
	_ = page.Execute(w, rows)
}
