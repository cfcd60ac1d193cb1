// Command tick is a scheduled function for the dev stack's tests: it appends each event it
// gets to $OUT_DIR/ticks.jsonl and answers how many it has had, or fails while $OUT_DIR/fail
// exists.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, raw json.RawMessage) (map[string]int, error) {
	dir := os.Getenv("OUT_DIR")
	if _, err := os.Stat(filepath.Join(dir, "fail")); err == nil {
		return nil, errors.New("tick was asked to fail")
	}
	path := filepath.Join(dir, "ticks.jsonl")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	var line bytes.Buffer
	if err := json.Compact(&line, raw); err != nil {
		return nil, err
	}
	_, err = f.Write(append(line.Bytes(), '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	return map[string]int{"ticks": bytes.Count(b, []byte("\n"))}, err
}

func main() { lambda.Start(handle) }
