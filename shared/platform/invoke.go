package platform

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Invoker calls another function of the stack and waits for its answer: Lambda's Invoke API
// (POST /2015-03-31/functions/{name}/invocations, RequestResponse), signed with the SDK's
// Signature Version 4 signer and the function's credentials. It stands in for the SDK's
// Lambda client, whose operation tables add 0.85 MB to a binary that makes this one call
// (the binary size goal of docs/PERFORMANCE.md). The endpoint is AWS_ENDPOINT_URL_LAMBDA (else
// AWS_ENDPOINT_URL), as for the SDK's clients; make dev points it at its Invoke API.
type Invoker struct {
	cfg      aws.Config
	endpoint string
	signer   *v4.Signer
	client   *http.Client
}

// NewInvoker returns an Invoker over cfg (AWSConfig's).
func NewInvoker(cfg aws.Config) *Invoker {
	endpoint, _, _ := envEndpoints{}.GetServiceBaseEndpoint(context.Background(), "Lambda")
	if endpoint == "" {
		endpoint = "https://lambda." + cfg.Region + ".amazonaws.com"
	}
	return &Invoker{cfg: cfg, endpoint: strings.TrimRight(endpoint, "/"), signer: v4.NewSigner(),
		client: &http.Client{Timeout: 30 * time.Second}}
}

// FunctionError is a function's own failure (an unhandled error or a crash), as Lambda
// reports it: the X-Amz-Function-Error header and the error document.
type FunctionError struct {
	Function string
	Kind     string // X-Amz-Function-Error: Unhandled, Handled
	Message  string `json:"errorMessage"`
	Type     string `json:"errorType"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function %s failed (%s): %s: %s", e.Function, e.Kind, e.Type, e.Message)
}

// Invoke runs function (its name or ARN) with payload and returns its result. A function
// that failed answers *FunctionError; a refused call (no such function, throttled, not
// allowed) answers the Invoke API's error.
func (i *Invoker) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	if function == "" {
		return nil, fmt.Errorf("invoke: no function named")
	}
	creds, err := i.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: credentials: %w", function, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		i.endpoint+"/2015-03-31/functions/"+url.PathEscape(function)+"/invocations", bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", function, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	sum := sha256.Sum256(payload)
	if err := i.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "lambda", i.cfg.Region, time.Now()); err != nil {
		return nil, fmt.Errorf("invoke %s: sign: %w", function, err)
	}
	resp, err := i.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", function, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 6<<20+1)) // Lambda's largest synchronous answer
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", function, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke %s: %s: %s %s", function, resp.Status, resp.Header.Get("X-Amzn-ErrorType"), body)
	}
	if kind := resp.Header.Get("X-Amz-Function-Error"); kind != "" {
		fe := &FunctionError{Function: function, Kind: kind}
		_ = json.Unmarshal(body, fe)
		return nil, fe
	}
	return body, nil
}
