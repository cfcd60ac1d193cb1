// Command stream consumes the table's stream in order and fails the first delivery of every
// record whose key contains "#fail", reporting it in batchItemFailures and stopping there,
// as an ordered consumer does. Each outcome is a line of $OUT_DIR/stream.log.
package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

type line struct {
	PK      string `json:"pk"`
	Seq     string `json:"seq"`
	Event   string `json:"event"`
	Outcome string `json:"outcome"`
	Batch   int    `json:"batch"`
}

func handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	dir := os.Getenv("OUT_DIR")
	f, err := os.OpenFile(filepath.Join(dir, "stream.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return events.DynamoDBEventResponse{}, err
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for _, r := range ev.Records {
		pk := r.Change.Keys["PK"].String()
		l := line{PK: pk, Seq: r.Change.SequenceNumber, Event: r.EventName, Outcome: "ok", Batch: len(ev.Records)}
		marker := filepath.Join(dir, "failed-"+strings.NewReplacer("#", "_", "/", "_").Replace(pk))
		if strings.Contains(pk, "#fail") {
			if _, err := os.Stat(marker); err != nil {
				_ = os.WriteFile(marker, nil, 0o644)
				l.Outcome = "fail"
				_ = enc.Encode(l)
				return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: r.Change.SequenceNumber}}}, nil
			}
		}
		_ = enc.Encode(l)
	}
	return events.DynamoDBEventResponse{}, nil
}

func main() { lambda.Start(handle) }
