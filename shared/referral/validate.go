package referral

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of a program's settings.
const (
	maxDays           = 3650              // any setting in days: ten years
	maxMinorUnits     = 1_000_000_000_000 // any amount: 10 billion in a two-decimal currency
	maxMilestones     = 20
	maxRulesPerSide   = 50
	maxTiers          = 20
	maxMultipliers    = 50
	maxPrizes         = 100
	maxURLLength      = 2048
	maxBlockedDomains = 100
	// maxContestCloseAfterHours: a month's contest closes by itself within 30 days of its end.
	maxContestCloseAfterHours = 720
)

var (
	milestoneRE  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	codePrefixRE = regexp.MustCompile(`^[A-Za-z0-9]{0,12}-?$`)
	domainRE     = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// Validate checks a program as an admin submitted it and returns an invalid_request *Error
// naming the JSON path of the first problem (for example "advocateRewards[1].tiers[0].amount").
// It does not fill defaults: an empty status is an error here.
func (p *Program) Validate() error {
	if err := checkText("name", p.Name, 200, true); err != nil {
		return err
	}
	switch p.Status {
	case ProgramActive, ProgramPaused, ProgramArchived:
	default:
		return Invalid("status", "status must be active, paused or archived")
	}
	if !isoCurrencies[p.Currency] {
		return Invalid("currency", "currency must be an active ISO 4217 code in upper case, such as USD")
	}
	if p.LandingURL == "" && p.ShopURL == "" {
		return Invalid("landingUrl", "landingUrl or shopUrl is required: the page a friend's link leads to, or, without one, the shop the hosted friend page sends them to")
	}
	if p.LandingURL != "" {
		if err := checkShareURL("landingUrl", p.LandingURL); err != nil {
			return err
		}
	}
	if p.ShopURL != "" {
		if err := checkShareURL("shopUrl", p.ShopURL); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		field string
		v     int
	}{
		{"attributionWindowDays", p.AttributionWindowDays},
		{"holdDays", p.HoldDays},
		{"rewardExpiresInDays", p.RewardExpiresInDays},
		{"honorReferralsDays", p.HonorReferralsDays},
	} {
		if err := checkRange(f.field, int64(f.v), 0, maxDays); err != nil {
			return err
		}
	}
	if p.StartsAt != nil && p.EndsAt != nil && !p.StartsAt.Before(*p.EndsAt) {
		return Invalid("endsAt", "endsAt must be after startsAt")
	}

	if len(p.BlockedEmailDomains) > maxBlockedDomains {
		return Invalid("blockedEmailDomains", "at most %d blocked email domains", maxBlockedDomains)
	}
	for i, d := range p.BlockedEmailDomains {
		field := fmt.Sprintf("blockedEmailDomains[%d]", i)
		if len(d) > 253 || !domainRE.MatchString(d) {
			return Invalid(field, "a blocked email domain is a lower-case domain name like mailinator.com")
		}
		if slices.Index(p.BlockedEmailDomains, d) < i {
			return Invalid(field, "domain %q is listed twice", d)
		}
	}

	if !codePrefixRE.MatchString(p.Codes.Prefix) {
		return Invalid("codes.prefix", "codes.prefix must be up to 12 letters or digits, optionally ending with '-'")
	}
	if p.Codes.MaxUses < 0 {
		return Invalid("codes.maxUses", "codes.maxUses must be 0 (no limit) or more")
	}
	if err := checkRange("codes.expiresInDays", int64(p.Codes.ExpiresInDays), 0, maxDays); err != nil {
		return err
	}

	if len(p.Milestones) == 0 || len(p.Milestones) > maxMilestones {
		return Invalid("milestones", "a program lists 1 to %d milestones", maxMilestones)
	}
	for i, m := range p.Milestones {
		field := fmt.Sprintf("milestones[%d]", i)
		if !milestoneRE.MatchString(m) {
			return Invalid(field, "a milestone is a lower-case name of up to 40 letters, digits and '_', starting with a letter")
		}
		if slices.Index(p.Milestones, m) < i {
			return Invalid(field, "milestone %q is listed twice", m)
		}
	}

	for _, side := range []struct {
		field string
		rules []Rule
		role  string
	}{{"advocateRewards", p.AdvocateRewards, RoleAdvocate}, {"refereeRewards", p.RefereeRewards, RoleReferee}} {
		if len(side.rules) > maxRulesPerSide {
			return Invalid(side.field, "at most %d rules per side", maxRulesPerSide)
		}
		for i, r := range side.rules {
			path := fmt.Sprintf("%s[%d]", side.field, i)
			if err := p.validateRule(path, r); err != nil {
				return err
			}
			if err := validateDelivery(path, side.role, r); err != nil {
				return err
			}
		}
	}
	if err := p.checkStripeFriendOffer(); err != nil {
		return err
	}
	switch p.Stripe.CustomerIDField {
	case "", StripeFieldStripeCustomerID, StripeFieldCustomerID:
	default:
		return Invalid("stripe.customerIdField", "stripe.customerIdField must be %s (the customer's stripeCustomerId attribute) or %s (our customer id is the Stripe customer id)",
			StripeFieldStripeCustomerID, StripeFieldCustomerID)
	}

	if len(p.Multipliers) > maxMultipliers {
		return Invalid("multipliers", "at most %d multipliers", maxMultipliers)
	}
	for i, m := range p.Multipliers {
		field := fmt.Sprintf("multipliers[%d]", i)
		if err := checkText(field+".name", m.Name, 100, true); err != nil {
			return err
		}
		if m.From.IsZero() {
			return Invalid(field+".from", "a multiplier needs a start time")
		}
		if !m.From.Before(m.To) {
			return Invalid(field+".to", "a multiplier must end after it starts")
		}
		if err := checkRange(field+".factor", m.Factor, 1, 100); err != nil {
			return err
		}
	}

	if p.Limits.MaxRewardsPerAdvocate < 0 {
		return Invalid("limits.maxRewardsPerAdvocate", "limits.maxRewardsPerAdvocate must be 0 (no limit) or more")
	}
	if err := checkAmount("limits.maxAmountPerAdvocate", p.Limits.MaxAmountPerAdvocate); err != nil {
		return err
	}
	if p.Limits.MaxConversionsPerAdvocatePerDay < 0 {
		return Invalid("limits.maxConversionsPerAdvocatePerDay", "limits.maxConversionsPerAdvocatePerDay must be 0 (no limit) or more")
	}

	if len(p.Contest.Prizes) > maxPrizes {
		return Invalid("contest.prizes", "at most %d prizes", maxPrizes)
	}
	for i, z := range p.Contest.Prizes {
		field := fmt.Sprintf("contest.prizes[%d]", i)
		if z.Rank < 1 {
			return Invalid(field+".rank", "a prize rank is 1 or more")
		}
		if slices.IndexFunc(p.Contest.Prizes, func(o Prize) bool { return o.Rank == z.Rank }) < i {
			return Invalid(field+".rank", "two prizes for rank %d", z.Rank)
		}
		if err := checkKind(field, z.Kind, z.Charity); err != nil {
			return err
		}
		if err := checkAmount(field+".amount", z.Amount); err != nil {
			return err
		}
		if err := checkText(field+".description", z.Description, 500, false); err != nil {
			return err
		}
		if err := validateDelivery(field, RoleAdvocate, Rule{Type: RuleFixed, Kind: z.Kind, Amount: z.Amount, Fulfilment: z.Fulfilment}); err != nil {
			return err
		}
	}
	if err := checkRange("contest.closeAfterHours", int64(p.Contest.CloseAfterHours), 0, maxContestCloseAfterHours); err != nil {
		return err
	}

	if err := p.validateEmails(); err != nil {
		return err
	}
	return p.checkBounds()
}

// validateRule checks one reward rule; field is its JSON path, such as "advocateRewards[1]".
func (p *Program) validateRule(field string, r Rule) error {
	if p.MilestoneIndex(r.Milestone) < 0 {
		return Invalid(field+".milestone", "the rule's milestone must be one of the program's milestones")
	}
	if !slices.Contains([]string{RuleFixed, RuleTiered, RulePercent, RuleThreshold}, r.Type) {
		return Invalid(field+".type", "type must be fixed, tiered, percent or threshold")
	}
	if err := checkKind(field, r.Kind, r.Charity); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"amount", r.Amount}, {"maxAmount", r.MaxAmount}, {"minAmount", r.MinAmount}} {
		if err := checkAmount(field+"."+f.name, f.v); err != nil {
			return err
		}
	}
	if err := checkText(field+".description", r.Description, 500, false); err != nil {
		return err
	}
	described := strings.TrimSpace(r.Description) != ""

	// Fields another rule type would use are rejected rather than ignored: a fixed rule with
	// tiers is a mistake that would otherwise pay the wrong amount without a word.
	if r.Type != RuleTiered && len(r.Tiers) > 0 {
		return Invalid(field+".tiers", "tiers are only used by tiered rules")
	}
	if r.Type != RulePercent && r.Percent != 0 {
		return Invalid(field+".percent", "percent is only used by percent rules")
	}
	if r.Type != RuleThreshold && r.AtCount != 0 {
		return Invalid(field+".atCount", "atCount is only used by threshold rules")
	}
	if (r.Type == RuleTiered || r.Type == RulePercent) && r.Amount != 0 {
		return Invalid(field+".amount", "a %s rule takes its amount from its %s, not from amount", r.Type, map[string]string{RuleTiered: "tiers", RulePercent: "percent"}[r.Type])
	}

	switch r.Type {
	case RuleFixed:
		// A fixed non-monetary reward (a free product for every friend who buys) is described
		// instead of priced.
		switch {
		case r.Amount == 0 && isMonetaryKind(r.Kind):
			return Invalid(field+".amount", "a fixed rule needs an amount above 0")
		case r.Amount == 0 && !described:
			return Invalid(field+".description", "a %s reward without an amount needs a description", r.Kind)
		}
	case RuleTiered:
		if len(r.Tiers) == 0 || len(r.Tiers) > maxTiers {
			return Invalid(field+".tiers", "a tiered rule has 1 to %d tiers", maxTiers)
		}
		for j, t := range r.Tiers {
			tf := fmt.Sprintf("%s.tiers[%d]", field, j)
			if err := checkAmount(tf+".amount", t.Amount); err != nil {
				return err
			}
			switch {
			case t.UpTo < 0:
				return Invalid(tf+".upTo", "upTo must be 0 (no upper bound) or more")
			case t.UpTo == 0 && j < len(r.Tiers)-1:
				return Invalid(tf+".upTo", "only the last tier may be unbounded (upTo 0)")
			case j > 0 && t.UpTo != 0 && t.UpTo <= r.Tiers[j-1].UpTo:
				return Invalid(tf+".upTo", "tiers must have strictly increasing upTo")
			}
		}
	case RulePercent:
		if err := checkRange(field+".percent", r.Percent, 1, 100); err != nil {
			return err
		}
	case RuleThreshold:
		if r.AtCount < 1 {
			return Invalid(field+".atCount", "a threshold rule needs atCount of 1 or more")
		}
		if r.Amount == 0 && !described {
			return Invalid(field+".description", "a threshold rule needs an amount above 0 or a description")
		}
	}
	return nil
}

