package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/auth"
)

// fixturesFile is the table of events/: the state each sample event expects and what it answers.
const fixturesFile = "fixtures.json"

// eventFixtures is events/fixtures.json.
type eventFixtures struct {
	About  []string                `json:"about"`
	Clock  time.Time               `json:"clock"`
	States map[string]fixtureState `json:"states"`
	Events map[string]eventCase    `json:"events"`
}

// fixtureState is a named table state: another state, then steps through the API.
type fixtureState struct {
	From  string        `json:"from"`
	Steps []fixtureStep `json:"steps"`
}

// fixtureStep is one call that builds a state: a sample event (with a JSON merge patch on its
// body), an admin call, or a clock move.
type fixtureStep struct {
	Event   string          `json:"event"`
	Merge   json.RawMessage `json:"merge"`
	Method  string          `json:"method"`
	Path    string          `json:"path"`
	Body    json.RawMessage `json:"body"`
	Advance string          `json:"advance"`
	// Delivered records a webhook delivery answered 200, as the webhook functions leave it.
	Delivered *struct {
		EndpointDescribed string `json:"endpointDescribed"`
		DeliveryID        string `json:"deliveryId"`
	} `json:"delivered"`
}

// eventCase is what a sample event answers in its state.
type eventCase struct {
	State          string                     `json:"state"`
	Status         int                        `json:"status"`
	Body           map[string]json.RawMessage `json:"body"`
	Match          map[string]string          `json:"match"`
	Headers        map[string]string          `json:"headers"`
	Bind           map[string]binding         `json:"bind"`
	InvalidRequest bool                       `json:"invalidRequest"`
	TestedBy       string                     `json:"testedBy"`
}

// binding names a value the API generates at run time, to put in place of the sample's id.
type binding struct {
	RewardOf *struct {
		CustomerID string `json:"customerId"`
		EventID    string `json:"eventId"`
	} `json:"rewardOf"`
	KeyNamed string `json:"keyNamed"` // the id of the API key issued with this name
	// WebhookDescribed is the id of the webhook endpoint registered with this description.
	WebhookDescribed string `json:"webhookDescribed"`
}

func eventsDir() string { return samtemplate.EventsDir() }

func loadFixtures(t testing.TB) *eventFixtures {
	t.Helper()
	var f eventFixtures
	if err := samtemplate.DecodeEvent(fixturesFile, &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

// sampleEventFiles lists the sample events in events/ (everything but fixtures.json), sorted.
func sampleEventFiles(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(eventsDir())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || e.Name() == fixturesFile {
			continue
		}
		if !samtemplate.IsSampleEvent(e.Name()) {
			t.Errorf("events/%s: events/ holds only <function>-<case>.json samples and %s", e.Name(), fixturesFile)
			continue
		}
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// loadSampleEvent reads events/<name> as the payload 2.0 event API Gateway sends; a field the
// real type does not have (a typo, a REST v1 field) fails.
func loadSampleEvent(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := samtemplate.DecodeEvent(name, &ev); err != nil {
		t.Fatalf("not an API Gateway HTTP API payload 2.0 event: %v", err)
	}
	return ev
}

func TestEveryFileInEventsIsInTheFixtureTable(t *testing.T) {
	f := loadFixtures(t)
	files := sampleEventFiles(t)
	for _, name := range files {
		if _, ok := f.Events[name]; !ok {
			t.Errorf("events/%s has no entry in events/%s: add its state and expected answer", name, fixturesFile)
		}
	}
	for name, c := range f.Events {
		if !slices.Contains(files, name) {
			t.Errorf("events/%s lists %s, which is not in events/", fixturesFile, name)
		}
		if c.TestedBy == "" {
			if _, ok := f.States[c.State]; !ok {
				t.Errorf("%s: unknown state %q", name, c.State)
			}
			if c.Status == 0 {
				t.Errorf("%s: no expected status", name)
			}
		}
	}
	for name, st := range f.States {
		if st.From != "" {
			if _, ok := f.States[st.From]; !ok {
				t.Errorf("state %s: unknown state %q", name, st.From)
			}
		}
	}
}

// TestSampleEvents runs every sample event through the router of its route against minidyn in
// the state it names, and checks what it answers, against the fixture table and docs/openapi.yaml.
func TestSampleEvents(t *testing.T) {
	f := loadFixtures(t)
	for _, name := range sampleEventFiles(t) {
		c, ok := f.Events[name]
		if !ok {
			continue // reported by TestEveryFileInEventsIsInTheFixtureTable
		}
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			if c.TestedBy != "" {
				checkTestedElsewhere(t, name, c.TestedBy)
				return
			}
			ev := loadSampleEvent(t, name)
			s := newStack(t)
			s.mu.Lock()
			s.now = f.Clock
			s.mu.Unlock()
			checkEventShape(t, s, ev)
			buildState(t, s, f, c.State, map[string]bool{})
			for param, b := range c.Bind {
				bindParam(t, s, &ev, param, b)
			}
			r, ok := s.routers[ev.RouteKey]
			if !ok {
				t.Fatalf("no router serves %q (is its router in newStack?)", ev.RouteKey)
			}
			resp, err := r.Handle(context.Background(), ev)
			if err != nil {
				t.Fatalf("handler error: %v", err)
			}
			checkAnswer(t, c, resp)
			checkAgainstOpenAPI(t, name, ev, resp, !c.InvalidRequest)
		})
	}
}

// checkTestedElsewhere accepts a sample of a function that is not behind the HTTP API (a
// stream consumer, an authorizer) when the Go test named exists and loads the file.
func checkTestedElsewhere(t *testing.T, name, testFile string) {
	t.Helper()
	if !strings.HasSuffix(testFile, "_test.go") {
		t.Fatalf("testedBy %q is not a Go test file", testFile)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(eventsDir()), testFile))
	if err != nil {
		t.Fatalf("testedBy: %v", err)
	}
	if !bytes.Contains(b, []byte(name)) && !bytes.Contains(b, []byte(strings.TrimSuffix(name, ".json"))) {
		t.Fatalf("%s does not load %s", testFile, name)
	}
}

