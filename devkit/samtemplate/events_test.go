package samtemplate

import (
	"fmt"
	"testing"
)

func TestMatchRouteFindsPathParameters(t *testing.T) {
	for _, c := range []struct {
		key, method, path string
		want              map[string]string // nil: no match
	}{
		{"GET /codes/{code}", "GET", "/codes/ANA-DEMO", map[string]string{"code": "ANA-DEMO"}},
		{"GET /codes/{code}", "get", "/codes/ana%2Ddemo", map[string]string{"code": "ana-demo"}},
		{"GET /codes/{code}", "POST", "/codes/ANA-DEMO", nil},
		{"GET /codes/{code}", "GET", "/codes", nil},
		{"GET /codes/{code}", "GET", "/codes/", nil},
		{"GET /codes/{code}", "GET", "/codes/a/b", nil},
		{"GET /programs", "GET", "/programs", map[string]string{}},
		{"GET /programs", "GET", "/programs/p1", nil},
		{"POST /rewards/{rewardId}/fulfill", "POST", "/rewards/r1/fulfill", map[string]string{"rewardId": "r1"}},
		{"POST /rewards/{rewardId}/fulfill", "POST", "/rewards/r1/approve", nil},
		{"ANY /files/{path+}", "PUT", "/files/a/b.txt", map[string]string{"path": "a/b.txt"}},
	} {
		got, ok := MatchRoute(c.key, c.method, c.path)
		if ok != (c.want != nil) || ok && fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("MatchRoute(%q, %s %s) = %v, %v; want %v", c.key, c.method, c.path, got, ok, c.want)
		}
	}
}

func TestSampleEventNamesBelongToFunctions(t *testing.T) {
	tpl, err := Parse([]byte(`
Globals:
  Function:
    Environment:
      Variables: {TABLE_NAME: t}
Resources:
  CodesFunction:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables: {SENDER: s}
  PublicCodesFunction:
    Type: AWS::Serverless::Function
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"codes-create.json":       "CodesFunction",
		"publiccodes-check.json":  "PublicCodesFunction",
		"codes.json":              "",
		"fixtures.json":           "",
		"codes-.json":             "",
		"referrals-create.json":   "",
		"publiccodes-check.jsonx": "",
	} {
		got, ok := tpl.EventFunction(name)
		if got != want || ok != (want != "") {
			t.Errorf("EventFunction(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if p := EventPrefix("PublicCodesFunction"); p != "publiccodes-" {
		t.Errorf("EventPrefix = %q", p)
	}
	if env := tpl.Environment("CodesFunction"); len(env) != 2 || !env["TABLE_NAME"] || !env["SENDER"] {
		t.Errorf("Environment(CodesFunction) = %v", env)
	}
	if env := tpl.Environment("PublicCodesFunction"); len(env) != 1 || !env["TABLE_NAME"] {
		t.Errorf("Environment(PublicCodesFunction) = %v", env)
	}
}
