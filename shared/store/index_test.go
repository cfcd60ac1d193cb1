package store

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/referral/referrals/devkit/samtemplate"
)

// attributeNames are the stored attribute names of an item type: its fields' JSON names,
// those of embedded structs included.
func attributeNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case name == "" && f.Anonymous:
			out = append(out, attributeNames(f.Type)...)
		case name != "":
			out = append(out, name)
		}
	}
	return out
}

// TestGSI4ProjectsEveryAttributeItsReadersDecode: GSI4 projects a chosen list of attributes
// (template.yaml). Its readers decode rewards (the reward queues, due work), scheduled asks and
// codes straight from it, so every attribute of those items must be in the list (a new one
// left out would read back empty from the index), and nothing a conversion changes on a
// referral may be, or every conversion would rewrite the referral's entry.
func TestGSI4ProjectsEveryAttributeItsReadersDecode(t *testing.T) {
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	def, err := tpl.Table("Table")
	if err != nil {
		t.Fatal(err)
	}
	var projected []string
	found := false
	for _, g := range def.GlobalSecondaryIndexes {
		if aws.ToString(g.IndexName) == GSI4 {
			found = true
			projected = g.Projection.NonKeyAttributes
		}
	}
	if !found {
		t.Fatalf("template.yaml has no index %s", GSI4)
	}
	pk, sk := indexKeys(GSI4)
	keys := []string{"PK", "SK", pk, sk}
	for _, item := range []any{rewardItem{}, scheduledAskItem{}, codeItem{}} {
		for _, name := range attributeNames(reflect.TypeOf(item)) {
			if !slices.Contains(keys, name) && !slices.Contains(projected, name) &&
				!strings.HasPrefix(name, "GSI1") { // a reward's GSI1 keys: no reader of GSI4 uses them
				t.Errorf("%T's attribute %q is not projected on %s", item, name, GSI4)
			}
		}
	}
	for _, name := range []string{"stage", "reached", "version", "friendCoupon"} {
		if slices.Contains(projected, name) {
			t.Errorf("%s projects %q, which every conversion changes on the referral", GSI4, name)
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
