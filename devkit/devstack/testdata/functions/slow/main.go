// Command slow sleeps past its 1 s timeout, for the dev stack's timeout test.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context) (string, error) {
		time.Sleep(5 * time.Second)
		return "too late", nil
	})
}
