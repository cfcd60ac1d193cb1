package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/platform"
)

// The functions' Invoker (SigV4-signed Invoke API calls) reaches another function through
// the stack's Invoke API, the endpoint the stack gives every function as
// AWS_ENDPOINT_URL_LAMBDA: the answer is the function's result, a function's failure is a
// FunctionError, an unknown function the API's refusal.
func TestInvokerCallsAFunctionThroughTheInvokeAPI(t *testing.T) {
	engineIndependent(t)
	s := startFixtureStack(t)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", s.LambdaURL)
	cfg, err := platform.AWSConfig()
	if err != nil {
		t.Fatal(err)
	}
	inv := platform.NewInvoker(cfg)
	ctx := context.Background()

	payload, _ := json.Marshal(events.APIGatewayV2HTTPRequest{RouteKey: "GET /items/{id}", RawPath: "/items/x",
		QueryStringParameters: map[string]string{"status": "201"}})
	out, err := inv.Invoke(ctx, "EchoFunction", payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 201 || !strings.Contains(resp.Body, `"rawPath":"/items/x"`) {
		t.Errorf("answer = %+v (%v)", resp, err)
	}

	fail, _ := json.Marshal(events.APIGatewayV2HTTPRequest{RawPath: "/fail"})
	_, err = inv.Invoke(ctx, "EchoFunction", fail)
	var fe *platform.FunctionError
	if !errors.As(err, &fe) || fe.Kind == "" || !strings.Contains(fe.Message, "echo was asked to fail") {
		t.Errorf("a failing function: %v", err)
	}

	if _, err := inv.Invoke(ctx, "NoSuchFunction", payload); err == nil || errors.As(err, &fe) || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("an unknown function: %v", err)
	}
}
