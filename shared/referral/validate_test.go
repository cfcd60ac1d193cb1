package referral

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// specProgram is a complete program (tiers, threshold, referee reward, fraud settings), as an
// admin would PUT it.
const specProgram = `{
  "name": "Give $10, get $10",
  "status": "active",
  "startsAt": "2026-11-01T00:00:00Z",
  "endsAt": null,
  "currency": "USD",
  "landingUrl": "https://shop.example.com/invite",
  "attributionWindowDays": 60,
  "newCustomersOnly": false,
  "holdDays": 14,
  "rewardExpiresInDays": 365,
  "codes": {"prefix": "", "maxUses": 0, "expiresInDays": 0},
  "milestones": ["signup", "purchase"],
  "advocateRewards": [
    {"milestone": "purchase", "type": "tiered", "tiers": [{"upTo": 5, "amount": 1000}, {"amount": 2500}], "kind": "gift_card"},
    {"milestone": "purchase", "type": "threshold", "atCount": 10, "kind": "upgrade", "description": "VIP for a year"}
  ],
  "refereeRewards": [{"milestone": "signup", "type": "fixed", "amount": 1000, "kind": "discount"}],
  "multipliers": [{"name": "Black Friday", "from": "2026-11-27T00:00:00Z", "to": "2026-12-01T00:00:00Z", "factor": 2}],
  "limits": {"maxRewardsPerAdvocate": 0, "maxAmountPerAdvocate": 0, "maxConversionsPerAdvocatePerDay": 0},
  "contest": {"prizes": [{"rank": 1, "kind": "gift_card", "amount": 10000, "description": "Top referrer of the month"}]},
  "emails": {"sendOnCodeCreated": true, "thankAdvocates": true, "loyalAfterPurchases": 2, "loyalAfterDays": 365,
             "senderName": "Ana at Acme", "valueProposition": "grow your blog's conversions", "askCooldownDays": 30}
}`

func validProgram(t *testing.T) *Program {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(specProgram)))
	dec.DisallowUnknownFields()
	var p Program
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decode the example program: %v", err)
	}
	return &p
}

