package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// StreamItem is a table item as it arrives in a DynamoDB stream record (NewImage or OldImage),
// converted to the SDK's attribute values so that the store's item structs decode it.
type StreamItem map[string]types.AttributeValue

// FromStream converts a stream image (aws-lambda-go's attribute values) to a StreamItem.
func FromStream(img map[string]events.DynamoDBAttributeValue) (StreamItem, error) {
	out := make(StreamItem, len(img))
	for name, v := range img {
		av, err := streamValue(v)
		if err != nil {
			return nil, fmt.Errorf("stream image attribute %s: %w", name, err)
		}
		out[name] = av
	}
	return out, nil
}

func streamValue(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		l := v.List()
		out := make([]types.AttributeValue, len(l))
		for i, e := range l {
			av, err := streamValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = av
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeMap:
		m := v.Map()
		out := make(map[string]types.AttributeValue, len(m))
		for k, e := range m {
			av, err := streamValue(e)
			if err != nil {
				return nil, fmt.Errorf(".%s: %w", k, err)
			}
			out[k] = av
		}
		return &types.AttributeValueMemberM{Value: out}, nil
	}
	return nil, fmt.Errorf("unknown data type %d", v.DataType())
}

// Str is the string attribute name of the image, or "".
func (img StreamItem) Str(name string) string {
	s, _ := img[name].(*types.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}

// Bool is the boolean attribute name of the image; false when it is absent or not a boolean.
func (img StreamItem) Bool(name string) bool {
	b, _ := img[name].(*types.AttributeValueMemberBOOL)
	return b != nil && b.Value
}

// Type is the item's "type" attribute (TypeCode, TypeReward, TypeAsk...).
func (img StreamItem) Type() string { return img.Str("type") }

// Key is the item's "PK|SK", which names it uniquely in the table.
func (img StreamItem) Key() string { return img.Str("PK") + "|" + img.Str("SK") }

// ConversionRecord is a conversion item read from the stream: the conversion as POST
// /conversions answered it, when it was recorded, and when it was reversed (nil while it stands).
type ConversionRecord struct {
	Conversion referral.Conversion
	RecordedAt time.Time
	ReversedAt *time.Time
}

// DecodeConversion reads a conversion (event) item from a stream image.
func DecodeConversion(img StreamItem) (ConversionRecord, error) {
	var it eventItem
	if err := unmarshal(img, &it); err != nil {
		return ConversionRecord{}, fmt.Errorf("decode conversion: %w", err)
	}
	if it.Type != TypeEvent {
		return ConversionRecord{}, fmt.Errorf("decode conversion: item type is %q", it.Type)
	}
	var res ConversionResult
	if err := json.Unmarshal([]byte(it.Result), &res); err != nil {
		return ConversionRecord{}, fmt.Errorf("decode conversion %s: stored result: %w", it.EventID, err)
	}
	res.Conversion.Reversed = it.Reversed
	return ConversionRecord{Conversion: res.Conversion, RecordedAt: it.CreatedAt, ReversedAt: it.ReversedAt}, nil
}

// DecodeCustomer reads a customer item from a stream image.
func DecodeCustomer(img StreamItem) (referral.Customer, error) {
	if t := img.Type(); t != TypeCustomer {
		return referral.Customer{}, fmt.Errorf("decode customer: item type is %q", t)
	}
	c, err := decodeCustomer(img)
	if err != nil {
		return c, fmt.Errorf("decode customer: %w", err)
	}
	return c, nil
}

// DecodeContest reads a closed contest from a stream image, as the API shows it.
func DecodeContest(img StreamItem) (Contest, error) {
	var it contestItem
	if err := unmarshal(img, &it); err != nil {
		return Contest{}, fmt.Errorf("decode contest: %w", err)
	}
	if it.Type != TypeContest {
		return Contest{}, fmt.Errorf("decode contest: item type is %q", it.Type)
	}
	return it.contest(), nil
}
