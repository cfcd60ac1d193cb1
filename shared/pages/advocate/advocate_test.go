package advocate_test

import (
	"flag"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/pagetest"
	"github.com/referral/referrals/shared/pages"
	"github.com/referral/referrals/shared/pages/advocate"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

var update = flag.Bool("update", false, "rewrite compiled/ from templates/")

var now = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

// program is a tiered program ($10 a friend for the first three, then $25) with a bonus at
// ten friends and a $10 discount for the friend on orders of $20 or more.
func program() *referral.Program {
	return &referral.Program{ProgramID: "p1", Name: "Acme Coffee", Status: referral.ProgramActive, Currency: "USD",
		LandingURL: "https://shop.example.com/", Milestones: []string{"signup", "purchase"}, AttributionWindowDays: 60,
		AdvocateRewards: []referral.Rule{
			{Milestone: "purchase", Type: referral.RuleTiered, Kind: "store_credit", Tiers: []referral.Tier{{UpTo: 3, Amount: 1000}, {Amount: 2500}}},
			{Milestone: "purchase", Type: referral.RuleThreshold, AtCount: 10, Kind: "free_product", Description: "a year of coffee"}},
		RefereeRewards: []referral.Rule{{Milestone: "purchase", Type: referral.RuleFixed, Amount: 1000, MinAmount: 2000, Kind: "discount"}}}
}

// advocatePage is Ana's page: Bo bought (paid), Cy bought under the minimum, Dee bought
// after the window, Eve signed up.
func advocatePage() store.AdvocatePage {
	code := referral.Code{Code: "ANA-7KQ2XR", ProgramID: "p1", CustomerID: "ana", Status: referral.CodeActive}
	at := now.AddDate(0, 0, -3)
	return store.AdvocatePage{
		Customer: referral.Customer{CustomerID: "ana", Name: "Ana Lim", Locale: "en"},
		Code:     store.CodeRecord{Code: code},
		Standing: referral.AdvocateState{Counts: map[string]int{"purchase": 2}},
		Referrals: []referral.Referral{
			{RefereeID: "bo", ProgramID: "p1", Stage: "purchase"},
			{RefereeID: "cy", ProgramID: "p1", Stage: "purchase", Unpaid: []referral.Why{{EventID: "e2", Milestone: "purchase", Code: referral.WhyBelowMinimum, N: 2000, At: at}}},
			{RefereeID: "dee", ProgramID: "p1", Stage: "signup", Unpaid: []referral.Why{{EventID: "e3", Milestone: "purchase", Code: referral.WhyWindowClosed, N: 60, At: at}}},
			{RefereeID: "eve", ProgramID: "p1", Stage: "signup"},
			{RefereeID: "xss", ProgramID: "p1", Stage: "<b>custom</b>"},
		},
		FirstNames: map[string]string{"bo": "Bo", "cy": "Cy", "dee": "Dee", "eve": "นภัส", "xss": `<script>alert(1)</script>`},
		Rewards: []referral.Reward{
			{RewardID: "r1", RefereeID: "bo", Role: referral.RoleAdvocate, Kind: "store_credit", Value: &referral.Money{Amount: 1000, Currency: "USD"},
				Status: referral.RewardFulfilled, Fulfilment: &referral.Fulfilment{Provider: "coupon_pool", Status: referral.FulfilmentDone, Reference: "COFFEE-10-XYZ"}},
			{RewardID: "r2", RefereeID: "cy", Role: referral.RoleAdvocate, Kind: "store_credit", Value: &referral.Money{Amount: 1000, Currency: "USD"},
				Status: referral.RewardPending},
		},
	}
}

func sample(pg store.AdvocatePage) pagetest.Sample {
	return func(lang, page string) (pages.View, map[string]any) {
		data, err := advocate.Data(advocate.Input{Program: program(), Advocate: pg, PublicURL: "https://api.example.com"}, lang)
		if err != nil {
			panic(err)
		}
		return pages.View{Lang: lang, Root: "../", Script: true, Langs: pages.Switcher(lang, "/a/TOKEN", nil)}, data
	}
}

func TestAdvocatePageIsCompiled(t *testing.T) {
	pagetest.Compiled(t, advocate.Set, []string{"advocate"}, sample(advocatePage()), *update)
	pagetest.SameWords(t)
}

func TestAdvocatePageRendersAsHTMLTemplateDoes(t *testing.T) {
	empty := advocatePage()
	empty.Referrals, empty.Rewards, empty.Standing = nil, nil, referral.AdvocateState{}
	empty.Customer.Name = ""
	pagetest.MatchesHTMLTemplate(t, advocate.Set, "advocate", map[string]pagetest.Sample{
		"friends and rewards": sample(advocatePage()),
		"nothing yet":         sample(empty),
	})
	donating := func(lang, page string) (pages.View, map[string]any) {
		p := program()
		p.AdvocateRewards = []referral.Rule{{Milestone: "purchase", Type: referral.RuleFixed, Amount: 500, Kind: "donation", Charity: "Red Cross"}}
		data, err := advocate.Data(advocate.Input{Program: p, Advocate: advocatePage(), PublicURL: "https://api.example.com"}, lang)
		if err != nil {
			t.Fatal(err)
		}
		return pages.View{Lang: lang, Root: "../"}, data
	}
	pagetest.MatchesHTMLTemplate(t, advocate.Set, "advocate", map[string]pagetest.Sample{"a donation": donating})
	if _, data := donating("en", "advocate"); data["Reward"] != "$5 to Red Cross" || data["Donation"] != true {
		t.Errorf("a donation reads %q", data["Reward"])
	}
}
