package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/store"
)

// keyIDNamed finds the id of the API key issued with name, by reading the table. Sample events
// bind to it with {"keyNamed": ...}.
func (s *stack) keyIDNamed(t testing.TB, name string) string {
	t.Helper()
	for _, it := range s.scan(t) {
		var k struct {
			Type  string `dynamodbav:"type"`
			KeyID string `dynamodbav:"keyId"`
			Name  string `dynamodbav:"name"`
		}
		if err := attributevalue.UnmarshalMap(it, &k); err == nil && k.Type == store.TypeAPIKeyID && k.Name == name {
			return k.KeyID
		}
	}
	t.Fatalf("no API key named %q", name)
	return ""
}

// scan reads the whole test table (tests only: the functions never scan).
func (s *stack) scan(t testing.TB) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	in := &dynamodb.ScanInput{TableName: aws.String(s.db.Table)}
	for {
		out, err := s.db.Client.Scan(context.Background(), in)
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// gateway plays API Gateway in front of the stack: it runs the Lambda authorizer on the
// Authorization header as the template configures it (identity source, simple responses) and
// passes its context to the route's router.
type gateway struct {
	s    *stack
	auth *auth.Authorizer
}

// newGateway puts the authorizer in front of the stack and issues an admin key in the table;
// it returns that key's Authorization header.
func newGateway(t *testing.T, s *stack) (*gateway, string) {
	t.Helper()
	secret, err := auth.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.CreateAPIKey(context.Background(), auth.Hash(secret), secret[len(secret)-4:], auth.ScopeAdmin, "test admin"); err != nil {
		t.Fatal(err)
	}
	return &gateway{s: s, auth: &auth.Authorizer{Keys: s.store, Log: quietLog}}, "Bearer " + secret
}

func (g *gateway) call(t *testing.T, header, method, target string, body any) (int, map[string]any) {
	t.Helper()
	key, params := g.s.match(method, strings.SplitN(target, "?", 2)[0])
	if key == "" {
		t.Fatalf("no route for %s %s", method, target)
	}
	var b string
	if body != nil {
		j, _ := json.Marshal(body)
		b = string(j)
	}
	ev := event(key, params, method, target, b, "")
	public := false
	for _, rt := range g.s.routers[key].Routes() {
		if rt.Key == key {
			public = rt.Scope == ScopePublic
		}
	}
	if !public {
		if header == "" {
			return http.StatusUnauthorized, nil // API Gateway: identity source missing
		}
		ev.Headers["authorization"] = header
		resp, err := g.auth.Handle(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{
			Version: "2.0", Type: "REQUEST", IdentitySource: []string{header}, RouteKey: key,
			RawPath: ev.RawPath, Headers: ev.Headers, RequestContext: ev.RequestContext, PathParameters: params})
		if err != nil {
			return http.StatusInternalServerError, nil
		}
		if !resp.IsAuthorized {
			return http.StatusForbidden, nil
		}
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: resp.Context}
	}
	resp, err := g.s.routers[key].Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	var out map[string]any
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, target, resp.Body)
		}
	}
	return resp.StatusCode, out
}

func TestIssuingAKeyShowsItsSecretOnceAndStoresOnlyItsHash(t *testing.T) {
	s := newStack(t)
	st, k := s.do("POST", "/keys", map[string]any{"scope": "server", "name": "shop backend"})
	if st != 201 {
		t.Fatalf("POST /keys: %d %v", st, k)
	}
	secret, _ := k["secret"].(string)
	if !regexp.MustCompile(`^rk_live_[A-Za-z0-9_-]{43}$`).MatchString(secret) || k["scope"] != "server" ||
		k["name"] != "shop backend" || !strings.HasPrefix(k["keyId"].(string), "key_") || k["createdAt"] != "2026-11-20T12:00:00Z" {
		t.Fatalf("issued key: %v", k)
	}
	if resp := s.raw("admin", "POST", "/keys", map[string]any{"scope": "admin"}); resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("a response with a secret must not be cached: %v", resp.Headers)
	}
	dump, _ := json.Marshal(s.scan(t))
	if strings.Contains(string(dump), secret) || strings.Contains(string(dump), strings.TrimPrefix(secret, auth.SecretPrefix)) {
		t.Fatal("the table holds the secret itself")
	}
	if !strings.Contains(string(dump), auth.Hash(secret)) {
		t.Fatal("the table does not hold the secret's hash")
	}
}

