// Package dynamotest starts minidyn's DynamoDB-compatible HTTP server on a loopback port with
// the table from template.yaml, and returns a real AWS SDK client pointed at it.
package dynamotest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/truora/minidyn/server"
)

// Table is the table name used in tests.
const Table = "referrals-test"

// DB is a running minidyn server with the template's table.
type DB struct {
	Mini   *server.Server
	URL    string
	Client *dynamodb.Client
	Table  string
}

// Start runs a fresh server for t; it stops when t ends.
func Start(t testing.TB) *DB {
	t.Helper()
	mini := server.NewServer()
	ts := httptest.NewServer(mini)
	t.Cleanup(ts.Close)
	db := &DB{Mini: mini, URL: ts.URL, Table: Table, Client: NewClient(ts.URL)}
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatalf("load template: %v", err)
	}
	in, err := tpl.Table(Table)
	if err != nil {
		t.Fatal(err)
	}
	in.StreamSpecification = nil // minidyn has no streams; make dev adds them around it
	if _, err := db.Client.CreateTable(context.Background(), in); err != nil {
		t.Fatalf("create table: %v", err)
	}
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
