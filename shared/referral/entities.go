package referral

import "time"

// Customer segments.
const (
	SegmentCurrent = "current"
	SegmentPast    = "past"
)

// Customer is anyone the business knows: advocate or referee.
type Customer struct {
	CustomerID      string     `json:"customerId"`
	Email           string     `json:"email"`
	Name            string     `json:"name"`
	Locale          string     `json:"locale"`
	Segment         string     `json:"segment"`
	PurchaseCount   int        `json:"purchaseCount"`
	FirstPurchaseAt *time.Time `json:"firstPurchaseAt"`
	MarketingOptOut bool       `json:"marketingOptOut"`
	// StripeCustomerID is the customer's id in the merchant's Stripe account (cus_…), for
	// programs whose rewards Stripe delivers.
	StripeCustomerID string `json:"stripeCustomerId,omitempty"`
	// Blocked customers can neither refer nor be referred (PUT /blocklist/{customerId}).
	Blocked   bool      `json:"blocked"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Code statuses.
const (
	CodeActive    = "active"
	CodeExpired   = "expired"
	CodeExhausted = "exhausted"
	CodeInactive  = "inactive"
)

// Code is an advocate's referral code in one program.
type Code struct {
	Code       string     `json:"code"`
	ProgramID  string     `json:"programId"`
	CustomerID string     `json:"customerId"`
	ShareURL   string     `json:"shareUrl"`
	Status     string     `json:"status"`
	Uses       int        `json:"uses"`
	MaxUses    int        `json:"maxUses"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	CreatedAt  time.Time  `json:"createdAt"`
}

// Referral attributes a referee to an advocate's code in a program.
type Referral struct {
	ReferralID           string     `json:"referralId"`
	ProgramID            string     `json:"programId"`
	Code                 string     `json:"code"`
	AdvocateID           string     `json:"advocateId"`
	RefereeID            string     `json:"refereeId"`
	Channel              string     `json:"channel"`
	Stage                string     `json:"stage"`
	CreatedAt            time.Time  `json:"createdAt"`
	AttributionExpiresAt *time.Time `json:"attributionExpiresAt"`
	// FriendCoupon is the friend's promotion code, in programs whose friend offer Stripe
	// delivers.
	FriendCoupon *FriendCoupon `json:"friendCoupon,omitempty"`
	// Unpaid are the referee's last conversions that paid the advocate nothing, each with its
	// reason code (the advocate's page says why in the advocate's language).
	Unpaid []Why `json:"unpaid,omitempty"`
}

// Conversion is a milestone event for a referee, with the engine's decision record.
type Conversion struct {
	EventID    string     `json:"eventId"`
	ProgramID  string     `json:"programId"`
	RefereeID  string     `json:"refereeId"`
	AdvocateID string     `json:"advocateId"`
	Milestone  string     `json:"milestone"`
	Amount     *Money     `json:"amount"`
	OccurredAt time.Time  `json:"occurredAt"`
	Decisions  []Decision `json:"decisions"`
	Reversed   bool       `json:"reversed,omitempty"`
}

// Decision outcomes.
const (
	OutcomeRewarded = "rewarded"
	OutcomeSkipped  = "skipped"
)

// Decision records what the engine made of one rule for one conversion.
type Decision struct {
	Side    string `json:"side"`
	Rule    int    `json:"rule"`
	Type    string `json:"type"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
}

// Reward sides and statuses.
const (
	RoleAdvocate = "advocate"
	RoleReferee  = "referee"

	RewardPending   = "pending"
	RewardReview    = "review"
	RewardApproved  = "approved"
	RewardFulfilled = "fulfilled"
	RewardReversed  = "reversed"
	RewardExpired   = "expired"
)

// RewardStatuses lists every reward status, in the order totals are shown.
var RewardStatuses = []string{RewardPending, RewardReview, RewardApproved, RewardFulfilled, RewardReversed, RewardExpired}

// Reward is a ledger entry for an advocate or a referee. Value is nil for non-monetary rewards.
type Reward struct {
	RewardID    string `json:"rewardId"`
	ProgramID   string `json:"programId"`
	CustomerID  string `json:"customerId"`
	Role        string `json:"role"`
	RefereeID   string `json:"refereeId"`
	EventID     string `json:"eventId"`
	Milestone   string `json:"milestone"`
	Rule        string `json:"rule"`
	Kind        string `json:"kind"`
	Value       *Money `json:"value"`
	Description string `json:"description"`
	Charity     string `json:"charity,omitempty"`
	Status      string `json:"status"`
	Reference   string `json:"reference,omitempty"`
	// Fulfilment is how the reward is being delivered, when a provider handles it.
	Fulfilment  *Fulfilment `json:"fulfilment,omitempty"`
	CreatedAt   time.Time   `json:"createdAt"`
	AvailableAt time.Time   `json:"availableAt"`
	ExpiresAt   *time.Time  `json:"expiresAt"`
	UpdatedAt   *time.Time  `json:"updatedAt,omitempty"`
}

// Fulfilment statuses.
const (
	FulfilmentPending = "pending"
	FulfilmentDone    = "done"
	FulfilmentFailed  = "failed"
)

// Fulfilment is the delivery of a reward by a provider (coupon_pool, stripe): pending until
// the provider delivered it (done, with its reference: the coupon code, the Stripe balance
// transaction or promotion code) or could not (failed, with the reason). At is when it last
// changed. Auto marks a reward the scheduler fulfils (its program fulfils automatically).
// Reversal is the taking back of a delivered credit after the reward was reversed.
type Fulfilment struct {
	Provider  string     `json:"provider"`
	Pool      string     `json:"pool,omitempty"`
	Status    string     `json:"status"`
	Reference string     `json:"reference,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	At        *time.Time `json:"at,omitempty"`
	Auto      bool       `json:"auto,omitempty"`
	Reversal  *Reversal  `json:"reversal,omitempty"`
}

// EffectiveStatus is the status a reward has at now: a pending reward whose hold has passed is
// approved; an unfulfilled reward past its expiry is expired.
func (r *Reward) EffectiveStatus(now time.Time) string {
	switch r.Status {
	case RewardPending, RewardApproved, RewardReview:
		if r.ExpiresAt != nil && !now.Before(*r.ExpiresAt) {
			return RewardExpired
		}
		if r.Status == RewardPending && !now.Before(r.AvailableAt) {
			return RewardApproved
		}
	}
	return r.Status
}