// checkEventShape holds a sample to what API Gateway really sends for its route.
func checkEventShape(t *testing.T, s *stack, ev events.APIGatewayV2HTTPRequest) {
	t.Helper()
	rc := ev.RequestContext
	if ev.Version != "2.0" {
		t.Errorf("version = %q, want 2.0 (HTTP API payload format 2.0)", ev.Version)
	}
	if rc.RouteKey != ev.RouteKey {
		t.Errorf("requestContext.routeKey %q differs from routeKey %q", rc.RouteKey, ev.RouteKey)
	}
	if rc.HTTP.Path != ev.RawPath {
		t.Errorf("requestContext.http.path %q differs from rawPath %q", rc.HTTP.Path, ev.RawPath)
	}
	params, ok := samtemplate.MatchRoute(ev.RouteKey, rc.HTTP.Method, ev.RawPath)
	if !ok {
		t.Errorf("%s %s does not fit the route %q", rc.HTTP.Method, ev.RawPath, ev.RouteKey)
	} else if !maps.Equal(params, ev.PathParameters) {
		t.Errorf("pathParameters = %v, want %v from rawPath", ev.PathParameters, params)
	}
	q, err := url.ParseQuery(ev.RawQueryString)
	if err != nil {
		t.Errorf("rawQueryString: %v", err)
	}
	want := map[string]string{}
	for k, v := range q {
		want[k] = strings.Join(v, ",")
	}
	if !maps.Equal(want, ev.QueryStringParameters) {
		t.Errorf("queryStringParameters = %v, want %v from rawQueryString", ev.QueryStringParameters, want)
	}
	for _, f := range []struct{ name, v string }{{"accountId", rc.AccountID}, {"apiId", rc.APIID}, {"domainName", rc.DomainName},
		{"requestId", rc.RequestID}, {"stage", rc.Stage}, {"time", rc.Time}, {"http.protocol", rc.HTTP.Protocol},
		{"http.sourceIp", rc.HTTP.SourceIP}, {"http.userAgent", rc.HTTP.UserAgent}} {
		if f.v == "" {
			t.Errorf("requestContext.%s is empty", f.name)
		}
	}
	if rc.TimeEpoch == 0 {
		t.Errorf("requestContext.timeEpoch is empty")
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header %q: HTTP API sends header names in lower case", k)
		}
	}
	if ev.Body != "" && !ev.IsBase64Encoded {
		if ct := ev.Headers["content-type"]; !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, mergePatchJSON) {
			t.Errorf("a JSON body needs the header content-type: application/json or %s (got %q)", mergePatchJSON, ct)
		}
		if cl, ok := ev.Headers["content-length"]; ok && cl != strconv.Itoa(len(ev.Body)) {
			t.Errorf("content-length %s, but the body has %d bytes", cl, len(ev.Body))
		}
	}
	r, ok := s.routers[ev.RouteKey]
	if !ok {
		return
	}
	var scope string
	for _, rt := range r.Routes() {
		if rt.Key == ev.RouteKey {
			scope = rt.Scope
		}
	}
	// Routes with a key: API Gateway answers a request without the Authorization header itself,
	// so what reaches the function has the header and the authorizer's {scope, keyId} (both
	// empty for a key it refused).
	_, hasKey := ev.Headers["authorization"]
	switch az := rc.Authorizer; {
	case scope == ScopePublic:
		if az != nil || hasKey {
			t.Errorf("%s is public: the sample should carry neither an authorization header nor an authorizer context", ev.RouteKey)
		}
	case az == nil || !hasKey:
		t.Errorf("%s needs a key: the sample needs an authorization header and requestContext.authorizer.lambda {scope, keyId}", ev.RouteKey)
	default:
		sc, okScope := az.Lambda["scope"].(string)
		id, okID := az.Lambda["keyId"].(string)
		if !okScope || !okID || (sc == "") != (id == "") && sc != "" {
			t.Errorf("requestContext.authorizer.lambda needs scope and keyId (got %v)", az.Lambda)
		}
	}
}

