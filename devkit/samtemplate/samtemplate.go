// Package samtemplate reads template.yaml (AWS SAM) into plain Go values, with CloudFormation
// short-form tags (!Ref, !GetAtt, !Sub, ...) turned into their long form ({"Ref": ...}), so the
// tests and the local stack work from the same definition that is deployed.
package samtemplate

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"
)

// Template is a parsed SAM template.
type Template struct {
	Globals    map[string]any
	Parameters map[string]any
	Resources  map[string]Resource
	Outputs    map[string]any
}

// Resource is one entry of Resources.
type Resource struct {
	Type       string
	Properties map[string]any
	Metadata   map[string]any
}

// Load parses the template at path.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Path is the repository's template.yaml, found from this source file (for tests).
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "template.yaml")
}

// Decode turns template bytes into plain Go values (maps, slices, strings, int64, float64,
// bool, nil), with short-form tags in their long form: !Ref X → {"Ref": "X"}, !GetAtt A.B →
// {"Fn::GetAtt": ["A", "B"]}, !Sub s → {"Fn::Sub": s}, !Name v → {"Fn::Name": v}; and with
// its Fn::ForEach loops expanded, so resources a loop generates are there by their names.
func Decode(b []byte) (map[string]any, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("template: empty")
	}
	doc, ok := plain(root.Content[0]).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template: not a mapping")
	}
	expanded, err := expandForEach(doc)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return expanded.(map[string]any), nil
}

// Parse parses template bytes.
func Parse(b []byte) (*Template, error) {
	doc, err := Decode(b)
	if err != nil {
		return nil, err
	}
	t := &Template{Resources: map[string]Resource{}}
	t.Globals, _ = doc["Globals"].(map[string]any)
	t.Parameters, _ = doc["Parameters"].(map[string]any)
	t.Outputs, _ = doc["Outputs"].(map[string]any)
	res, _ := doc["Resources"].(map[string]any)
	for name, v := range res {
		m, _ := v.(map[string]any)
		r := Resource{}
		r.Type, _ = m["Type"].(string)
		r.Properties, _ = m["Properties"].(map[string]any)
		r.Metadata, _ = m["Metadata"].(map[string]any)
		t.Resources[name] = r
	}
	return t, nil
}

// plain converts a YAML node to maps, slices and scalars, expanding short-form tags.
func plain(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return plain(n.Content[0])
	case yaml.AliasNode:
		return plain(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = plain(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			l = append(l, plain(c))
		}
		v = l
	case yaml.ScalarNode:
		v = scalar(n)
	}
	if tag := n.Tag; strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") {
		name := tag[1:]
		switch name {
		case "Ref", "Condition":
			return map[string]any{name: v}
		case "GetAtt":
			if s, ok := v.(string); ok {
				first, rest, _ := strings.Cut(s, ".")
				return map[string]any{"Fn::GetAtt": []any{first, rest}}
			}
		}
		return map[string]any{"Fn::" + name: v}
	}
	return v
}

func scalar(n *yaml.Node) any {
	switch n.Tag {
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return i
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	case "!!bool":
		return n.Value == "true" || n.Value == "True"
	case "!!null":
		return nil
	}
	return n.Value
}

// Functions returns the AWS::Serverless::Function resources by logical ID.
func (t *Template) Functions() map[string]Resource {
	out := map[string]Resource{}
	for name, r := range t.Resources {
		if r.Type == "AWS::Serverless::Function" {
			out[name] = r
		}
	}
	return out
}

// FunctionDir is where a function's main package lives: XxxFunction → functions/xxx.
func FunctionDir(logicalID string) string {
	return filepath.Join("functions", strings.ToLower(strings.TrimSuffix(logicalID, "Function")))
}

// Event is one entry of a function's Events.
type Event struct {
	Name       string
	Type       string
	Properties map[string]any
}

// Events lists a function's events.
func (r Resource) Events() []Event {
	evs, _ := r.Properties["Events"].(map[string]any)
	out := make([]Event, 0, len(evs))
	for name, v := range evs {
		m, _ := v.(map[string]any)
		e := Event{Name: name}
		e.Type, _ = m["Type"].(string)
		e.Properties, _ = m["Properties"].(map[string]any)
		out = append(out, e)
	}
	return out
}

// RouteKeys lists a function's HTTP API routes as API Gateway route keys ("GET /codes/{code}").
func (r Resource) RouteKeys() []string {
	var out []string
	for _, e := range r.Events() {
		if e.Type == "HttpApi" {
			m, _ := e.Properties["Method"].(string)
			p, _ := e.Properties["Path"].(string)
			out = append(out, strings.ToUpper(m)+" "+p)
		}
	}
	return out
}

// Table returns the one AWS::DynamoDB::Table as a CreateTable request named name.
func (t *Template) Table(name string) (*dynamodb.CreateTableInput, error) {
	for _, r := range t.Resources {
		if r.Type != "AWS::DynamoDB::Table" {
			continue
		}
		in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest}
		for _, a := range list(r.Properties["AttributeDefinitions"]) {
			in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
				AttributeName: aws.String(str(a["AttributeName"])), AttributeType: types.ScalarAttributeType(str(a["AttributeType"]))})
		}
		in.KeySchema = keySchema(r.Properties["KeySchema"])
		for _, g := range list(r.Properties["GlobalSecondaryIndexes"]) {
			proj, _ := g["Projection"].(map[string]any)
			p := &types.Projection{ProjectionType: types.ProjectionType(str(proj["ProjectionType"]))}
			nonKey, _ := proj["NonKeyAttributes"].([]any)
			for _, a := range nonKey {
				p.NonKeyAttributes = append(p.NonKeyAttributes, str(a))
			}
			in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
				IndexName: aws.String(str(g["IndexName"])), KeySchema: keySchema(g["KeySchema"]), Projection: p})
		}
		if ss, ok := r.Properties["StreamSpecification"].(map[string]any); ok {
			in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true),
				StreamViewType: types.StreamViewType(str(ss["StreamViewType"]))}
		}
		return in, nil
	}
	return nil, fmt.Errorf("template has no AWS::DynamoDB::Table")
}

func keySchema(v any) []types.KeySchemaElement {
	var out []types.KeySchemaElement
	for _, k := range list(v) {
		out = append(out, types.KeySchemaElement{AttributeName: aws.String(str(k["AttributeName"])), KeyType: types.KeyType(str(k["KeyType"]))})
	}
	return out
}

func list(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }
