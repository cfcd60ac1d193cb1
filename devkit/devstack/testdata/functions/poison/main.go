// Command poison fails every batch that holds a record whose key contains "poison", with a
// function error; each invocation is a line of $OUT_DIR/poison.log.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, ev events.DynamoDBEvent) error {
	var keys []string
	failed := false
	for _, r := range ev.Records {
		pk := r.Change.Keys["PK"].String()
		keys = append(keys, pk)
		failed = failed || strings.Contains(pk, "poison")
	}
	if f, err := os.OpenFile(filepath.Join(os.Getenv("OUT_DIR"), "poison.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
		_ = json.NewEncoder(f).Encode(map[string]any{"keys": keys, "failed": failed})
		_ = f.Close()
	}
	if failed {
		return errors.New("poison record in batch")
	}
	return nil
}

func main() { lambda.Start(handle) }