// buildState replays a fixture state's steps (after the state it comes from) on s.
func buildState(t *testing.T, s *stack, f *eventFixtures, name string, seen map[string]bool) {
	t.Helper()
	st, ok := f.States[name]
	if !ok {
		t.Fatalf("unknown state %q", name)
	}
	if seen[name] {
		t.Fatalf("state %q comes from itself", name)
	}
	seen[name] = true
	if st.From != "" {
		buildState(t, s, f, st.From, seen)
	}
	for i, step := range st.Steps {
		where := fmt.Sprintf("state %s, step %d", name, i+1)
		switch {
		case step.Advance != "":
			d, err := time.ParseDuration(step.Advance)
			if err != nil {
				t.Fatalf("%s: advance: %v", where, err)
			}
			s.advance(d)
		case step.Event != "":
			ev := loadSampleEvent(t, step.Event)
			if len(step.Merge) > 0 {
				ev.Body = mergePatch(t, ev.Body, step.Merge)
				ev.Headers["content-length"] = strconv.Itoa(len(ev.Body))
			}
			r, ok := s.routers[ev.RouteKey]
			if !ok {
				t.Fatalf("%s: no router serves %q", where, ev.RouteKey)
			}
			resp, err := r.Handle(context.Background(), ev)
			if err != nil || resp.StatusCode >= 300 {
				t.Fatalf("%s (%s): %d %v %s", where, step.Event, resp.StatusCode, err, resp.Body)
			}
			s.advance(time.Minute)
		case step.Delivered != nil:
			s.deliveredDelivery(t, s.webhookDescribed(t, step.Delivered.EndpointDescribed), step.Delivered.DeliveryID)
			s.advance(time.Minute)
		case step.Method != "":
			var body any
			if len(step.Body) > 0 {
				body = string(step.Body)
			}
			resp := s.raw(auth.ScopeAdmin, step.Method, step.Path, body)
			if resp.StatusCode >= 300 {
				t.Fatalf("%s (%s %s): %d %s", where, step.Method, step.Path, resp.StatusCode, resp.Body)
			}
			s.advance(time.Minute)
		default:
			t.Fatalf("%s: a step needs event, method, delivered or advance", where)
		}
	}
}

// mergePatch applies a JSON merge patch (RFC 7396) to a JSON object.
func mergePatch(t *testing.T, doc string, patch json.RawMessage) string {
	t.Helper()
	var d, p any
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("merge: body: %v", err)
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		t.Fatalf("merge: patch: %v", err)
	}
	b, err := json.Marshal(samtemplate.MergePatch(d, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// bindParam puts a value generated at run time in place of the sample's path parameter.
func bindParam(t *testing.T, s *stack, ev *events.APIGatewayV2HTTPRequest, param string, b binding) {
	t.Helper()
	old, ok := ev.PathParameters[param]
	if !ok {
		t.Fatalf("bind: the event has no path parameter %q", param)
	}
	var val string
	switch {
	case b.RewardOf != nil:
		st, list := s.do("GET", "/customers/"+url.PathEscape(b.RewardOf.CustomerID)+"/rewards?limit=100", nil)
		if st != 200 {
			t.Fatalf("bind %s: rewards of %s: %d %v", param, b.RewardOf.CustomerID, st, list)
		}
		rewards, _ := list["rewards"].([]any)
		for _, r := range rewards {
			m, _ := r.(map[string]any)
			if m["eventId"] == b.RewardOf.EventID {
				val, _ = m["rewardId"].(string)
			}
		}
		if val == "" {
			t.Fatalf("bind %s: %s has no reward for %s: %v", param, b.RewardOf.CustomerID, b.RewardOf.EventID, list)
		}
	case b.KeyNamed != "":
		val = s.keyIDNamed(t, b.KeyNamed)
	case b.WebhookDescribed != "":
		val = s.webhookDescribed(t, b.WebhookDescribed)
	default:
		t.Fatalf("bind %s: nothing to bind to", param)
	}
	ev.PathParameters[param] = val
	ev.RawPath = strings.Replace(ev.RawPath, "/"+url.PathEscape(old), "/"+url.PathEscape(val), 1)
	ev.RequestContext.HTTP.Path = ev.RawPath
}

// checkAnswer compares a response with what the fixture says it answers.
func checkAnswer(t *testing.T, c eventCase, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if resp.StatusCode != c.Status {
		t.Fatalf("status %d, want %d\n%s", resp.StatusCode, c.Status, resp.Body)
	}
	for k, want := range c.Headers {
		if got := resp.Headers[k]; got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if len(c.Body) == 0 && len(c.Match) == 0 {
		return
	}
	var body any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, resp.Body)
	}
	for path, raw := range c.Body {
		var want any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("fixture body %s: %v", path, err)
		}
		got, ok := samtemplate.Lookup(body, path)
		if !ok {
			t.Errorf("body has no %s\n%s", path, resp.Body)
			continue
		}
		if g, w := canonical(got), canonical(want); g != w {
			t.Errorf("body %s = %s, want %s", path, g, w)
		}
	}
	for path, pattern := range c.Match {
		got, ok := samtemplate.Lookup(body, path)
		s, isString := got.(string)
		if !ok || !isString {
			t.Errorf("body %s = %v, want a string matching %s", path, got, pattern)
			continue
		}
		if !regexp.MustCompile(pattern).MatchString(s) {
			t.Errorf("body %s = %q, want a match for %s", path, s, pattern)
		}
	}
}

