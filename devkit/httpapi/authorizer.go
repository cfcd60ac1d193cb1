package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/devlog"
	"github.com/referral/referrals/devkit/lambdaruntime"
	"github.com/referral/referrals/devkit/samtemplate"
)

// authorizers runs the HTTP API's Lambda authorizers the way API Gateway does: identity
// sources checked first (missing → 401), the decision cached per identity for the TTL.
type authorizers struct {
	apis      map[string]*samtemplate.APIDef
	functions map[string]*lambdaruntime.Function
	sink      *devlog.Sink
	now       func() time.Time

	mu     sync.Mutex
	cache  map[string]authDecision
	warned map[string]bool
}

type authDecision struct {
	simple     bool
	allowed    bool
	statements []policyStatement
	context    map[string]any
	expires    time.Time
}

type policyStatement struct {
	Effect   string
	Action   []string
	Resource []string
}

func newAuthorizers(apis map[string]*samtemplate.APIDef, fns map[string]*lambdaruntime.Function, sink *devlog.Sink) *authorizers {
	return &authorizers{apis: apis, functions: fns, sink: sink, now: time.Now,
		cache: map[string]authDecision{}, warned: map[string]bool{}}
}

func (a *authorizers) def(r *samtemplate.Route) *samtemplate.AuthorizerDef {
	api := a.apis[r.API]
	if api == nil {
		api = a.apis[""]
	}
	return api.Authorizers[r.Authorizer]
}

// authorize returns the authorizer's context for the function, or an HTTP status to answer
// instead (401 no identity, 403 denied, 500 authorizer failure); status 0 means allowed.
func (a *authorizers) authorize(ctx context.Context, def *samtemplate.AuthorizerDef, route *samtemplate.Route, ev *events.APIGatewayV2HTTPRequest) (map[string]any, int) {
	if def.Unsupported != "" {
		a.warnOnce(def.Name, "authorizer %s: %s; requests are let through", def.Name, def.Unsupported)
		return nil, 0
	}
	var identity []string
	for _, h := range def.IdentityHeaders {
		v := ev.Headers[strings.ToLower(h)]
		if v == "" {
			return nil, http.StatusUnauthorized
		}
		identity = append(identity, v)
	}
	for _, q := range def.IdentityQuery {
		v := ev.QueryStringParameters[q]
		if v == "" {
			return nil, http.StatusUnauthorized
		}
		identity = append(identity, v)
	}
	routeArn := fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/$default/%s%s", samtemplate.LocalRegion, samtemplate.LocalAccountID, samtemplate.LocalAPIID, ev.RequestContext.HTTP.Method, ev.RawPath)
	key := def.Name + "\x00" + strings.Join(identity, "\x00")

	a.mu.Lock()
	d, hit := a.cache[key]
	a.mu.Unlock()
	if !hit || !a.clock().Before(d.expires) {
		var status int
		d, status = a.invoke(ctx, def, route, ev, identity, routeArn)
		if status != 0 {
			return nil, status
		}
		if def.TTL > 0 && len(identity) > 0 {
			d.expires = a.clock().Add(def.TTL)
			a.mu.Lock()
			a.cache[key] = d
			a.mu.Unlock()
		}
	}
	if !d.permits(ev.RequestContext.HTTP.Method, routeArn) {
		return nil, http.StatusForbidden
	}
	return d.context, 0
}

func (a *authorizers) invoke(ctx context.Context, def *samtemplate.AuthorizerDef, route *samtemplate.Route, ev *events.APIGatewayV2HTTPRequest, identity []string, routeArn string) (authDecision, int) {
	fn := a.functions[def.Function]
	if fn == nil {
		a.warnOnce(def.Name, "authorizer %s: function %s is not in the template", def.Name, def.Function)
		return authDecision{}, http.StatusInternalServerError
	}
	if def.PayloadVersion != "2.0" {
		a.warnOnce(def.Name+"v", "authorizer %s: payload format %s is sent as 2.0 locally", def.Name, def.PayloadVersion)
	}
	req := events.APIGatewayV2CustomAuthorizerV2Request{
		Version:               "2.0",
		Type:                  "REQUEST",
		RouteArn:              routeArn,
		IdentitySource:        identity,
		RouteKey:              route.Key(),
		RawPath:               ev.RawPath,
		RawQueryString:        ev.RawQueryString,
		Cookies:               ev.Cookies,
		Headers:               ev.Headers,
		QueryStringParameters: ev.QueryStringParameters,
		RequestContext:        ev.RequestContext,
		PathParameters:        ev.PathParameters,
		StageVariables:        ev.StageVariables,
	}
	payload, _ := json.Marshal(req)
	out, err := fn.Invoke(context.WithoutCancel(ctx), payload)
	if err != nil {
		a.sink.Printf("api", "authorizer %s failed: %v", def.Name, err)
		return authDecision{}, http.StatusInternalServerError
	}
	var d authDecision
	if def.SimpleResponses {
		var resp struct {
			IsAuthorized *bool          `json:"isAuthorized"`
			Context      map[string]any `json:"context"`
		}
		if err := json.Unmarshal(out, &resp); err != nil || resp.IsAuthorized == nil {
			a.sink.Printf("api", "authorizer %s: response is not {\"isAuthorized\": bool, \"context\": {...}}: %s", def.Name, devlog.Truncate(out, 200))
			return authDecision{}, http.StatusInternalServerError
		}
		d = authDecision{simple: true, allowed: *resp.IsAuthorized, context: resp.Context}
	} else {
		var resp struct {
			PrincipalID    string `json:"principalId"`
			PolicyDocument struct {
				Statement []struct {
					Effect   string `json:"Effect"`
					Action   any    `json:"Action"`
					Resource any    `json:"Resource"`
				} `json:"Statement"`
			} `json:"policyDocument"`
			Context map[string]any `json:"context"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			a.sink.Printf("api", "authorizer %s: response is not an IAM policy response: %v", def.Name, err)
			return authDecision{}, http.StatusInternalServerError
		}
		d = authDecision{context: resp.Context}
		for _, s := range resp.PolicyDocument.Statement {
			d.statements = append(d.statements, policyStatement{Effect: s.Effect, Action: anyStrings(s.Action), Resource: anyStrings(s.Resource)})
		}
	}
	return d, 0
}

// permits evaluates the decision for one route: simple responses are yes/no, IAM policies
// need an Allow for execute-api:Invoke on the route ARN and no Deny.
func (d authDecision) permits(method, routeArn string) bool {
	if d.simple {
		return d.allowed
	}
	allowed := false
	for _, s := range d.statements {
		if !matchAny(s.Action, "execute-api:Invoke") || !matchAny(s.Resource, routeArn) {
			continue
		}
		if strings.EqualFold(s.Effect, "Deny") {
			return false
		}
		if strings.EqualFold(s.Effect, "Allow") {
			allowed = true
		}
	}
	return allowed
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if p == "*" || p == s {
			return true
		}
		// IAM wildcards: * any run, ? one character; path.Match's * stops at '/', so
		// replace '/' with a character that never appears in an ARN first.
		ok, _ := path.Match(strings.ReplaceAll(p, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
		if ok {
			return true
		}
	}
	return false
}

func anyStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// clock is the current time; tests replace now.
func (a *authorizers) clock() time.Time {
	a.mu.Lock()
	now := a.now
	a.mu.Unlock()
	return now()
}

func (a *authorizers) warnOnce(key, format string, args ...any) {
	a.mu.Lock()
	seen := a.warned[key]
	a.warned[key] = true
	a.mu.Unlock()
	if !seen {
		a.sink.Printf("api", "warning: "+format, args...)
	}
}
