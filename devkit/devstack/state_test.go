package devstack

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestStateSurvivesRestart(t *testing.T) {
	stateDir := t.TempDir()
	persist := func(c *Config) { c.Persist = true; c.StateDir = stateDir }
	ctx := context.Background()

	s1 := startFixtureStack(t, persist)
	if s1.Restored {
		t.Fatal("a fresh state dir was restored")
	}
	for _, pk := range []string{"program#demo", "code#ANA", "reward#1"} {
		if _, err := s1.ddb().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("referrals-local"),
			Item: withAttrs(key(pk, "x"), "GSI1PK", &types.AttributeValueMemberS{Value: "g"}, "GSI1SK", &types.AttributeValueMemberS{Value: pk},
				"amount", &types.AttributeValueMemberN{Value: "1000"})}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	kept := "state.json" // the embedded engine saves its items on a clean stop
	if s1.Embedded() == nil {
		kept = "dynamodb" // DynamoDB Local writes its database as it goes
	}
	if _, err := os.Stat(filepath.Join(stateDir, kept)); err != nil {
		t.Fatal(err)
	}

	s2 := startFixtureStack(t, persist)
	if !s2.Restored {
		t.Fatal("state.json was not restored")
	}
	got, err := s2.ddb().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("referrals-local"), Key: key("reward#1", "x")})
	if err != nil || got.Item == nil {
		t.Fatalf("restored item missing: %v", err)
	}
	if n := got.Item["amount"].(*types.AttributeValueMemberN).Value; n != "1000" {
		t.Errorf("amount = %s", n)
	}
	q, err := s2.ddb().Query(ctx, &dynamodb.QueryInput{TableName: aws.String("referrals-local"), IndexName: aws.String("GSI1"),
		KeyConditionExpression:    aws.String("GSI1PK = :g"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":g": &types.AttributeValueMemberS{Value: "g"}}})
	if err != nil || len(q.Items) != 3 {
		t.Errorf("GSI after restore: %v items, %v", len(q.Items), err)
	}
	// Restoring is not writing: no stream records, so no email is sent twice. (DynamoDB
	// Local keeps its table and stream itself; the stream functions resume from their
	// checkpoints.)
	if s2.Embedded() != nil {
		if recs := s2.streamRecords(t); len(recs) != 0 {
			t.Errorf("restore produced %d stream records", len(recs))
		}
	}
}
