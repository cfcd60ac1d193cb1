// Package api is the HTTP edge: it decodes and validates API Gateway HTTP API (payload 2.0)
// requests, calls the store, and encodes responses. respond is the one place where domain
// errors become status codes.
package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// MaxBody is the largest request body accepted (64 KiB); larger bodies get 413.
const MaxBody = 64 << 10

// Request and Response are API Gateway HTTP API payload 2.0 events.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// ScopePublic marks a route that needs no API key; the others need one of the key scopes
// of package auth (auth.ScopeAdmin, auth.ScopeServer).
const ScopePublic = ""

// Route is one method and path served by a function, with the scope it needs.
type Route struct {
	Key   string // API Gateway route key, e.g. "POST /conversions"
	Scope string
	Serve func(ctx context.Context, req Request) (Response, error)
}

// Router dispatches a function's routes by route key and enforces their scopes.
type Router struct {
	Log *slog.Logger
	// ErrorPage, when set, answers errors instead of the JSON error body: the HTML pages show
	// a page in the visitor's language. It gets the error as the API would answer it; a zero
	// Response (a route that answers JSON) leaves the JSON body.
	ErrorPage func(req Request, err *referral.Error) Response
	routes    map[string]Route
}

// NewRouter returns a router for routes.
func NewRouter(log *slog.Logger, routes ...Route) *Router {
	r := &Router{Log: log, routes: map[string]Route{}}
	for _, rt := range routes {
		r.routes[rt.Key] = rt
	}
	return r
}

// Routes lists the route keys served, for tests that compare them with template.yaml.
func (r *Router) Routes() []Route {
	out := make([]Route, 0, len(r.routes))
	for _, rt := range r.routes {
		out = append(out, rt)
	}
	return out
}

// Without returns a router of r's routes but keys, for a function that has another serve them.
func (r *Router) Without(keys ...string) *Router {
	out := &Router{Log: r.Log, ErrorPage: r.ErrorPage, routes: maps.Clone(r.routes)}
	for _, k := range keys {
		delete(out.routes, k)
	}
	return out
}

// Handle is the Lambda entry point. The route works on a context that ends before the
// function's deadline (store.Budget), and the answer goes out store.AnswerMargin before that
// deadline even when the cancelled work is slow to return: 503 with Retry-After then, which
// is safe to retry (a conversion that committed meanwhile answers its result to a retry with
// the same eventId).
func (r *Router) Handle(ctx context.Context, req Request) (Response, error) {
	ctx, cancel := store.Budget(ctx)
	defer cancel()
	dl, ok := store.RequestDeadline(ctx)
	if !ok {
		return r.serve(ctx, req), nil
	}
	type result struct {
		resp  Response
		panic any
	}
	done := make(chan result, 1) // buffered: work that answers too late must not block
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{panic: p}
			}
		}()
		done <- result{resp: r.serve(ctx, req)}
	}()
	timer := time.NewTimer(time.Until(dl.Add(-store.AnswerMargin)))
	defer timer.Stop()
	select {
	case res := <-done:
		if res.panic != nil {
			panic(res.panic) // where the Lambda runtime reports it, as without the timer
		}
		return res.resp, nil
	case <-timer.C:
		return r.respond(ctx, req, referral.ErrUnavailable.With("the request could not be completed in time; retry it", nil)), nil
	}
}

// serve dispatches req to its route, enforcing the route's scope.
func (r *Router) serve(ctx context.Context, req Request) Response {
	rt, ok := r.routes[req.RouteKey]
	if !ok {
		return r.respond(ctx, req, referral.ErrNotFound.With("no route "+req.RouteKey, nil))
	}
	if err := authorize(req, rt.Scope); err != nil {
		return r.respond(ctx, req, err)
	}
	resp, err := rt.Serve(ctx, req)
	if err != nil {
		return r.respond(ctx, req, err)
	}
	return resp
}

// authorize checks the scope the authorizer put in the request context. An admin key may do
// everything; a server key what needs server.
func authorize(req Request, need string) error {
	if need == ScopePublic {
		return nil
	}
	var scope string
	if req.RequestContext.Authorizer != nil {
		scope, _ = req.RequestContext.Authorizer.Lambda["scope"].(string)
	}
	switch {
	case scope == "":
		return referral.ErrUnauthorized
	case scope == auth.ScopeAdmin, scope == need:
		return nil
	default:
		return referral.ErrForbidden.With(fmt.Sprintf("this route needs an %s key", need), nil)
	}
}

// errorBody is the JSON error envelope.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Details any    `json:"details,omitempty"`
}

// respond turns any error into the API's error response: domain errors keep their code and
// status; anything else is logged and answered 500 without its text.
func (r *Router) respond(ctx context.Context, req Request, err error) Response {
	var de *referral.Error
	if !errors.As(err, &de) && errors.Is(err, context.DeadlineExceeded) {
		de = referral.ErrUnavailable // out of time: the client retries, never a 500
	}
	if de == nil {
		r.Log.ErrorContext(ctx, "request failed", "route", req.RouteKey, "requestId", req.RequestContext.RequestID, "error", err.Error())
		if r.ErrorPage != nil {
			if page := r.ErrorPage(req, referral.ErrInternal); page.StatusCode != 0 {
				return page
			}
		}
		return JSON(http.StatusInternalServerError, errorBody{errorDetail{Code: referral.ErrInternal.Code, Message: referral.ErrInternal.Msg}})
	}
	if de.Status >= 500 {
		r.Log.WarnContext(ctx, "request unavailable", "route", req.RouteKey, "requestId", req.RequestContext.RequestID, "error", err.Error())
	}
	resp := JSON(de.Status, errorBody{errorDetail{Code: de.Code, Message: de.Msg, Field: de.Field, Details: de.Details}})
	if r.ErrorPage != nil {
		if page := r.ErrorPage(req, de); page.StatusCode != 0 {
			resp = page
		}
	}
	switch {
	case de.RetryAfter > 0:
		resp.Headers["Retry-After"] = strconv.FormatInt(max(int64(math.Ceil(de.RetryAfter.Seconds())), 1), 10)
	case de.Status == http.StatusServiceUnavailable:
		resp.Headers["Retry-After"] = strconv.Itoa(store.RetryAfterSeconds)
	}
	return resp
}

