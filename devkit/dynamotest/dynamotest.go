// Package dynamotest gives a test a DynamoDB table created from template.yaml's definition
// and a real AWS SDK client pointed at it, on one of two engines: minidyn's HTTP server on a
// loopback port (fast; the engine tests inject failures into), or Amazon DynamoDB Local (the
// fidelity engine) when DYNAMODB_ENGINE=local. `make test` runs the DynamoDB-backed suites
// once per engine. DynamoDB Local is started once per test binary, in memory, and each test
// gets its own table.
package dynamotest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/referral/referrals/devkit/devlog"
	"github.com/referral/referrals/devkit/dynamo"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/truora/minidyn/server"
)

// Table is the table name used in tests on minidyn (each has its own server).
const Table = "referrals-test"

// Engines.
const (
	Minidyn = "minidyn"
	Local   = "local"
)

// DB is a running engine with the template's table.
type DB struct {
	Mini   *server.Server // nil on DynamoDB Local
	URL    string
	Client *dynamodb.Client
	Table  string
	Engine string // Minidyn or Local
}

// Engine is the engine DYNAMODB_ENGINE asks for: Local for "local", else Minidyn.
func Engine() string {
	if os.Getenv("DYNAMODB_ENGINE") == Local {
		return Local
	}
	return Minidyn
}

// Start gives t a fresh table on the engine DYNAMODB_ENGINE asks for; it goes when t ends.
// On DynamoDB Local without Java 17+ or the jar the test is skipped, unless CI is set: then
// it fails.
func Start(t testing.TB) *DB {
	t.Helper()
	if Engine() == Local {
		return startLocal(t)
	}
	return StartMinidyn(t)
}

// StartMinidyn runs a fresh minidyn server for t, whatever DYNAMODB_ENGINE says: for tests
// that inject failures (Mini.EmulateFailure, EmulateUnprocessedItems).
func StartMinidyn(t testing.TB) *DB {
	t.Helper()
	mini := server.NewServer()
	ts := httptest.NewServer(mini)
	t.Cleanup(ts.Close)
	db := &DB{Mini: mini, URL: ts.URL, Table: Table, Client: NewClient(ts.URL), Engine: Minidyn}
	db.createTable(t)
	return db
}

// RequireMinidyn skips t on the DynamoDB Local pass: it injects failures, which only minidyn
// can; the minidyn pass of `make test` runs it.
func RequireMinidyn(t testing.TB) {
	t.Helper()
	if Engine() != Minidyn {
		t.Skip("injects failures into the engine: runs on minidyn only (the minidyn pass of make test)")
	}
}

func (db *DB) createTable(t testing.TB) {
	t.Helper()
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatalf("load template: %v", err)
	}
	in, err := tpl.Table(db.Table)
	if err != nil {
		t.Fatal(err)
	}
	if db.Engine == Minidyn {
		in.StreamSpecification = nil // minidyn has no streams; make dev and streamtest add them around it
	}
	if _, err := db.Client.CreateTable(context.Background(), in); err != nil {
		t.Fatalf("create table: %v", err)
	}
}

var (
	localOnce sync.Once
	localURL  string
	localErr  error
	tables    atomic.Int64
)

// repoRoot is the repository, found from this source file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func startLocal(t testing.TB) *DB {
	t.Helper()
	localOnce.Do(func() {
		// One DynamoDB Local for the test binary, in memory; it dies with the binary.
		l, err := dynamo.StartLocal(filepath.Join(repoRoot(), filepath.FromSlash(dynamo.JarDir)), "127.0.0.1:0", "", devlog.New(io.Discard))
		if err != nil {
			localErr = err
			return
		}
		localURL = l.URL
	})
	if localErr != nil {
		msg := fmt.Sprintf("DYNAMODB_ENGINE=local: %v (needs Java 17+ and `make dynamodb-local`)", localErr)
		if os.Getenv("CI") != "" || !errors.Is(localErr, dynamo.ErrNoJava) && !errors.Is(localErr, os.ErrNotExist) {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	db := &DB{URL: localURL, Client: NewClient(localURL), Engine: Local,
		Table: fmt.Sprintf("referrals-test-%d-%d", os.Getpid(), tables.Add(1))}
	db.createTable(t)
	t.Cleanup(func() {
		_, _ = db.Client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(db.Table)})
	})
	return db
}

