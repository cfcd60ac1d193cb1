package webhook_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/webhook"
)

// TestEventsComeFromTheWrittenChanges: what each write makes, read from the stream records the
// writes really produce (minidyn behind the stream recorder).
func TestEventsComeFromTheWrittenChanges(t *testing.T) {
	e := newEnv(t)
	e.must(201, "PUT", "/programs/now", map[string]any{
		"name": "No hold", "currency": "USD", "landingUrl": "https://shop.example.com/", "milestones": []string{"purchase"},
		"advocateRewards": []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "gift_card"}},
	})
	e.must(201, "PUT", "/customers/ana", map[string]any{"email": "ana.lima@example.com", "name": "Ana Lima"})
	code := e.must(201, "POST", "/programs/now/codes", map[string]any{"customerId": "ana"})["code"].(string)
	e.table.Take()

	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"a referral", func() {
			e.must(201, "POST", "/referrals", map[string]any{"code": code, "referee": map[string]any{"id": "bo", "name": "Bo"}})
		}, []string{referral.EventReferralCreated}},
		{"a conversion paying a reward with no hold: written approved", func() {
			e.must(201, "POST", "/conversions", map[string]any{"eventId": "o-1", "refereeId": "bo", "milestone": "purchase"})
		}, []string{referral.EventConversionRecorded, referral.EventRewardCreated, referral.EventRewardApproved}},
		{"the same conversion again (a replay answers from the record)", func() {
			e.must(200, "POST", "/conversions", map[string]any{"eventId": "o-1", "refereeId": "bo", "milestone": "purchase"})
		}, nil},
		{"a customer edited, still subscribed", func() {
			e.must(200, "PUT", "/customers/ana", map[string]any{"email": "ana.lima@example.com", "name": "Ana L."})
		}, nil},
		{"an opt-out", func() {
			if _, _, err := e.store.OptOut(context.Background(), "ana"); err != nil {
				t.Fatal(err)
			}
		}, []string{referral.EventCustomerOptedOut}},
		{"opting out again", func() {
			if _, _, err := e.store.OptOut(context.Background(), "ana"); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"a reversal", func() {
			e.must(200, "POST", "/conversions/o-1/reverse", nil)
		}, []string{referral.EventConversionReversed, referral.EventRewardReversed}},
	}
	seen := map[string]bool{}
	for _, s := range steps {
		s.do()
		records := e.table.Take()
		var got []string
		for _, r := range records {
			evs, err := webhook.FromRecord(r)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			again, _ := webhook.FromRecord(r)
			for i, ev := range evs {
				got = append(got, ev.Type)
				if again[i].ID != ev.ID {
					t.Errorf("%s: the same record made ids %s and %s", s.name, ev.ID, again[i].ID)
				}
				if seen[ev.ID] {
					t.Errorf("%s: event id %s was used before", s.name, ev.ID)
				}
				seen[ev.ID] = true
				body, err := ev.Payload()
				if err != nil {
					t.Fatal(err)
				}
				if slices.Contains(body, '@') {
					t.Errorf("%s: %s payload has an email address: %s", s.name, ev.Type, body)
				}
				checkContract(t, ev.Type, body)
			}
		}
		slices.Sort(got)
		want := slices.Clone(s.want)
		slices.Sort(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: events %v, want %v", s.name, got, want)
		}
	}
}
