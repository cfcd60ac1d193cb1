// Package referral holds the referral domain: programs and their reward rules, customers,
// codes, referrals, conversions, rewards and the reward engine. It knows nothing of AWS or HTTP.
package referral

import "time"

// Program statuses.
const (
	ProgramActive   = "active"
	ProgramPaused   = "paused"
	ProgramArchived = "archived"
)

// Rule types.
const (
	RuleFixed     = "fixed"
	RuleTiered    = "tiered"
	RulePercent   = "percent"
	RuleThreshold = "threshold"
)

// Reward kinds.
var RewardKinds = []string{"discount", "store_credit", "points", "gift_card", "cash", "free_product", "upgrade", "donation"}

// Program is a referral campaign: its rules, windows, code policy and email settings.
type Program struct {
	ProgramID string     `json:"programId"`
	Name      string     `json:"name"`
	Status    string     `json:"status"`
	StartsAt  *time.Time `json:"startsAt"`
	EndsAt    *time.Time `json:"endsAt"`
	Currency  string     `json:"currency"`
	// LandingURL is where a friend's link leads, with ?ref=CODE added; without one (ShopURL is
	// then required), the link is the hosted friend page, /r/CODE.
	LandingURL string `json:"landingUrl"`
	// ShopURL is where the hosted friend page's button leads, with ?ref=CODE added (the
	// landing URL when empty): the shop, when the landing URL is a page of its own.
	ShopURL               string       `json:"shopUrl"`
	AttributionWindowDays int          `json:"attributionWindowDays"`
	NewCustomersOnly      bool         `json:"newCustomersOnly"`
	HonorReferralsDays    int          `json:"honorReferralsDays"`
	BlockedEmailDomains   []string     `json:"blockedEmailDomains"`
	HoldDays              int          `json:"holdDays"`
	RewardExpiresInDays   int          `json:"rewardExpiresInDays"`
	Codes                 CodePolicy   `json:"codes"`
	Milestones            []string     `json:"milestones"`
	AdvocateRewards       []Rule       `json:"advocateRewards"`
	RefereeRewards        []Rule       `json:"refereeRewards"`
	Multipliers           []Multiplier `json:"multipliers"`
	Limits                Limits       `json:"limits"`
	Contest               Contest      `json:"contest"`
	Emails                Emails       `json:"emails"`
	// AutoFulfil has the scheduler deliver rewards through their provider as soon as they
	// are approved (manual rewards still wait for the merchant's reference).
	Business   Business       `json:"business"`
	AutoFulfil bool           `json:"autoFulfil"`
	Stripe     StripeSettings `json:"stripe"`
	CreatedAt  time.Time      `json:"createdAt"`
	UpdatedAt  time.Time      `json:"updatedAt"`
	// EndedAt is when an admin last paused or archived the program (nil while it is active);
	// honorReferralsDays counts from it. It is set by the API, not by the PUT body.
	EndedAt *time.Time `json:"endedAt"`
}

// CodePolicy says how codes of a program look and how long they live. Zero means no limit.
type CodePolicy struct {
	Prefix        string `json:"prefix"`
	MaxUses       int    `json:"maxUses"`
	ExpiresInDays int    `json:"expiresInDays"`
}

// Rule is one reward rule on one side (advocate or referee) of a program.
type Rule struct {
	Milestone   string `json:"milestone"`
	Type        string `json:"type"`
	Amount      int64  `json:"amount,omitempty"`
	Tiers       []Tier `json:"tiers,omitempty"`
	Percent     int64  `json:"percent,omitempty"`
	MaxAmount   int64  `json:"maxAmount,omitempty"`
	AtCount     int    `json:"atCount,omitempty"`
	MinAmount   int64  `json:"minAmount,omitempty"`
	Kind        string `json:"kind"`
	Description string `json:"description,omitempty"`
	Charity     string `json:"charity,omitempty"`
	// Fulfilment is how the rule's rewards are delivered (manual when absent).
	Fulfilment *Delivery `json:"fulfilment,omitempty"`
}

// Tier is one step of a tiered rule: Amount for counts up to UpTo (inclusive); UpTo 0 = no upper bound.
type Tier struct {
	UpTo   int   `json:"upTo,omitempty"`
	Amount int64 `json:"amount"`
}

