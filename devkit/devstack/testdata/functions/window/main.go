// Command window consumes the table's stream through a mapping with a tumbling window: it logs
// each batch's shard, window and incoming state to $OUT_DIR/window.log and answers the state
// {"n": records so far in the window}, except the first time it sees a key containing
// "#nostate", when it answers no state at all (which Lambda takes for a failed invocation).
package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

type line struct {
	Shard   string   `json:"shard"`
	Start   string   `json:"start"`
	End     string   `json:"end"`
	StateIn string   `json:"stateIn"`
	Keys    []string `json:"keys"`
	NoState bool     `json:"noState"`
}

func handle(ctx context.Context, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
	dir := os.Getenv("OUT_DIR")
	f, err := os.OpenFile(filepath.Join(dir, "window.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return events.DynamoDBTimeWindowEventResponse{}, err
	}
	defer f.Close()
	l := line{Shard: ev.ShardID, Start: ev.Window.Start.UTC().Format("15:04:05"), End: ev.Window.End.UTC().Format("15:04:05"), StateIn: ev.State["n"]}
	for _, r := range ev.Records {
		pk := r.Change.Keys["PK"].String()
		l.Keys = append(l.Keys, pk)
		marker := filepath.Join(dir, "nostate-"+strings.NewReplacer("#", "_").Replace(pk))
		if _, err := os.Stat(marker); strings.Contains(pk, "#nostate") && err != nil {
			_ = os.WriteFile(marker, nil, 0o644)
			l.NoState = true
		}
	}
	_ = json.NewEncoder(f).Encode(l)
	if l.NoState {
		return events.DynamoDBTimeWindowEventResponse{}, nil
	}
	n, _ := strconv.Atoi(ev.State["n"])
	return events.DynamoDBTimeWindowEventResponse{TimeWindowEventResponseProperties: events.TimeWindowEventResponseProperties{
		State: map[string]string{"n": strconv.Itoa(n + len(ev.Records))}}}, nil
}

func main() { lambda.Start(handle) }
