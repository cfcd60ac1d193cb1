// Command authorizer lets "Bearer good" in with a context and keeps "Bearer bad" out, and
// logs each call to $OUT_DIR/authorizer.log so tests can see the cache at work.
package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	if f, err := os.OpenFile(filepath.Join(os.Getenv("OUT_DIR"), "authorizer.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
		_, _ = f.WriteString(strings.Join(req.IdentitySource, ",") + " " + req.RouteKey + "\n")
		_ = f.Close()
	}
	if len(req.IdentitySource) == 1 && req.IdentitySource[0] == "Bearer good" {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{"scope": "admin", "keyId": "k1"}}, nil
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
}

func main() { lambda.Start(handle) }
