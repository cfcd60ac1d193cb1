package platform

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsManager is the part of the Secrets Manager client SecretValue uses.
type SecretsManager interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsManager = (*secretsmanager.Client)(nil)

// SecretValue reads the Secrets Manager secret arn, which a function needs, once per container
// (call it in main). name says which secret in errors. Locally, AWS_ENDPOINT_URL_SECRETS_MANAGER
// points the client at the dev stack's stand-in, which serves the template's secrets.
func SecretValue(ctx context.Context, sm SecretsManager, name, arn string) (string, error) {
	if arn == "" {
		return "", errors.New(name + ": its secret's ARN is not set")
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return aws.ToString(out.SecretString), nil
}
