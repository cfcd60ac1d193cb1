package webhook_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"github.com/referral/referrals/devkit/samplesecrets"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/sqsevents"
	"github.com/referral/referrals/devkit/sqstest"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/fulfil"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/webhook"
)

func TestMain(m *testing.M) { sqstest.Main(m) }

// env is the webhook path end to end: the API routers on a minidyn table whose writes become
// stream records, the webhook stream function fed those records as its event source mapping
// (template.yaml's batch size and filters) delivers them, a real SQS API (moto) as the delivery
// queue, the delivery function fed by an SQS event source mapping, and an https receiver.
type env struct {
	t       *testing.T
	table   *streamtest.Table
	store   *store.Store
	routers map[string]*api.Router
	sqs     *sqstest.Server
	queue   *webhook.SQS
	mapping *sqsevents.Mapping
	sealer  *webhook.Sealer
	stream  *webhook.Stream
	deliver *webhook.Deliverer
	clock   *clock
	logs    *logBuffer

	batchSize int
	filters   []string
}

// clock runs in real time, and can be moved on. (It starts at the real time: receivers check
// webhook-timestamp against their own clock.)
type clock struct {
	mu    sync.Mutex
	start time.Time
	base  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.start))
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.base = c.base.Add(d)
	c.mu.Unlock()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, sqs: sqstest.Shared(t), logs: &logBuffer{},
		clock: &clock{start: time.Now(), base: time.Now().UTC()}}
	e.table = streamtest.Start(t)
	e.table.SetClock(e.clock.now)
	e.store = store.New(e.table.Client, e.table.Table, e.clock.now)
	var err error
	if e.sealer, err = webhook.NewSealer(samplesecrets.WebhookSealKey); err != nil {
		t.Fatal(err)
	}
	url, arn := e.sqs.Queue(t, "webhook-deliveries", map[string]string{"VisibilityTimeout": "5"})
	e.queue = &webhook.SQS{Client: e.sqs.Client, URL: url}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	programs := &store.ProgramCache{Store: e.store}
	fulfilment := &fulfil.Service{Store: e.store, Programs: programs, Log: log}
	e.routers = map[string]*api.Router{}
	for _, r := range []*api.Router{
		api.NewPrograms(e.store, log), api.NewCustomers(e.store, log), api.NewCodes(e.store, programs, log),
		api.NewReferrals(e.store, programs, fulfilment, log), api.NewConversions(e.store, programs, log),
		api.NewRewards(e.store, fulfilment, log),
		api.NewInsights(e.store, programs, log),
		// The local stack's guard: the test receiver listens on 127.0.0.1.
		api.NewWebhooks(e.store, e.sealer, &webhook.Guard{Private: devNetworks, Resolver: testDNS}, e.queue, log),
	} {
		for _, rt := range r.Routes() {
			e.routers[rt.Key] = r
		}
	}
	e.stream = &webhook.Stream{Store: e.store, Queue: e.queue, Log: log}
	e.deliver = &webhook.Deliverer{Store: e.store, Queue: e.queue, Sealer: e.sealer, Log: log,
		Schedule: []time.Duration{time.Second}, Jitter: func() float64 { return 0.5 }}
	e.mapping = &sqsevents.Mapping{Client: e.sqs.Client, QueueURL: url, QueueARN: arn, Region: "us-east-1",
		BatchSize: 10, Wait: time.Second, Handler: e.deliver.Handle}
	e.batchSize, e.filters = streamMapping(t, "WebhookStreamFunction")
	t.Cleanup(e.checkLogs)
	return e
}

// streamMapping reads a function's DynamoDB event (batch size, filters) from template.yaml.
func streamMapping(t *testing.T, function string) (batchSize int, filters []string) {
	t.Helper()
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range tpl.Functions()[function].Events() {
		if ev.Type != "DynamoDB" {
			continue
		}
		fc, _ := ev.Properties["FilterCriteria"].(map[string]any)
		for _, f := range fc["Filters"].([]any) {
			filters = append(filters, f.(map[string]any)["Pattern"].(string))
		}
		return int(ev.Properties["BatchSize"].(int64)), filters
	}
	t.Fatalf("%s has no DynamoDB event", function)
	return 0, nil
}

// call sends an admin request through the router of its route and decodes the answer.
func (e *env) call(method, target string, body any) (int, map[string]any) {
	e.t.Helper()
	u, _ := url.Parse(target)
	var key string
	var params map[string]string
	for rk := range e.routers {
		if p, ok := samtemplate.MatchRoute(rk, method, u.Path); ok {
			key, params = rk, p
			break
		}
	}
	if key == "" {
		e.t.Fatalf("no route for %s %s", method, target)
	}
	var b string
	if body != nil {
		j, _ := json.Marshal(body)
		b = string(j)
	}
	q := map[string]string{}
	for k, v := range u.Query() {
		q[k] = v[0]
	}
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: key, RawPath: u.Path, RawQueryString: u.RawQuery,
		Headers: map[string]string{"content-type": "application/json"}, QueryStringParameters: q, PathParameters: params, Body: b}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		Lambda: map[string]any{"scope": "admin", "keyId": "test"}}
	resp, err := e.routers[key].Handle(context.Background(), req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, target, err)
	}
	var out map[string]any
	if resp.Body != "" {
		_ = json.Unmarshal([]byte(resp.Body), &out)
	}
	return resp.StatusCode, out
}

