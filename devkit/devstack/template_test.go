package devstack

import (
	"strings"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/samtemplate"
)

func TestTemplateResolvesFunctionsRoutesAndStreams(t *testing.T) {
	tmpl, err := samtemplate.Resolve("testdata/template.yaml", map[string]string{"OutDir": "/tmp/out"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range tmpl.Warnings {
		t.Errorf("unexpected warning: %s", w)
	}
	echo := tmpl.Functions["EchoFunction"]
	if echo == nil {
		t.Fatal("EchoFunction missing")
	}
	wantEnv := map[string]string{
		"TABLE_NAME": "referrals-local",
		"STAGE":      "dev",
		"OUT_DIR":    "/tmp/out",
		"MODE":       "development",
		"TABLE_ARN":  "arn:aws:dynamodb:us-east-1:123456789012:table/referrals-local",
		"GREETING":   "hello from us-east-1 on dev",
		"SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:AdminKeySecret-local",
	}
	for k, v := range wantEnv {
		if echo.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, echo.Env[k], v)
		}
	}
	if echo.Dir != "./functions/echo" || echo.MemoryMB != 128 || echo.Timeout != 5*time.Second || echo.LogFmt != "JSON" {
		t.Errorf("echo = %+v", echo)
	}
	if slow := tmpl.Functions["SlowFunction"]; slow.Timeout != time.Second {
		t.Errorf("SlowFunction timeout = %s, want the function's own 1s over the global 5s", slow.Timeout)
	}

	auth := map[string]string{}
	for _, r := range tmpl.Routes {
		auth[r.Key()] = r.Authorizer
	}
	if auth["GET /items/{id}"] != "KeyAuthorizer" || auth["GET /public"] != "" || auth["ANY /files/{proxy+}"] != "" {
		t.Errorf("route authorizers = %v", auth)
	}
	a := tmpl.APIs["Api"].Authorizers["KeyAuthorizer"]
	if a.Function != "AuthorizerFunction" || !a.SimpleResponses || a.TTL != 300*time.Second || strings.Join(a.IdentityHeaders, ",") != "Authorization" {
		t.Errorf("authorizer = %+v", a)
	}

	src := tmpl.Functions["PoisonFunction"].Streams[0]
	if src.Table != "Table" || src.BatchSize != 10 || src.Window != time.Second || !src.Bisect || src.MaxRetries != 2 ||
		src.MaxRecordAge != time.Hour || src.OnFailureDestination != "FailureQueue" || len(src.Filters) != 1 {
		t.Errorf("poison stream source = %+v", src)
	}
	if s := tmpl.Functions["StreamFunction"].Streams[0]; !s.ReportItemFailures || s.MaxRetries != 3 {
		t.Errorf("stream source = %+v", s)
	}
	if td := tmpl.Tables["Table"]; td.ViewType != "NEW_AND_OLD_IMAGES" || !strings.HasPrefix(td.StreamARN, td.ARN+"/stream/") {
		t.Errorf("table = %+v", td)
	}
}

func TestParameterOverrideFlipsConditions(t *testing.T) {
	tmpl, err := samtemplate.Resolve("testdata/template.yaml", map[string]string{"Stage": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if got := tmpl.Functions["EchoFunction"].Env["MODE"]; got != "production" {
		t.Errorf("MODE = %q, want production", got)
	}
}

func TestRepositoryTemplateLoads(t *testing.T) {
	tmpl, err := samtemplate.Resolve(repoRoot+"/template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tmpl.Functions) == 0 || len(tmpl.Routes) == 0 {
		t.Fatalf("no functions or routes in template.yaml")
	}
	if len(tmpl.Tables) != 1 {
		t.Fatalf("want one table, got %d", len(tmpl.Tables))
	}
	for _, td := range tmpl.Tables {
		if td.ViewType == "" {
			t.Errorf("table %s has no stream", td.LogicalID)
		}
	}
	for _, w := range tmpl.Warnings {
		t.Logf("warning: %s", w)
	}
}
