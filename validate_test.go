package referrals_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/referral/referrals/devkit/samtemplate"
)

// AWS's own validators run on template.yaml: cfn-lint (which also expands Fn::ForEach and
// translates SAM) and aws-sam-translator (the SAM transform CloudFormation runs on deploy).
// Both are Python tools; .ci/run puts the Python that has them first on PATH.

// needTool finds an external tool. It skips the test when the tool is missing and CI is
// unset, and fails it when CI is set: CI must run every check.
func needTool(t *testing.T, name, why string, check func() error) {
	t.Helper()
	err := check()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s is needed to %s: %v (it comes with pip's cfn-lint and aws-sam-translator packages; .ci/run finds a Python that has them)", name, why, err)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// TestCfnLintFindsNothing: cfn-lint reports no error and no warning on template.yaml, and
// every stateful resource says what a stack delete or replacement does to it (rule I3011,
// informational by default, is included here).
func TestCfnLintFindsNothing(t *testing.T) {
	t.Parallel()
	needTool(t, "cfn-lint", "lint template.yaml", func() error {
		_, err := exec.LookPath("cfn-lint")
		return err
	})
	cmd := exec.Command("cfn-lint", "--include-checks", "I3011", "--", "template.yaml")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("cfn-lint --include-checks I3011 -- template.yaml: %v\n%s", err, out)
	}
}

// translated is template.yaml after the transforms CloudFormation runs on deploy:
// AWS::LanguageExtensions (by samtemplate.Decode) and then AWS::Serverless-2016-10-31 (by
// aws-sam-translator, with the functions' code where `sam package` puts it).
func translated(t *testing.T) map[string]any {
	t.Helper()
	needTool(t, "python3 with aws-sam-translator", "translate template.yaml", func() error {
		out, err := exec.Command("python3", "-c", "import samtranslator").CombinedOutput()
		if err != nil {
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			return fmt.Errorf("%v: %s", err, lines[len(lines)-1]) // the ImportError, not the traceback
		}
		return nil
	})
	doc := decodeTemplate(t)
	if fmt.Sprint(doc["Transform"]) != "[AWS::LanguageExtensions AWS::Serverless-2016-10-31]" {
		t.Fatalf("Transform = %v, want [AWS::LanguageExtensions, AWS::Serverless-2016-10-31] (the loops, then SAM)", doc["Transform"])
	}
	doc["Transform"] = "AWS::Serverless-2016-10-31"
	resources, _ := doc["Resources"].(map[string]any)
	for id, r := range resources {
		if r := r.(map[string]any); r["Type"] == "AWS::Serverless::Function" {
			r["Properties"].(map[string]any)["CodeUri"] = "s3://artifacts/" + id + ".zip"
		}
	}
	in, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", "-c", `
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.public.exceptions import InvalidDocumentException

class NoManagedPolicies:  # the template grants statements only
    def load(self):
        return {}

try:
    out = transform(json.load(sys.stdin), {}, NoManagedPolicies())
except InvalidDocumentException as e:
    sys.exit("\n".join(c.message for c in e.causes))
json.dump(out, sys.stdout)
`)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("aws-sam-translator refuses template.yaml: %v\n%s", err, stderr.String())
	}
	var cfn map[string]any
	if err := json.Unmarshal(out, &cfn); err != nil {
		t.Fatal(err)
	}
	return cfn
}

// TestSAMTranslatesTheTemplateAsTheLocalStackReadsIt: aws-sam-translator accepts the template,
// and what it generates is what make dev and the tests assume from reading it: each function a
// Lambda function with the Globals, the HTTP API serving exactly the template's routes, each
// through its function and behind the key authorizer unless public, and each stream event an
// event source mapping that reports failed records, bisects and keeps what it gives up on.
func TestSAMTranslatesTheTemplateAsTheLocalStackReadsIt(t *testing.T) {
	t.Parallel()
	cfn := translated(t)
	tpl := loadTemplate(t)
	resources, _ := cfn["Resources"].(map[string]any)
	props := func(id, typ string) map[string]any {
		r, _ := resources[id].(map[string]any)
		if r == nil || r["Type"] != typ {
			t.Errorf("the translated template has no %s %s", typ, id)
			return nil
		}
		p, _ := r["Properties"].(map[string]any)
		return p
	}

	for _, id := range sortedIDs(tpl.Functions()) {
		p := props(id, "AWS::Lambda::Function")
		if p == nil {
			continue
		}
		got := fmt.Sprintf("%v %v %v %v", p["Runtime"], p["Handler"], p["Architectures"], p["TracingConfig"])
		if want := "provided.al2023 bootstrap [arm64] map[Mode:Active]"; got != want {
			t.Errorf("%s: runtime, handler, architectures, tracing = %s, want %s", id, got, want)
		}
	}

	// Routes: the API's OpenAPI body as SAM generates it.
	var body map[string]any
	for _, r := range resources {
		if r := r.(map[string]any); r["Type"] == "AWS::ApiGatewayV2::Api" {
			body, _ = r["Properties"].(map[string]any)["Body"].(map[string]any)
		}
	}
	paths, _ := body["paths"].(map[string]any)
	served := map[string]string{} // route key → "function security"
	for path, ops := range paths {
		for method, op := range ops.(map[string]any) {
			op := op.(map[string]any)
			integration, _ := op["x-amazon-apigateway-integration"].(map[string]any)
			uri := fmt.Sprint(integration["uri"])
			fn := uri[strings.Index(uri, "/functions/${")+len("/functions/${"):]
			fn = fn[:strings.Index(fn, ".Arn}")]
			var security []string
			for _, s := range op["security"].([]any) {
				for name := range s.(map[string]any) {
					security = append(security, name)
				}
			}
			sort.Strings(security)
			served[strings.ToUpper(method)+" "+path] = fn + " " + strings.Join(security, ",")
		}
	}
	public := map[string]bool{}
	for _, r := range tpl.Functions() {
		for _, e := range r.Events() {
			if auth, _ := e.Properties["Auth"].(map[string]any); e.Type == "HttpApi" && auth["Authorizer"] == "NONE" {
				public[strings.ToUpper(fmt.Sprint(e.Properties["Method"]))+" "+fmt.Sprint(e.Properties["Path"])] = true
			}
		}
	}
	want := map[string]string{}
	for _, id := range sortedIDs(tpl.Functions()) {
		for _, rk := range tpl.Functions()[id].RouteKeys() {
			want[rk] = id + " KeyAuthorizer"
			if public[rk] {
				want[rk] = id + " NONE"
			}
		}
	}
	if fmt.Sprint(served) != fmt.Sprint(want) {
		t.Errorf("the translated HTTP API serves (route: function security)\n%v\nbut the template says\n%v", served, want)
	}

	// Stream consumers: one event source mapping per DynamoDB event.
	mappings := map[string]map[string]any{}
	for _, r := range resources {
		if r := r.(map[string]any); r["Type"] == "AWS::Lambda::EventSourceMapping" {
			p := r["Properties"].(map[string]any)
			mappings[fmt.Sprint(p["FunctionName"].(map[string]any)["Ref"])] = p
		}
	}
	for _, id := range sortedIDs(tpl.Functions()) {
		for _, e := range tpl.Functions()[id].Events() {
			if e.Type != "DynamoDB" {
				continue
			}
			m := mappings[id]
			if m == nil {
				t.Errorf("%s: no event source mapping for its %s event", id, e.Name)
				continue
			}
			if fmt.Sprint(m["FunctionResponseTypes"]) != "[ReportBatchItemFailures]" || m["BisectBatchOnFunctionError"] != true ||
				m["DestinationConfig"] == nil || fmt.Sprint(m["FilterCriteria"]) != fmt.Sprint(e.Properties["FilterCriteria"]) {
				t.Errorf("%s: the event source mapping does not keep the template's failure handling and filters: %v", id, m)
			}
		}
	}

	// What survives a stack delete: the table, the unsubscribe and advocate page keys (links in emails sent must keep
	// working) and the key that seals the webhook secrets stored in the table; nothing else.
	var kept []string
	for id, r := range resources {
		r := r.(map[string]any)
		if r["DeletionPolicy"] == "Retain" && r["UpdateReplacePolicy"] == "Retain" {
			kept = append(kept, id)
		}
	}
	sort.Strings(kept)
	if fmt.Sprint(kept) != "[AdvocatePageSecret Table UnsubscribeSecret WebhookSecretKey]" {
		t.Errorf("kept on stack delete and replacement: %v, want [AdvocatePageSecret Table UnsubscribeSecret WebhookSecretKey]", kept)
	}
}

// TestTheTableOutlivesItsStack: a stack delete or a replacement of the table keeps the table,
// with its point-in-time recovery (otherwise it deletes every program, referral and reward).
func TestTheTableOutlivesItsStack(t *testing.T) {
	doc := decodeTemplate(t)
	table, _ := doc["Resources"].(map[string]any)["Table"].(map[string]any)
	if table["Type"] != "AWS::DynamoDB::Table" {
		t.Fatalf("no AWS::DynamoDB::Table named Table")
	}
	for _, policy := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
		if table[policy] != "Retain" {
			t.Errorf("Table.%s = %v, want Retain", policy, table[policy])
		}
	}
}

// TestAlarmsCanReachTheirTopic: CloudWatch cannot publish to an SNS topic encrypted with the
// AWS managed key (its key policy does not grant cloudwatch.amazonaws.com), so alarms would be
// dropped. The alarm topic is unencrypted, or encrypted with a key of this template whose
// policy lets CloudWatch use it.
func TestAlarmsCanReachTheirTopic(t *testing.T) {
	doc := decodeTemplate(t)
	resources := doc["Resources"].(map[string]any)
	topics := map[string]bool{}
	for id, r := range resources {
		r := r.(map[string]any)
		if r["Type"] != "AWS::CloudWatch::Alarm" {
			continue
		}
		p := r["Properties"].(map[string]any)
		actions, _ := p["AlarmActions"].([]any)
		for _, a := range actions {
			if ref := resourceNamed(a); ref != "" {
				topics[ref] = true
			} else {
				t.Errorf("%s notifies %v, not a topic of this template", id, a)
			}
		}
	}
	if len(topics) == 0 {
		t.Fatal("no alarm notifies a topic")
	}
	for topic := range topics {
		r, _ := resources[topic].(map[string]any)
		if r["Type"] != "AWS::SNS::Topic" {
			t.Errorf("alarms notify %s, which is not an AWS::SNS::Topic", topic)
			continue
		}
		p, _ := r["Properties"].(map[string]any)
		keyID, encrypted := p["KmsMasterKeyId"]
		if !encrypted {
			continue
		}
		key := resourceNamed(keyID)
		if g, ok := asMapT(keyID)["Fn::GetAtt"].([]any); ok && len(g) == 2 {
			key = fmt.Sprint(g[0])
		}
		k, _ := resources[key].(map[string]any)
		if k["Type"] != "AWS::KMS::Key" {
			t.Errorf("%s is encrypted with %v: CloudWatch cannot use an AWS managed key; use a key of this template that grants cloudwatch.amazonaws.com, or none", topic, keyID)
			continue
		}
		policy, _ := json.Marshal(k["Properties"].(map[string]any)["KeyPolicy"])
		for _, want := range []string{`"cloudwatch.amazonaws.com"`, `"kms:Decrypt"`, `"kms:GenerateDataKey*"`} {
			if !bytes.Contains(policy, []byte(want)) {
				t.Errorf("%s's key %s does not grant CloudWatch %s: %s", topic, key, want, policy)
			}
		}
	}
}

// TestADeploymentCannotKeepThePlaceholderSender: SenderEmail's default serves make dev only; a
// template rule refuses it on every deployment, so the prod configuration (which does not set
// it) makes the operator choose a verified sender.
func TestADeploymentCannotKeepThePlaceholderSender(t *testing.T) {
	doc := decodeTemplate(t)
	param, _ := doc["Parameters"].(map[string]any)["SenderEmail"].(map[string]any)
	placeholder, _ := param["Default"].(string)
	refused := false
	for name, rule := range asMapT(doc["Rules"]) {
		rule := asMapT(rule)
		if rule["RuleCondition"] != nil {
			t.Errorf("rule %s applies only under %v: the placeholder must be refused on every deployment", name, rule["RuleCondition"])
		}
		assertions, _ := rule["Assertions"].([]any)
		for _, a := range assertions {
			want := map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "SenderEmail"}, placeholder}}}}
			if fmt.Sprint(asMapT(a)["Assert"]) == fmt.Sprint(want) && asMapT(a)["AssertDescription"] != nil {
				refused = true
			}
		}
	}
	if placeholder != "" && !refused {
		t.Errorf("no template rule refuses SenderEmail=%s (with a description telling the operator what to set)", placeholder)
	}
	cfg := readSamconfig(t)
	for section, kv := range cfg {
		if strings.Contains(kv["parameter_overrides"], "SenderEmail="+placeholder) && placeholder != "" {
			t.Errorf("[%s] deploys with the placeholder sender %s", section, placeholder)
		}
	}
}

// TestSamconfigDeploysToARegionAndWithoutPromptsInCI: every environment names its region, and
// the ci environment deploys without waiting for a change set confirmation no one can give.
func TestSamconfigDeploysToARegionAndWithoutPromptsInCI(t *testing.T) {
	cfg := readSamconfig(t)
	envs := map[string]bool{}
	for section := range cfg {
		env, _, _ := strings.Cut(section, ".")
		envs[env] = true
	}
	for env := range envs {
		if cfg[env+".global.parameters"]["region"]+cfg[env+".deploy.parameters"]["region"] == "" {
			t.Errorf("[%s] has no region (global or deploy parameters): sam would deploy wherever the shell's profile points", env)
		}
	}
	ci := cfg["ci.deploy.parameters"]
	if ci == nil {
		t.Fatal("samconfig.toml has no [ci.deploy.parameters]")
	}
	if ci["confirm_changeset"] != "false" || ci["fail_on_empty_changeset"] != "false" {
		t.Errorf("[ci.deploy.parameters] must not prompt nor fail on an empty change set: %v", ci)
	}
	if name := cfg["ci.global.parameters"]["stack_name"]; name == "" || name == cfg["prod.global.parameters"]["stack_name"] {
		t.Errorf("the ci environment needs its own stack_name, not %q", name)
	}
}

func decodeTemplate(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := samtemplate.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func readSamconfig(t *testing.T) map[string]map[string]string {
	t.Helper()
	f, err := os.Open("samconfig.toml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := parseSamconfig(f)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func asMapT(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
