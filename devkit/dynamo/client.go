package dynamo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client speaks the DynamoDB and DynamoDB Streams JSON protocols to one endpoint (DynamoDB
// Local, or the embedded engine, which serve both on one port), signing requests with dummy
// credentials as the AWS SDKs do.
type Client struct {
	Endpoint string // http://127.0.0.1:8000
	Region   string
	HTTP     *http.Client
}

// APIError is an error answer of the service.
type APIError struct {
	Status  int
	Type    string // e.g. ExpiredIteratorException
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%s (%d): %s", e.Type, e.Status, e.Message) }

// IsAPIError reports whether err is the service's error of the given type.
func IsAPIError(err error, typ string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Type == typ
}

var creds = aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}

// Call runs op ("DynamoDB_20120810.DescribeTable", "DynamoDBStreams_20120810.GetRecords") with
// in as the JSON body and decodes the answer into out.
func (c *Client) Call(ctx context.Context, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256(body)
	service := "dynamodb"
	if len(target) > 15 && target[:15] == "DynamoDBStreams" {
		service = "streams.dynamodb"
	}
	region := c.Region
	if region == "" {
		region = "us-east-1"
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		return err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
			Msg     string `json:"Message"`
		}
		_ = json.Unmarshal(b, &e)
		if i := bytes.LastIndexByte([]byte(e.Type), '#'); i >= 0 {
			e.Type = e.Type[i+1:]
		}
		if e.Message == "" {
			e.Message = e.Msg
		}
		if e.Message == "" {
			e.Message = string(bytes.TrimSpace(b))
		}
		return &APIError{Status: resp.StatusCode, Type: e.Type, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// LatestStreamARN is the table's current stream ("" when it has none).
func (c *Client) LatestStreamARN(ctx context.Context, table string) (string, error) {
	var out struct {
		Table struct {
			LatestStreamArn string
		}
	}
	err := c.Call(ctx, "DynamoDB_20120810.DescribeTable", map[string]string{"TableName": table}, &out)
	return out.Table.LatestStreamArn, err
}

// Shard is one shard of a stream.
type Shard struct {
	ShardID             string `json:"ShardId"`
	ParentShardID       string `json:"ParentShardId,omitempty"`
	SequenceNumberRange struct {
		StartingSequenceNumber string `json:",omitempty"`
		EndingSequenceNumber   string `json:",omitempty"` // set once the shard is closed
	}
}

// Shards lists every shard of a stream (DescribeStream, page by page).
func (c *Client) Shards(ctx context.Context, streamARN string) ([]Shard, error) {
	var all []Shard
	start := ""
	for {
		in := map[string]any{"StreamArn": streamARN}
		if start != "" {
			in["ExclusiveStartShardId"] = start
		}
		var out struct {
			StreamDescription struct {
				Shards               []Shard
				LastEvaluatedShardId string
			}
		}
		if err := c.Call(ctx, "DynamoDBStreams_20120810.DescribeStream", in, &out); err != nil {
			return nil, err
		}
		all = append(all, out.StreamDescription.Shards...)
		if start = out.StreamDescription.LastEvaluatedShardId; start == "" {
			return all, nil
		}
	}
}

// Iterator returns a shard iterator: typ TRIM_HORIZON or LATEST, or AFTER_SEQUENCE_NUMBER with seq.
func (c *Client) Iterator(ctx context.Context, streamARN, shardID, typ, seq string) (string, error) {
	in := map[string]any{"StreamArn": streamARN, "ShardId": shardID, "ShardIteratorType": typ}
	if seq != "" {
		in["SequenceNumber"] = seq
	}
	var out struct{ ShardIterator string }
	err := c.Call(ctx, "DynamoDBStreams_20120810.GetShardIterator", in, &out)
	return out.ShardIterator, err
}

// Records reads up to limit records at iterator; next is "" once a closed shard is read to its end.
func (c *Client) Records(ctx context.Context, iterator string, limit int) (recs []json.RawMessage, next string, err error) {
	var out struct {
		Records           []json.RawMessage
		NextShardIterator string
	}
	err = c.Call(ctx, "DynamoDBStreams_20120810.GetRecords", map[string]any{"ShardIterator": iterator, "Limit": limit}, &out)
	return out.Records, out.NextShardIterator, err
}
