package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

func TestFromStreamConvertsEveryAttributeType(t *testing.T) {
	// A stream image as Lambda delivers it (DynamoDB JSON), with every attribute type.
	raw := `{
		"S": {"S": "text"}, "N": {"N": "12.5"}, "BOOL": {"BOOL": true}, "NULL": {"NULL": true},
		"B": {"B": "AQID"}, "SS": {"SS": ["a", "b"]}, "NS": {"NS": ["1", "2"]}, "BS": {"BS": ["AQ==", "Ag=="]},
		"L": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"k": {"BOOL": false}}}]},
		"M": {"M": {"nested": {"L": [{"NULL": true}]}, "s": {"S": "y"}}}
	}`
	var img map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal([]byte(raw), &img); err != nil {
		t.Fatal(err)
	}
	got, err := FromStream(img)
	if err != nil {
		t.Fatal(err)
	}
	want := StreamItem{
		"S":    &types.AttributeValueMemberS{Value: "text"},
		"N":    &types.AttributeValueMemberN{Value: "12.5"},
		"BOOL": &types.AttributeValueMemberBOOL{Value: true},
		"NULL": &types.AttributeValueMemberNULL{Value: true},
		"B":    &types.AttributeValueMemberB{Value: []byte{1, 2, 3}},
		"SS":   &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"NS":   &types.AttributeValueMemberNS{Value: []string{"1", "2"}},
		"BS":   &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
		"L": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "x"}, &types.AttributeValueMemberN{Value: "1"},
			&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberBOOL{Value: false}}}}},
		"M": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"nested": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberNULL{Value: true}}},
			"s":      &types.AttributeValueMemberS{Value: "y"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromStream:\n got %#v\nwant %#v", got, want)
	}
}

func TestStreamItemsDecodeLikeStoredItems(t *testing.T) {
	created := time.Date(2026, 11, 20, 12, 3, 0, 0, time.UTC)
	// What the store writes, marshalled as it writes it, then passed through the stream's shape.
	toStream := func(v any) StreamItem {
		t.Helper()
		m := mustMarshal(v)
		b, err := json.Marshal(wire(m))
		if err != nil {
			t.Fatal(err)
		}
		var img map[string]events.DynamoDBAttributeValue
		if err := json.Unmarshal(b, &img); err != nil {
			t.Fatal(err)
		}
		it, err := FromStream(img)
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	code := toStream(codeItem{PK: codePK("ANA-DEMO"), SK: codeSK, Type: TypeCode, Code: "ANA-DEMO", ProgramID: "demo", CustomerID: "ana", CreatedAt: created})
	if c, err := DecodeCode(code); err != nil || c.Code != "ANA-DEMO" || c.CustomerID != "ana" || c.ProgramID != "demo" || !c.CreatedAt.Equal(created) {
		t.Errorf("DecodeCode: %+v %v", c, err)
	}
	if code.Key() != "CODE#ANA-DEMO|CODE" || code.Type() != TypeCode {
		t.Errorf("Key %q Type %q", code.Key(), code.Type())
	}
	rw := referral.Reward{RewardID: "r1", ProgramID: "demo", CustomerID: "ana", Role: referral.RoleAdvocate, RefereeID: "bo",
		Kind: "gift_card", Value: &referral.Money{Amount: 1000, Currency: "USD"}, Status: referral.RewardPending, CreatedAt: created}
	if r, err := DecodeReward(toStream(newRewardItem(rw))); err != nil || r.Value == nil || r.Value.Amount != 1000 || r.RefereeID != "bo" {
		t.Errorf("DecodeReward: %+v %v", r, err)
	}
	ask := Ask{AskID: "a1", CustomerID: "ana", ProgramID: "demo", Template: "ask-current", CreatedAt: created}
	if a, err := DecodeAsk(toStream(askItem{PK: askPK("a1"), SK: askSK, Type: TypeAsk, Ask: ask})); err != nil || a != ask {
		t.Errorf("DecodeAsk: %+v %v", a, err)
	}
	if _, err := DecodeAsk(code); err == nil {
		t.Error("a code decoded as an ask")
	}
}

// wire renders SDK attribute values as DynamoDB JSON, the stream's encoding.
func wire(m map[string]types.AttributeValue) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = wireValue(v)
	}
	return out
}

func wireValue(v types.AttributeValue) map[string]any {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": x.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": x.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": x.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}
	case *types.AttributeValueMemberL:
		l := []any{}
		for _, e := range x.Value {
			l = append(l, wireValue(e))
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		return map[string]any{"M": wire(x.Value)}
	}
	panic("wireValue: unexpected type")
}
