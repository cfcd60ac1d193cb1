package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/samtemplate"
)

// Handler is a Lambda handler of the HTTP API (payload format 2.0).
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// InProcess serves routes (route keys such as "GET /a/{token}") with handlers in this process,
// translating requests and responses exactly as the local stack does for function binaries:
// for tests that drive a function's handler over HTTP, from a browser for example. No
// authorizer runs: the routes are public ones.
func InProcess(handlers map[string]Handler) (http.Handler, error) {
	keys := make([]string, 0, len(handlers))
	for k := range handlers {
		keys = append(keys, k)
	}
	routes, err := samtemplate.NewRoutes(keys...)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
		if err != nil || len(body) > maxRequestBytes {
			apiMessage(w, http.StatusBadRequest, "Bad Request")
			return
		}
		route, params := routes.Match(r.Method, r.URL.EscapedPath())
		if route == nil {
			apiMessage(w, http.StatusNotFound, "Not Found")
			return
		}
		ev := buildHTTPEvent(r, body, route, params, apiRequestID(), start)
		resp, err := handlers[route.Key()](r.Context(), ev)
		if err != nil {
			apiMessage(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		out, err := json.Marshal(resp)
		if err == nil {
			_, err = writeLambdaResponse(w, out)
		}
		if err != nil {
			apiMessage(w, http.StatusInternalServerError, fmt.Sprintf("malformed response: %v", err))
		}
	}), nil
}
