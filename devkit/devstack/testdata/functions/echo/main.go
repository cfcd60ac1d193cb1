// Command echo answers HTTP API events with the event it received, for the dev stack's tests.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	if d, err := time.ParseDuration(ev.QueryStringParameters["sleep"]); err == nil {
		time.Sleep(d)
	}
	switch ev.RawPath {
	case "/fail":
		return nil, errors.New("echo was asked to fail")
	case "/raw":
		return map[string]string{"hello": "world"}, nil
	}
	if ev.QueryStringParameters["binary"] == "1" {
		return events.APIGatewayV2HTTPResponse{
			StatusCode:      200,
			Headers:         map[string]string{"Content-Type": "application/octet-stream"},
			Body:            base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255}),
			IsBase64Encoded: true,
		}, nil
	}
	status := 200
	if s, err := strconv.Atoi(ev.QueryStringParameters["status"]); err == nil {
		status = s
	}
	env := map[string]string{}
	for _, k := range []string{"TABLE_NAME", "STAGE", "MODE", "TABLE_ARN", "GREETING", "SECRET_ARN", "AWS_LAMBDA_FUNCTION_NAME",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SESV2", "AWS_REGION", "AWS_LAMBDA_LOG_FORMAT", "LOCAL_OVERRIDE", "STRIPE_API_URL"} {
		env[k] = os.Getenv(k)
	}
	body, _ := json.Marshal(map[string]any{"event": ev, "env": env, "pid": os.Getpid()})
	return events.APIGatewayV2HTTPResponse{
		StatusCode:        status,
		Headers:           map[string]string{"Content-Type": "application/json", "X-Echo": "yes"},
		MultiValueHeaders: map[string][]string{"X-Multi": {"one", "two"}},
		Cookies:           []string{"session=abc; Path=/; HttpOnly", "theme=dark"},
		Body:              string(body),
	}, nil
}

func main() { lambda.Start(handle) }
