package insights

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

var (
	nov20 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	demo  = &referral.Program{ProgramID: "demo", Currency: "USD", Milestones: []string{"signup", "purchase"}}
)

func TestEachChangeYieldsOneNamedFact(t *testing.T) {
	exp := nov20.AddDate(1, 0, 0)
	purchase := &store.Image{Type: store.TypeEvent, ProgramID: "demo", EventID: "o-1", AdvocateID: "ana", RefereeID: "bo",
		Milestone: "purchase", Counted: true, Amount: &referral.Money{Amount: 5000, Currency: "USD"}, CreatedAt: nov20}
	reversed := *purchase
	reversed.Reversed = true
	pending := &store.Image{Type: store.TypeReward, ProgramID: "demo", RewardID: "r1", Status: referral.RewardPending,
		Value: &referral.Money{Amount: 1000, Currency: "USD"}, CreatedAt: nov20, AvailableAt: nov20.Add(14*24*time.Hour + 30*time.Minute), ExpiresAt: &exp}
	fulfilled := *pending
	fulfilled.Status = referral.RewardFulfilled
	for _, c := range []struct {
		name string
		ch   store.Change
		id   string
		add  map[string]int64
	}{
		{"a new customer", store.Change{Name: "INSERT", New: &store.Image{Type: store.TypeCustomer, CustomerID: "bo", CreatedAt: nov20}},
			"customer#bo#" + fmt.Sprint(nov20.UnixNano()), map[string]int64{"customers": 1}},
		{"an advocate's code", store.Change{Name: "INSERT", New: &store.Image{Type: store.TypeAdvocate, ProgramID: "demo", CustomerID: "ana", CreatedAt: nov20}},
			"advocate#demo#ana", map[string]int64{"advocates": 1}},
		{"a first referral makes the advocate active", store.Change{Name: "MODIFY", At: nov20,
			Old: &store.Image{Type: store.TypeCode, ProgramID: "demo", CustomerID: "ana"}, New: &store.Image{Type: store.TypeCode, ProgramID: "demo", CustomerID: "ana", Uses: 1}},
			"active#demo#ana", map[string]int64{"activeAdvocates": 1}},
		{"a referral", store.Change{Name: "INSERT", New: &store.Image{Type: store.TypeReferral, ProgramID: "demo", ReferralID: "ref1", CreatedAt: nov20}},
			"referral#ref1", map[string]int64{"referrals": 1}},
		{"a purchase of the last milestone", store.Change{Name: "INSERT", New: purchase},
			"event#o-1", map[string]int64{"conv#purchase": 1, "revenue": 5000}},
		{"its reversal", store.Change{Name: "MODIFY", Old: purchase, New: &reversed},
			"event#o-1#reversed", map[string]int64{"conv#purchase": -1, "revenue": -5000, "reversedConversions": 1}},
		{"a second referee converting makes a repeat referrer", store.Change{Name: "MODIFY", At: nov20,
			Old: &store.Image{Type: store.TypeAdvocate, ProgramID: "demo", CustomerID: "ana", Counts: map[string]int{"purchase": 1, "signup": 5}},
			New: &store.Image{Type: store.TypeAdvocate, ProgramID: "demo", CustomerID: "ana", Counts: map[string]int{"purchase": 2, "signup": 5}}},
			"repeat#demo#ana", map[string]int64{"repeatReferrers": 1}},
		{"a share-link visit", store.Change{Name: "INSERT", New: &store.Image{Type: store.TypeClick, ProgramID: "demo", ClickID: "c1", Channel: "whatsapp", CreatedAt: nov20}},
			"click#c1", map[string]int64{"clicks": 1, "ch#whatsapp": 1}},
		{"a visit on a channel not counted by name", store.Change{Name: "INSERT", New: &store.Image{Type: store.TypeClick, ProgramID: "demo", ClickID: "c2", Channel: "ch#evil", CreatedAt: nov20}},
			"click#c2", map[string]int64{"clicks": 1, "ch#other": 1}},
		{"a reward", store.Change{Name: "INSERT", New: pending},
			"reward#r1", map[string]int64{"rw#pending#2026120413#2027112012#n": 1, "rw#pending#2026120413#2027112012#a": 1000}},
		{"a reward changing status", store.Change{Name: "MODIFY", Old: pending, New: &fulfilled},
			"reward#r1#pending>fulfilled", map[string]int64{"rw#pending#2026120413#2027112012#n": -1, "rw#pending#2026120413#2027112012#a": -1000,
				"rw#fulfilled#-#-#n": 1, "rw#fulfilled#-#-#a": 1000}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := Facts(c.ch, demo)
			if len(fs) != 1 {
				t.Fatalf("facts = %+v, want one", fs)
			}
			f := fs[0]
			if f.ID != c.id || !maps.Equal(f.Add, c.add) {
				t.Errorf("fact = %s %v, want %s %v", f.ID, f.Add, c.id, c.add)
			}
		})
	}
}