// NewClient is an SDK client for a DynamoDB endpoint at url with dummy credentials.
func NewClient(url string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// ItemSize is DynamoDB's size of an item, which its read and write units are priced by:
// attribute names plus values (string: UTF-8 bytes; number: 1 byte per 2 significant digits
// + 1; binary: its bytes; boolean, null: 1; list, map: 3 + 1 per element + the elements).
func ItemSize(it map[string]types.AttributeValue) int {
	n := 0
	for name, v := range it {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return len(x.Value)
	case *types.AttributeValueMemberN:
		return numberSize(x.Value)
	case *types.AttributeValueMemberB:
		return len(x.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range x.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range x.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range x.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range x.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range x.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

// numberSize is 1 byte per two significant digits plus 1.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	mant, _, _ := strings.Cut(strings.ToLower(s), "e")
	digits := strings.Trim(strings.Replace(mant, ".", "", 1), "0")
	return (len(digits)+1)/2 + 1
}

// Meter records the capacity DynamoDB says each request consumed: a client from
// MeteredClient asks for it (ReturnConsumedCapacity INDEXES) on every request it sends. Only
// DynamoDB Local answers it; minidyn reports nothing.
type Meter struct {
	mu   sync.Mutex
	reqs []Consumed
}

// Consumed is the capacity one request consumed, as DynamoDB reported it.
type Consumed struct {
	Op    string             // GetItem, TransactWriteItems...
	Items int                // items the request named (a transaction's actions, a batch's keys)
	Table float64            // units on the table
	Index map[string]float64 // units per global secondary index
}

// Take returns the requests recorded since the last Take.
func (m *Meter) Take() []Consumed {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.reqs
	m.reqs = nil
	return out
}

// MeteredClient is an SDK client for the engine that records, in the returned Meter, the
// capacity every request consumed.
func (db *DB) MeteredClient() (*dynamodb.Client, *Meter) {
	m := &Meter{}
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(db.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		APIOptions: []func(*middleware.Stack) error{func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("Meter", m.handle), middleware.After)
		}}})
	return c, m
}

func (m *Meter) handle(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	indexes := types.ReturnConsumedCapacityIndexes
	op, items := "", 0
	switch p := in.Parameters.(type) {
	case *dynamodb.GetItemInput:
		op, items, p.ReturnConsumedCapacity = "GetItem", 1, indexes
	case *dynamodb.BatchGetItemInput:
		op, p.ReturnConsumedCapacity = "BatchGetItem", indexes
		for _, ka := range p.RequestItems {
			items += len(ka.Keys)
		}
	case *dynamodb.QueryInput:
		op, p.ReturnConsumedCapacity = "Query", indexes
	case *dynamodb.ScanInput:
		op, p.ReturnConsumedCapacity = "Scan", indexes
	case *dynamodb.PutItemInput:
		op, items, p.ReturnConsumedCapacity = "PutItem", 1, indexes
	case *dynamodb.UpdateItemInput:
		op, items, p.ReturnConsumedCapacity = "UpdateItem", 1, indexes
	case *dynamodb.DeleteItemInput:
		op, items, p.ReturnConsumedCapacity = "DeleteItem", 1, indexes
	case *dynamodb.TransactWriteItemsInput:
		op, items, p.ReturnConsumedCapacity = "TransactWriteItems", len(p.TransactItems), indexes
	case *dynamodb.BatchWriteItemInput:
		op, p.ReturnConsumedCapacity = "BatchWriteItem", indexes
		for _, w := range p.RequestItems {
			items += len(w)
		}
	}
	out, md, err := next.HandleInitialize(ctx, in)
	if err != nil || op == "" {
		return out, md, err
	}
	var cc []types.ConsumedCapacity
	switch r := out.Result.(type) {
	case *dynamodb.GetItemOutput:
		cc = appendCapacity(cc, r.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		cc = r.ConsumedCapacity
	case *dynamodb.QueryOutput:
		cc = appendCapacity(cc, r.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		cc = appendCapacity(cc, r.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		cc = appendCapacity(cc, r.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		cc = appendCapacity(cc, r.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		cc = appendCapacity(cc, r.ConsumedCapacity)
	case *dynamodb.TransactWriteItemsOutput:
		cc = r.ConsumedCapacity
	case *dynamodb.BatchWriteItemOutput:
		cc = r.ConsumedCapacity
	}
	c := Consumed{Op: op, Items: items, Index: map[string]float64{}}
	for _, x := range cc {
		switch {
		case x.Table != nil:
			c.Table += aws.ToFloat64(x.Table.CapacityUnits)
		default:
			c.Table += aws.ToFloat64(x.CapacityUnits)
		}
		for name, g := range x.GlobalSecondaryIndexes {
			c.Index[name] += aws.ToFloat64(g.CapacityUnits)
		}
	}
	m.mu.Lock()
	m.reqs = append(m.reqs, c)
	m.mu.Unlock()
	return out, md, err
}

func appendCapacity(cc []types.ConsumedCapacity, c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return cc
	}
	return append(cc, *c)
}
