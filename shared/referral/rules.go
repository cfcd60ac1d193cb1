package referral

import (
	"fmt"
	"math"
	"time"
)

// ruleInput is what rule pricing needs to know about the conversion being evaluated.
type ruleInput struct {
	currency   string // the program currency
	amount     *Money
	occurredAt time.Time
	count      int // the advocate's count for the milestone, this conversion included
	multiplier []Multiplier
}

// award is what a rule gives before the advocate limits: an amount in minor units of the
// program currency (when monetary) and the notes that explain it.
type award struct {
	monetary bool
	amount   int64
	notes    []string
}

// price evaluates one rule whose milestone matches the conversion. It returns the award, or a
// non-empty reason why the rule gives nothing; notes gathered so far are kept in either case.
//
// A monetary amount is the rule's base amount × every multiplier in force at occurredAt, then
// the rule's maxAmount. Arithmetic is on int64 minor units and never overflows: an amount that
// would is clamped to maxAmount when the rule has one, and skipped otherwise.
func (c ruleInput) price(r Rule) (a award, skip string) {
	if r.MinAmount > 0 {
		got, ok := c.conversionAmount()
		if !ok {
			return a, c.noAmount(fmt.Sprintf("below minimum amount: no conversion amount, minimum %d %s", r.MinAmount, c.currency))
		}
		if got < r.MinAmount {
			return a, fmt.Sprintf("below minimum amount: %d < %d %s", got, r.MinAmount, c.currency)
		}
	}

	var base int64
	switch r.Type {
	case RuleFixed:
		if r.Amount == 0 && !isMonetaryKind(r.Kind) {
			a.notes = append(a.notes, "fixed reward")
			return a, ""
		}
		base = r.Amount
		a.notes = append(a.notes, fmt.Sprintf("fixed %d %s", r.Amount, c.currency))
	case RuleTiered:
		i := tierFor(r.Tiers, c.count)
		if i < 0 {
			return a, fmt.Sprintf("no tier for referral %d (tiers end at %d)", c.count, lastUpTo(r.Tiers))
		}
		base = r.Tiers[i].Amount
		a.notes = append(a.notes, fmt.Sprintf("tier %d of %d (referral %d)", i+1, len(r.Tiers), c.count))
	case RulePercent:
		got, ok := c.conversionAmount()
		if !ok {
			return a, c.noAmount("no conversion amount")
		}
		pct := max(r.Percent, 0)
		var fits bool
		base, fits = percentOf(got, pct)
		a.notes = append(a.notes, fmt.Sprintf("%d%% of %d %s", pct, got, c.currency))
		if !fits {
			return c.overflow(r, a)
		}
	case RuleThreshold:
		if c.count != r.AtCount {
			return a, fmt.Sprintf("threshold at %d, count is %d", r.AtCount, c.count)
		}
		a.notes = append(a.notes, fmt.Sprintf("reached %d referrals", r.AtCount))
		if r.Amount == 0 {
			return a, ""
		}
		base = r.Amount
	default:
		return a, fmt.Sprintf("unknown rule type %q", r.Type)
	}

	a.monetary = true
	a.amount = max(base, 0)
	fits := true
	for _, m := range c.multiplier {
		// Factors below 1 would shrink or negate amounts; Validate rejects them, the engine ignores them.
		if m.Factor < 1 || c.occurredAt.Before(m.From) || !c.occurredAt.Before(m.To) {
			continue
		}
		a.notes = append(a.notes, fmt.Sprintf("×%d %s", m.Factor, m.Name))
		if fits {
			a.amount, fits = mulChecked(a.amount, m.Factor)
		}
	}
	if !fits {
		return c.overflow(r, a)
	}
	if r.MaxAmount > 0 && a.amount > r.MaxAmount {
		a.amount = r.MaxAmount
		a.notes = append(a.notes, fmt.Sprintf("capped at %d", r.MaxAmount))
	}
	if a.amount == 0 {
		return a, "amount is zero"
	}
	return a, ""
}

// overflow settles an amount too large for int64: the rule's cap if it has one, else nothing.
func (c ruleInput) overflow(r Rule, a award) (award, string) {
	if r.MaxAmount <= 0 {
		return a, "amount overflow"
	}
	a.monetary = true
	a.amount = r.MaxAmount
	a.notes = append(a.notes, fmt.Sprintf("capped at %d", r.MaxAmount))
	return a, ""
}

// conversionAmount is the conversion amount in the program currency (never negative); ok is
// false when there is no amount or it is in another currency.
func (c ruleInput) conversionAmount() (int64, bool) {
	if c.amount == nil || (c.amount.Currency != "" && c.amount.Currency != c.currency) {
		return 0, false
	}
	return max(c.amount.Amount, 0), true
}

// noAmount says why the conversion has no usable amount: none at all (reason), or one in
// another currency.
func (c ruleInput) noAmount(reason string) string {
	if c.amount == nil {
		return reason
	}
	return fmt.Sprintf("conversion currency %s is not the program currency %s", c.amount.Currency, c.currency)
}

// tierFor is the index of the first tier that covers count, or -1.
func tierFor(tiers []Tier, count int) int {
	for i, t := range tiers {
		if t.UpTo == 0 || t.UpTo >= count {
			return i
		}
	}
	return -1
}

func lastUpTo(tiers []Tier) int {
	if len(tiers) == 0 {
		return 0
	}
	return tiers[len(tiers)-1].UpTo
}

// isMonetaryKind reports whether a reward kind is worth money (everything but a free product
// or an upgrade, which are described instead).
func isMonetaryKind(kind string) bool {
	return kind != "free_product" && kind != "upgrade"
}

// mulChecked multiplies two non-negative int64s; ok is false if the product overflows.
func mulChecked(a, b int64) (int64, bool) {
	if a != 0 && b > math.MaxInt64/a {
		return 0, false
	}
	return a * b, true
}

// percentOf is floor(amount×pct/100) for non-negative inputs, computed without the
// intermediate product so that large amounts do not overflow.
func percentOf(amount, pct int64) (int64, bool) {
	hi, ok := mulChecked(amount/100, pct)
	if !ok {
		return 0, false
	}
	lo, ok := mulChecked(amount%100, pct)
	if !ok {
		return 0, false
	}
	lo /= 100
	if hi > math.MaxInt64-lo {
		return 0, false
	}
	return hi + lo, true
}
