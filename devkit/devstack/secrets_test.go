package devstack

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/referral/referrals/devkit/devlog"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/secrets"
)

func secretsCall(t *testing.T, url, target string, in any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestSecretsOfTheTemplateAreServedLocally(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t, func(c *Config) { c.Secrets = map[string]string{} })
	arn := s.Template.Secrets["AdminKeySecret"].ARN
	status, out := secretsCall(t, s.SecretURL, "secretsmanager.GetSecretValue", map[string]string{"SecretId": arn})
	if status != 200 || out["SecretString"] != DevAdminKey || out["ARN"] != arn {
		t.Errorf("admin secret: %d %v", status, out)
	}
	status, out = secretsCall(t, s.SecretURL, "secretsmanager.GetSecretValue", map[string]string{"SecretId": "nope"})
	if status != 400 || out["__type"] != "ResourceNotFoundException" {
		t.Errorf("unknown secret: %d %v", status, out)
	}
}

func TestGeneratedSecretsFollowTheTemplateAndPersist(t *testing.T) {
	engineIndependent(t)
	v := secrets.Generate(map[string]any{"PasswordLength": 40, "ExcludePunctuation": true})
	if len(v) != 40 {
		t.Errorf("length %d", len(v))
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			t.Fatalf("punctuation in %q", v)
		}
	}
	j := secrets.Generate(map[string]any{"SecretStringTemplate": `{"user":"app"}`, "GenerateStringKey": "password"})
	var m map[string]string
	if err := json.Unmarshal([]byte(j), &m); err != nil || m["user"] != "app" || len(m["password"]) != 32 {
		t.Errorf("templated secret = %s", j)
	}

	tmpl, err := samtemplate.Resolve("testdata/template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.Secrets["OtherSecret"] = &samtemplate.SecretDef{LogicalID: "OtherSecret", Name: "OtherSecret", ARN: "arn:other"}
	store := t.TempDir() + "/secrets.json"
	sink := devlog.New(&syncBuffer{})
	first := secrets.New(tmpl, nil, store, sink).Value("OtherSecret")
	again := secrets.New(tmpl, nil, store, sink).Value("OtherSecret")
	if first == "" || first != again {
		t.Errorf("generated secret not kept between runs: %q then %q", first, again)
	}
}
