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

// SecretValue reads a secret a function needs, once per container (call it in main): override
// when it is not empty (the value of a development variable holding the secret itself, for
// tests and functions started by hand; the caller reads it with os.Getenv, since template.yaml
// never sets it), else the Secrets Manager secret arn. name says which secret in errors.
func SecretValue(ctx context.Context, sm SecretsManager, name, override, arn string) (string, error) {
	if override != "" {
		return override, nil
	}
	if arn == "" {
		return "", errors.New(name + ": its secret's ARN is not set")
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return aws.ToString(out.SecretString), nil
}