// must is call that fails the test on another status.
func (e *env) must(status int, method, target string, body any) map[string]any {
	e.t.Helper()
	st, out := e.call(method, target, body)
	if st != status {
		e.t.Fatalf("%s %s: %d %v, want %d", method, target, st, out, status)
	}
	return out
}

// endpoint registers an endpoint for events at url and returns its id and secret.
func (e *env) endpoint(url string, events ...string) (id, secret string) {
	e.t.Helper()
	out := e.must(201, "POST", "/webhook-endpoints", map[string]any{"url": url, "events": events, "description": "test receiver"})
	return out["id"].(string), out["secret"].(string)
}

// pump hands the stream records written since the last pump to the webhook stream function,
// in the batches its event source mapping would, and returns how many records it got.
func (e *env) pump() int {
	e.t.Helper()
	return e.feed(e.table.Take())
}

// feed hands records to the stream function as its event source mapping would.
func (e *env) feed(records []events.DynamoDBEventRecord) int {
	e.t.Helper()
	batches, err := streamtest.Batches(records, e.batchSize, e.filters)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, b := range batches {
		resp, err := e.stream.Handle(context.Background(), events.DynamoDBEvent{Records: b})
		if err != nil || len(resp.BatchItemFailures) > 0 {
			e.t.Fatalf("stream function: %v, failures %v", err, resp.BatchItemFailures)
		}
		n += len(b)
	}
	return n
}

// drain runs the delivery queue's event source mapping until done() or the timeout.
func (e *env) drain(timeout time.Duration, done func() bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !done() {
		if _, err := e.mapping.Poll(ctx); err != nil {
			if ctx.Err() != nil {
				e.t.Fatalf("the deliveries did not finish within %s", timeout)
			}
			e.t.Fatalf("delivery queue: %v", err)
		}
	}
}

// setup makes program demo (rewards held 14 days, no attribution window), advocate ana with a
// code, and returns the code.
func (e *env) setup() string {
	e.t.Helper()
	e.must(201, "PUT", "/programs/demo", map[string]any{
		"name": "Give $10, get $10", "currency": "USD", "landingUrl": "https://shop.example.com/invite",
		"milestones": []string{"signup", "purchase"}, "holdDays": 14,
		"advocateRewards": []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "gift_card"}},
		"refereeRewards":  []any{map[string]any{"milestone": "signup", "type": "fixed", "amount": 1000, "kind": "discount"}},
		"contest":         map[string]any{"prizes": []any{map[string]any{"rank": 1, "kind": "gift_card", "amount": 5000}}},
	})
	e.must(201, "PUT", "/customers/ana", map[string]any{"email": "ana.lima@example.com", "name": "Ana Lima"})
	return e.must(201, "POST", "/programs/demo/codes", map[string]any{"customerId": "ana"})["code"].(string)
}

// received is one request the receiver got.
type received struct {
	Path   string
	Header http.Header
	Body   []byte
}

// receiver is an https endpoint on 127.0.0.1 that answers each request with the status answer
// returns for it (by its 1-based count), and keeps what it got.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int) int
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{answer: answer}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{Path: req.URL.Path, Header: req.Header.Clone(), Body: b})
		n := len(r.got)
		r.mu.Unlock()
		w.WriteHeader(r.answer(n))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) tlsConfig() *tls.Config {
	return r.srv.Client().Transport.(*http.Transport).TLSClientConfig
}

// queueDepth counts the delivery queue's messages: visible, in flight and delayed.
func queueDepth(ctx context.Context, e *env) (int, error) {
	out, err := e.sqs.Client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(e.queue.URL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range out.Attributes {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n, nil
}

// purge empties the delivery queue (in-flight and delayed messages included).
func purge(t *testing.T, e *env) {
	t.Helper()
	if _, err := e.sqs.Client.PurgeQueue(context.Background(), &sqs.PurgeQueueInput{QueueUrl: aws.String(e.queue.URL)}); err != nil {
		t.Fatal(err)
	}
}

// logBuffer keeps what the functions logged, to check it carries no email address.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if os.Getenv("REFERRALS_TEST_LOG") != "" {
		os.Stderr.Write(p)
	}
	return l.b.Write(p)
}

func (e *env) checkLogs() {
	e.logs.mu.Lock()
	defer e.logs.mu.Unlock()
	if strings.Contains(e.logs.b.String(), "@example.com") {
		e.t.Errorf("the functions logged an email address")
	}
}
