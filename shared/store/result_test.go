package store

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/shared/referral"
)

// A stored answer reads back byte for byte, whatever it holds; event items written before the
// compression (the JSON as a string) read back the same way.
func TestStoredResultsReadBackByteForByte(t *testing.T) {
	for _, body := range []string{
		`{"conversion":{"eventId":"e1","decisions":[]},"rewards":[]}`,
		`{"conversion":{"eventId":"ä <script>\u2028","decisions":[{"reason":"rule is for milestone \"signup\""}]},"rewards":null}`,
		strings.Repeat(`{"rewardId":"01M7WD7TG019RJBXRJT0TGX417","value":{"amount":2500,"currency":"USD"}},`, 97),
		``,
	} {
		av, err := storedResult(body).MarshalDynamoDBAttributeValue()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := av.(*types.AttributeValueMemberB); !ok {
			t.Fatalf("stored as %T, want binary", av)
		}
		for _, stored := range []types.AttributeValue{av, &types.AttributeValueMemberS{Value: body}} {
			var got storedResult
			if err := got.UnmarshalDynamoDBAttributeValue(stored); err != nil {
				t.Fatal(err)
			}
			if string(got) != body {
				t.Errorf("%T read back %q, want %q", stored, got, body)
			}
		}
	}
	var r storedResult
	for _, bad := range []types.AttributeValue{&types.AttributeValueMemberB{Value: []byte{9, 1, 2}},
		&types.AttributeValueMemberB{Value: []byte{resultEncodingDeflate1, 0xff, 0xff}}, &types.AttributeValueMemberN{Value: "1"}} {
		if err := r.UnmarshalDynamoDBAttributeValue(bad); err == nil {
			t.Errorf("%#v decoded without an error", bad)
		}
	}
}

// largestConversion sets up what the event item of a conversion holds at its largest in a
// realistic program: ids as long as UUIDs and Shopify order ids, one conversion that pays
// three rules at once (the advocate's tier and threshold bonus, the friend's percentage),
// each with a description, a Stripe fulfilment, a multiplier note in every decision, and a
// fourth rule that is skipped. It returns the fixture and the conversion to record.
func largestConversion(t *testing.T) (*fixture, ConversionRequest) {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: dynamotest.Start(t)}
	f.s = New(f.db.Client, f.db.Table, nil)
	f.programs = &ProgramCache{Store: f.s, TTL: time.Minute}
	f.conv = &Conversions{Store: f.s, Programs: f.programs}
	now := f.s.Now()
	stripe := &referral.Delivery{Provider: referral.ProviderStripe}
	p := referral.Program{ProgramID: "spring-friends-2026", Name: "Spring friends", Status: referral.ProgramActive, Currency: "USD",
		LandingURL: "https://shop.example.com/invite", Milestones: []string{"signup", "first_purchase"}, HoldDays: 14, RewardExpiresInDays: 365,
		Stripe: referral.StripeSettings{CustomerIDField: "stripeCustomerId"},
		AdvocateRewards: []referral.Rule{
			{Milestone: "first_purchase", Type: referral.RuleTiered, Kind: "store_credit", Description: "Store credit for every friend who buys",
				Tiers: []referral.Tier{{UpTo: 5, Amount: 1000}, {UpTo: 20, Amount: 2500}, {Amount: 5000}}, Fulfilment: stripe},
			{Milestone: "first_purchase", Type: referral.RuleThreshold, AtCount: 1, Kind: "upgrade", Description: "VIP status for a year"},
			{Milestone: "signup", Type: referral.RuleFixed, Amount: 500, Kind: "points", Description: "Points when a friend signs up"},
		},
		RefereeRewards: []referral.Rule{{Milestone: "first_purchase", Type: referral.RulePercent, Percent: 20, MaxAmount: 2000,
			Kind: "discount", Description: "20% off your first order, up to $20"}},
		Multipliers: []referral.Multiplier{{Name: "Double rewards weekend", From: now.Add(-time.Hour), To: now.Add(time.Hour), Factor: 2}},
	}
	var err error
	if f.p, _, err = f.s.PutProgram(ctx, p); err != nil {
		t.Fatal(err)
	}
	advocate, referee := "b6f1c2de-7a4e-4c1f-9d3b-2a8e5f7c9d10", "0f8e7d6c-5b4a-4392-8170-6e5d4c3b2a19"
	if _, _, err := f.s.PutCustomer(ctx, advocate, CustomerUpdate{Name: "Anastasia"}); err != nil {
		t.Fatal(err)
	}
	rec, _, err := f.s.CreateCode(ctx, &f.p, advocate, "")
	if err != nil {
		t.Fatal(err)
	}
	f.code = rec.Code.Code
	f.refer(t, referee)
	return f, ConversionRequest{EventID: "shopify-order-5551234567890123456", ProgramID: p.ProgramID, RefereeID: referee,
		Milestone: "first_purchase", Amount: &referral.Money{Amount: 129_999, Currency: "USD"}, OccurredAt: now,
		PayloadHash: strings.Repeat("9f", 32)}
}