func TestChangesThatMoveNoNumberYieldNothing(t *testing.T) {
	signupAgain := &store.Image{Type: store.TypeEvent, ProgramID: "demo", EventID: "o-2", Milestone: "signup", Counted: false, CreatedAt: nov20}
	for name, ch := range map[string]store.Change{
		"a second referral with the code": {Name: "MODIFY", Old: &store.Image{Type: store.TypeCode, Uses: 1}, New: &store.Image{Type: store.TypeCode, Uses: 2}},
		"an advocate's third converted referee": {Name: "MODIFY", Old: &store.Image{Type: store.TypeAdvocate, Counts: map[string]int{"purchase": 2}},
			New: &store.Image{Type: store.TypeAdvocate, Counts: map[string]int{"purchase": 3}}},
		"a repeated milestone without amount": {Name: "INSERT", New: signupAgain},
		"a customer update":                   {Name: "MODIFY", Old: &store.Image{Type: store.TypeCustomer}, New: &store.Image{Type: store.TypeCustomer}},
		"a reward fulfilled again":            {Name: "MODIFY", Old: &store.Image{Type: store.TypeReward, Status: "fulfilled"}, New: &store.Image{Type: store.TypeReward, Status: "fulfilled"}},
		"an item of another type":             {Name: "INSERT", New: &store.Image{Type: "ask"}},
	} {
		if fs := Facts(ch, demo); len(fs) != 0 {
			t.Errorf("%s: facts %+v, want none", name, fs)
		}
	}
}

func TestAConversionCountsWithoutItsProgram(t *testing.T) {
	// The leaderboard is the conversion's own business (the store ranks advocates in its
	// transaction): an event's facts need no program.
	signup := &store.Image{Type: store.TypeEvent, ProgramID: "demo", EventID: "s-1", AdvocateID: "ana", Milestone: "signup", Counted: true, CreatedAt: nov20}
	ch := store.Change{Name: "INSERT", New: signup}
	if NeedsProgram(ch) {
		t.Error("an event's facts ask for its program")
	}
	if fs := Facts(ch, nil); len(fs) != 1 || fs[0].Add["conv#signup"] != 1 {
		t.Errorf("signup: %+v, want a conversion count", fs)
	}
}

func TestRewardsShowTheirEffectiveStatusWhenRead(t *testing.T) {
	created := nov20
	exp := created.AddDate(0, 0, 365)
	avail := created.AddDate(0, 0, 14)
	add := map[string]int64{}
	addReward(add, &store.Image{Status: referral.RewardPending, Value: &referral.Money{Amount: 1000}, AvailableAt: avail, ExpiresAt: &exp}, 1)
	addReward(add, &store.Image{Status: referral.RewardReview, Value: &referral.Money{Amount: 700}, ExpiresAt: &exp}, 1)
	addReward(add, &store.Image{Status: referral.RewardFulfilled, Value: &referral.Money{Amount: 300}, ExpiresAt: &exp}, 1)
	addReward(add, &store.Image{Status: referral.RewardPending, AvailableAt: avail}, 1) // non-monetary, never expires
	months := []store.MonthStats{{Month: "2026-11", Counters: add, AsOf: nov20}}
	for _, c := range []struct {
		at   time.Time
		want map[string][2]int64 // status → count, amount
	}{
		{created, map[string][2]int64{"pending": {2, 1000}, "review": {1, 700}, "fulfilled": {1, 300}}},
		{avail.Add(-time.Second), map[string][2]int64{"pending": {2, 1000}, "review": {1, 700}, "fulfilled": {1, 300}}},
		{avail, map[string][2]int64{"approved": {2, 1000}, "review": {1, 700}, "fulfilled": {1, 300}}},
		{exp, map[string][2]int64{"expired": {2, 1700}, "approved": {1, 0}, "fulfilled": {1, 300}}},
	} {
		st := Summarize(demo, months, store.MonthStats{}, nil, "", "", c.at)
		for _, s := range referral.RewardStatuses {
			got := st.Rewards[s]
			if want := c.want[s]; got.Count != want[0] || got.Amount.Amount != want[1] || got.Amount.Currency != "USD" {
				t.Errorf("at %s: %s = %+v, want %v", c.at, s, got, want)
			}
		}
	}
}

