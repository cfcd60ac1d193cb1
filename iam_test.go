package referrals_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/referral/referrals/devkit/samtemplate"
)

// Least privilege, tested: every function's permissions are read from template.yaml
// and held to the rules below. A new permission that breaks one needs a reason here, in review.

// destructiveAllowed lists the functions that may Scan or DeleteItem, and why.
var destructiveAllowed = map[string]map[string]string{
	"ConversionsFunction": {
		"dynamodb:DeleteItem": "a past month's leaderboard entry whose every counted conversion was reversed is deleted, in the reversal's transaction and conditional on its version; an entry from before standings kept their board is deleted by the conversion that takes it over, conditional on its version",
	},
	"RewardsFunction": {
		"dynamodb:DeleteItem": "drawing a coupon code deletes its available item (only if it exists) in the transaction that puts it back as used and records the reward fulfilled",
	},
	"SchedulerFunction": {
		"dynamodb:DeleteItem": "drawing a coupon code deletes its available item (only if it exists) in the transaction that puts it back as used and records the reward fulfilled",
	},
	"EmailCopyFunction": {
		"dynamodb:DeleteItem": "DELETE /programs/{programId}/emails/{template}/{lang} removes that one copy item, so the template's own words apply again",
	},
}

// readOnlyFunctions are functions without GET-only routes that must still only read.
var readOnlyFunctions = map[string]string{
	"AuthorizerFunction": "runs on every request: it reads keys and the bootstrap secret, nothing else",
}

// countingGets are functions whose GET routes may write, what, and why; each such grant must
// be held to its keys by a dynamodb:LeadingKeys condition in the template.
var countingGets = map[string]map[string]string{
	"PublicCodesFunction": {"dynamodb:PutItem": "GET /r/{code} counts each visit as one click item (CLICK#<id>) for the stats"},
}

// policyTemplatesAllowed lists the SAM policy templates and managed policies a function may
// use instead of statements (none: statements say exactly what is granted, and this test can
// read them).
var policyTemplatesAllowed = map[string]string{}

// writePrefixes mark the actions that change something.
var writePrefixes = []string{"Put", "Update", "Delete", "BatchWrite", "TransactWrite", "ConditionCheck", "Create",
	"Send", "Write", "Tag", "Untag", "Restore", "Import", "Export", "Publish", "Invoke", "Start", "Stop", "Purge"}

func isWrite(action string) bool {
	_, name, _ := strings.Cut(action, ":")
	for _, p := range writePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// grant is one action a function may take on one resource expression.
type grant struct {
	action   string
	resource string // the resource as written, intrinsics rendered (!GetAtt Table.Arn → "GetAtt:Table.Arn")
}

// functionGrants reads a function's Policies into grants; templates names what is not a
// statement (SAM policy templates, managed policy names).
func functionGrants(t *testing.T, id string, fn samtemplate.Resource) (grants []grant, templates []string) {
	t.Helper()
	policies, _ := fn.Properties["Policies"].([]any)
	if s, ok := fn.Properties["Policies"].(string); ok {
		templates = append(templates, s)
	}
	for _, p := range policies {
		switch x := p.(type) {
		case string:
			templates = append(templates, x)
		case map[string]any:
			for k, v := range x {
				if k != "Statement" {
					templates = append(templates, k)
					continue
				}
				for _, st := range asList(v) {
					m, _ := st.(map[string]any)
					if m["Effect"] != "Allow" {
						if m["Effect"] != "Deny" {
							t.Errorf("%s: a statement without Effect Allow or Deny: %v", id, m)
						}
						continue
					}
					if _, ok := m["NotAction"]; ok {
						t.Errorf("%s: NotAction grants everything else", id)
					}
					if _, ok := m["NotResource"]; ok {
						t.Errorf("%s: NotResource grants everything else", id)
					}
					for _, a := range asList(m["Action"]) {
						for _, r := range asList(m["Resource"]) {
							grants = append(grants, grant{action: fmt.Sprint(a), resource: render(r)})
						}
						if m["Resource"] == nil {
							grants = append(grants, grant{action: fmt.Sprint(a)})
						}
					}
				}
			}
		}
	}
	return grants, templates
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// render writes a resource expression as text: "*", an ARN, or an intrinsic like
// "GetAtt:Table.Arn", "Ref:BootstrapAdminKey", "Sub:arn:...:${Table.Arn}/index/GSI1".
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		for k, a := range x {
			switch k {
			case "Fn::GetAtt":
				parts := asList(a)
				s := make([]string, len(parts))
				for i, p := range parts {
					s[i] = fmt.Sprint(p)
				}
				return "GetAtt:" + strings.Join(s, ".")
			case "Ref":
				return "Ref:" + fmt.Sprint(a)
			case "Fn::Sub":
				if l := asList(a); len(l) > 0 {
					return "Sub:" + fmt.Sprint(l[0])
				}
			}
			return k + ":" + fmt.Sprint(a)
		}
	}
	return fmt.Sprint(v)
}

