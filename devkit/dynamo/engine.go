// Package dynamo runs the local stack's DynamoDB: Amazon DynamoDB Local (Java) when it can,
// else an embedded engine (minidyn with a stream added), and creates the template's tables
// in either through the DynamoDB API.
package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/referral/referrals/devkit/samtemplate"
)

// EnsureTable creates the table td describes unless it exists (DynamoDB Local keeps its
// tables between runs), with its stream, and turns its TTL on. It reports whether it created it.
func EnsureTable(ctx context.Context, c *Client, td *samtemplate.TableDef) (bool, error) {
	err := c.Call(ctx, "DynamoDB_20120810.DescribeTable", map[string]string{"TableName": td.Name}, nil)
	created := false
	switch {
	case IsAPIError(err, "ResourceNotFoundException"):
		in := map[string]any{
			"TableName":            td.Name,
			"AttributeDefinitions": td.Props["AttributeDefinitions"],
			"KeySchema":            td.Props["KeySchema"],
			"BillingMode":          "PAY_PER_REQUEST",
		}
		for _, k := range []string{"GlobalSecondaryIndexes", "LocalSecondaryIndexes"} {
			if v, ok := td.Props[k]; ok {
				in[k] = v
			}
		}
		if td.ViewType != "" {
			in["StreamSpecification"] = map[string]any{"StreamEnabled": true, "StreamViewType": td.ViewType}
		}
		if err := c.Call(ctx, "DynamoDB_20120810.CreateTable", in, nil); err != nil {
			return false, fmt.Errorf("create table %s: %w", td.Name, err)
		}
		created = true
	case err != nil:
		return false, fmt.Errorf("describe table %s: %w", td.Name, err)
	}
	if td.TTLAttr == "" {
		return created, nil
	}
	var ttl struct {
		TimeToLiveDescription struct{ TimeToLiveStatus, AttributeName string }
	}
	if err := c.Call(ctx, "DynamoDB_20120810.DescribeTimeToLive", map[string]string{"TableName": td.Name}, &ttl); err != nil {
		return created, fmt.Errorf("describe TTL of %s: %w", td.Name, err)
	}
	if ttl.TimeToLiveDescription.TimeToLiveStatus == "ENABLED" {
		return created, nil
	}
	err = c.Call(ctx, "DynamoDB_20120810.UpdateTimeToLive", map[string]any{"TableName": td.Name,
		"TimeToLiveSpecification": map[string]any{"Enabled": true, "AttributeName": td.TTLAttr}}, nil)
	if err != nil {
		return created, fmt.Errorf("turn on TTL of %s: %w", td.Name, err)
	}
	return created, nil
}

// Sweep deletes the items of table whose TTL attribute (epoch seconds) is before now, each
// with a condition that it still holds the expiry read, so a rewritten item stays. DynamoDB
// Local accepts a TTL setting but never deletes expired items; the stack sweeps for it.
func Sweep(ctx context.Context, c *Client, table, attr string, keys []string, now time.Time) (int, error) {
	names := map[string]string{"#ttl": attr}
	proj := "#ttl"
	for i, k := range keys {
		n := fmt.Sprintf("#k%d", i)
		names[n] = k
		proj += ", " + n
	}
	var start map[string]json.RawMessage
	deleted := 0
	for {
		in := map[string]any{
			"TableName": table, "ProjectionExpression": proj, "ExpressionAttributeNames": names,
			"FilterExpression":          "#ttl < :now AND #ttl > :zero",
			"ExpressionAttributeValues": map[string]any{":now": map[string]string{"N": fmt.Sprint(now.Unix())}, ":zero": map[string]string{"N": "0"}},
		}
		if start != nil {
			in["ExclusiveStartKey"] = start
		}
		var out struct {
			Items            []map[string]json.RawMessage
			LastEvaluatedKey map[string]json.RawMessage
		}
		if err := c.Call(ctx, "DynamoDB_20120810.Scan", in, &out); err != nil {
			return deleted, err
		}
		for _, it := range out.Items {
			key := map[string]json.RawMessage{}
			for _, k := range keys {
				key[k] = it[k]
			}
			err := c.Call(ctx, "DynamoDB_20120810.DeleteItem", map[string]any{
				"TableName": table, "Key": key, "ConditionExpression": "#ttl = :exp",
				"ExpressionAttributeNames":  map[string]string{"#ttl": attr},
				"ExpressionAttributeValues": map[string]json.RawMessage{":exp": it[attr]},
			}, nil)
			switch {
			case err == nil:
				deleted++
			case IsAPIError(err, "ConditionalCheckFailedException"):
			default:
				return deleted, err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return deleted, nil
		}
		start = out.LastEvaluatedKey
	}
}

// KeyNames are the key attributes of a table definition (hash first).
func KeyNames(td *samtemplate.TableDef) []string {
	var hash, rng string
	for _, k := range asList(td.Props["KeySchema"]) {
		km, _ := k.(map[string]any)
		a, _ := km["AttributeName"].(string)
		switch km["KeyType"] {
		case "HASH":
			hash = a
		case "RANGE":
			rng = a
		}
	}
	if rng == "" {
		return []string{hash}
	}
	return []string{hash, rng}
}
