package samtemplate

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestForEachLoopsExpandAsTheLanguageExtensionsTransformDoes(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       string // the Resources, as JSON
	}{
		{"a resource per value, named and substituted", `
Resources:
  Fn::ForEach::Logs:
    - Fn
    - [AFunction, BFunction]
    - ${Fn}Logs:
        Type: AWS::Logs::LogGroup
        Properties:
          LogGroupName: !Sub "/aws/lambda/${${Fn}}"
          Tags: [{Key: fn, Value: !Ref Fn}]
  Table: {Type: AWS::DynamoDB::Table}
`, `{"AFunctionLogs":{"Properties":{"LogGroupName":{"Fn::Sub":"/aws/lambda/${AFunction}"},"Tags":[{"Key":"fn","Value":"AFunction"}]},"Type":"AWS::Logs::LogGroup"},` +
			`"BFunctionLogs":{"Properties":{"LogGroupName":{"Fn::Sub":"/aws/lambda/${BFunction}"},"Tags":[{"Key":"fn","Value":"BFunction"}]},"Type":"AWS::Logs::LogGroup"},` +
			`"Table":{"Type":"AWS::DynamoDB::Table"}}`},
		{"&{} drops what a logical ID cannot hold", `
Resources:
  Fn::ForEach::Queues:
    - Name
    - [a-b.c]
    - Queue&{Name}:
        Type: AWS::SQS::Queue
        Properties: {QueueName: "${Name}"}
`, `{"Queueabc":{"Properties":{"QueueName":"a-b.c"},"Type":"AWS::SQS::Queue"}}`},
		{"nested loops", `
Resources:
  Fn::ForEach::Outer:
    - X
    - [A, B]
    - Fn::ForEach::Inner:
        - Y
        - ["1", "2"]
        - R${X}${Y}: {Type: "${X}/${Y}"}
`, `{"RA1":{"Type":"A/1"},"RA2":{"Type":"A/2"},"RB1":{"Type":"B/1"},"RB2":{"Type":"B/2"}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Decode([]byte(c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(doc["Resources"])
			if string(got) != c.want {
				t.Errorf("Resources:\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestForEachLoopsThatCannotExpandAreErrors(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"a generated name taken", `
Resources:
  ALogs: {Type: AWS::Logs::LogGroup}
  Fn::ForEach::Logs: [Fn, [A], {"${Fn}Logs": {Type: AWS::Logs::LogGroup}}]
`, "ALogs is defined twice"},
		{"the same value twice", `
Resources:
  Fn::ForEach::Logs: [Fn, [A, A], {"${Fn}Logs": {Type: AWS::Logs::LogGroup}}]
`, "ALogs is generated twice"},
		{"an output key without the identifier", `
Resources:
  Fn::ForEach::Logs: [Fn, [A, B], {Logs: {Type: AWS::Logs::LogGroup}}]
`, `output key "Logs" uses neither ${Fn} nor &{Fn}`},
		{"a collection that is not a literal list", `
Resources:
  Fn::ForEach::Logs: [Fn, !Ref Names, {"${Fn}Logs": {Type: AWS::Logs::LogGroup}}]
`, "with a literal list of strings"},
		{"a malformed loop", `
Resources:
  Fn::ForEach::Logs: [Fn, [A]]
`, "want [Identifier, [values...], {OutputKey: OutputValue}]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode([]byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one saying %q", err, c.want)
			}
		})
	}
}