func loadTemplateForIAM(t *testing.T) *samtemplate.Template {
	t.Helper()
	tpl, err := samtemplate.Load("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestFunctionsHaveLeastPrivilege(t *testing.T) {
	tpl := loadTemplateForIAM(t)
	fns := tpl.Functions()
	ids := make([]string, 0, len(fns))
	for id := range fns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fn := fns[id]
		t.Run(id, func(t *testing.T) {
			grants, templates := functionGrants(t, id, fn)
			for _, name := range templates {
				if _, ok := policyTemplatesAllowed[name]; !ok {
					t.Errorf("policy %q: write the permissions as statements so they can be checked", name)
				}
			}

			routes := fn.RouteKeys()
			getOnly := len(routes) > 0 && !slices.ContainsFunc(routes, func(r string) bool { return !strings.HasPrefix(r, "GET ") })
			_, declaredReadOnly := readOnlyFunctions[id]

			for _, g := range grants {
				if strings.Contains(g.action, "*") {
					t.Errorf("wildcard action %q", g.action)
				}
				if g.resource == "" || strings.Contains(g.resource, "*") {
					t.Errorf("%s on resource %q: name the resource, no wildcards", g.action, g.resource)
				}
				if (getOnly || declaredReadOnly) && isWrite(g.action) && countingGets[id][g.action] == "" {
					t.Errorf("%s only reads (routes %v) but may %s on %s", id, routes, g.action, g.resource)
				}
				if g.action == "dynamodb:Scan" || g.action == "dynamodb:DeleteItem" {
					if reason := destructiveAllowed[id][g.action]; reason == "" {
						t.Errorf("%s may %s: no function needs it unless destructiveAllowed says why", id, g.action)
					}
				}
				if strings.HasPrefix(g.action, "dynamodb:") && !strings.Contains(g.resource, "Table.Arn") && !strings.Contains(g.resource, "Table.StreamArn") {
					t.Errorf("%s on %q: DynamoDB permissions are for the one table (and its indexes)", g.action, g.resource)
				}
				if id == "EmailFunction" && (strings.HasPrefix(g.action, "ses:") || strings.HasPrefix(g.action, "sesv2:")) && g.action != "ses:SendEmail" {
					t.Errorf("the email function may only ses:SendEmail, not %s", g.action)
				}
			}
		})
	}
}

// TestFunctionsThatListReadTheListedItems: GSI4 and GSI5 hold keys only, so every list on them
// reads its items from the table by the keys listed (one BatchGetItem per 100): a function that
// may Query either index and not BatchGetItem the table would pass every local test (the dev
// stack does not enforce IAM) and be denied its lists once deployed.
func TestFunctionsThatListReadTheListedItems(t *testing.T) {
	tpl := loadTemplateForIAM(t)
	for id, fn := range tpl.Functions() {
		grants, _ := functionGrants(t, id, fn)
		lists := slices.ContainsFunc(grants, func(g grant) bool {
			return g.action == "dynamodb:Query" && (strings.HasSuffix(g.resource, "/index/GSI4") || strings.HasSuffix(g.resource, "/index/GSI5"))
		})
		reads := slices.Contains(grants, grant{action: "dynamodb:BatchGetItem", resource: "GetAtt:Table.Arn"})
		if lists && !reads {
			t.Errorf("%s may Query GSI4 or GSI5 but not BatchGetItem the table: its lists would be denied the items", id)
		}
	}
}

// TestLeastPrivilegeAllowListsAreCurrent: every exception names a function and an action the
// template still grants, so an exception cannot outlive its reason.
func TestLeastPrivilegeAllowListsAreCurrent(t *testing.T) {
	tpl := loadTemplateForIAM(t)
	fns := tpl.Functions()
	for id, actions := range destructiveAllowed {
		fn, ok := fns[id]
		if !ok {
			t.Errorf("destructiveAllowed names %s, which is not in template.yaml", id)
			continue
		}
		grants, _ := functionGrants(t, id, fn)
		for action := range actions {
			if !slices.ContainsFunc(grants, func(g grant) bool { return g.action == action }) {
				t.Errorf("destructiveAllowed lets %s %s, which the template no longer grants: remove it", id, action)
			}
		}
	}
	for id := range readOnlyFunctions {
		if _, ok := fns[id]; !ok {
			t.Errorf("readOnlyFunctions names %s, which is not in template.yaml", id)
		}
	}
}

// TestTheIAMCheckCatchesWhatItShould runs the rules on a template with every mistake.
func TestTheIAMCheckCatchesWhatItShould(t *testing.T) {
	tpl, err := samtemplate.Parse([]byte(`
Resources:
  ReaderFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - DynamoDBCrudPolicy: {TableName: !Ref Table}
        - Statement:
            - {Effect: Allow, Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:Scan], Resource: !GetAtt Table.Arn}
            - {Effect: Allow, Action: "s3:*", Resource: "*"}
      Events:
        Get: {Type: HttpApi, Properties: {Method: GET, Path: /things}}
`))
	if err != nil {
		t.Fatal(err)
	}
	fn := tpl.Functions()["ReaderFunction"]
	grants, templates := functionGrants(t, "ReaderFunction", fn)
	if !slices.Contains(templates, "DynamoDBCrudPolicy") {
		t.Errorf("policy templates not found: %v", templates)
	}
	var writes, destructive, wild int
	for _, g := range grants {
		if isWrite(g.action) {
			writes++
		}
		if g.action == "dynamodb:Scan" {
			destructive++
		}
		if strings.Contains(g.action, "*") || strings.Contains(g.resource, "*") {
			wild++
		}
	}
	if writes != 1 || destructive != 1 || wild != 1 {
		t.Errorf("writes %d, scans %d, wildcards %d in %v; want 1 each", writes, destructive, wild, grants)
	}
	if !isWrite("ses:SendEmail") || isWrite("dynamodb:Query") || isWrite("secretsmanager:GetSecretValue") {
		t.Error("isWrite misjudges")
	}
}
