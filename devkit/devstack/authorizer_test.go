package devstack

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAuthorizerAllowsDeniesAndCaches(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t)
	logPath := filepath.Join(s.out, "authorizer.log")
	cases := []struct {
		name   string
		header []string
		status int
		body   string
	}{
		{"no identity source", nil, 401, `{"message":"Unauthorized"}`},
		{"denied", []string{"Authorization", "Bearer bad"}, 403, `{"message":"Forbidden"}`},
		{"allowed", []string{"Authorization", goodKey}, 200, ""},
		{"allowed again, from the cache", []string{"Authorization", goodKey}, 200, ""},
		{"denied again, from the cache", []string{"Authorization", "Bearer bad"}, 403, `{"message":"Forbidden"}`},
	}
	for _, c := range cases {
		r := do(t, "GET", s.APIURL+"/items/1", nil, c.header...)
		if r.status != c.status || c.body != "" && strings.TrimSpace(string(r.body)) != c.body {
			t.Errorf("%s: got %d %s, want %d %s", c.name, r.status, r.body, c.status, c.body)
		}
	}
	// Another route with the same key is served from the cache too.
	if r := do(t, "POST", s.APIURL+"/items", []byte("{}"), "Authorization", goodKey, "Content-Type", "application/json"); r.status != 200 {
		t.Errorf("POST /items = %d", r.status)
	}
	calls := lines(logPath)
	if len(calls) != 2 || calls[0] != "Bearer bad GET /items/{id}" || calls[1] != "Bearer good GET /items/{id}" {
		t.Errorf("authorizer calls = %q, want one per identity", calls)
	}
	// Public routes never call it.
	do(t, "GET", s.APIURL+"/public", nil)
	if n := len(lines(logPath)); n != 2 {
		t.Errorf("a public route called the authorizer (%d calls)", n)
	}
}

func TestAuthorizerCacheExpires(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t)
	do(t, "GET", s.APIURL+"/items/1", nil, "Authorization", goodKey)
	// Jump past ReauthorizeEvery (300 s).
	later := time.Now().Add(301 * time.Second)
	s.API().SetClock(func() time.Time { return later })
	do(t, "GET", s.APIURL+"/items/1", nil, "Authorization", goodKey)
	if n := len(lines(filepath.Join(s.out, "authorizer.log"))); n != 2 {
		t.Errorf("authorizer calls = %d, want 2 once the TTL passed", n)
	}
}
