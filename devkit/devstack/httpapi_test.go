package devstack

import (
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const goodKey = "Bearer good"

func TestHTTPRequestBecomesPayloadV2Event(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t)
	r := do(t, "GET", s.APIURL+"/items/a%20b?x=1&x=2&y=z%21", nil,
		"Authorization", goodKey, "Cookie", "c1=v1; c2=v2", "X-Custom", "one", "X-Custom", "two", "User-Agent", "devtest/1")
	ev := eventOf(t, r)
	want := map[string]any{
		"version":        "2.0",
		"routeKey":       "GET /items/{id}",
		"rawPath":        "/items/a%20b",
		"rawQueryString": "x=1&x=2&y=z%21",
	}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("%s = %v, want %v", k, ev[k], v)
		}
	}
	if p := ev["pathParameters"].(map[string]any); p["id"] != "a b" {
		t.Errorf("pathParameters = %v", p)
	}
	if q := ev["queryStringParameters"].(map[string]any); q["x"] != "1,2" || q["y"] != "z!" {
		t.Errorf("queryStringParameters = %v", q)
	}
	if c := ev["cookies"].([]any); len(c) != 2 || c[0] != "c1=v1" || c[1] != "c2=v2" {
		t.Errorf("cookies = %v", c)
	}
	h := ev["headers"].(map[string]any)
	if h["x-custom"] != "one,two" || h["authorization"] != goodKey || h["cookie"] != nil || h["x-forwarded-for"] != "127.0.0.1" {
		t.Errorf("headers = %v", h)
	}
	rc := ev["requestContext"].(map[string]any)
	if rc["stage"] != "$default" || rc["routeKey"] != "GET /items/{id}" || rc["accountId"] == "" || rc["requestId"] == "" || rc["timeEpoch"].(float64) == 0 {
		t.Errorf("requestContext = %v", rc)
	}
	hd := rc["http"].(map[string]any)
	if hd["method"] != "GET" || hd["path"] != "/items/a b" || hd["sourceIp"] != "127.0.0.1" || hd["userAgent"] != "devtest/1" || hd["protocol"] != "HTTP/1.1" {
		t.Errorf("requestContext.http = %v", hd)
	}
	lambda := rc["authorizer"].(map[string]any)["lambda"].(map[string]any)
	if lambda["scope"] != "admin" || lambda["keyId"] != "k1" {
		t.Errorf("authorizer context = %v", lambda)
	}
	if ev["isBase64Encoded"] != false || ev["body"] != nil {
		t.Errorf("a GET has no body: %v %v", ev["isBase64Encoded"], ev["body"])
	}
}

func TestFunctionsGetTemplateEnvironmentAndLocalEndpoints(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t, func(c *Config) {
		c.Env = map[string]map[string]string{"EchoFunction": {"LOCAL_OVERRIDE": "yes"}, "Parameters": {"STAGE": "overridden"}}
	})
	env := do(t, "GET", s.APIURL+"/public", nil).json(t)["env"].(map[string]any)
	want := map[string]string{
		"TABLE_NAME":                      "referrals-local",
		"STAGE":                           "overridden",
		"MODE":                            "development",
		"AWS_LAMBDA_FUNCTION_NAME":        "EchoFunction",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_ENDPOINT_URL_DYNAMODB":       s.DynamoURL,
		"AWS_REGION":                      "us-east-1",
		"AWS_LAMBDA_LOG_FORMAT":           "JSON",
		"LOCAL_OVERRIDE":                  "yes",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %v, want %q", k, env[k], v)
		}
	}
}

func TestRequestBodiesAreTextOrBase64ByContentType(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t)
	ev := eventOf(t, do(t, "POST", s.APIURL+"/items", []byte(`{"a":1}`), "Authorization", goodKey, "Content-Type", "application/json; charset=utf-8"))
	if ev["body"] != `{"a":1}` || ev["isBase64Encoded"] != false {
		t.Errorf("JSON body = %v (base64 %v)", ev["body"], ev["isBase64Encoded"])
	}
	bin := []byte{0, 1, 2, 250}
	ev = eventOf(t, do(t, "POST", s.APIURL+"/items", bin, "Authorization", goodKey, "Content-Type", "application/octet-stream"))
	if ev["body"] != base64.StdEncoding.EncodeToString(bin) || ev["isBase64Encoded"] != true {
		t.Errorf("binary body = %v (base64 %v)", ev["body"], ev["isBase64Encoded"])
	}
}