func TestSummarizeAddsMonthsAndDerivesRates(t *testing.T) {
	months := []store.MonthStats{
		{Month: "2026-10", AsOf: nov20.AddDate(0, -1, 0), Counters: map[string]int64{"advocates": 4, "activeAdvocates": 2, "referrals": 5,
			"conv#signup": 4, "conv#purchase": 1, "revenue": 5000}},
		{Month: "2026-11", AsOf: nov20, Counters: map[string]int64{"advocates": 1, "activeAdvocates": 1, "referrals": 5,
			"conv#purchase": 3, "revenue": 9000, "reversedConversions": 1, "repeatReferrers": 1, "conv#legacy": 2}},
	}
	total := store.MonthStats{Counters: map[string]int64{"customers": 30}, AsOf: nov20.Add(-time.Hour)}
	st := Summarize(demo, months, total, nil, "2026-10", "2026-11", nov20)
	if st.Advocates != 5 || st.ActiveAdvocates != 3 || st.Referrals != 10 || st.RepeatReferrers != 1 || st.ReversedConversions != 1 || st.Customers != 30 {
		t.Errorf("counts = %+v", st)
	}
	if !maps.Equal(st.Conversions, map[string]int64{"signup": 4, "purchase": 4, "legacy": 2}) {
		t.Errorf("conversions = %v", st.Conversions)
	}
	if st.ConversionRate != 0.4 || st.ReferralRate != 0.1 {
		t.Errorf("rates = %v, %v; want 0.4 (4 purchases / 10 referrals), 0.1 (3 active / 30 customers)", st.ConversionRate, st.ReferralRate)
	}
	if st.ReferredRevenue != (referral.Money{Amount: 14000, Currency: "USD"}) || !st.AsOf.Equal(nov20) || *st.From != "2026-10" || *st.To != "2026-11" {
		t.Errorf("revenue %v, asOf %v, range %v..%v", st.ReferredRevenue, st.AsOf, *st.From, *st.To)
	}
	empty := Summarize(demo, nil, store.MonthStats{}, nil, "", "", nov20)
	if empty.ConversionRate != 0 || empty.ReferralRate != 0 || empty.From != nil || !empty.AsOf.Equal(nov20) || len(empty.Rewards) != 6 {
		t.Errorf("no data: %+v", empty)
	}
}