func TestValidProgramsPass(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *Program)
	}{
		{"the example program", func(p *Program) {}},
		{"a shop and no landing page (the hosted friend page)", func(p *Program) {
			p.LandingURL, p.ShopURL = "", "https://shop.example.com/store"
		}},
		{"a multi-step program with a percent rule", func(p *Program) {
			p.Milestones = []string{"signup", "demo", "training", "purchase"}
			p.AdvocateRewards = []Rule{
				{Milestone: "demo", Type: RuleFixed, Amount: 1000, Kind: "cash"},
				{Milestone: "training", Type: RuleFixed, Amount: 1000, Kind: "cash"},
				{Milestone: "purchase", Type: RulePercent, Percent: 10, MaxAmount: 5000, MinAmount: 2000, Kind: "store_credit"},
			}
		}},
		{"a one-sided friend program", func(p *Program) { p.AdvocateRewards = nil }},
		{"a fixed free product described", func(p *Program) {
			p.AdvocateRewards = []Rule{{Milestone: "purchase", Type: RuleFixed, Kind: "free_product", Description: "a tote bag"}}
		}},
		{"a bounded last tier", func(p *Program) { p.AdvocateRewards[0].Tiers[1].UpTo = 20 }},
		{"a donation with its charity", func(p *Program) {
			p.RefereeRewards = []Rule{{Milestone: "signup", Type: RuleFixed, Amount: 500, Kind: "donation", Charity: "Ocean Cleanup"}}
		}},
		{"a code prefix with a dash", func(p *Program) { p.Codes.Prefix = "Acme-" }},
		{"a landing URL with its own query", func(p *Program) { p.LandingURL = "http://shop.example.com/invite?utm_source=ref" }},
		{"a shop URL", func(p *Program) { p.ShopURL = "https://shop.example.com/?utm_source=friend" }},
		{"a program with an end", func(p *Program) { p.EndsAt = ptrTo(p.StartsAt.AddDate(0, 1, 0)) }},
		{"another currency", func(p *Program) { p.Currency = "MYR" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validProgram(t)
			tt.change(p)
			if err := p.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateNamesTheFieldAtFault(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	fixed := func(r Rule) Rule {
		if r.Milestone == "" {
			r.Milestone = "purchase"
		}
		if r.Kind == "" {
			r.Kind = "cash"
		}
		return r
	}
	tests := []struct {
		name   string
		change func(p *Program)
		field  string
	}{
		{"empty name", func(p *Program) { p.Name = "  " }, "name"},
		{"name too long", func(p *Program) { p.Name = long(201) }, "name"},
		{"name with a line break", func(p *Program) { p.Name = "Hi\r\nBcc: x@example.com" }, "name"},
		{"empty status", func(p *Program) { p.Status = "" }, "status"},
		{"unknown status", func(p *Program) { p.Status = "live" }, "status"},
		{"lower-case currency", func(p *Program) { p.Currency = "usd" }, "currency"},
		{"unknown currency", func(p *Program) { p.Currency = "XYZ" }, "currency"},
		{"withdrawn currency", func(p *Program) { p.Currency = "HRK" }, "currency"},
		{"neither landing nor shop URL", func(p *Program) { p.LandingURL, p.ShopURL = "", "" }, "landingUrl"},
		{"no landing URL, a relative shop URL", func(p *Program) { p.LandingURL, p.ShopURL = "", "/shop" }, "shopUrl"},
		{"relative landing URL", func(p *Program) { p.LandingURL = "/invite" }, "landingUrl"},
		{"landing URL without scheme", func(p *Program) { p.LandingURL = "shop.example.com/invite" }, "landingUrl"},
		{"ftp landing URL", func(p *Program) { p.LandingURL = "ftp://shop.example.com/" }, "landingUrl"},
		{"landing URL too long", func(p *Program) { p.LandingURL = "https://shop.example.com/" + long(2048) }, "landingUrl"},
		{"landing URL with a ref", func(p *Program) { p.LandingURL = "https://shop.example.com/?a=1&ref=OLD" }, "landingUrl"},
		{"relative shop URL", func(p *Program) { p.ShopURL = "/shop" }, "shopUrl"},
		{"javascript shop URL", func(p *Program) { p.ShopURL = "javascript:alert(1)" }, "shopUrl"},
		{"shop URL with a ref", func(p *Program) { p.ShopURL = "https://shop.example.com/?ref=OLD" }, "shopUrl"},
		{"attribution window too long", func(p *Program) { p.AttributionWindowDays = 3651 }, "attributionWindowDays"},
		{"negative hold", func(p *Program) { p.HoldDays = -1 }, "holdDays"},
		{"negative reward expiry", func(p *Program) { p.RewardExpiresInDays = -1 }, "rewardExpiresInDays"},
		{"ends before it starts", func(p *Program) { p.EndsAt = ptrTo(p.StartsAt.Add(-time.Hour)) }, "endsAt"},
		{"ends when it starts", func(p *Program) { p.EndsAt = ptrTo(*p.StartsAt) }, "endsAt"},
		{"prefix too long", func(p *Program) { p.Codes.Prefix = "ABCDEFGHIJKLM" }, "codes.prefix"},
		{"prefix with a space", func(p *Program) { p.Codes.Prefix = "AC ME" }, "codes.prefix"},
		{"negative max uses", func(p *Program) { p.Codes.MaxUses = -1 }, "codes.maxUses"},
		{"code expiry too long", func(p *Program) { p.Codes.ExpiresInDays = 4000 }, "codes.expiresInDays"},
		{"no milestones", func(p *Program) { p.Milestones = nil }, "milestones"},
		{"too many milestones", func(p *Program) {
			for i := range 21 {
				p.Milestones = append(p.Milestones, "m"+strings.Repeat("x", i))
			}
		}, "milestones"},
		{"milestone in upper case", func(p *Program) { p.Milestones[1] = "Purchase" }, "milestones[1]"},
		{"milestone listed twice", func(p *Program) { p.Milestones = []string{"signup", "purchase", "signup"} }, "milestones[2]"},
		{"rule for an unknown milestone", func(p *Program) { p.AdvocateRewards[1].Milestone = "demo" }, "advocateRewards[1].milestone"},
		{"unknown rule type", func(p *Program) { p.RefereeRewards[0].Type = "flat" }, "refereeRewards[0].type"},
		{"unknown kind", func(p *Program) { p.RefereeRewards[0].Kind = "coupon" }, "refereeRewards[0].kind"},
		{"donation without charity", func(p *Program) { p.RefereeRewards[0].Kind = "donation" }, "refereeRewards[0].charity"},
		{"negative amount", func(p *Program) { p.RefereeRewards[0].Amount = -1 }, "refereeRewards[0].amount"},
		{"amount over 1e12", func(p *Program) { p.RefereeRewards[0].Amount = 1_000_000_000_001 }, "refereeRewards[0].amount"},
		{"negative max amount", func(p *Program) { p.RefereeRewards[0].MaxAmount = -5 }, "refereeRewards[0].maxAmount"},
		{"negative min amount", func(p *Program) { p.RefereeRewards[0].MinAmount = -5 }, "refereeRewards[0].minAmount"},
		{"fixed without amount", func(p *Program) { p.RefereeRewards[0].Amount = 0 }, "refereeRewards[0].amount"},
		{"fixed free product without description", func(p *Program) {
			p.RefereeRewards[0] = fixed(Rule{Milestone: "signup", Type: RuleFixed, Kind: "free_product"})
		}, "refereeRewards[0].description"},
		{"fixed with tiers", func(p *Program) { p.RefereeRewards[0].Tiers = []Tier{{Amount: 1}} }, "refereeRewards[0].tiers"},
		{"no tiers", func(p *Program) { p.AdvocateRewards[0].Tiers = nil }, "advocateRewards[0].tiers"},
		{"too many tiers", func(p *Program) {
			p.AdvocateRewards[0].Tiers = nil
			for i := range 21 {
				p.AdvocateRewards[0].Tiers = append(p.AdvocateRewards[0].Tiers, Tier{UpTo: i + 1, Amount: 100})
			}
		}, "advocateRewards[0].tiers"},
		{"negative tier amount", func(p *Program) { p.AdvocateRewards[0].Tiers[0].Amount = -1 }, "advocateRewards[0].tiers[0].amount"},
		{"unbounded tier before the last", func(p *Program) { p.AdvocateRewards[0].Tiers[0].UpTo = 0 }, "advocateRewards[0].tiers[0].upTo"},
		{"tiers not increasing", func(p *Program) {
			p.AdvocateRewards[0].Tiers = []Tier{{UpTo: 5, Amount: 1}, {UpTo: 5, Amount: 2}, {Amount: 3}}
		}, "advocateRewards[0].tiers[1].upTo"},
		{"negative upTo", func(p *Program) { p.AdvocateRewards[0].Tiers[0].UpTo = -3 }, "advocateRewards[0].tiers[0].upTo"},
		{"tiered with an amount", func(p *Program) { p.AdvocateRewards[0].Amount = 1000 }, "advocateRewards[0].amount"},
		{"percent zero", func(p *Program) {
			p.AdvocateRewards = append(p.AdvocateRewards, fixed(Rule{Type: RulePercent}))
		}, "advocateRewards[2].percent"},
		{"percent over 100", func(p *Program) {
			p.AdvocateRewards = append(p.AdvocateRewards, fixed(Rule{Type: RulePercent, Percent: 101}))
		}, "advocateRewards[2].percent"},
		{"percent on a fixed rule", func(p *Program) { p.RefereeRewards[0].Percent = 10 }, "refereeRewards[0].percent"},
		{"threshold without count", func(p *Program) { p.AdvocateRewards[1].AtCount = 0 }, "advocateRewards[1].atCount"},
		{"threshold without amount or description", func(p *Program) { p.AdvocateRewards[1].Description = "" }, "advocateRewards[1].description"},
		{"atCount on a tiered rule", func(p *Program) { p.AdvocateRewards[0].AtCount = 3 }, "advocateRewards[0].atCount"},
		{"description too long", func(p *Program) { p.AdvocateRewards[1].Description = long(501) }, "advocateRewards[1].description"},
		{"too many rules", func(p *Program) {
			for range 50 {
				p.RefereeRewards = append(p.RefereeRewards, p.RefereeRewards[0])
			}
		}, "refereeRewards"},
		{"multiplier without name", func(p *Program) { p.Multipliers[0].Name = "" }, "multipliers[0].name"},
		{"multiplier without start", func(p *Program) { p.Multipliers[0].From = time.Time{} }, "multipliers[0].from"},
		{"multiplier ends before it starts", func(p *Program) { p.Multipliers[0].To = p.Multipliers[0].From }, "multipliers[0].to"},
		{"multiplier factor zero", func(p *Program) { p.Multipliers[0].Factor = 0 }, "multipliers[0].factor"},
		{"multiplier factor over 100", func(p *Program) { p.Multipliers[0].Factor = 101 }, "multipliers[0].factor"},
		{"negative reward limit", func(p *Program) { p.Limits.MaxRewardsPerAdvocate = -1 }, "limits.maxRewardsPerAdvocate"},
		{"negative amount limit", func(p *Program) { p.Limits.MaxAmountPerAdvocate = -1 }, "limits.maxAmountPerAdvocate"},
		{"negative velocity limit", func(p *Program) { p.Limits.MaxConversionsPerAdvocatePerDay = -1 }, "limits.maxConversionsPerAdvocatePerDay"},
		{"prize rank zero", func(p *Program) { p.Contest.Prizes[0].Rank = 0 }, "contest.prizes[0].rank"},
		{"prize rank below what a leaderboard shows", func(p *Program) { p.Contest.Prizes[0].Rank = 101 }, "contest.prizes[0].rank"},
		{"two prizes for one rank", func(p *Program) {
			p.Contest.Prizes = append(p.Contest.Prizes, Prize{Rank: 1, Kind: "cash", Amount: 1})
		}, "contest.prizes[1].rank"},
		{"prize of unknown kind", func(p *Program) { p.Contest.Prizes[0].Kind = "trophy" }, "contest.prizes[0].kind"},
		{"negative prize", func(p *Program) { p.Contest.Prizes[0].Amount = -1 }, "contest.prizes[0].amount"},
		{"negative loyal purchases", func(p *Program) { p.Emails.LoyalAfterPurchases = -1 }, "emails.loyalAfterPurchases"},
		{"negative loyal days", func(p *Program) { p.Emails.LoyalAfterDays = -1 }, "emails.loyalAfterDays"},
		{"negative ask cooldown", func(p *Program) { p.Emails.AskCooldownDays = -1 }, "emails.askCooldownDays"},
		{"sender name too long", func(p *Program) { p.Emails.SenderName = long(101) }, "emails.senderName"},
		{"sender name with a header break", func(p *Program) { p.Emails.SenderName = "Ana\nBcc: x" }, "emails.senderName"},
		{"value proposition too long", func(p *Program) { p.Emails.ValueProposition = Localized{"en": long(121)} }, "emails.valueProposition.en"},
		{"value proposition as a noun phrase", func(p *Program) {
			p.Emails.ValueProposition = Localized{"en": "fresh beans delivered every week"}
		}, "emails.valueProposition.en"},
		{"value proposition in English for Thai", func(p *Program) {
			p.Emails.ValueProposition = Localized{"th": "enjoy single-origin coffee"}
		}, "emails.valueProposition.th"},
		{"value proposition in an unknown language", func(p *Program) { p.Emails.ValueProposition = Localized{"fr": "savourer"} }, "emails.valueProposition.fr"},
		{"unknown tone", func(p *Program) { p.Emails.Tone = "casual" }, "emails.tone"},
		{"unknown Thai particle", func(p *Program) { p.Emails.ThaiParticle = "นะ" }, "emails.thaiParticle"},
		{"negative reminder delay", func(p *Program) { p.Emails.ReminderAfterDays = -1 }, "emails.reminderAfterDays"},
		{"too many reminders", func(p *Program) { p.Emails.MaxReminders = 6 }, "emails.maxReminders"},
		{"business name too long", func(p *Program) { p.Business.Name = long(101) }, "business.name"},
		{"business address with a tab", func(p *Program) { p.Business.Address = "1 Main St\tSpringfield" }, "business.address"},
		{"reply-to not an address", func(p *Program) { p.Business.ReplyTo = "Ana <ana@example.com>" }, "business.replyTo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validProgram(t)
			tt.change(p)
			err := p.Validate()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate() = %v, want an *Error for %s", err, tt.field)
			}
			if e.Field != tt.field || e.Code != "invalid_request" || e.Status != 400 || !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate() = %v (field %q), want invalid_request on %s", err, e.Field, tt.field)
			}
			if e.Msg == "" {
				t.Error("the error has no message")
			}
		})
	}
}