func TestFunctionResponseMapsToHTTPResponse(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t)
	r := do(t, "GET", s.APIURL+"/files/a/b.txt?status=201", nil)
	if r.status != 201 {
		t.Fatalf("status = %d: %s", r.status, r.body)
	}
	if r.header.Get("X-Echo") != "yes" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", r.header)
	}
	if got := r.header.Values("X-Multi"); strings.Join(got, ",") != "one,two" {
		t.Errorf("multi-value header = %v", got)
	}
	if got := r.header.Values("Set-Cookie"); len(got) != 2 || got[0] != "session=abc; Path=/; HttpOnly" || got[1] != "theme=dark" {
		t.Errorf("Set-Cookie = %v", got)
	}
	if r.header.Get("Apigw-Requestid") == "" {
		t.Error("no apigw-requestid header")
	}
	if ev := r.json(t)["event"].(map[string]any); ev["pathParameters"].(map[string]any)["proxy"] != "a/b.txt" {
		t.Errorf("greedy path parameter = %v", ev["pathParameters"])
	}

	bin := do(t, "GET", s.APIURL+"/files/x?binary=1", nil)
	if string(bin.body) != string([]byte{0, 1, 2, 255}) || bin.header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("base64 body not decoded: %v %q", bin.header, bin.body)
	}
}

func TestNonResponseResultBecomesJSON200(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t)
	r := do(t, "GET", s.APIURL+"/raw", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" || strings.TrimSpace(string(r.body)) != `{"hello":"world"}` {
		t.Errorf("got %d %v %s", r.status, r.header, r.body)
	}
}

func TestErrorsAnswerLikeAPIGateway(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t)
	cases := []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"unknown route", "GET", "/nope", 404, `{"error":{"code":"not_found","message":"no route for GET /nope"}}`},
		{"wrong method", "DELETE", "/public", 404, `{"error":{"code":"not_found","message":"no route for DELETE /public"}}`},
		{"function error", "GET", "/fail", 500, `{"message":"Internal Server Error"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, c.method, s.APIURL+c.path, nil)
			if r.status != c.status || strings.TrimSpace(string(r.body)) != c.body {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, c.status, c.body)
			}
		})
	}
	t.Run("function not built", func(t *testing.T) {
		r := do(t, "GET", s.APIURL+"/missing", nil)
		if r.status != 502 || !strings.Contains(string(r.body), "function_unavailable") || !strings.Contains(string(r.body), "./functions/missing") {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
}

func TestTimedOutInvocationIsKilledAnd500(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t)
	r := do(t, "GET", s.APIURL+"/slow", nil)
	if r.status != 500 {
		t.Errorf("status = %d: %s", r.status, r.body)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "Task timed out after 1.00 seconds") || !strings.Contains(logs, "Status: timeout") {
		t.Errorf("no timeout in logs:\n%s", logs)
	}
	waitFor(t, "the timed-out instance to go", 5*time.Second, func() bool { return s.Function("SlowFunction").Instances() == 0 })
}

func TestColdStartReportsInitDurationOnce(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t)
	for i := 0; i < 2; i++ {
		if r := do(t, "GET", s.APIURL+"/public", nil); r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
	}
	var reports []string
	for _, l := range strings.Split(s.logs.String(), "\n") {
		if strings.HasPrefix(l, "[EchoFunction] REPORT RequestId: ") {
			reports = append(reports, l)
		}
	}
	if len(reports) != 2 {
		t.Fatalf("want 2 REPORT lines, got %d:\n%s", len(reports), s.logs)
	}
	for _, part := range []string{"Duration: ", "Billed Duration: ", "Memory Size: 128 MB", "Max Memory Used: "} {
		if !strings.Contains(reports[0], part) {
			t.Errorf("REPORT lacks %q: %s", part, reports[0])
		}
	}
	if !strings.Contains(reports[0], "Init Duration: ") {
		t.Errorf("cold start REPORT without Init Duration: %s", reports[0])
	}
	if strings.Contains(reports[1], "Init Duration") {
		t.Errorf("warm REPORT with Init Duration: %s", reports[1])
	}
	if n := s.Function("EchoFunction").Instances(); n != 1 {
		t.Errorf("instances = %d, want the warm one reused", n)
	}
}

func TestConcurrentRequestsGetTheirOwnInstances(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t, func(c *Config) { c.MaxInstances = 2 })
	var wg sync.WaitGroup
	pids := make([]float64, 3)
	for i := range pids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := do(t, "GET", s.APIURL+"/public?sleep=300ms", nil)
			if r.status == http.StatusOK {
				pids[i] = r.json(t)["pid"].(float64)
			}
		}()
	}
	wg.Wait()
	distinct := map[float64]bool{}
	for _, p := range pids {
		if p == 0 {
			t.Fatal("a request failed")
		}
		distinct[p] = true
	}
	if len(distinct) != 2 {
		t.Errorf("3 concurrent requests with a cap of 2 ran on %d processes, want 2", len(distinct))
	}
}