// checkKind checks a reward kind and the charity a donation needs; field is the rule or prize path.
func checkKind(field, k, charity string) error {
	if !slices.Contains(RewardKinds, k) {
		return Invalid(field+".kind", "kind must be one of %s", strings.Join(RewardKinds, ", "))
	}
	if k == "donation" && strings.TrimSpace(charity) == "" {
		return Invalid(field+".charity", "a donation needs the charity's name")
	}
	return checkText(field+".charity", charity, 200, false)
}

// checkAmount checks an amount in minor units: 0 to 1e12.
func checkAmount(field string, v int64) error {
	return checkRange(field, v, 0, maxMinorUnits)
}

func checkRange(field string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return Invalid(field, "%s must be between %d and %d", field, lo, hi)
	}
	return nil
}

// checkText checks a free-text field: at most maxLen characters, valid UTF-8, no control
// characters (these strings end up in email headers and subjects), and not blank if required.
func checkText(field, s string, maxLen int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return Invalid(field, "%s is required", field)
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxLen {
		return Invalid(field, "%s must be at most %d characters of UTF-8 text", field, maxLen)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return Invalid(field, "%s must not contain control characters such as line breaks", field)
	}
	return nil
}

// checkShareURL checks that the URL in field (landingUrl, shopUrl) is an absolute http(s) URL
// that can be extended with ?ref=CODE.
func checkShareURL(field, u string) error {
	if len(u) > maxURLLength {
		return Invalid(field, "%s must be at most %d characters", field, maxURLLength)
	}
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" || parsed.Hostname() == "" {
		return Invalid(field, "%s must be an absolute http or https URL", field)
	}
	q, err := url.ParseQuery(parsed.RawQuery)
	if err != nil {
		return Invalid(field, "%s has a malformed query string", field)
	}
	if q.Has("ref") {
		return Invalid(field, "%s must not carry a ref parameter: the code is added to it", field)
	}
	return nil
}

// isoCurrencies are the active ISO 4217 currency codes that circulate (fund codes, precious metals
// and testing codes are left out: rewards are not paid in them).
var isoCurrencies = func() map[string]bool {
	m := map[string]bool{}
	for c := range strings.FieldsSeq(`
		AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
		BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
		ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD
		IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
		MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD
		OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP
		SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD
		UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG`) {
		m[c] = true
	}
	return m
}()
