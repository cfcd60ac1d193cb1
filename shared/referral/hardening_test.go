package referral

import (
	"errors"
	"testing"
	"time"
)

func TestProgramBoundsNameTheField(t *testing.T) {
	far := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	early := time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		field string
		edit  func(p *Program)
	}{
		{"startsAt", func(p *Program) { p.StartsAt = &early }},
		{"endsAt", func(p *Program) { p.EndsAt = &far }},
		{"codes.maxUses", func(p *Program) { p.Codes.MaxUses = maxCount + 1 }},
		{"limits.maxRewardsPerAdvocate", func(p *Program) { p.Limits.MaxRewardsPerAdvocate = maxCount + 1 }},
		{"limits.maxConversionsPerAdvocatePerDay", func(p *Program) { p.Limits.MaxConversionsPerAdvocatePerDay = 1 << 40 }},
		{"emails.loyalAfterDays", func(p *Program) { p.Emails.LoyalAfterDays = maxLoyalDays + 1 }},
		{"emails.askCooldownDays", func(p *Program) { p.Emails.AskCooldownDays = maxDays + 1 }},
		{"emails.loyalAfterPurchases", func(p *Program) { p.Emails.LoyalAfterPurchases = maxCount + 1 }},
		{"advocateRewards[0].tiers[1].upTo", func(p *Program) {
			p.AdvocateRewards = []Rule{{Milestone: "purchase", Type: RuleTiered, Kind: "cash",
				Tiers: []Tier{{UpTo: 5, Amount: 1}, {UpTo: maxCount + 1, Amount: 2}, {Amount: 3}}}}
		}},
	}
	for _, c := range cases {
		t.Run(c.field, func(t *testing.T) {
			p := validProgram(t)
			c.edit(p)
			var e *Error
			if err := p.Validate(); !errors.As(err, &e) || e.Field != c.field || e.Status != 400 {
				t.Fatalf("Validate() = %v, want a 400 on %s", err, c.field)
			}
		})
	}
}

func TestInputCheckers(t *testing.T) {
	for _, c := range []struct {
		err   error
		field string
	}{
		{ValidCurrency("amount.currency", "usd"), "amount.currency"},
		{ValidCurrency("amount.currency", "XXX"), "amount.currency"},
		{ValidCurrency("amount.currency", "USDT"), "amount.currency"},
		{ValidTime("occurredAt", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)), "occurredAt"},
		{ValidText("name", "a\u0085b", 10, false), "name"},
		{ValidText("name", "   ", 10, true), "name"},
		{ValidText("name", "ééééééééééé", 10, false), "name"},
	} {
		var e *Error
		if !errors.As(c.err, &e) || e.Field != c.field {
			t.Errorf("got %v, want an error on %s", c.err, c.field)
		}
	}
	for _, err := range []error{ValidCurrency("c", "MYR"), ValidCurrency("c", "IDR"), ValidTime("t", time.Now()),
		ValidText("name", "สมชาย 王 Ana", 20, true)} {
		if err != nil {
			t.Errorf("unexpected %v", err)
		}
	}
}
