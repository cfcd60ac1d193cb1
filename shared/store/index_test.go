package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/referral"
)

// tableIndexes are the global secondary indexes of template.yaml's table.
func tableIndexes(t *testing.T) []types.GlobalSecondaryIndex {
	t.Helper()
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	def, err := tpl.Table("Table")
	if err != nil {
		t.Fatal(err)
	}
	return def.GlobalSecondaryIndexes
}

// changedByAConversion are the attributes a conversion (or its reversal) changes on a referral
// (reachUpdateWith), and SetFriendCoupon the coupon's: an index projecting any of them would have
// every conversion rewrite the referral's entry.
var changedByAConversion = []string{"stage", "reached", "version", "unpaid", "friendCoupon"}

// TestEveryIndexIsDeployable: DynamoDB refuses an index with more than 20 NonKeyAttributes
// (Projection: "Maximum number of 20 items"), NonKeyAttributes on an index that is not INCLUDE,
// an INCLUDE with none, and a table whose indexes' NonKeyAttributes add up to more than 100 (an
// attribute projected by two indexes counts twice). DynamoDB Local, minidyn and cfn-lint check
// none of it: creating the table or adding the index would fail only at deploy.
func TestEveryIndexIsDeployable(t *testing.T) {
	total := 0
	for _, g := range tableIndexes(t) {
		name, p := aws.ToString(g.IndexName), g.Projection
		n := len(p.NonKeyAttributes)
		total += n
		switch {
		case n > 20:
			t.Errorf("%s projects %d NonKeyAttributes; DynamoDB allows 20 per index", name, n)
		case p.ProjectionType == types.ProjectionTypeInclude && n == 0:
			t.Errorf("%s is INCLUDE with no NonKeyAttributes; DynamoDB wants at least 1", name)
		case p.ProjectionType != types.ProjectionTypeInclude && n > 0:
			t.Errorf("%s is %s with NonKeyAttributes; DynamoDB allows them with INCLUDE only", name, p.ProjectionType)
		}
	}
	if total > 100 {
		t.Errorf("the indexes project %d attributes; DynamoDB allows 100 per table", total)
	}
}

// TestNoIndexProjectsWhatAConversionChanges: the list indexes hold keys only, so their readers
// read the items from the table; an index that projected what a conversion changes on a
// referral would have every conversion rewrite the referral's entry (1 WRU more).
func TestNoIndexProjectsWhatAConversionChanges(t *testing.T) {
	for _, g := range tableIndexes(t) {
		name := aws.ToString(g.IndexName)
		if g.Projection.ProjectionType == types.ProjectionTypeAll {
			t.Errorf("%s projects every attribute", name)
		}
		for _, a := range changedByAConversion {
			if slices.Contains(g.Projection.NonKeyAttributes, a) {
				t.Errorf("%s projects %q, which every conversion changes on the referral", name, a)
			}
		}
	}
}

// TestAProgramsReferralsShowTheirStageAfterAConversion: the program's referrals list reads
// the keys from GSI4 and the referrals from the table, so a conversion's new stage shows.
func TestAProgramsReferralsShowTheirStageAfterAConversion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.refer(t, "bea")
	f.refer(t, "cy")
	if _, _, err := f.record(ctx, "e1", "bea"); err != nil {
		t.Fatal(err)
	}
	refs, next, err := f.s.ProgramReferrals(ctx, "p1", Page{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || next == nil {
		t.Fatalf("first page: %+v, next %v; want one referral and a cursor", refs, next)
	}
	more, last, err := f.s.ProgramReferrals(ctx, "p1", Page{Limit: 10, Cursor: *next})
	if err != nil {
		t.Fatal(err)
	}
	if last != nil {
		t.Errorf("second page has a next cursor")
	}
	stages := map[string]string{}
	for _, r := range append(refs, more...) {
		stages[r.RefereeID] = r.Stage
		if r.ProgramID != "p1" || r.AdvocateID != "ana" || r.ReferralID == "" {
			t.Errorf("referral as listed: %+v", r)
		}
	}
	if len(stages) != 2 || stages["bea"] != "purchase" || stages["cy"] == "purchase" {
		t.Errorf("stages listed: %v; want bea at purchase, cy not", stages)
	}
}

// TestAnAdvocatesReferralsShowTheirStageAfterAConversion: an advocate's referrals list reads
// the keys from GSI5 and the referrals from the table, so a conversion's new stage and why a
// conversion paid nothing show, page by page, oldest first.
func TestAnAdvocatesReferralsShowTheirStageAfterAConversion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, r := range []string{"bea", "cy", "dee"} {
		f.refer(t, r)
	}
	if _, _, err := f.record(ctx, "e1", "cy"); err != nil {
		t.Fatal(err)
	}
	var got []referral.Referral
	cursor := ""
	for pages := 1; ; pages++ {
		refs, next, err := f.s.ListReferrals(ctx, "ana", Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, refs...)
		if next == nil {
			if pages != 2 {
				t.Errorf("%d pages of 2 for 3 referrals, want 2", pages)
			}
			break
		}
		cursor = *next
	}
	var order []string
	for _, r := range got {
		order = append(order, r.RefereeID+":"+r.Stage)
		if r.ProgramID != "p1" || r.AdvocateID != "ana" || r.ReferralID == "" || r.CreatedAt.IsZero() {
			t.Errorf("referral as listed: %+v", r)
		}
	}
	if want := []string{"bea:", "cy:purchase", "dee:"}; !slices.Equal(order, want) {
		t.Errorf("listed %v; want %v", order, want)
	}
	if _, _, err := f.s.ListReferrals(ctx, "ana", Page{Cursor: "bm90IGEgY3Vyc29y"}); err == nil {
		t.Error("a cursor the API did not hand out was accepted")
	}
}

