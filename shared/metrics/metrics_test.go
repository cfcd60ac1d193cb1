package metrics

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func emit(t *testing.T, function string, counts map[string]float64) map[string]any {
	t.Helper()
	var out bytes.Buffer
	c := &Counters{}
	for n, v := range counts {
		c.Add(n, v)
	}
	if err := (&Emitter{W: &out, Function: function}).Emit(c, time.Unix(1_800_000_000, 0), false); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%s: %v", out.String(), err)
	}
	return doc
}

// declared is the metric names the line declares in EMF, or nil without a declaration.
func declared(doc map[string]any) []string {
	a, ok := doc["_aws"].(map[string]any)
	if !ok {
		return nil
	}
	var names []string
	for _, d := range a["CloudWatchMetrics"].([]any)[0].(map[string]any)["Metrics"].([]any) {
		names = append(names, d.(map[string]any)["Name"].(string))
	}
	return names
}

// A function declares exactly the metrics it publishes, each every time (0 when not counted),
// never Duration (Lambda publishes it); every count is a property of the line either way.
func TestAFunctionDeclaresOnlyWhatItPublishes(t *testing.T) {
	doc := emit(t, "scheduler", map[string]float64{RewardsApproved: 3, DynamoDBCalls: 4, DynamoDBRoundTrips: 5, SchedulerBacklog: 1})
	if got := declared(doc); !slices.Equal(got, []string{CouponPoolEmpty, DeliveriesFailed, SchedulerBacklog}) {
		t.Errorf("scheduler declares %v", got)
	}
	if doc[SchedulerBacklog] != 1.0 || doc[DeliveriesFailed] != 0.0 || doc[RewardsApproved] != 3.0 || doc[DynamoDBRetries] != 1.0 {
		t.Errorf("properties: %v", doc)
	}
	if _, ok := doc["Duration"]; ok {
		t.Errorf("the line repeats Lambda's Duration: %v", doc)
	}
	ns := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if ns["Namespace"] != Namespace || doc["Function"] != "scheduler" {
		t.Errorf("namespace %v, function %v", ns["Namespace"], doc["Function"])
	}
}

// A function that publishes nothing writes its counts as properties and no EMF declaration,
// so CloudWatch makes no custom metric of them.
func TestAFunctionThatPublishesNothingDeclaresNothing(t *testing.T) {
	doc := emit(t, "programs", map[string]float64{DynamoDBCalls: 1, DynamoDBRoundTrips: 1})
	if _, ok := doc["_aws"]; ok {
		t.Errorf("programs declares metrics: %v", doc)
	}
	if doc[DynamoDBRoundTrips] != 1.0 || doc["ColdStart"] != false || doc["Function"] != "programs" {
		t.Errorf("properties: %v", doc)
	}
}