func TestPrizesGoToTheirRanksOnly(t *testing.T) {
	p := &referral.Program{ProgramID: "demo", Currency: "USD", HoldDays: 14, RewardExpiresInDays: 365, Contest: referral.Contest{Prizes: []referral.Prize{
		{Rank: 3, Kind: "points", Amount: 500},
		{Rank: 1, Kind: "gift_card", Amount: 10000, Description: "Top referrer of the month"},
		{Rank: 2, Kind: "upgrade", Description: "VIP for a year"},
	}}}
	entries := []store.LeaderboardEntry{{Rank: 1, AdvocateID: "cy", Conversions: 5}, {Rank: 2, AdvocateID: "ana", Conversions: 5}}
	now := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	awards, rewards := Awards(p, "2026-11", entries, now)
	if len(awards) != 2 || len(rewards) != 2 {
		t.Fatalf("awards = %+v, want ranks 1 and 2 only (nobody is third)", awards)
	}
	if a, r := awards[0], rewards[0]; a.Rank != 1 || a.CustomerID != "cy" || a.RewardID != r.RewardID || r.CustomerID != "cy" ||
		r.Rule != "contest" || r.Role != "advocate" || *r.Value != (referral.Money{Amount: 10000, Currency: "USD"}) ||
		r.Status != "pending" || !r.AvailableAt.Equal(now.AddDate(0, 0, 14)) || !r.ExpiresAt.Equal(now.AddDate(0, 0, 365)) {
		t.Errorf("first prize = %+v %+v", a, r)
	}
	if r := rewards[1]; r.CustomerID != "ana" || r.Value != nil || r.Description != "VIP for a year" {
		t.Errorf("second prize = %+v, want ana's non-monetary upgrade", r)
	}
}

func TestPeriodsAreMonths(t *testing.T) {
	for _, bad := range []string{"", "2026-13", "2026-1", "2026-11-01", "1999-12", "11-2026", "2026-00"} {
		if _, err := ParsePeriod("period", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	start, err := ParsePeriod("period", "2026-12")
	if err != nil || !PeriodEnd(start).Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("2026-12: %v %v", start, err)
	}
	if got := ClosableAt(start); !got.Equal(time.Date(2027, 1, 1, 0, 10, 0, 0, time.UTC)) {
		t.Errorf("closable at %v", got)
	}
}

// A reward counted in an hour bucket turns at the hour; the rewards the store reports turning
// move at their exact time, so stats show a hold's end or an expiry the moment it happens.
func TestARewardShowsItsNewStatusTheMomentItTurns(t *testing.T) {
	created := time.Date(2026, 11, 20, 21, 40, 30, 0, time.UTC)
	avail, exp := created.AddDate(0, 0, 14), created.AddDate(0, 0, 365)
	pending := referral.Reward{RewardID: "r1", ProgramID: "demo", Status: referral.RewardPending, Value: &referral.Money{Amount: 1000, Currency: "USD"},
		CreatedAt: created, AvailableAt: avail, ExpiresAt: &exp}
	approved := pending
	approved.Status = referral.RewardApproved
	counters := func(r referral.Reward) []store.MonthStats {
		add := map[string]int64{}
		addReward(add, &store.Image{Status: r.Status, Value: r.Value, AvailableAt: r.AvailableAt, ExpiresAt: r.ExpiresAt}, 1)
		return []store.MonthStats{{Month: "2026-11", Counters: add, AsOf: created}}
	}
	for _, c := range []struct {
		name    string
		stored  referral.Reward
		turning []referral.Reward
		from    string
		at      time.Time
		want    string
	}{
		{"in its hold", pending, nil, "", avail.Add(-time.Second), referral.RewardPending},
		{"hold ended, bucket not turned, not reported", pending, nil, "", avail.Add(time.Second), referral.RewardPending},
		{"hold ended, reported turning", pending, []referral.Reward{pending}, "", avail.Add(time.Second), referral.RewardApproved},
		{"hold ended an hour ago: the bucket turned", pending, []referral.Reward{pending}, "", avail.Add(time.Hour), referral.RewardApproved},
		{"written approved, expiring now", approved, []referral.Reward{approved}, "", exp.Add(time.Second), referral.RewardExpired},
		{"written approved, before its expiry", approved, []referral.Reward{approved}, "", exp.Add(-time.Second), referral.RewardApproved},
		{"turning, but in a month outside the range", pending, []referral.Reward{pending}, "2026-12", avail.Add(time.Second), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			months := counters(c.stored)
			if c.from != "" {
				months = nil // the store reads only the months asked for
			}
			st := Summarize(demo, months, store.MonthStats{}, c.turning, c.from, "", c.at)
			for _, s := range referral.RewardStatuses {
				want := int64(0)
				if s == c.want {
					want = 1
				}
				if got := st.Rewards[s]; got.Count != want || got.Amount.Amount != want*1000 {
					t.Errorf("%s = %+v, want %d", s, got, want)
				}
			}
		})
	}
}
