package console

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/referral/referrals/shared/api"
)

// Invoker runs another function and returns its result (*platform.Invoker).
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// Remote is an API route served by the API function that serves it at the gateway: the
// console sends it the request the gateway would (payload 2.0, with the authorizer's context
// of the session's admin key) and reads its answer, so the route answers exactly as the API.
type Remote struct {
	Invoker  Invoker
	Function string // its name or ARN
}

// Handle sends req to the function and returns its answer.
func (r Remote) Handle(ctx context.Context, req api.Request) (api.Response, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return api.Response{}, fmt.Errorf("%s: %w", req.RouteKey, err)
	}
	out, err := r.Invoker.Invoke(ctx, r.Function, payload)
	if err != nil {
		return api.Response{}, fmt.Errorf("%s: %w", req.RouteKey, err)
	}
	var resp api.Response
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
		return api.Response{}, fmt.Errorf("%s: %s answered no HTTP response: %.200s", req.RouteKey, r.Function, out)
	}
	return resp, nil
}
