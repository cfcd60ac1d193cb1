package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/devlog"
	"github.com/referral/referrals/devkit/lambdaruntime"
	"github.com/referral/referrals/devkit/samtemplate"
)

const maxRequestBytes = 10 << 20 // API Gateway's payload limit

// API serves the template's HttpApi routes the way API Gateway (payload format 2.0) does,
// with the routes' Lambda authorizers, and prints one access-log line per request.
type API struct {
	routes    samtemplate.Routes
	functions map[string]*lambdaruntime.Function
	auth      *authorizers
	sink      *devlog.Sink
}

// New serves routes with the functions of the stack; apis holds the authorizers.
func New(routes samtemplate.Routes, apis map[string]*samtemplate.APIDef, fns map[string]*lambdaruntime.Function, sink *devlog.Sink) *API {
	return &API{routes: routes, functions: fns, sink: sink, auth: newAuthorizers(apis, fns, sink)}
}

// SetClock replaces the clock of the authorizers' cache (tests jump past its TTL).
func (a *API) SetClock(now func() time.Time) {
	a.auth.mu.Lock()
	a.auth.now = now
	a.auth.mu.Unlock()
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := apiRequestID()
	w.Header().Set("Apigw-Requestid", reqID)
	status, target := a.serve(w, r, reqID, start)
	a.sink.Printf("api", "%s %s %d %.1fms%s", r.Method, RedactedURI(r.URL), status, float64(time.Since(start))/float64(time.Millisecond), target)
}

// secretParams are query parameters whose values are credentials or capabilities: signed
// links (unsubscribe t=), API keys, signatures, codes of one-time links. The access log
// shows them as REDACTED.
var secretParams = []string{"t", "token", "access_token", "id_token", "refresh_token", "api_key", "apikey",
	"key", "secret", "client_secret", "signature", "sig", "password", "c", "code_verifier", "session", "auth"}

// RedactedURI is the request's path and query for a log line, with the values of
// secret-bearing query parameters (matched without regard to case, also as a suffix such as
// x-amz-signature or upload_token) replaced by REDACTED.
func RedactedURI(u *url.URL) string {
	if u.RawQuery == "" {
		return u.RequestURI()
	}
	parts := strings.Split(u.RawQuery, "&")
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if hasValue && isSecretParam(name) {
			parts[i] = k + "=REDACTED"
		}
	}
	return u.EscapedPath() + "?" + strings.Join(parts, "&")
}

func isSecretParam(name string) bool {
	name = strings.ToLower(name)
	for _, s := range secretParams {
		if name == s || len(s) > 2 && (strings.HasSuffix(name, "_"+s) || strings.HasSuffix(name, "-"+s)) {
			return true
		}
	}
	return false
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, reqID string, start time.Time) (int, string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		return apiMessage(w, http.StatusBadRequest, "Bad Request"), ""
	}
	if len(body) > maxRequestBytes {
		return apiMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large"), ""
	}
	route, params := a.routes.Match(r.Method, r.URL.EscapedPath())
	if route == nil {
		lambdaruntime.WriteJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{
			"code": "not_found", "message": fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path),
		}})
		return http.StatusNotFound, ""
	}
	target := " → " + route.Function
	ev := buildHTTPEvent(r, body, route, params, reqID, start)

	if route.Authorizer != "" {
		def := a.auth.def(route)
		lambdaCtx, status := a.auth.authorize(r.Context(), def, route, &ev)
		switch status {
		case 0:
		case http.StatusUnauthorized:
			return apiMessage(w, status, "Unauthorized"), target + " (authorizer: no identity)"
		case http.StatusForbidden:
			return apiMessage(w, status, "Forbidden"), target + " (authorizer: denied)"
		default:
			return apiMessage(w, status, "Internal Server Error"), target + " (authorizer failed)"
		}
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lambdaCtx}
	}

	fn := a.functions[route.Function]
	payload, err := json.Marshal(ev)
	if err != nil {
		return apiMessage(w, http.StatusInternalServerError, "Internal Server Error"), target
	}
	// API Gateway does not cancel the invocation when the client goes away.
	out, err := fn.Invoke(context.WithoutCancel(r.Context()), payload)
	if err != nil {
		var ie *lambdaruntime.InvokeError
		if errors.As(err, &ie) && ie.Type == "Local.FunctionUnavailable" {
			lambdaruntime.WriteJSON(w, http.StatusBadGateway, map[string]any{"error": map[string]string{
				"code": "function_unavailable", "message": ie.Message,
			}})
			return http.StatusBadGateway, target
		}
		return apiMessage(w, http.StatusInternalServerError, "Internal Server Error"), target + " (" + err.Error() + ")"
	}
	status, err := writeLambdaResponse(w, out)
	if err != nil {
		a.sink.Printf("api", "%s returned a malformed response: %v", route.Function, err)
		return apiMessage(w, http.StatusInternalServerError, "Internal Server Error"), target
	}
	return status, target
}

