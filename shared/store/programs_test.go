package store

import (
	"context"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/shared/referral"
)

// TestReplacingAProgramDropsWhatTheNewVersionLeavesOut: a PUT replaces the program whole, so
// a multiplier (or any list) left out of the new version is gone, not kept from the old one.
func TestReplacingAProgramDropsWhatTheNewVersionLeavesOut(t *testing.T) {
	db := dynamotest.Start(t)
	s := New(db.Client, db.Table, nil)
	ctx := context.Background()
	p := referral.Program{ProgramID: "p1", Name: "BF", Status: referral.ProgramActive, Currency: "USD",
		Milestones: []string{"purchase"}, Multipliers: []referral.Multiplier{{Name: "Black Friday",
			From: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Factor: 2}}}
	if _, created, err := s.PutProgram(ctx, p); err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	p.Multipliers = nil
	p.Name = "No more BF"
	got, created, err := s.PutProgram(ctx, p)
	if err != nil || created {
		t.Fatalf("replace: %v %v", created, err)
	}
	read, err := s.GetProgram(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Multipliers) != 0 || len(read.Multipliers) != 0 || read.Name != "No more BF" {
		t.Fatalf("replaced program kept its old multipliers: put %+v, read %+v", got.Multipliers, read.Multipliers)
	}
	if _, created, _ := s.PutProgram(ctx, referral.Program{ProgramID: "p2", Name: "Two", Status: "active", Currency: "USD"}); !created {
		t.Fatal("a second program should be created")
	}
	list, _, err := s.ListPrograms(ctx, Page{Limit: 10})
	if err != nil || len(list) != 2 {
		t.Fatalf("list after two programs: %d %v", len(list), err)
	}
}