// GET /keys lists the issued keys, oldest first, revoked ones too, each with the last 4
// characters of its secret and never the secret or its hash; pages follow the cursor.
func TestListingKeysShowsTheirLastFourCharactersNeverTheSecret(t *testing.T) {
	s := newStack(t)
	var secrets []string
	for _, name := range []string{"shop", "crm", "old"} {
		st, k := s.do("POST", "/keys", map[string]any{"scope": "server", "name": name})
		if st != 201 {
			t.Fatalf("POST /keys: %d %v", st, k)
		}
		secrets = append(secrets, k["secret"].(string))
	}
	if st, b := s.do("DELETE", "/keys/"+s.keyIDNamed(t, "old"), nil); st != 204 {
		t.Fatalf("revoke: %d %v", st, b)
	}
	if st, b := s.doAs("server", "GET", "/keys", nil); st != 403 {
		t.Errorf("a server key listed the keys: %d %v", st, b)
	}
	resp := s.raw("admin", "GET", "/keys?limit=2", nil)
	if resp.StatusCode != 200 || resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("GET /keys: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	var page KeyList
	if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || len(page.Keys) != 2 || page.NextCursor == nil {
		t.Fatalf("first page: %v %s", err, resp.Body)
	}
	st, rest := s.do("GET", "/keys?limit=2&cursor="+url.QueryEscape(*page.NextCursor), nil)
	if st != 200 || len(rest["keys"].([]any)) != 1 || rest["nextCursor"] != nil {
		t.Fatalf("second page: %d %v", st, rest)
	}
	last := rest["keys"].([]any)[0].(map[string]any)
	type listed struct {
		last4   string
		revoked bool
	}
	got := map[string]listed{last["name"].(string): {last["last4"].(string), last["revokedAt"] != nil}}
	for _, k := range page.Keys {
		got[k.Name] = listed{k.Last4, k.RevokedAt != nil}
	}
	for i, name := range []string{"shop", "crm", "old"} {
		if want := (listed{secrets[i][len(secrets[i])-4:], name == "old"}); got[name] != want {
			t.Errorf("%s = %+v, want %+v", name, got[name], want)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(resp.Body, secret) || strings.Contains(resp.Body, auth.Hash(secret)) {
			t.Fatal("the list shows a secret or its hash")
		}
	}
}

func TestKeyRequestsAreValidated(t *testing.T) {
	s := newStack(t)
	for _, c := range []struct {
		body  string
		field string
	}{
		{`{"name":"x"}`, "scope"},
		{`{"scope":"root","name":"x"}`, "scope"},
		{`{"scope":"SERVER"}`, "scope"},
		{`{"scope":"server","name":"` + strings.Repeat("n", 201) + `"}`, "name"},
		{`{"scope":"server","name":"a\nb"}`, "name"},
		{`{"scope":"server","secret":"mine"}`, "secret"},
		{`{"scope":"server","name":7}`, "name"},
	} {
		st, b := s.do("POST", "/keys", c.body)
		if st != 400 || errCode(b) != "invalid_request" || errField(b) != c.field {
			t.Errorf("%s: %d %v, want 400 on %s", c.body, st, b, c.field)
		}
	}
	if st, b := s.do("DELETE", "/keys/"+strings.Repeat("k", 129), nil); st != 400 || errField(b) != "keyId" {
		t.Errorf("long key id: %d %v", st, b)
	}
}

// TestAKeyWorksThroughTheAuthorizerUntilRevoked drives the whole chain the template sets up:
// authorizer → context → router scope check.
func TestAKeyWorksThroughTheAuthorizerUntilRevoked(t *testing.T) {
	s := newStack(t)
	g, admin := newGateway(t, s)
	if st, b := g.call(t, admin, "PUT", "/programs/p1", tieredProgram()); st != 201 {
		t.Fatalf("admin PUT program: %d %v", st, b)
	}
	st, k := g.call(t, admin, "POST", "/keys", map[string]any{"scope": "server", "name": "shop"})
	if st != 201 {
		t.Fatalf("POST /keys: %d %v", st, k)
	}
	server := "Bearer " + k["secret"].(string)

	if st, b := g.call(t, server, "GET", "/programs/p1", nil); st != 200 {
		t.Fatalf("server key on a server route: %d %v", st, b)
	}
	if st, b := g.call(t, server, "PUT", "/programs/p1", tieredProgram()); st != 403 || errCode(b) != "forbidden" {
		t.Fatalf("server key on an admin route: %d %v, want 403 forbidden", st, b)
	}
	if st, b := g.call(t, server, "POST", "/keys", map[string]any{"scope": "admin"}); st != 403 {
		t.Fatalf("a server key must not mint an admin key: %d %v", st, b)
	}
	if st, b := g.call(t, server, "DELETE", "/keys/"+k["keyId"].(string), nil); st != 403 {
		t.Fatalf("a server key must not revoke keys: %d %v", st, b)
	}

	if st, b := g.call(t, admin, "DELETE", "/keys/"+k["keyId"].(string), nil); st != 204 || b != nil {
		t.Fatalf("revoke: %d %v", st, b)
	}
	if st, b := g.call(t, admin, "DELETE", "/keys/"+k["keyId"].(string), nil); st != 204 {
		t.Fatalf("revoking again: %d %v, want 204", st, b)
	}
	if st, b := g.call(t, admin, "DELETE", "/keys/key_NOSUCHKEY", nil); st != 404 || errCode(b) != "key_not_found" {
		t.Fatalf("revoke unknown: %d %v", st, b)
	}
	if st, b := g.call(t, server, "GET", "/programs/p1", nil); st != 401 || errCode(b) != "unauthorized" {
		t.Fatalf("revoked key: %d %v, want 401 unauthorized", st, b)
	}

	for _, h := range []string{"Bearer rk_live_" + strings.Repeat("A", 43), "Bearer nonsense", "Basic ZGV2OmFkbWlu", "Bearer"} {
		if st, b := g.call(t, h, "GET", "/programs/p1", nil); st != 401 || errCode(b) != "unauthorized" {
			t.Errorf("%q: %d %v, want the API's 401 unauthorized", h, st, b)
		}
	}
	if st, _ := g.call(t, "", "GET", "/programs/p1", nil); st != 401 {
		t.Errorf("no Authorization header: %d, want 401", st)
	}
	if st, b := g.call(t, "", "GET", "/codes/NOSUCHCODE", nil); st != 404 {
		t.Errorf("public route without a key: %d %v, want 404 (no authorizer)", st, b)
	}
}

// TestEveryRouteEnforcesItsScope is table-driven from the routers' route list: every
// non-public route answers 401 without a key and 403 with a key that lacks its scope, and
// template.yaml agrees on which routes are public (Auth: {Authorizer: NONE}).
func TestEveryRouteEnforcesItsScope(t *testing.T) {
	s := newStack(t)
	public := templatePublicRoutes(t)
	for key, r := range s.routers {
		var rt Route
		for _, x := range r.Routes() {
			if x.Key == key {
				rt = x
			}
		}
		t.Run(key, func(t *testing.T) {
			if (rt.Scope == ScopePublic) != public[key] {
				t.Fatalf("router scope %q, but template.yaml public=%v", rt.Scope, public[key])
			}
			if rt.Scope == ScopePublic {
				return
			}
			method, path, _ := strings.Cut(key, " ")
			target := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "x1")
			if st, b := s.doAs("", method, target, "{}"); st != 401 || errCode(b) != "unauthorized" {
				t.Errorf("no key: %d %v, want 401 unauthorized", st, b)
			}
			lesser := "reporting" // a scope this route does not accept
			if rt.Scope == auth.ScopeAdmin {
				lesser = auth.ScopeServer
			}
			if st, b := s.doAs(lesser, method, target, "{}"); st != 403 || errCode(b) != "forbidden" {
				t.Errorf("%s key: %d %v, want 403 forbidden", lesser, st, b)
			}
			if st, _ := s.doAs(auth.ScopeAdmin, method, target, "{}"); st == 401 || st == 403 {
				t.Errorf("admin key: %d, want the route to run", st)
			}
		})
	}
}

// templatePublicRoutes lists the routes template.yaml serves without the authorizer.
func templatePublicRoutes(t *testing.T) map[string]bool {
	t.Helper()
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, fn := range tpl.Functions() {
		for _, e := range fn.Events() {
			if e.Type != "HttpApi" {
				continue
			}
			a, _ := e.Properties["Auth"].(map[string]any)
			if a != nil && a["Authorizer"] == "NONE" {
				m, _ := e.Properties["Method"].(string)
				p, _ := e.Properties["Path"].(string)
				out[strings.ToUpper(m)+" "+p] = true
			}
		}
	}
	return out
}