func canonical(v any) string {
	b, _ := json.Marshal(v) // decoded JSON always encodes; map keys come out sorted
	return string(b)
}

// TestEveryFunctionHasSampleEvents holds events/ to template.yaml: every function has samples,
// every HTTP route a successful one, and each sample's route is one its function serves.
func TestEveryFunctionHasSampleEvents(t *testing.T) {
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	f := loadFixtures(t)
	files := sampleEventFiles(t)
	for _, name := range files {
		if _, ok := tpl.EventFunction(name); !ok {
			t.Errorf("events/%s: no function in template.yaml has the prefix %q", name, strings.SplitN(name, "-", 2)[0]+"-")
		}
	}
	for id, fn := range tpl.Functions() {
		samples, err := samtemplate.SampleEvents(eventsDir(), id)
		if err != nil {
			t.Fatal(err)
		}
		if len(samples) == 0 {
			t.Errorf("%s has no sample events: add events/%s<case>.json", id, samtemplate.EventPrefix(id))
			continue
		}
		routes := fn.RouteKeys()
		if len(routes) == 0 {
			continue // not behind the HTTP API: its samples name the test that runs them (testedBy)
		}
		if testedElsewhere(f, samples) {
			for _, name := range samples {
				if ev := loadSampleEvent(t, name); !slices.Contains(routes, ev.RouteKey) {
					t.Errorf("events/%s: route %q is not one of %s's routes %v", name, ev.RouteKey, id, routes)
				}
			}
			continue // a page set's function (the console): its own package runs its samples
		}
		succeeded := map[string]bool{}
		for _, name := range samples {
			ev := loadSampleEvent(t, name)
			if !slices.Contains(routes, ev.RouteKey) {
				t.Errorf("events/%s: route %q is not one of %s's routes %v", name, ev.RouteKey, id, routes)
			}
			if c, ok := f.Events[name]; ok && c.Status >= 200 && c.Status < 400 {
				succeeded[ev.RouteKey] = true
			}
		}
		for _, rk := range routes {
			if !succeeded[rk] {
				t.Errorf("%s: no sample event shows %q succeeding", id, rk)
			}
		}
	}
}

// TestRoutersServeTheTemplateRoutes: the routers the functions run serve exactly the HTTP API
// routes of template.yaml (template_test.go at the root checks it function by function).
func TestRoutersServeTheTemplateRoutes(t *testing.T) {
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	inTemplate := map[string]bool{}
	f := loadFixtures(t)
	for id, fn := range tpl.Functions() {
		if samples, err := samtemplate.SampleEvents(eventsDir(), id); err != nil || testedElsewhere(f, samples) {
			continue // a page set's function serves its routes with its own router, tested in its package
		}
		for _, rk := range fn.RouteKeys() {
			inTemplate[rk] = true
		}
	}
	s := newStack(t)
	for rk := range s.routers {
		if !inTemplate[rk] {
			t.Errorf("a router serves %q, but no function in template.yaml has it as an HttpApi event", rk)
		}
	}
	for rk := range inTemplate {
		if _, ok := s.routers[rk]; !ok {
			t.Errorf("template.yaml routes %q, but no router in newStack serves it", rk)
		}
	}
}

// testedElsewhere reports whether every sample of a function names the test that runs it: a
// function behind the HTTP API whose router is not one of shared/api's (a page set's, like the
// console's) is tested in its own package.
func testedElsewhere(f *eventFixtures, samples []string) bool {
	for _, name := range samples {
		if f.Events[name].TestedBy == "" {
			return false
		}
	}
	return len(samples) > 0
}
