package api

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/referral/referrals/shared/metrics"
	"github.com/referral/referrals/shared/store"
)

// TestEachInvocationWritesOneEMFLineWithItsRoundTrips checks the metrics a deployed function
// writes: one CloudWatch EMF line per invocation, with DynamoDB round trips counted by SDK
// middleware, as a warm conversions container sees them.
func TestEachInvocationWritesOneEMFLineWithItsRoundTrips(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	refer(s, code, "bo")
	refer(s, code, "cy")

	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.db.URL),
		Credentials: credentials.NewStaticCredentialsProvider("t", "t", ""),
		APIOptions:  []func(*middleware.Stack) error{metrics.SDKMiddleware}})
	st := store.New(client, s.db.Table, s.clock)
	router := NewConversions(st, &store.ProgramCache{Store: st, TTL: 60e9}, quietLog)
	var out bytes.Buffer
	h := metrics.Handler(&metrics.Emitter{W: &out, Function: "conversions"}, router.Handle)

	for _, ev := range []struct{ id, referee string }{{"o1", "bo"}, {"o2", "cy"}} {
		body, _ := json.Marshal(map[string]any{"eventId": ev.id, "refereeId": ev.referee, "milestone": "purchase", "programId": "p1"})
		resp, err := h(context.Background(), event("POST /conversions", nil, "POST", "/conversions", string(body), "server"))
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("conversion %s: %d %s %v", ev.id, resp.StatusCode, resp.Body, err)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one EMF line per invocation, got %d:\n%s", len(lines), out.String())
	}
	var warm map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &warm); err != nil {
		t.Fatal(err)
	}
	aws := warm["_aws"].(map[string]any)
	if aws["CloudWatchMetrics"].([]any)[0].(map[string]any)["Namespace"] != "Referrals" || warm["Function"] != "conversions" {
		t.Fatalf("not an EMF document: %s", lines[1])
	}
	// Cold for this advocate: program + batch + standing + transaction; warm: batch + transaction.
	var cold map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &cold)
	if cold["ColdStart"] != true || warm["ColdStart"] != false {
		t.Fatalf("cold start flags: %v %v", cold["ColdStart"], warm["ColdStart"])
	}
	if warm["DynamoDBRoundTrips"] != float64(2) || warm["DynamoDBRetries"] != float64(0) || warm["ContentionRetries"] != float64(0) {
		t.Fatalf("warm conversion metrics: %s", lines[1])
	}
}

// TestACheckoutConversionReadsItsCodeOnce: a conversion that attributes and converts in one
// call (code + referee, no programId) reads the code once, to find the program and to
// attribute: 1 GetItem (code) + 1 BatchGetItem + 1 TransactWriteItems (the referral), then the
// conversion's 1 BatchGetItem + 1 GetItem (the advocate's standing, new to this container) +
// 1 TransactWriteItems.
func TestACheckoutConversionReadsItsCodeOnce(t *testing.T) {
	s := newStack(t)
	code := s.setup(tieredProgram())
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.db.URL),
		Credentials: credentials.NewStaticCredentialsProvider("t", "t", ""),
		APIOptions:  []func(*middleware.Stack) error{metrics.SDKMiddleware}})
	st := store.New(client, s.db.Table, s.clock)
	programs := &store.ProgramCache{Store: st, TTL: 60e9}
	if _, err := programs.Get(context.Background(), "p1"); err != nil { // a warm container
		t.Fatal(err)
	}
	router := NewConversions(st, programs, quietLog)
	body, _ := json.Marshal(map[string]any{"eventId": "chk-1", "code": code, "milestone": "signup",
		"referee": map[string]any{"id": "newbie", "email": "newbie@example.com"}})
	ctx, counters := metrics.With(context.Background())
	resp, err := router.Handle(ctx, event("POST /conversions", nil, "POST", "/conversions", string(body), "server"))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("checkout conversion: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	if got := counters.Get(metrics.DynamoDBRoundTrips); got != 6 {
		t.Fatalf("checkout conversion made %v round trips, want 6", got)
	}
}
