package referral

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Fulfilment providers: who delivers a rule's or a prize's rewards.
const (
	// ProviderManual: the merchant delivers the reward and records a reference (the default).
	ProviderManual = "manual"
	// ProviderCouponPool: the reward is one code drawn from a pool of codes the merchant uploaded.
	ProviderCouponPool = "coupon_pool"
	// ProviderStripe: an advocate's money reward is a Stripe customer balance credit; the
	// friend's discount is a Stripe promotion code made when they are referred.
	ProviderStripe = "stripe"
)

// Providers lists the fulfilment providers.
var Providers = []string{ProviderManual, ProviderCouponPool, ProviderStripe}

// Delivery is how a rule's or a prize's rewards are delivered: {"provider": "coupon_pool",
// "pool": "spring-gift-cards"}. The zero value is manual delivery.
type Delivery struct {
	Provider string `json:"provider"`
	Pool     string `json:"pool,omitempty"`
}

// Fulfilment reasons: why a provider could not deliver a reward (Fulfilment.Reason).
const (
	ReasonPoolEmpty           = "pool_empty"            // the coupon pool has no code left
	ReasonNoStripeCustomer    = "no_stripe_customer"    // the customer has no Stripe customer id
	ReasonStripeNotConfigured = "stripe_not_configured" // no Stripe secret key in the deployment
	ReasonStripeUnavailable   = "stripe_unavailable"    // Stripe did not answer, or answered 5xx/429, through the retries
	ReasonStripeRejected      = "stripe_rejected"       // Stripe refused the request (4xx); its error code follows a colon
	ReasonNothingCredited     = "nothing_credited"      // a reversal found no delivered credit to take back
)

// Fulfilment reversal statuses (Fulfilment.Reversal.Status).
const (
	ReversalPending = "pending" // a delivered credit is to be taken back
	ReversalDone    = "done"    // the opposite transaction was made
	ReversalFailed  = "failed"  // the provider refused or failed; the scheduler retries with backoff
	ReversalSkipped = "skipped" // nothing had been delivered, so nothing is taken back
)

