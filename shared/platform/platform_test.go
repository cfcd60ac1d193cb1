package platform

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

func TestClientsFollowServiceEndpointOverrides(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")
	t.Setenv("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:8005")
	cfg, err := AWSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(dynamodb.NewFromConfig(cfg).Options().BaseEndpoint); got != "http://127.0.0.1:8000" {
		t.Fatalf("dynamodb endpoint = %q", got)
	}
	if got := aws.ToString(sesv2.NewFromConfig(cfg).Options().BaseEndpoint); got != "http://127.0.0.1:8005" {
		t.Fatalf("sesv2 endpoint = %q", got)
	}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	if got := dynamodb.NewFromConfig(cfg).Options().BaseEndpoint; got != nil {
		t.Fatalf("without an override the real endpoint is used, got %q", *got)
	}
	if _, err := Load(context.Background()); err == nil {
		t.Fatal("Load without TABLE_NAME should fail")
	}
}

func TestAWSConfigNeedsRegionAndCredentials(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	if _, err := AWSConfig(); err == nil {
		t.Fatal("no region: want an error")
	}
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	if _, err := AWSConfig(); err == nil {
		t.Fatal("no credentials: want an error")
	}
}
