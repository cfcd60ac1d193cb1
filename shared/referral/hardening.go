package referral

import (
	"fmt"
	"time"
)

// Bounds that keep every number a program stores far from overflow in the arithmetic done
// on it (counts compared, days added to times) and every time within a sane calendar.
const (
	maxCount     = 1_000_000_000 // any count: uses, ranks, tiers' upTo, purchases
	maxLoyalDays = 36500         // "a customer for at least D days": up to a century
	earliestYear = 2000
	latestYear   = 2200
	// maxPrizeRank: a prize goes to a rank the leaderboard shows (at most 100 a page) and the
	// month's leaderboard keeps exactly (its best 150 advocates, see store.BoardSize).
	maxPrizeRank    = 100
	maxCurrencyCode = 3
)

// ValidText checks a free-text input field: valid UTF-8, at most maxLen characters, no
// control characters, and not blank when required.
func ValidText(field, s string, maxLen int, required bool) error {
	return checkText(field, s, maxLen, required)
}

// ValidCurrency checks an ISO 4217 currency code in upper case (USD, MYR, IDR).
func ValidCurrency(field, c string) error {
	if len(c) != maxCurrencyCode || !isoCurrencies[c] {
		return Invalid(field, "%s must be an active ISO 4217 code in upper case, such as USD", field)
	}
	return nil
}

// ValidTime checks that t lies in the years the API accepts (2000 to 2200).
func ValidTime(field string, t time.Time) error {
	if y := t.UTC().Year(); y < earliestYear || y > latestYear {
		return Invalid(field, "%s must be a time between the years %d and %d", field, earliestYear, latestYear)
	}
	return nil
}

// bound is an upper bound on one count of a program.
type bound struct {
	field  string
	v, max int
}

// checkBounds checks what Validate's per-field rules leave open: upper bounds on counts and
// days, and the calendar range of times.
func (p *Program) checkBounds() error {
	if p.StartsAt != nil {
		if err := ValidTime("startsAt", *p.StartsAt); err != nil {
			return err
		}
	}
	if p.EndsAt != nil {
		if err := ValidTime("endsAt", *p.EndsAt); err != nil {
			return err
		}
	}
	for i, m := range p.Multipliers {
		field := fmt.Sprintf("multipliers[%d]", i)
		if err := ValidTime(field+".from", m.From); err != nil {
			return err
		}
		if err := ValidTime(field+".to", m.To); err != nil {
			return err
		}
	}
	counts := []bound{
		{"codes.maxUses", p.Codes.MaxUses, maxCount},
		{"limits.maxRewardsPerAdvocate", p.Limits.MaxRewardsPerAdvocate, maxCount},
		{"limits.maxConversionsPerAdvocatePerDay", p.Limits.MaxConversionsPerAdvocatePerDay, maxCount},
		{"emails.loyalAfterPurchases", p.Emails.LoyalAfterPurchases, maxCount},
		{"emails.loyalAfterDays", p.Emails.LoyalAfterDays, maxLoyalDays},
		{"emails.askCooldownDays", p.Emails.AskCooldownDays, maxDays},
	}
	for _, side := range []struct {
		field string
		rules []Rule
	}{{"advocateRewards", p.AdvocateRewards}, {"refereeRewards", p.RefereeRewards}} {
		for i, r := range side.rules {
			field := fmt.Sprintf("%s[%d]", side.field, i)
			counts = append(counts, bound{field + ".atCount", r.AtCount, maxCount})
			for j, t := range r.Tiers {
				counts = append(counts, bound{fmt.Sprintf("%s.tiers[%d].upTo", field, j), t.UpTo, maxCount})
			}
		}
	}
	for i, z := range p.Contest.Prizes {
		counts = append(counts, bound{fmt.Sprintf("contest.prizes[%d].rank", i), z.Rank, maxPrizeRank})
	}
	for _, c := range counts {
		if c.v > c.max {
			return Invalid(c.field, "%s must be at most %d", c.field, c.max)
		}
	}
	return nil
}