// TestTheProgramsListIsReadWholeFromTheTable: GSI5 lists the programs' keys; the programs
// come from the table as stored, every field with them.
func TestTheProgramsListIsReadWholeFromTheTable(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p2 := referral.Program{ProgramID: "p2", Name: "Two", Status: referral.ProgramActive, Currency: "EUR",
		Milestones: []string{"signup", "purchase"}, HoldDays: 14}
	if _, _, err := f.s.PutProgram(ctx, p2); err != nil {
		t.Fatal(err)
	}
	first, next, err := f.s.ListPrograms(ctx, Page{Limit: 1})
	if err != nil || len(first) != 1 || next == nil {
		t.Fatalf("first page: %+v, next %v, %v; want p1 and a cursor", first, next, err)
	}
	rest, last, err := f.s.ListPrograms(ctx, Page{Limit: 10, Cursor: *next})
	if err != nil || len(rest) != 1 || last != nil {
		t.Fatalf("second page: %+v, next %v, %v; want p2 and no cursor", rest, last, err)
	}
	if first[0].ProgramID != "p1" || len(first[0].AdvocateRewards) != 1 || first[0].LandingURL == "" {
		t.Errorf("p1 as listed: %+v", first[0])
	}
	if got := rest[0]; got.ProgramID != "p2" || got.Currency != "EUR" || got.HoldDays != 14 || len(got.Milestones) != 2 || got.CreatedAt.IsZero() {
		t.Errorf("p2 as listed: %+v", got)
	}
}

// TestAListedItemThatHasSinceLeftTheListIsLeftOut: GSI4 and GSI5 hold keys only and are
// eventually consistent, and a list reads its items from the table after the index named
// them; an item whose index keys moved in between (an endpoint deleted off the list, a code
// shared and so no longer due a reminder) is not shown where it no longer belongs, and an item
// listed twice (by two runs read while it moved) is shown once.
func TestAListedItemThatHasSinceLeftTheListIsLeftOut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now()
	ep := referral.WebhookEndpoint{EndpointID: "ep1", URL: "https://hooks.example.com", Events: []string{"reward.approved"},
		CreatedAt: now, UpdatedAt: now}
	if err := f.s.CreateWebhookEndpoint(ctx, ep, "sealed"); err != nil {
		t.Fatal(err)
	}
	reminders := indexRun{index: GSI4, pk: remindersPK("p1"), hi: dueBy(now.AddDate(1, 0, 0))}
	cases := []struct {
		name string
		run  indexRun
		move func()
	}{
		{"an endpoint deleted", indexRun{index: GSI5, pk: webhooksPK}, func() {
			if err := f.s.DeleteWebhookEndpoint(ctx, "ep1"); err != nil {
				t.Fatal(err)
			}
		}},
		{"a code shared", reminders, func() { f.refer(t, "bea") }},
	}
	for _, c := range cases {
		keys, err := f.s.allKeys(ctx, c.run)
		if err != nil || len(keys) != 1 {
			t.Fatalf("%s: keys listed before %v, %v; want one", c.name, keys, err)
		}
		var before []map[string]any
		if err := f.s.readListed(ctx, append(keys, keys...), &before, c.run); err != nil || len(before) != 1 {
			t.Fatalf("%s: read before by its key listed twice: %v, %v; want the item once", c.name, before, err)
		}
		c.move()
		var after []map[string]any
		if err := f.s.readListed(ctx, keys, &after, c.run); err != nil || len(after) != 0 {
			t.Errorf("%s: read by the keys listed before: %v, %v; want nothing", c.name, after, err)
		}
	}
}
