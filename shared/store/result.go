package store

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// storedResult is the answer POST /conversions gave (its JSON, byte for byte), kept on the
// conversion's event item so that a replay answers exactly the same.
//
// It is stored compressed, as a binary attribute: DEFLATE primed with resultDictionary, the
// field names and common values of an answer. A typical answer of 900 bytes stores in about
// 250, so the event item stays under 1 KB and its put costs 1 write unit (2 in the conversion
// transaction) instead of 2 (4). The first byte names the encoding, so a later dictionary can
// come beside this one; event items written before the compression hold the JSON as a string,
// and both read back the same.
type storedResult []byte

// resultEncodingDeflate1 marks a result compressed with resultDictionary.
const resultEncodingDeflate1 = 1

// resultDictionary primes the compressor with what answers repeat: DEFLATE finds a match
// anywhere in its 32 KB window, the dictionary included, and codes the nearest ones shortest,
// so the most common text comes last. It must never change: stored results decode with it.
// (A new dictionary needs a new encoding byte.)
const resultDictionary = `"reason":"below minimum amount: no conversion amount, minimum ","amount overflow","capped at ",` +
	`"no tier for referral  (tiers end at )","unknown rule type ","×2 ","% of ","no conversion amount",` +
	`"amount is zero","reached  referrals","already rewarded: referee reached  before",` +
	`"kind":"cash","kind":"points","kind":"free_product","kind":"store_credit","kind":"donation","charity":"",` +
	`"kind":"upgrade","type":"percent","rule":"percent","type":"fixed","rule":"fixed","fixed reward","fixed ",` +
	`"status":"review","status":"approved","reference":"","fulfilment":{"provider":"coupon_pool","pool":"",` +
	`"fulfilment":{"provider":"stripe","status":"pending"},"updatedAt":"",` +
	`"role":"referee","kind":"discount","value":{"amount":1000,"currency":"EUR"},"value":{"amount":500,"currency":"GBP"},` +
	`{"side":"referee","rule":0,"type":"fixed","outcome":"skipped","reason":"rule is for milestone \"signup\""}` +
	`{"side":"advocate","rule":1,"type":"threshold","outcome":"skipped","reason":"threshold at 10, count is "},` +
	`{"conversion":{"eventId":"","programId":"","refereeId":"","advocateId":"","milestone":"purchase",` +
	`"amount":{"amount":5000,"currency":"USD"},"occurredAt":"2026-01-01T00:00:00Z","decisions":[` +
	`{"side":"advocate","rule":0,"type":"tiered","outcome":"rewarded","reason":"tier 1 of 2 (referral 1)"}]},` +
	`"rewards":[{"rewardId":"01","programId":"","customerId":"","role":"advocate","refereeId":"","eventId":"",` +
	`"milestone":"purchase","rule":"tiered","kind":"gift_card","value":{"amount":1000,"currency":"USD"},` +
	`"description":"","status":"pending","createdAt":"2026-01-01T00:00:00Z","availableAt":"2026-01-15T00:00:00Z",` +
	`"expiresAt":"2027-01-01T00:00:00Z"}]}`

// MarshalDynamoDBAttributeValue stores the result compressed (attributevalue.Marshaler).
func (r storedResult) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	return deflated(resultEncodingDeflate1, resultDictionary, r)
}

// deflated is a binary attribute holding the encoding byte enc, then raw compressed with
// DEFLATE primed with dict.
func deflated(enc byte, dict string, raw []byte) (types.AttributeValue, error) {
	var b bytes.Buffer
	b.WriteByte(enc)
	w, err := flate.NewWriterDict(&b, flate.BestCompression, []byte(dict))
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return &types.AttributeValueMemberB{Value: b.Bytes()}, nil
}

// inflated reads what deflated wrote with encoding byte enc and dict.
func inflated(enc byte, dict string, v []byte) ([]byte, error) {
	if len(v) == 0 || v[0] != enc {
		return nil, fmt.Errorf("unknown encoding")
	}
	return io.ReadAll(flate.NewReaderDict(bytes.NewReader(v[1:]), []byte(dict)))
}

// UnmarshalDynamoDBAttributeValue reads a stored result: compressed (binary) or, as items
// written before the compression hold it, the JSON itself (string).
func (r *storedResult) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		*r = storedResult(v.Value)
		return nil
	case *types.AttributeValueMemberNULL:
		*r = nil
		return nil
	case *types.AttributeValueMemberB:
		out, err := inflated(resultEncodingDeflate1, resultDictionary, v.Value)
		if err != nil {
			return fmt.Errorf("stored result: %w", err)
		}
		*r = out
		return nil
	}
	return fmt.Errorf("stored result: a %T attribute", av)
}

// ConversionOf is the answer an event item holds (a stream image or a scanned item): the
// conversion as POST /conversions answered it, with the rewards it made.
func ConversionOf(item StreamItem) (ConversionResult, error) {
	var ev eventItem
	if err := unmarshal(item, &ev); err != nil {
		return ConversionResult{}, fmt.Errorf("decode event: %w", err)
	}
	if ev.Type != TypeEvent {
		return ConversionResult{}, fmt.Errorf("decode event: item type is %q", ev.Type)
	}
	var res ConversionResult
	if err := json.Unmarshal(ev.Result, &res); err != nil {
		return ConversionResult{}, fmt.Errorf("decode stored result of %s: %w", ev.EventID, err)
	}
	return res, nil
}