// apiMessage answers like API Gateway's own errors: {"message": "..."}.
func apiMessage(w http.ResponseWriter, status int, msg string) int {
	lambdaruntime.WriteJSON(w, status, map[string]string{"message": msg})
	return status
}

// buildHTTPEvent translates a request into API Gateway's payload format 2.0.
func buildHTTPEvent(r *http.Request, body []byte, route *samtemplate.Route, params map[string]string, reqID string, at time.Time) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lk] = strings.Join(vs, ",")
	}
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	_, localPort, _ := net.SplitHostPort(r.Host)
	if localPort == "" {
		localPort = "80"
	}
	headers["host"] = r.Host
	if prior := headers["x-forwarded-for"]; prior != "" {
		headers["x-forwarded-for"] = prior + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-port"] = localPort
	headers["x-forwarded-proto"] = "http"
	headers["x-amzn-trace-id"] = strings.SplitN(lambdaruntime.TraceID(), ";", 2)[0]

	var query map[string]string
	if r.URL.RawQuery != "" {
		values, _ := url.ParseQuery(r.URL.RawQuery)
		query = make(map[string]string, len(values))
		for k, vs := range values {
			query[k] = strings.Join(vs, ",")
		}
	}

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key(),
			AccountID:    samtemplate.LocalAccountID,
			Stage:        "$default",
			RequestID:    reqID,
			APIID:        samtemplate.LocalAPIID,
			DomainName:   r.Host,
			DomainPrefix: strings.Split(r.Host, ".")[0],
			Time:         at.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    at.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isTextContent(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isTextContent reports whether API Gateway passes a body of this type as text; everything
// else (including a missing Content-Type) arrives base64-encoded.
func isTextContent(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/ecmascript",
		"application/x-www-form-urlencoded", "application/yaml", "application/x-yaml", "application/graphql":
		return true
	}
	return false
}

// writeLambdaResponse maps a function's result to the HTTP response as API Gateway does:
// a {"statusCode": ...} object is a response; any other JSON is a 200 with that JSON as body.
func writeLambdaResponse(w http.ResponseWriter, out []byte) (int, error) {
	out = bytes.TrimSpace(out)
	var probe map[string]json.RawMessage
	if json.Unmarshal(out, &probe) == nil && probe["statusCode"] != nil {
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			return 0, err
		}
		if resp.StatusCode < 100 || resp.StatusCode > 599 {
			return 0, fmt.Errorf("statusCode %d out of range", resp.StatusCode)
		}
		body := []byte(resp.Body)
		if resp.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(resp.Body)
			if err != nil {
				return 0, fmt.Errorf("body is not base64: %w", err)
			}
			body = b
		}
		h := w.Header()
		keys := make([]string, 0, len(resp.Headers))
		for k := range resp.Headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			h.Set(k, resp.Headers[k])
		}
		for k, vs := range resp.MultiValueHeaders {
			for _, v := range vs {
				h.Add(k, v)
			}
		}
		for _, c := range resp.Cookies {
			h.Add("Set-Cookie", c)
		}
		if h.Get("Content-Type") == "" {
			h["Content-Type"] = nil // no sniffing: API Gateway sends none either
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
		return resp.StatusCode, nil
	}
	if !json.Valid(out) {
		return 0, fmt.Errorf("result is not JSON")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return http.StatusOK, nil
}

func apiRequestID() string {
	b := []byte(lambdaruntime.RandomHex(16))
	return base64.RawStdEncoding.EncodeToString(b)[:16] + "="
}
