package devstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/referral/referrals/devkit/dynamo"
	"github.com/referral/referrals/devkit/lambdaruntime"
	"github.com/referral/referrals/devkit/samtemplate"
)

// fixtureBin holds the fixture functions, built once per test binary.
var fixtureBin string

// repoRoot is the repository, two folders up; jarDir is where the Makefile unpacks DynamoDB Local.
const (
	repoRoot = "../.."
	jarDir   = repoRoot + "/" + dynamo.JarDir
)

// engineIndependent marks a test of what does not touch DynamoDB (API Gateway, the Lambda
// runtime, secrets, rebuilds): it runs on the embedded pass of make test and skips on the
// DynamoDB Local pass, which would only repeat it.
func engineIndependent(t testing.TB) {
	t.Helper()
	if os.Getenv("DYNAMODB_ENGINE") == "local" {
		t.Skip("does not depend on the DynamoDB engine: runs on the embedded pass of make test")
	}
}

// testEngine is the DynamoDB engine the stack tests run on: DYNAMODB_ENGINE=local (Amazon
// DynamoDB Local; `make test` runs the suites once per engine) or the embedded engine.
// Without Java or the jar, a local run skips, unless CI is set: then it fails.
func testEngine(t testing.TB) string {
	t.Helper()
	if os.Getenv("DYNAMODB_ENGINE") != "local" {
		return EngineEmbedded
	}
	_, javaErr := dynamo.JavaVersion()
	_, jarErr := os.Stat(jarDir + "/DynamoDBLocal.jar")
	if err := errors.Join(javaErr, jarErr); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("DYNAMODB_ENGINE=local needs Java 17+ and `make dynamodb-local`: %v", err)
		}
		t.Skipf("DYNAMODB_ENGINE=local needs Java 17+ and `make dynamodb-local`: %v", err)
	}
	return EngineLocal
}

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "devstack-fixtures-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		tmpl, err := samtemplate.Resolve("testdata/template.yaml", nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		broken, _ := lambdaruntime.Build("testdata", dir, tmpl.Functions, io.Discard)
		for name, err := range broken {
			if name != "MissingFunction" {
				fmt.Fprintln(os.Stderr, "fixture build:", err)
				return 1
			}
		}
		fixtureBin = dir
		defer func() {
			if realBin.dir != "" {
				os.RemoveAll(realBin.dir)
			}
		}()
		return m.Run()
	}()
	os.Exit(code)
}

// startRealStack starts the stack of the repository's template (tmpl), with every function
// available, and stops it when the test ends, showing its log if the test failed (or -v).
func startRealStack(t *testing.T, cfg Config, tmpl *samtemplate.Resolved, logs *syncBuffer) *Stack {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		_ = s.Close()
		if t.Failed() || testing.Verbose() {
			t.Logf("stack log:\n%s", logs)
		}
	})
	for name := range tmpl.Functions {
		if err := s.Function(name).Unavailable(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return s
}

// realBin holds every function of template.yaml, built once per test binary for the tests
// that run the real stack (a build of them all is the costliest step of those tests).
var realBin struct {
	once sync.Once
	dir  string
	err  error
}

// realFunctions builds every function of the repository's template.yaml (once per test
// binary) and returns the folder to give Start as BinDir, with SkipBuild.
func realFunctions(t *testing.T, tmpl *samtemplate.Resolved) string {
	t.Helper()
	realBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "devstack-functions-")
		if err != nil {
			realBin.err = err
			return
		}
		realBin.dir = dir
		broken, _ := lambdaruntime.Build(repoRoot, dir, tmpl.Functions, io.Discard)
		for name, err := range broken {
			realBin.err = errors.Join(realBin.err, fmt.Errorf("build %s: %w", name, err))
		}
	})
	if realBin.err != nil {
		t.Fatal(realBin.err)
	}
	return realBin.dir
}

// syncBuffer collects the stack's log output for assertions.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testStack struct {
	*Stack
	out  string // the fixture functions' OUT_DIR
	logs *syncBuffer
}

// startFixtureStack runs the stack on free loopback ports against the fixture template.
func startFixtureStack(t *testing.T, mutate ...func(*Config)) *testStack {
	t.Helper()
	out := t.TempDir()
	logs := &syncBuffer{}
	cfg := Config{
		Root:        "testdata",
		StateDir:    t.TempDir(),
		BinDir:      fixtureBin,
		SkipBuild:   true,
		Engine:      testEngine(t),
		JarDir:      jarDir,
		LambdaAddr:  "127.0.0.1:0",
		APIAddr:     "127.0.0.1:0",
		DynamoAddr:  "127.0.0.1:0",
		SESAddr:     "127.0.0.1:0",
		SecretsAddr: "127.0.0.1:0",
		Parameters:  map[string]string{"OutDir": out},
		Log:         logs,
		RetryBase:   10 * time.Millisecond,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() {
			t.Logf("stack log:\n%s", logs)
		}
	})
	return &testStack{Stack: s, out: out, logs: logs}
}

// streamRecords reads the table's stream from its trim horizon through the DynamoDB Streams
// API, as the event source mapping does, on either engine.
func (s *testStack) streamRecords(t *testing.T) []events.DynamoDBEventRecord {
	t.Helper()
	ctx := context.Background()
	c := &dynamo.Client{Endpoint: s.DynamoURL}
	arn, err := c.LatestStreamARN(ctx, samtemplate.LocalTableName)
	if err != nil {
		t.Fatal(err)
	}
	shards, err := c.Shards(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	var out []events.DynamoDBEventRecord
	for _, sh := range shards {
		it, err := c.Iterator(ctx, arn, sh.ShardID, "TRIM_HORIZON", "")
		if err != nil {
			t.Fatal(err)
		}
		for it != "" {
			raw, next, err := c.Records(ctx, it, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range raw {
				var r events.DynamoDBEventRecord
				if err := json.Unmarshal(b, &r); err != nil {
					t.Fatal(err)
				}
				out = append(out, r)
			}
			if len(raw) == 0 {
				break
			}
			it = next
		}
	}
	return out
}

func (s *testStack) ddb() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.DynamoURL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

func (r httpResult) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func do(t *testing.T, method, url string, body []byte, headers ...string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: b}
}

// eventOf returns the event the echo fixture received.
func eventOf(t *testing.T, r httpResult) map[string]any {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	return r.json(t)["event"].(map[string]any)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// jsonLines reads a file of one JSON object per line; a missing file is empty.
func jsonLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

func lines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}
