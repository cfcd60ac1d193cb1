package store_test

import (
	"context"
	"encoding/json"
	"github.com/referral/referrals/devkit/samplesecrets"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/email"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/unsubscribe"
)

// okSender accepts every email.
type okSender struct{}

func (okSender) Send(context.Context, email.Outgoing) (string, error) { return "msg-1", nil }

// FuzzStreamRecordDecoders feeds arbitrary DynamoDB stream records (seeded from the stream
// sample events in events/) to the decoders and to both stream consumers on a minidyn table
// that holds a program and its advocate: no panic, and no Go error (a bad record is skipped
// or reported by its sequence number, never failing the whole batch).
func FuzzStreamRecordDecoders(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join(samtemplate.EventsDir(), "*.json"))
	sort.Strings(names)
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var ev events.DynamoDBEvent
		if json.Unmarshal(b, &ev) != nil {
			continue
		}
		for _, rec := range ev.Records {
			if raw, err := json.Marshal(rec); err == nil {
				f.Add(raw)
			}
		}
	}
	f.Add([]byte(`{"eventName":"INSERT","dynamodb":{"NewImage":{"type":{"S":"reward"},"value":{"M":{"amount":{"N":"1e400"}}}}}}`))
	f.Add([]byte(`{"eventName":"INSERT","dynamodb":{"NewImage":{"type":{"S":"code"},"createdAt":{"S":"yesterday"},"uses":{"S":"x"}}}}`))
	f.Add([]byte(`{"eventName":"MODIFY","dynamodb":{"OldImage":{"type":{"N":"1"}},"NewImage":{"counts":{"L":[{"NULL":true}]}}}}`))

	db := dynamotest.Start(f)
	s := store.New(db.Client, db.Table, nil)
	ctx := context.Background()
	program := referral.Program{ProgramID: "demo", Name: "Demo", Status: referral.ProgramActive, Currency: "USD",
		LandingURL: "https://shop.example.com/invite", Milestones: []string{"signup", "purchase"},
		AdvocateRewards: []referral.Rule{{Milestone: "purchase", Type: referral.RuleFixed, Amount: 1000, Kind: "gift_card"}},
		Emails:          referral.Emails{SendOnCodeCreated: true, ThankAdvocates: true, SenderName: "Ana at Acme"}}
	if _, _, err := s.PutProgram(ctx, program); err != nil {
		f.Fatal(err)
	}
	if _, _, err := s.PutCustomer(ctx, "ana", store.CustomerUpdate{Email: "ana@example.com", Name: "Ana", Locale: "en", Segment: referral.SegmentCurrent}); err != nil {
		f.Fatal(err)
	}
	signer, err := unsubscribe.New(samplesecrets.Unsubscribe)
	if err != nil {
		f.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	programs := &store.ProgramCache{Store: s}
	mail := &email.Stream{Store: s, Programs: programs, Sender: okSender{}, Unsubscribe: signer,
		PublicURL: "https://api.example.com", Log: quiet}
	stats := &insights.Consumer{Store: s, Programs: programs, Log: quiet}

	f.Fuzz(func(t *testing.T, data []byte) {
		var rec events.DynamoDBEventRecord
		if json.Unmarshal(data, &rec) != nil {
			return
		}
		for _, img := range []map[string]events.DynamoDBAttributeValue{rec.Change.NewImage, rec.Change.OldImage} {
			it, err := store.FromStream(img)
			if err != nil {
				continue
			}
			_, _ = it.Type(), it.Key()
			_, _ = store.DecodeCode(it)
			_, _ = store.DecodeAsk(it)
			_, _ = store.DecodeReward(it)
		}
		if ch, err := store.DecodeChange(rec); err == nil {
			insights.NeedsProgram(ch)
			insights.Facts(ch, &program)
		}
		batch := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}}
		if _, err := mail.Handle(ctx, batch); err != nil {
			t.Fatalf("email stream failed the whole batch: %v", err)
		}
		window := events.DynamoDBTimeWindowEvent{DynamoDBEvent: batch, TimeWindowProperties: events.TimeWindowProperties{ShardID: "shardId-fuzz"}}
		if _, err := stats.Handle(ctx, window); err != nil {
			t.Fatalf("stats stream failed the whole batch: %v", err)
		}
	})
}