// Reversal is the taking back of a delivered credit after the reward was reversed.
type Reversal struct {
	Status    string     `json:"status"`
	Reference string     `json:"reference,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	Attempts  int        `json:"attempts,omitempty"`
	At        *time.Time `json:"at,omitempty"`
}

// poolRE is a coupon pool's name: it appears in paths and in rules.
var poolRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// ValidPoolName checks a coupon pool's name: 1 to 64 letters, digits, '-' and '_'.
func ValidPoolName(field, name string) error {
	if !poolRE.MatchString(name) {
		return Invalid(field, "a coupon pool's name is 1 to 64 letters, digits, '-' or '_', starting with a letter or digit")
	}
	return nil
}

// MaxCouponCodesPerCall is how many codes one upload may carry.
const MaxCouponCodesPerCall = 1000

// couponCodeRE is a code a coupon pool may hold: what gift card numbers and shop coupon codes
// look like, nothing that needs escaping in an email, a CSV cell or a URL.
var couponCodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// CouponCodes checks an upload of codes to a pool (each a code as the shop accepts it, kept
// as given) and returns them without repeats, in their first order. field is the list's path.
func CouponCodes(field string, codes []string) ([]string, error) {
	if len(codes) == 0 || len(codes) > MaxCouponCodesPerCall {
		return nil, Invalid(field, "%s holds 1 to %d codes", field, MaxCouponCodesPerCall)
	}
	out := make([]string, 0, len(codes))
	seen := make(map[string]bool, len(codes))
	for i, c := range codes {
		if !couponCodeRE.MatchString(c) {
			return nil, Invalid(fmt.Sprintf("%s[%d]", field, i), "a code is 1 to 100 letters, digits, '.', '-' or '_', starting with a letter or digit")
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// DeliveryOf is how a rule's rewards are delivered (manual when the rule names none).
func (r Rule) DeliveryOf() Delivery { return deliveryOr(r.Fulfilment) }

// DeliveryOf is how a prize's reward is delivered (manual when the prize names none).
func (z Prize) DeliveryOf() Delivery { return deliveryOr(z.Fulfilment) }

func deliveryOr(d *Delivery) Delivery {
	if d == nil || d.Provider == "" {
		return Delivery{Provider: ProviderManual}
	}
	return *d
}

// NewFulfilment is the fulfilment a new reward delivered by d starts with: nil for manual
// rewards (the merchant records a reference), pending for a provider's.
func NewFulfilment(d Delivery) *Fulfilment {
	if d.Provider == ProviderManual || d.Provider == "" {
		return nil
	}
	return &Fulfilment{Provider: d.Provider, Pool: d.Pool, Status: FulfilmentPending}
}

// validateDelivery checks the fulfilment of a rule (or of a prize, given as the fixed rule it
// amounts to) on its side (RoleAdvocate for prizes). path is the rule's or prize's JSON path.
func validateDelivery(path, side string, r Rule) error {
	d := r.Fulfilment
	if d == nil {
		return nil
	}
	field := path + ".fulfilment"
	if !slices.Contains(Providers, d.Provider) {
		return Invalid(field+".provider", "provider must be one of %s", strings.Join(Providers, ", "))
	}
	if d.Provider != ProviderCouponPool {
		if d.Pool != "" {
			return Invalid(field+".pool", "pool is only used by the coupon_pool provider")
		}
		if d.Provider == ProviderManual {
			return nil
		}
	}
	switch d.Provider {
	case ProviderCouponPool:
		return ValidPoolName(field+".pool", d.Pool)
	case ProviderStripe:
		if side == RoleReferee {
			// The friend's reward is a promotion code on a coupon: an amount or a percentage off.
			switch {
			case r.Kind != "discount":
				return Invalid(field+".provider", "the stripe provider gives the friend a promotion code: the rule's kind must be discount")
			case r.Type != RuleFixed && r.Type != RulePercent:
				return Invalid(field+".provider", "a Stripe coupon is an amount or a percentage off: the rule's type must be fixed or percent")
			case r.Type == RuleFixed && r.Amount == 0:
				return Invalid(field+".provider", "a Stripe coupon needs the rule's amount")
			case r.MaxAmount != 0:
				return Invalid(path+".maxAmount", "a Stripe percentage coupon cannot be capped: remove maxAmount or deliver it manually")
			}
			return nil
		}
		// An advocate's reward is a credit on their Stripe customer balance: money only.
		switch {
		case r.Kind == "donation":
			return Invalid(field+".provider", "a donation goes to the charity, not to the advocate's Stripe balance")
		case !isMonetaryKind(r.Kind):
			return Invalid(field+".provider", "the stripe provider credits money: a %s reward cannot be credited", r.Kind)
		case r.Type == RuleThreshold && r.Amount == 0, r.Type == RuleFixed && r.Amount == 0:
			return Invalid(field+".provider", "the stripe provider credits money: the rule needs an amount")
		}
	}
	return nil
}

// checkStripeFriendOffer allows at most one referee rule delivered through Stripe: the friend
// gets one promotion code when referred.
func (p *Program) checkStripeFriendOffer() error {
	seen := -1
	for i, r := range p.RefereeRewards {
		if r.DeliveryOf().Provider != ProviderStripe {
			continue
		}
		if seen >= 0 {
			return Invalid(fmt.Sprintf("refereeRewards[%d].fulfilment.provider", i), "only one referee rule may use the stripe provider (refereeRewards[%d] does): the friend gets one promotion code", seen)
		}
		seen = i
	}
	return nil
}

// Stripe customer id fields: where a program finds a customer's Stripe customer id.
const (
	// StripeFieldStripeCustomerID reads the customer's stripeCustomerId attribute (the default).
	StripeFieldStripeCustomerID = "stripeCustomerId"
	// StripeFieldCustomerID uses our customer id itself, for shops whose customer ids are Stripe's.
	StripeFieldCustomerID = "customerId"
)

// StripeSettings link a program to the merchant's Stripe account.
type StripeSettings struct {
	// CustomerIDField names the customer attribute that holds the Stripe customer id:
	// stripeCustomerId (default) or customerId.
	CustomerIDField string `json:"customerIdField"`
}

var stripeCustomerRE = regexp.MustCompile(`^cus_[A-Za-z0-9]{1,250}$`)

// ValidStripeCustomerID checks a Stripe customer id (cus_…).
func ValidStripeCustomerID(field, id string) error {
	if !stripeCustomerRE.MatchString(id) {
		return Invalid(field, "must be a Stripe customer id like cus_NffrFeUfNV2Hib")
	}
	return nil
}

// StripeCustomer is the Stripe customer id of c in program p, or ReasonNoStripeCustomer.
func (p *Program) StripeCustomer(c Customer) (string, error) {
	id := c.StripeCustomerID
	if p.Stripe.CustomerIDField == StripeFieldCustomerID {
		id = c.CustomerID
	}
	if !stripeCustomerRE.MatchString(id) {
		return "", fmt.Errorf("%s: customer %s has no Stripe customer id in %s", ReasonNoStripeCustomer, c.CustomerID, p.stripeField())
	}
	return id, nil
}

func (p *Program) stripeField() string {
	if p.Stripe.CustomerIDField == "" {
		return StripeFieldStripeCustomerID
	}
	return p.Stripe.CustomerIDField
}

// FriendOffer is the discount a friend gets as a Stripe promotion code when referred: the
// referee rule delivered through Stripe.
type FriendOffer struct {
	Rule        int   // index in RefereeRewards
	AmountOff   int64 // minor units of Currency (fixed rules), or 0
	PercentOff  int64 // percent (percent rules), or 0
	Currency    string
	MinAmount   int64 // the purchase must be at least this much (minor units), or 0
	FirstTime   bool  // only for customers without a purchase (newCustomersOnly programs)
	Description string
}

// StripeFriendOffer is the program's Stripe friend offer, if it has one.
func (p *Program) StripeFriendOffer() (FriendOffer, bool) {
	for i, r := range p.RefereeRewards {
		if r.DeliveryOf().Provider != ProviderStripe {
			continue
		}
		o := FriendOffer{Rule: i, Currency: p.Currency, MinAmount: r.MinAmount, FirstTime: p.NewCustomersOnly, Description: r.Description}
		if r.Type == RulePercent {
			o.PercentOff = r.Percent
		} else {
			o.AmountOff = r.Amount
		}
		return o, true
	}
	return FriendOffer{}, false
}

// FriendCoupon is the promotion code a referred friend got for their discount. RewardID is
// fixed when the referral is made and becomes the id of the friend's reward when they reach
// the rule's milestone, so the Stripe call that made the code and the reward share one id.
type FriendCoupon struct {
	RewardID        string     `json:"rewardId"`
	Provider        string     `json:"provider"`
	Status          string     `json:"status"` // pending, done or failed (FulfilmentPending…)
	Code            string     `json:"code,omitempty"`
	PromotionCodeID string     `json:"promotionCodeId,omitempty"`
	Reason          string     `json:"reason,omitempty"`
	ExpiresAt       *time.Time `json:"expiresAt,omitempty"`
	// EventID is the conversion whose reward took RewardID (a later one, after a reversal,
	// gets a reward of its own).
	EventID string `json:"eventId,omitempty"`
}

// NewFriendCoupon is the friend coupon a new referral in p starts with (nil without a Stripe
// friend offer): its reward id fixed, pending until Stripe made the code, valid for the
// referral's attribution window.
func (p *Program) NewFriendCoupon(ref Referral, now time.Time) *FriendCoupon {
	if _, ok := p.StripeFriendOffer(); !ok {
		return nil
	}
	return &FriendCoupon{RewardID: NewID(now), Provider: ProviderStripe, Status: FulfilmentPending, ExpiresAt: ref.AttributionExpiresAt}
}

// TakeFriendCoupon gives a friend's new reward delivered through Stripe the reward id fixed
// on their referral (and the code made then), unless an earlier conversion took it. It
// reports whether it did, so the referral records the conversion that took it.
func (r *Reward) TakeFriendCoupon(fc *FriendCoupon) bool {
	if fc == nil || fc.EventID != "" || r.Role != RoleReferee || r.Fulfilment == nil || r.Fulfilment.Provider != ProviderStripe {
		return false
	}
	r.RewardID = fc.RewardID
	if fc.Status == FulfilmentDone {
		f := *r.Fulfilment
		f.Reference = fc.Code
		r.Fulfilment = &f
	}
	return true
}

// Scheduler work on a reward.
const (
	ActionNone     = ""
	ActionApprove  = "approve" // a pending reward's hold ended
	ActionExpire   = "expire"  // an unfulfilled reward is past its expiry
	ActionFulfil   = "fulfil"  // an approved reward waits for its provider (autoFulfil)
	ActionTakeBack = "take_back"
)

// Due is when the scheduler next has work on the reward, or nil when it never will: a
// pending reward's hold end (or its expiry if sooner), an unfulfilled reward's expiry, an
// approved reward's automatic fulfilment, a reversed credit to take back.
func (r *Reward) Due() *time.Time {
	earlier := func(a time.Time, b *time.Time) *time.Time {
		if b != nil && b.Before(a) {
			return b
		}
		return &a
	}
	f := r.Fulfilment
	switch r.Status {
	case RewardPending:
		return earlier(r.AvailableAt, r.ExpiresAt)
	case RewardReview:
		return r.ExpiresAt
	case RewardApproved:
		if f != nil && f.Auto && f.Status == FulfilmentPending && f.At != nil {
			return earlier(*f.At, r.ExpiresAt)
		}
		return r.ExpiresAt
	case RewardReversed:
		if f != nil && f.Reversal != nil && (f.Reversal.Status == ReversalPending || f.Reversal.Status == ReversalFailed) && f.Reversal.At != nil {
			return f.Reversal.At
		}
	}
	return nil
}

// NextAction is the scheduler's work on a reward at now.
func (r *Reward) NextAction(now time.Time) string {
	due := r.Due()
	if due == nil || now.Before(*due) {
		return ActionNone
	}
	switch r.Status {
	case RewardPending, RewardReview, RewardApproved:
		if r.ExpiresAt != nil && !now.Before(*r.ExpiresAt) {
			return ActionExpire
		}
		switch r.Status {
		case RewardPending:
			return ActionApprove
		case RewardApproved:
			return ActionFulfil
		}
	case RewardReversed:
		return ActionTakeBack
	}
	return ActionNone
}

// ReversalOwed is the reversal a reward starts when its conversion is reversed at now: an
// advocate's Stripe credit may have been delivered and is then taken back (by the
// scheduler, which finds out whether it was). Nil when the provider has nothing to take back.
func (r *Reward) ReversalOwed(now time.Time) *Reversal {
	f := r.Fulfilment
	if f == nil || f.Provider != ProviderStripe || r.Role != RoleAdvocate || r.Value == nil {
		return nil
	}
	if f.Reversal != nil {
		return f.Reversal
	}
	return &Reversal{Status: ReversalPending, At: &now}
}

// MaxReversalAttempts bounds the scheduler's retries of taking back a reversed credit.
const MaxReversalAttempts = 10

// ReversalRetryAt is when a failed take-back is tried again after attempts failures: 5
// minutes doubling to at most 12 hours; nil once MaxReversalAttempts have failed.
func ReversalRetryAt(attempts int, now time.Time) *time.Time {
	if attempts >= MaxReversalAttempts {
		return nil
	}
	d := 5 * time.Minute << min(attempts, 10)
	t := now.Add(min(d, 12*time.Hour))
	return &t
}

// Deliver is a new reward r that d delivers: its fulfilment starts pending for a provider
// (queued for the scheduler when r is created approved in a program that fulfils
// automatically), and stays nil for manual delivery.
func (r Reward) Deliver(p *Program, d Delivery, now time.Time) Reward {
	r.Fulfilment = NewFulfilment(d)
	if r.Status == RewardApproved {
		return r.Approve(p, now)
	}
	return r
}

// Approve is r approved at now (its hold ended, or an admin released it from review), queued
// for automatic fulfilment when the program fulfils automatically and a provider delivers it.
func (r Reward) Approve(p *Program, now time.Time) Reward {
	r.Status = RewardApproved
	r.UpdatedAt = &now
	if r.Fulfilment != nil && r.Fulfilment.Status == FulfilmentPending {
		f := *r.Fulfilment
		f.Auto = p != nil && p.AutoFulfil
		f.At = &now
		r.Fulfilment = &f
	}
	return r
}

// CheckFulfil says whether r can be fulfilled at now: it must be approved (its hold over,
// not reversed or expired) and not delivered yet. A reward past expiry answers
// ErrRewardExpired; one already fulfilled answers (true, nil): nothing to do.
func (r *Reward) CheckFulfil(now time.Time) (done bool, err error) {
	switch eff := r.EffectiveStatus(now); eff {
	case RewardApproved:
		return false, nil
	case RewardFulfilled:
		return true, nil
	case RewardExpired:
		return false, ErrRewardExpired
	case RewardPending:
		return false, ErrRewardState.With("the reward is in its hold period until "+r.AvailableAt.Format(time.RFC3339), nil)
	default:
		return false, ErrRewardState.With("a reward in status "+eff+" cannot be fulfilled", nil)
	}
}

// CreditDescription is what the customer sees on a Stripe balance credit for r.
func (r *Reward) CreditDescription(programName string) string {
	what := r.Description
	if what == "" {
		what = "referral reward"
		if r.RefereeID != "" && r.Rule != "contest" {
			what = "reward for referring a friend"
		}
	}
	s := []rune(programName + ": " + what)
	if len(s) > 350 { // Stripe's limit on a description
		s = append(s[:349], '…')
	}
	return string(s)
}

// ContestPeriodsToClose are the months whose contest the scheduler closes at now: each of the
// two months before now's that ended contest.closeAfterHours ago and in which the program
// existed. Two, so a long closeAfterHours still finds its month after the next one began.
// None without prizes.
func (p *Program) ContestPeriodsToClose(now time.Time) []string {
	if len(p.Contest.Prizes) == 0 {
		return nil
	}
	after := time.Duration(p.Contest.CloseAfterHours) * time.Hour
	if after <= 0 {
		after = DefaultContestCloseAfterHours * time.Hour
	}
	now = now.UTC()
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var out []string
	for back := 2; back >= 1; back-- {
		start := thisMonth.AddDate(0, -back, 0)
		end := start.AddDate(0, 1, 0)
		if now.Before(end.Add(after)) || (!p.CreatedAt.IsZero() && !p.CreatedAt.Before(end)) {
			continue
		}
		out = append(out, start.Format("2006-01"))
	}
	return out
}
