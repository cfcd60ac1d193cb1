// Package platform builds what every function needs once per container: AWS configuration and
// clients, the table name, the JSON logger and the clock.
package platform

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/referral/referrals/shared/metrics"
)

// Env is a container's wiring. Build it once in main, outside the handler.
type Env struct {
	AWS      aws.Config
	DynamoDB *dynamodb.Client
	Table    string
	Log      *slog.Logger
}

// Getenv is how functions read their configuration; the template test checks that every name
// passed to it is set in template.yaml.
func Getenv(name string) string { return os.Getenv(name) }

// Load reads the environment (TABLE_NAME) and builds the AWS clients. Endpoints can be pointed
// elsewhere with AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SESV2, as the SDK's own
// configuration allows (make dev does).
func Load(ctx context.Context) (*Env, error) {
	log := NewLogger()
	table := Getenv("TABLE_NAME")
	if table == "" {
		return nil, fmt.Errorf("TABLE_NAME is not set")
	}
	cfg, err := AWSConfig()
	if err != nil {
		return nil, err
	}
	return &Env{AWS: cfg, DynamoDB: dynamodb.NewFromConfig(cfg), Table: table, Log: log}, nil
}

// AWSConfig is the SDK configuration of a Lambda container, read from the variables Lambda
// sets (AWS_REGION and the execution role's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN). It skips the SDK's shared-config loader, whose SSO, STS and IMDS
// providers a function never uses: that keeps binaries small and cold starts short.
func AWSConfig() (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, fmt.Errorf("AWS_REGION is not set")
	}
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if key == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	return aws.Config{
		Region:        region,
		Credentials:   credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN")),
		APIOptions:    []func(*middleware.Stack) error{metrics.SDKMiddleware},
		ConfigSources: []any{envEndpoints{}},
	}, nil
}

// envEndpoints gives every client built with NewFromConfig the endpoint override the SDK's
// shared config would: AWS_ENDPOINT_URL_<SERVICE ID> (DYNAMODB, SESV2, SECRETS_MANAGER…),
// else AWS_ENDPOINT_URL.
type envEndpoints struct{}

// GetServiceBaseEndpoint implements the SDK's service base endpoint provider.
func (envEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	name := "AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_"))
	for _, n := range []string{name, "AWS_ENDPOINT_URL"} {
		if v := os.Getenv(n); v != "" {
			return v, true, nil
		}
	}
	return "", false, nil
}

// NewLogger is the JSON logger on stdout that Lambda's JSON log format expects.
func NewLogger() *slog.Logger {
	level := slog.LevelInfo
	if Getenv("AWS_LAMBDA_LOG_LEVEL") == "DEBUG" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
}

// ProgramCacheTTL is how long a warm container trusts a program it read.
const ProgramCacheTTL = 30 * time.Second

// Start runs a Lambda handler, writing one metrics line (CloudWatch EMF) per invocation.
func Start[In, Out any](function string, h func(context.Context, In) (Out, error)) {
	lambda.Start(metrics.Handler(&metrics.Emitter{W: os.Stdout, Function: function}, h))
}
