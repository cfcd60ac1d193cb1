// Package platform builds what every function needs once per container: AWS configuration and
// clients, the table name, the JSON logger and the clock.
package platform

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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
// elsewhere with the SDK's own AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SESV2 (make dev).
func Load(ctx context.Context) (*Env, error) {
	log := NewLogger()
	table := Getenv("TABLE_NAME")
	if table == "" {
		return nil, fmt.Errorf("TABLE_NAME is not set")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	cfg.APIOptions = append(cfg.APIOptions, metrics.SDKMiddleware)
	return &Env{AWS: cfg, DynamoDB: dynamodb.NewFromConfig(cfg), Table: table, Log: log}, nil
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
