package dynamostream

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestFilterCriteriaFollowLambdaEventFiltering(t *testing.T) {
	rec := events.DynamoDBEventRecord{
		EventName: "INSERT",
		Change: events.DynamoDBStreamRecord{
			Keys: map[string]events.DynamoDBAttributeValue{"PK": events.NewStringAttribute("reward#1")},
			NewImage: map[string]events.DynamoDBAttributeValue{
				"type":   events.NewStringAttribute("reward"),
				"role":   events.NewStringAttribute("advocate"),
				"amount": events.NewNumberAttribute("1000"),
			},
		},
	}
	cases := []struct {
		name    string
		pattern string
		want    bool
	}{
		{"exact value", `{"eventName": ["INSERT"]}`, true},
		{"one of values", `{"eventName": ["MODIFY", "INSERT"]}`, true},
		{"other value", `{"eventName": ["REMOVE"]}`, false},
		{"nested", `{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["reward"]}}}}`, true},
		{"nested mismatch", `{"dynamodb": {"NewImage": {"type": {"S": ["code"]}}}}`, false},
		{"prefix", `{"dynamodb": {"Keys": {"PK": {"S": [{"prefix": "reward#"}]}}}}`, true},
		{"prefix mismatch", `{"dynamodb": {"Keys": {"PK": {"S": [{"prefix": "code#"}]}}}}`, false},
		{"exists", `{"dynamodb": {"NewImage": {"role": [{"exists": true}]}}}`, true},
		{"exists false on present", `{"dynamodb": {"NewImage": {"role": [{"exists": false}]}}}`, false},
		{"exists false on absent", `{"dynamodb": {"NewImage": {"email": [{"exists": false}]}}}`, true},
		{"missing field", `{"dynamodb": {"NewImage": {"email": {"S": ["x"]}}}}`, false},
		{"anything-but", `{"dynamodb": {"NewImage": {"role": {"S": [{"anything-but": ["referee"]}]}}}}`, true},
		{"anything-but excluded", `{"dynamodb": {"NewImage": {"role": {"S": [{"anything-but": "advocate"}]}}}}`, false},
		{"numeric on a DynamoDB N (a string) never matches", `{"dynamodb": {"NewImage": {"amount": {"N": [{"numeric": [">", 0]}]}}}}`, false},
		{"equals-ignore-case", `{"eventName": [{"equals-ignore-case": "insert"}]}`, true},
		{"$or", `{"$or": [{"eventName": ["REMOVE"]}, {"dynamodb": {"NewImage": {"type": {"S": ["reward"]}}}}]}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := CompileFilter([]string{c.pattern})
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(rec); got != c.want {
				t.Errorf("match = %v, want %v", got, c.want)
			}
		})
	}

	t.Run("several filters are ORed", func(t *testing.T) {
		f, _ := CompileFilter([]string{`{"eventName": ["REMOVE"]}`, `{"eventName": ["INSERT"]}`})
		if !f.Match(rec) {
			t.Error("no match")
		}
	})
	t.Run("numeric", func(t *testing.T) {
		f, _ := CompileFilter([]string{`{"n": [{"numeric": [">", 0, "<=", 5]}]}`})
		if !f.Match(map[string]any{"n": 5}) || f.Match(map[string]any{"n": 6}) || f.Match(map[string]any{"n": "5"}) {
			t.Error("numeric range misbehaves")
		}
	})
}