// The event item of the largest realistic conversion stays under 1 KB (1 write unit, 2 in the
// conversion transaction), and the answer it stores replays byte for byte.
func TestTheLargestRealisticConversionStoresItsEventInUnder1KB(t *testing.T) {
	f, in := largestConversion(t)
	ctx := context.Background()
	res, _, err := f.conv.Record(ctx, &f.p, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rewards) != 3 {
		t.Fatalf("%d rewards, want 3 (the case is meant to pay three rules): %+v", len(res.Rewards), res.Conversion.Decisions)
	}
	answer, _ := json.Marshal(res)
	out, err := f.db.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.db.Table),
		Key: key(eventPK(in.EventID), eventSK), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		t.Fatalf("event item: %v", err)
	}
	if size := dynamotest.ItemSize(out.Item); size >= 1024 {
		t.Errorf("the event item is %d bytes (its answer %d bytes of JSON): over 1 KB, it costs %d write units, twice that in the transaction",
			size, len(answer), (size+1023)/1024)
	} else {
		t.Logf("event item %d bytes; the answer it holds is %d bytes of JSON", size, len(answer))
	}
	stored, err := ConversionOf(out.Item)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := json.Marshal(stored); string(again) != string(answer) {
		t.Errorf("stored answer\n%s\nwant\n%s", again, answer)
	}
	replay, st, err := f.conv.Record(ctx, &f.p, in)
	if err != nil || !st.Replay {
		t.Fatalf("replay: %v %+v", err, st)
	}
	if b, _ := json.Marshal(replay); string(b) != string(answer) {
		t.Errorf("replay answered\n%s\nwant\n%s", b, answer)
	}
}

// What DynamoDB Local charges, as it reports it (ReturnConsumedCapacity; minidyn reports
// nothing): every item the largest realistic conversion writes, the event included, costs what
// a one-byte item costs, so none is over 1 KB. DynamoDB Local does not add up a transaction's
// items (it reports one item's units, and prices an update on the item before and after it
// together), so each item is priced alone: put again, without its index keys, under a scratch
// key, in a transaction of its own, against a small probe item.
func TestEveryItemOfTheLargestConversionCostsOneWriteUnit(t *testing.T) {
	f, in := largestConversion(t)
	ctx := context.Background()
	res, _, err := f.conv.Record(ctx, &f.p, in)
	if err != nil {
		t.Fatal(err)
	}
	client, meter := f.db.MeteredClient()
	price := func(item map[string]types.AttributeValue) float64 {
		t.Helper()
		copied := map[string]types.AttributeValue{}
		for name, v := range item {
			if !strings.HasPrefix(name, "GSI") {
				copied[name] = v
			}
		}
		copied["PK"] = &types.AttributeValueMemberS{Value: "SCRATCH#" + item["PK"].(*types.AttributeValueMemberS).Value}
		if _, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(f.db.Table), Item: copied}}}}); err != nil {
			t.Fatal(err)
		}
		return meter.Take()[0].Table
	}
	unit := price(map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "PROBE"}, "SK": &types.AttributeValueMemberS{Value: "PROBE"}})
	if unit == 0 {
		t.Skip("this engine reports no consumed capacity (minidyn): the DynamoDB Local pass of make test checks it")
	}
	keys := map[string]map[string]types.AttributeValue{
		"event":    key(eventPK(in.EventID), eventSK),
		"referral": key(customerPK(in.RefereeID), referralSK(f.p.ProgramID)),
		"standing": key(customerPK(res.Conversion.AdvocateID), advocateSK(f.p.ProgramID)),
	}
	for _, r := range res.Rewards {
		keys["reward "+r.Rule] = key(rewardPK(r.RewardID), rewardSK)
	}
	for name, k := range keys {
		out, err := f.db.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.db.Table), Key: k, ConsistentRead: aws.Bool(true)})
		if err != nil || out.Item == nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := price(out.Item); got != unit {
			t.Errorf("the %s item (%d bytes) costs %v units in a transaction, a one-byte item %v: it is over 1 KB",
				name, dynamotest.ItemSize(out.Item), got, unit)
		}
	}
}