// Multiplier raises monetary amounts of conversions that occur in [From, To).
type Multiplier struct {
	Name   string    `json:"name"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Factor int64     `json:"factor"`
}

// Limits cap what one advocate can earn in a program. Zero means no limit.
type Limits struct {
	MaxRewardsPerAdvocate           int   `json:"maxRewardsPerAdvocate"`
	MaxAmountPerAdvocate            int64 `json:"maxAmountPerAdvocate"`
	MaxConversionsPerAdvocatePerDay int   `json:"maxConversionsPerAdvocatePerDay"`
}

// Contest lists the prizes awarded to the top ranks of a period's leaderboard. The scheduler
// closes a month's contest CloseAfterHours after the month ends.
type Contest struct {
	Prizes          []Prize `json:"prizes"`
	CloseAfterHours int     `json:"closeAfterHours"`
}

// DefaultContestCloseAfterHours is when a month's contest closes by itself when the program
// does not say.
const DefaultContestCloseAfterHours = 24

// Prize is awarded to the advocate at Rank when a contest period is closed.
type Prize struct {
	Rank        int    `json:"rank"`
	Kind        string `json:"kind"`
	Amount      int64  `json:"amount,omitempty"`
	Description string `json:"description,omitempty"`
	Charity     string `json:"charity,omitempty"`
	// Fulfilment is how the prize is delivered (manual when absent).
	Fulfilment *Delivery `json:"fulfilment,omitempty"`
}

// Emails holds a program's email settings.
type Emails struct {
	SendOnCodeCreated bool `json:"sendOnCodeCreated"`
	ThankAdvocates    bool `json:"thankAdvocates"`
	WelcomeFriends    bool `json:"welcomeFriends"` // friend-welcome to each referee when referred
	// An advocate is a long-time client (thanks-loyal) from LoyalAfterPurchases purchases or
	// LoyalAfterDays days after their first purchase; 0 means the default (2 and 365).
	LoyalAfterPurchases int    `json:"loyalAfterPurchases"`
	LoyalAfterDays      int    `json:"loyalAfterDays"`
	SenderName          string `json:"senderName"`
	// ValueProposition completes "We love helping you …" per language; a language without
	// one gets the template's general wording.
	ValueProposition Localized `json:"valueProposition"`
	Tone             string    `json:"tone"`         // business (B2B) or personal (B2C, the default)
	ThaiParticle     string    `json:"thaiParticle"` // "", ค่ะ or ครับ: ends the Thai emails' polite sentences
	AskCooldownDays  int       `json:"askCooldownDays"`
	// Reminders: an advocate with a code who has referred no one is reminded every
	// ReminderAfterDays days, at most MaxReminders times; 0 in either turns reminders off.
	ReminderAfterDays int `json:"reminderAfterDays"`
	MaxReminders      int `json:"maxReminders"`
}

// Business is who the emails come from: its name and postal address in every footer, and
// the address replies go to.
type Business struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	ReplyTo string `json:"replyTo"`
}

// Money is an amount in integer minor units of a currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// MilestoneIndex is the position of m in the program's milestone list, or -1.
func (p *Program) MilestoneIndex(m string) int {
	for i, x := range p.Milestones {
		if x == m {
			return i
		}
	}
	return -1
}

// ActiveAt reports whether the program accepts new codes, referrals and conversions at t: its
// status is active and t lies between startsAt and endsAt.
func (p *Program) ActiveAt(t time.Time) bool {
	if p.Status != ProgramActive {
		return false
	}
	if p.StartsAt != nil && t.Before(*p.StartsAt) {
		return false
	}
	if p.EndsAt != nil && !t.Before(*p.EndsAt) {
		return false
	}
	return true
}

// Normalize makes every list of the program non-nil, so it encodes as [] rather than null.
func (p *Program) Normalize() {
	if p.Milestones == nil {
		p.Milestones = []string{}
	}
	if p.AdvocateRewards == nil {
		p.AdvocateRewards = []Rule{}
	}
	if p.RefereeRewards == nil {
		p.RefereeRewards = []Rule{}
	}
	if p.Multipliers == nil {
		p.Multipliers = []Multiplier{}
	}
	if p.Contest.Prizes == nil {
		p.Contest.Prizes = []Prize{}
	}
	if p.BlockedEmailDomains == nil {
		p.BlockedEmailDomains = []string{}
	}
	if p.Contest.CloseAfterHours == 0 {
		p.Contest.CloseAfterHours = DefaultContestCloseAfterHours
	}
	if p.Stripe.CustomerIDField == "" {
		p.Stripe.CustomerIDField = StripeFieldStripeCustomerID
	}
	if p.Emails.ValueProposition == nil {
		p.Emails.ValueProposition = Localized{}
	}
	if p.Emails.Tone == "" {
		p.Emails.Tone = TonePersonal
	}
}

// endAt is when the program stopped being active, as of now: the earlier of the time an admin
// paused or archived it and a past endsAt. ok is false when it never ran (not started yet).
func (p *Program) endAt(now time.Time) (end time.Time, ok bool) {
	if p.Status != ProgramActive {
		switch {
		case p.EndedAt != nil:
			end, ok = *p.EndedAt, true
		default: // stored before endedAt was kept: the last edit is when it stopped
			end, ok = p.UpdatedAt, !p.UpdatedAt.IsZero()
		}
	}
	if p.EndsAt != nil && !now.Before(*p.EndsAt) && (!ok || p.EndsAt.Before(end)) {
		end, ok = *p.EndsAt, true
	}
	if ok && p.StartsAt != nil && !end.After(*p.StartsAt) {
		return time.Time{}, false
	}
	return end, ok
}
