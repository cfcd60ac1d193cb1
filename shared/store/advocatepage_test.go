package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/shared/referral"
)

// TestAdvocatePageShowsFriendsRewardsAndWhyNothingWasPaid records a paying conversion, one
// under the rule's minimum and one after the attribution window, and reads the advocate's page:
// the referrals keep the unpaid conversions' reason codes, the paying one leaves none.
func TestAdvocatePageShowsFriendsRewardsAndWhyNothingWasPaid(t *testing.T) {
	ctx := context.Background()
	db := dynamotest.Start(t)
	var mu sync.Mutex
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	s := New(db.Client, db.Table, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	programs := &ProgramCache{Store: s, TTL: time.Minute}
	conv := &Conversions{Store: s, Programs: programs}
	p, _, err := s.PutProgram(ctx, referral.Program{ProgramID: "p1", Name: "Coffee", Status: referral.ProgramActive, Currency: "USD",
		LandingURL: "https://shop.example.com", Milestones: []string{"signup", "purchase"}, AttributionWindowDays: 60,
		AdvocateRewards: []referral.Rule{{Milestone: "purchase", Type: referral.RuleFixed, Amount: 1000, MinAmount: 2000, Kind: "store_credit"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutCustomer(ctx, "ana", CustomerUpdate{Name: "Ana Lim", Locale: "th"}); err != nil {
		t.Fatal(err)
	}
	rec, _, err := s.CreateCode(ctx, &p, "ana", "")
	if err != nil {
		t.Fatal(err)
	}
	for id, name := range map[string]string{"bo": "Bo Chen", "cy": "Cy", "dee": "Dee Tan"} {
		if _, err := s.CreateReferral(ctx, NewReferral{Code: rec.Code.Code, Referee: Referee{ID: id, Name: name}}, programs); err != nil {
			t.Fatal(err)
		}
	}
	record := func(event, referee string, amount int64) error {
		_, _, err := conv.Record(ctx, &p, ConversionRequest{EventID: event, ProgramID: "p1", RefereeID: referee, Milestone: "purchase",
			Amount: &referral.Money{Amount: amount, Currency: "USD"}, OccurredAt: s.Now(), PayloadHash: "h-" + event})
		return err
	}
	if err := record("e-cy", "cy", 5000); err != nil {
		t.Fatal(err)
	}
	if err := record("e-bo", "bo", 1500); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.AddDate(0, 0, 61)
	mu.Unlock()
	if err := record("e-dee", "dee", 5000); !errors.Is(err, referral.ErrAttributionExpired) {
		t.Fatalf("a conversion after the window: %v", err)
	}

	// Ana's referral in another program is not on this program's page, nor its friend's name.
	p2, _, err := s.PutProgram(ctx, referral.Program{ProgramID: "p2", Name: "Tea", Status: referral.ProgramActive, Currency: "USD",
		LandingURL: "https://shop.example.com", Milestones: []string{"purchase"}, AttributionWindowDays: 60})
	if err != nil {
		t.Fatal(err)
	}
	rec2, _, err := s.CreateCode(ctx, &p2, "ana", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateReferral(ctx, NewReferral{Code: rec2.Code.Code, Referee: Referee{ID: "eve", Name: "Eve"}}, programs); err != nil {
		t.Fatal(err)
	}

	pg, err := s.AdvocatePage(ctx, &p, "ana")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pg.FirstNames["eve"]; ok {
		t.Errorf("the page of p1 names eve, a friend of p2: %v", pg.FirstNames)
	}
	if pg.Customer.Name != "Ana Lim" || pg.Erased || pg.Code.Code.Code != rec.Code.Code || pg.Standing.Counts["purchase"] != 2 {
		t.Errorf("page: customer %+v erased %v code %+v standing %+v", pg.Customer, pg.Erased, pg.Code, pg.Standing)
	}
	if len(pg.Rewards) != 1 || pg.Rewards[0].RefereeID != "cy" {
		t.Errorf("rewards %+v", pg.Rewards)
	}
	if pg.FirstNames["bo"] != "Bo" || len(pg.Referrals) != 3 {
		t.Errorf("names %v, referrals %d", pg.FirstNames, len(pg.Referrals))
	}
	want := map[string]string{"bo": referral.WhyBelowMinimum, "dee": referral.WhyWindowClosed, "cy": ""}
	for _, r := range pg.Referrals {
		got := ""
		if len(r.Unpaid) == 1 {
			got = r.Unpaid[0].Code
		} else if len(r.Unpaid) > 1 {
			got = "several"
		}
		if got != want[r.RefereeID] {
			t.Errorf("%s: unpaid %+v, want %q", r.RefereeID, r.Unpaid, want[r.RefereeID])
		}
		if r.RefereeID == "dee" && (r.Unpaid[0].N != 60 || r.Unpaid[0].EventID != "e-dee") {
			t.Errorf("dee: %+v", r.Unpaid[0])
		}
	}
	// A refusal repeated notes nothing twice.
	if err := record("e-dee", "dee", 5000); !errors.Is(err, referral.ErrAttributionExpired) {
		t.Fatal(err)
	}
	if ref, err := s.GetReferral(ctx, "dee", "p1"); err != nil || len(ref.Unpaid) != 1 {
		t.Errorf("dee after a repeated refusal: %+v, %v", ref.Unpaid, err)
	}

	if err := s.EraseCustomer(ctx, "ana"); err != nil {
		t.Fatal(err)
	}
	if pg, err := s.AdvocatePage(ctx, &p, "ana"); err != nil || !pg.Erased {
		t.Errorf("after erasure: erased %v, %v", pg.Erased, err)
	}
	if _, err := s.AdvocatePage(ctx, &p, "nobody"); !errors.Is(err, referral.ErrCustomerNotFound) {
		t.Errorf("an unknown customer: %v", err)
	}
}
