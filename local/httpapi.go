package main

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
)

const maxRequestBytes = 10 << 20 // API Gateway's payload limit

// httpAPI serves the template's HttpApi routes the way API Gateway (payload format 2.0) does.
type httpAPI struct {
	routes    []*Route
	functions map[string]*function
	auth      *authorizers
	sink      *logSink
}

func (a *httpAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := apiRequestID()
	w.Header().Set("Apigw-Requestid", reqID)
	status, target := a.serve(w, r, reqID, start)
	a.sink.printf("api", "%s %s %d %.1fms%s", r.Method, r.URL.RequestURI(), status, ms(time.Since(start)), target)
}

func (a *httpAPI) serve(w http.ResponseWriter, r *http.Request, reqID string, start time.Time) (int, string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		return apiMessage(w, http.StatusBadRequest, "Bad Request"), ""
	}
	if len(body) > maxRequestBytes {
		return apiMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large"), ""
	}
	route, params := a.match(r.Method, r.URL.EscapedPath())
	if route == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{
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
		var ie *InvokeError
		if errors.As(err, &ie) && ie.Type == "Local.FunctionUnavailable" {
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": map[string]string{
				"code": "function_unavailable", "message": ie.Message,
			}})
			return http.StatusBadGateway, target
		}
		return apiMessage(w, http.StatusInternalServerError, "Internal Server Error"), target + " (" + err.Error() + ")"
	}
	status, err := writeLambdaResponse(w, out)
	if err != nil {
		a.sink.printf("api", "%s returned a malformed response: %v", route.Function, err)
		return apiMessage(w, http.StatusInternalServerError, "Internal Server Error"), target
	}
	return status, target
}

func (a *httpAPI) match(method, path string) (*Route, map[string]string) {
	for _, r := range a.routes {
		if params, ok := r.match(method, path); ok {
			return r, params
		}
	}
	return nil, nil
}

// apiMessage answers like API Gateway's own errors: {"message": "..."}.
func apiMessage(w http.ResponseWriter, status int, msg string) int {
	writeJSON(w, status, map[string]string{"message": msg})
	return status
}

// buildHTTPEvent translates a request into API Gateway's payload format 2.0.
func buildHTTPEvent(r *http.Request, body []byte, route *Route, params map[string]string, reqID string, at time.Time) events.APIGatewayV2HTTPRequest {
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
	headers["x-amzn-trace-id"] = strings.SplitN(traceID(), ";", 2)[0]

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
		RouteKey:              route.RouteKey(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.RouteKey(),
			AccountID:    localAccountID,
			Stage:        "$default",
			RequestID:    reqID,
			APIID:        localAPIID,
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
	b := []byte(randomHex(16))
	return base64.RawStdEncoding.EncodeToString(b)[:16] + "="
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
