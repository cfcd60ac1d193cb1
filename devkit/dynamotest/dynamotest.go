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
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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
