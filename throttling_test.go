package referrals_test

import (
	"strings"
	"testing"
)

// TestPublicRoutesAreThrottledHarder: the stage has default route limits, and every route
// served without the authorizer (code checks, redirects, unsubscribe links) has stricter ones,
// so codes cannot be enumerated cheaply through the public check.
func TestPublicRoutesAreThrottledHarder(t *testing.T) {
	tpl := loadTemplateForIAM(t)
	var api map[string]any
	for _, r := range tpl.Resources {
		if r.Type == "AWS::Serverless::HttpApi" {
			api = r.Properties
		}
	}
	if api == nil {
		t.Fatal("template.yaml has no AWS::Serverless::HttpApi")
	}
	limits := func(v any) (burst, rate float64, ok bool) {
		m, _ := v.(map[string]any)
		b, okB := number(m["ThrottlingBurstLimit"])
		r, okR := number(m["ThrottlingRateLimit"])
		return b, r, okB && okR
	}
	defBurst, defRate, ok := limits(api["DefaultRouteSettings"])
	if !ok || defBurst <= 0 || defRate <= 0 {
		t.Fatalf("DefaultRouteSettings needs ThrottlingBurstLimit and ThrottlingRateLimit: %v", api["DefaultRouteSettings"])
	}
	routes, _ := api["RouteSettings"].(map[string]any)
	public := 0
	for id, fn := range tpl.Functions() {
		for _, e := range fn.Events() {
			if e.Type != "HttpApi" {
				continue
			}
			auth, _ := e.Properties["Auth"].(map[string]any)
			if auth == nil || auth["Authorizer"] != "NONE" {
				continue
			}
			public++
			m, _ := e.Properties["Method"].(string)
			p, _ := e.Properties["Path"].(string)
			key := strings.ToUpper(m) + " " + p
			burst, rate, ok := limits(routes[key])
			if !ok || burst >= defBurst || rate >= defRate {
				t.Errorf("%s (%s) is public: it needs RouteSettings below the default %v/s (burst %v), got %v", key, id, defRate, defBurst, routes[key])
			}
		}
	}
	if public == 0 {
		t.Fatal("no public route found: the public code check at least has Auth: {Authorizer: NONE}")
	}
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}