func TestEveryCurrencyCodeIsThreeUpperCaseLetters(t *testing.T) {
	if len(isoCurrencies) < 150 {
		t.Errorf("only %d currencies", len(isoCurrencies))
	}
	for c := range isoCurrencies {
		if len(c) != 3 || strings.ToUpper(c) != c {
			t.Errorf("currency %q is not a 3-letter upper-case code", c)
		}
	}
	for _, c := range []string{"USD", "EUR", "GBP", "MYR", "IDR", "THB", "CNY", "SGD", "JPY"} {
		if !isoCurrencies[c] {
			t.Errorf("%s is missing", c)
		}
	}
}

func TestValidateChecksTheRulesAndEdgesFields(t *testing.T) {
	for _, c := range []struct {
		change func(*Program)
		field  string
	}{
		{func(p *Program) { p.HonorReferralsDays = -1 }, "honorReferralsDays"},
		{func(p *Program) { p.HonorReferralsDays = 3651 }, "honorReferralsDays"},
		{func(p *Program) { p.BlockedEmailDomains = []string{"mailinator.com", "Bad Domain"} }, "blockedEmailDomains[1]"},
		{func(p *Program) { p.BlockedEmailDomains = []string{"x.io", "x.io"} }, "blockedEmailDomains[1]"},
	} {
		p := testProgram([]Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "cash"}}, nil)
		c.change(p)
		var de *Error
		if err := p.Validate(); !errors.As(err, &de) || de.Field != c.field {
			t.Errorf("%s: got %v", c.field, err)
		}
	}
	p := testProgram([]Rule{{Milestone: "purchase", Type: RuleFixed, Amount: 1000, Kind: "cash"}}, nil)
	p.HonorReferralsDays, p.BlockedEmailDomains = 30, []string{"mailinator.com", "temp-mail.org"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}
