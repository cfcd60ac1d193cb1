package locale

import (
	"strings"

	"github.com/referral/referrals/shared/referral"
)

// Headline is the reward a side of the program is known by, with the milestone that pays it:
// of the fixed, tiered and percent rules, the one paid at the earliest milestone (a tiered
// rule by its first tier; a percent rule only as a discount). Threshold bonuses are not a
// headline: they come later, and the thank-you names them.
func Headline(rules []referral.Rule, p *referral.Program) (Reward, string, bool) {
	best := -1
	for i, r := range rules {
		switch {
		case r.Type == referral.RuleFixed, r.Type == referral.RuleTiered && len(r.Tiers) > 0,
			r.Type == referral.RulePercent && r.Kind == "discount":
		default:
			continue
		}
		if best < 0 || p.MilestoneIndex(r.Milestone) < p.MilestoneIndex(rules[best].Milestone) {
			best = i
		}
	}
	if best < 0 {
		return Reward{}, "", false
	}
	r := rules[best]
	lr := Reward{Kind: r.Kind, Currency: p.Currency, Description: r.Description, Charity: r.Charity}
	amount := r.Amount
	switch r.Type {
	case referral.RuleTiered:
		amount = r.Tiers[0].Amount
	case referral.RulePercent:
		lr.Percent = r.Percent
	}
	if amount > 0 {
		lr.Value = &amount
	}
	if r.MinAmount > 0 {
		lr.MinOrder = &r.MinAmount
	}
	return lr, r.Milestone, true
}

// OfReward is what the phrases need of a ledger reward of a program in currency.
func OfReward(rw referral.Reward, currency string) Reward {
	lr := Reward{Kind: rw.Kind, Currency: currency, Description: rw.Description, Charity: rw.Charity}
	if rw.Value != nil {
		v := rw.Value.Amount
		lr.Value, lr.Currency = &v, rw.Value.Currency
	}
	if lr.Kind == "donation" && lr.Value != nil && strings.HasPrefix(lr.Description, "donation to ") {
		lr.Description = "" // the engine's English default; the phrase says it in the reader's language
	}
	return lr
}