// JSON is a response with v encoded as its body.
func JSON(status int, v any) Response {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"response encoding failed"}}`)
	}
	return Response{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}
}

// body returns the raw request body, enforcing MaxBody.
func body(req Request) ([]byte, error) {
	b := []byte(req.Body)
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBody+3 {
			return nil, referral.ErrPayloadTooLarge
		}
		var err error
		if b, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return nil, referral.Invalid("", "the body is marked base64 but is not")
		}
	}
	if len(b) > MaxBody {
		return nil, referral.ErrPayloadTooLarge
	}
	return b, nil
}

// mustBody is the body after decode has accepted it.
func mustBody(req Request) string {
	b, _ := body(req)
	return string(b)
}

// decode reads a JSON body into v: at most MaxBody bytes, one JSON object, no unknown
// fields. Every error names the field at fault.
func decode(req Request, v any) error {
	_, err := decodeAs(req, v, "application/json")
	return err
}

// decodeAs is decode for a body of the JSON-based media type (a Content-Type header, when
// sent, must name it); it also returns the object's members as sent, so that a caller can tell
// a null from a member left out.
func decodeAs(req Request, v any, mediaType string) (map[string]any, error) {
	b, err := body(req)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, referral.Invalid("", "the request needs a JSON body")
	}
	if ct := req.Headers["content-type"]; ct != "" && !strings.HasPrefix(strings.ToLower(ct), mediaType) {
		return nil, referral.Invalid("", "the body must be sent with Content-Type: %s", mediaType)
	}
	if err := wellFormed(b); err != nil {
		return nil, err
	}
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, referral.Invalid("", "the body is not valid JSON (at byte %d)", se.Offset)
		}
		return nil, referral.Invalid("", "the body is not valid JSON")
	}
	members, ok := raw.(map[string]any)
	if !ok {
		return nil, referral.Invalid("", "the body must be a JSON object")
	}
	if field := unknownField(raw, v); field != "" {
		return nil, referral.Invalid(field, "unknown field %q", field)
	}
	if field, want := mistyped(raw, reflect.TypeOf(v), ""); want != "" {
		return nil, referral.Invalid(field, "%s must be %s", field, want)
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, referral.Invalid(te.Field, "must be %s", describeType(te.Type.Kind().String()))
		}
		var pe *time.ParseError
		if errors.As(err, &pe) {
			return nil, referral.Invalid(timeField(raw, pe.Value), "must be an RFC 3339 time like 2026-11-22T10:00:00Z")
		}
		return nil, referral.Invalid("", "the body does not fit the expected shape")
	}
	return members, nil
}

func describeType(kind string) string {
	switch kind {
	case "int", "int64", "int32":
		return "a whole number within range"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "of a different type"
}

// query reads a page's limit (1..100, default 50) and cursor from the query string.
func pageOf(req Request) (store.Page, error) {
	p := store.Page{Limit: 50, Cursor: req.QueryStringParameters["cursor"]}
	if s, ok := req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return p, referral.Invalid("limit", "must be a whole number from 1 to 100")
		}
		p.Limit = int32(n)
	}
	if len(p.Cursor) > 1024 {
		return p, referral.Invalid("cursor", "the cursor is not one this API returned")
	}
	return p, nil
}

// validName checks a person's name or another short free text (at most 200 characters).
func validName(field, s string) error {
	return referral.ValidText(field, s, 200, false)
}

// validCode normalizes a referral code given in a body and checks its syntax.
func validCode(field, c string) (string, error) {
	c = referral.NormalizeCode(c)
	if !referral.ValidCodeSyntax(c) {
		return "", referral.Invalid(field, "must be a referral code (4 to 45 letters, digits and hyphens)")
	}
	return c, nil
}

// pathID reads and checks an id path parameter.
func pathID(req Request, name string) (string, error) {
	id := req.PathParameters[name]
	if err := referral.ValidID(name, id); err != nil {
		return "", err
	}
	return id, nil
}

// noBody refuses a request that carries a body its route does not take.
func noBody(req Request) error {
	b, err := body(req)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		err = referral.Invalid("", "this request takes no body")
	}
	return err
}

// maxNoteLength is the longest reversal reason or approval note.
const maxNoteLength = 200

// optionalText reads an optional body holding one free-text field (a reversal's reason, an
// approval's note): no body is fine; a body may hold that field only, a string of at most
// maxNoteLength characters.
func optionalText(req Request, field string) (string, error) {
	b, err := body(req)
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return "", err
	}
	var in map[string]any
	if err := decode(req, &in); err != nil {
		return "", err
	}
	for k := range in {
		if k != field {
			return "", referral.Invalid(k, "unknown field %q", k)
		}
	}
	text, ok := in[field].(string)
	if _, present := in[field]; present && !ok {
		return "", referral.Invalid(field, "must be a string")
	}
	return text, referral.ValidText(field, text, maxNoteLength, false)
}
