// Package fulfil delivers rewards through their providers: a code drawn from a coupon pool,
// a Stripe customer balance credit for an advocate, a Stripe promotion code for a referred
// friend; and takes a delivered credit back when its reward is reversed.
//
// Each delivery happens at most once. The reward is claimed first (a conditional write: only
// an approved, undelivered reward nobody else is delivering), then the provider is called,
// then the outcome is recorded under the claim. A coupon is drawn and the reward recorded
// fulfilled in one transaction. A Stripe call carries an Idempotency-Key derived from the
// reward id, so the call repeated by a worker that takes over a lapsed claim does nothing
// new. Provider failures are retried with backoff inside the caller's deadline (stripe-go's
// retries); a delivery that still fails is recorded failed with the reason, and listed in the
// failed queue until POST /rewards/{id}/fulfill retries it.
package fulfil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/referral/referrals/shared/metrics"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Service delivers rewards. Build it once per container.
type Service struct {
	Store    *store.Store
	Programs *store.ProgramCache
	Stripe   *StripeAccount // nil: Stripe rewards fail with stripe_not_configured
	Log      *slog.Logger
}

// providerMargin is how long before the caller's deadline a provider call is given up, so
// its outcome can still be recorded and answered.
const providerMargin = store.WorkMargin

// Fulfil is POST /rewards/{rewardId}/fulfill. A manual reward is recorded fulfilled with the
// merchant's reference (the gift card number, the payout id). A provider's reward takes no
// reference: it is delivered now, or delivered again after it failed. A fulfilled reward
// answers as it is; one past its expiry has its expiry recorded and answers reward_expired.
func (s *Service) Fulfil(ctx context.Context, id, reference string) (referral.Reward, error) {
	r, err := s.Store.StoredReward(ctx, id)
	if err != nil {
		return r, err
	}
	if r.Fulfilment == nil {
		if reference == "" {
			return r, referral.Invalid("reference", "is required: the gift card number, coupon or payout id (at most 200 characters)")
		}
		return s.Store.FulfillReward(ctx, id, reference)
	}
	if reference != "" {
		return r, referral.Invalid("reference", "this reward is delivered by its provider (%s): send no reference to deliver it, or to retry a failed delivery", r.Fulfilment.Provider)
	}
	done, err := r.CheckFulfil(s.Store.Now())
	if errors.Is(err, referral.ErrRewardExpired) {
		if _, _, xerr := s.Store.Expire(ctx, r); xerr != nil {
			return r, xerr
		}
	}
	if err != nil || done {
		return r, err
	}
	return s.Deliver(ctx, r)
}

// Deliver delivers an approved reward through its provider, once: it claims the reward,
// calls the provider and records the outcome. A failure is recorded on the reward (failed,
// with the reason) and answered as the API error for it.
func (s *Service) Deliver(ctx context.Context, r referral.Reward) (referral.Reward, error) {
	claimed, claim, err := s.Store.ClaimDelivery(ctx, r)
	if errors.Is(err, store.ErrClaimed) {
		return r, referral.ErrRewardState.With("the reward is being delivered by another request, or changed; read it again", nil)
	}
	if err != nil {
		return r, err
	}
	work, cancel := beforeDeadline(ctx)
	defer cancel()
	var reference, reason string
	switch claimed.Fulfilment.Provider {
	case referral.ProviderCouponPool:
		out, err := s.Store.DrawCoupon(work, claimed, claim)
		switch {
		case err == nil:
			metrics.Add(ctx, metrics.RewardsDelivered, 1)
			return out, nil
		case errors.Is(err, store.ErrPoolEmpty):
			metrics.Add(ctx, metrics.CouponPoolEmpty, 1)
			reason = referral.ReasonPoolEmpty
		case errors.Is(err, store.ErrClaimed):
			return s.Store.StoredReward(ctx, r.RewardID) // reversed or expired while we drew
		default:
			return r, err // the claim lapses; the next attempt draws
		}
	case referral.ProviderStripe:
		reference, reason, err = s.stripeDeliver(work, claimed)
		if err != nil {
			return r, err
		}
	default:
		return r, fmt.Errorf("deliver %s: unknown provider %q", r.RewardID, claimed.Fulfilment.Provider)
	}
	if reason != "" {
		return s.failed(ctx, claimed, claim, reason)
	}
	out, err := s.Store.Delivered(ctx, claimed, claim, reference)
	if err != nil {
		return r, err
	}
	metrics.Add(ctx, metrics.RewardsDelivered, 1)
	return out, nil
}

// failed records a failed delivery and answers it as its API error.
func (s *Service) failed(ctx context.Context, r referral.Reward, claim, reason string) (referral.Reward, error) {
	out, err := s.Store.DeliveryFailed(ctx, r, claim, reason)
	if err != nil {
		return r, err
	}
	metrics.Add(ctx, metrics.DeliveriesFailed, 1)
	s.Log.WarnContext(ctx, "reward delivery failed", "rewardId", r.RewardID, "programId", r.ProgramID,
		"provider", r.Fulfilment.Provider, "reason", reason)
	details := map[string]any{"reason": reason, "reward": out}
	switch {
	case reason == referral.ReasonPoolEmpty:
		return out, referral.ErrPoolEmpty.With(fmt.Sprintf("coupon pool %q has no codes left: add codes to it, then retry", r.Fulfilment.Pool), details)
	case reason == referral.ReasonNoStripeCustomer:
		return out, referral.ErrNoStripeCustomer.With(referral.ErrNoStripeCustomer.Msg, details)
	default:
		return out, referral.ErrFulfilmentFailed.With("the reward's provider could not deliver it ("+reason+"); it is listed as failed and can be retried", details)
	}
}

// stripeDeliver makes a Stripe reward's call: an advocate's balance credit, or the friend's
// promotion code (made when they were referred, so usually there already). reason says why
// Stripe could not deliver; err is for our own failures.
func (s *Service) stripeDeliver(ctx context.Context, r referral.Reward) (reference, reason string, err error) {
	if r.Role == referral.RoleReferee && r.Fulfilment.Reference != "" {
		return r.Fulfilment.Reference, "", nil // the promotion code the friend got when referred
	}
	p, stripeCustomer, noCustomer, err := s.stripeCustomer(ctx, r)
	if err != nil {
		return "", "", err
	}
	if noCustomer != nil && r.Role == referral.RoleAdvocate {
		return "", referral.ReasonNoStripeCustomer, nil // a credit needs the customer's balance
	}
	client, err := s.Stripe.Client(ctx)
	if errors.Is(err, ErrStripeNotConfigured) {
		return "", referral.ReasonStripeNotConfigured, nil
	}
	if err != nil {
		return "", "", err
	}
	meta := map[string]string{"reward_id": r.RewardID, "program_id": r.ProgramID, "customer_id": r.CustomerID}
	if r.Role == referral.RoleReferee {
		offer, ok := p.StripeFriendOffer()
		if !ok {
			return "", referral.ReasonStripeRejected + ":no_friend_offer", nil
		}
		_, code, err := client.PromotionCode(ctx, p.ProgramID, p.Name, offer, stripeCustomer, r.ExpiresAt, r.RewardID, meta)
		if err != nil {
			return "", Reason(err), nil
		}
		return code, "", nil
	}
	if r.Value == nil {
		return "", referral.ReasonStripeRejected + ":no_amount", nil
	}
	id, err := client.Credit(ctx, stripeCustomer, *r.Value, r.CreditDescription(p.Name), r.RewardID, meta)
	if err != nil {
		return "", Reason(err), nil
	}
	return id, "", nil
}

// TakeBack settles a reversed reward the scheduler found due: a delivered Stripe credit is
// taken back with the opposite balance transaction (Idempotency-Key: the reward id with
// "-reversal"); a reward never delivered just leaves the queue. A take-back that fails is
// retried by later runs with backoff (referral.ReversalRetryAt), then stays failed.
// changed is false when another worker holds the reward.
func (s *Service) TakeBack(ctx context.Context, r referral.Reward) (out referral.Reward, changed bool, err error) {
	if r.Fulfilment.Status != referral.FulfilmentDone {
		out, err = s.Store.SettleUndelivered(ctx, r)
		if errors.Is(err, store.ErrClaimed) {
			return r, false, nil // a delivery is under way: it queues the take-back when it lands
		}
		return out, err == nil, err
	}
	claimed, claim, err := s.Store.ClaimTakeBack(ctx, r)
	if errors.Is(err, store.ErrClaimed) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	work, cancel := beforeDeadline(ctx)
	defer cancel()
	now := s.Store.Now()
	rev := *claimed.Fulfilment.Reversal
	reference, reason, err := s.stripeTakeBack(work, claimed)
	if err != nil {
		return r, false, err // the claim lapses; a later run tries again
	}
	if reason == "" {
		rev = referral.Reversal{Status: referral.ReversalDone, Reference: reference, Attempts: rev.Attempts + 1, At: &now}
		metrics.Add(ctx, metrics.CreditsTakenBack, 1)
	} else {
		rev = referral.Reversal{Status: referral.ReversalFailed, Reason: reason, Attempts: rev.Attempts + 1,
			At: referral.ReversalRetryAt(rev.Attempts+1, now)}
		metrics.Add(ctx, metrics.DeliveriesFailed, 1)
		s.Log.WarnContext(ctx, "taking back a credit failed", "rewardId", r.RewardID, "programId", r.ProgramID,
			"reason", reason, "attempts", rev.Attempts)
	}
	out, err = s.Store.SettleTakeBack(ctx, claimed, claim, rev)
	return out, err == nil, err
}

func (s *Service) stripeTakeBack(ctx context.Context, r referral.Reward) (reference, reason string, err error) {
	p, stripeCustomer, noCustomer, err := s.stripeCustomer(ctx, r)
	if err != nil {
		return "", "", err
	}
	if noCustomer != nil {
		return "", referral.ReasonNoStripeCustomer, nil
	}
	client, err := s.Stripe.Client(ctx)
	if errors.Is(err, ErrStripeNotConfigured) {
		return "", referral.ReasonStripeNotConfigured, nil
	}
	if err != nil {
		return "", "", err
	}
	meta := map[string]string{"reward_id": r.RewardID, "program_id": r.ProgramID, "customer_id": r.CustomerID, "reverses": r.Fulfilment.Reference}
	id, err := client.Debit(ctx, stripeCustomer, *r.Value, "Reversed: "+r.CreditDescription(p.Name), r.RewardID+"-reversal", meta)
	if err != nil {
		return "", Reason(err), nil
	}
	return id, "", nil
}

// stripeCustomer reads what a Stripe call for r needs: its program and the Stripe customer of
// its customer (noCustomer when there is none; err for our own failures).
func (s *Service) stripeCustomer(ctx context.Context, r referral.Reward) (p referral.Program, id string, noCustomer, err error) {
	if p, err = s.Programs.Get(ctx, r.ProgramID); err != nil {
		return p, "", nil, err
	}
	customer, err := s.Store.GetCustomer(ctx, r.CustomerID)
	if err != nil && !errors.Is(err, referral.ErrCustomerNotFound) {
		return p, "", nil, err
	}
	id, noCustomer = p.StripeCustomer(customer)
	return p, id, noCustomer, nil
}

// FriendCoupon makes the promotion code of a friend just referred in a program with a Stripe
// friend offer, and records it on the referral (friendCoupon: done with the code, or failed
// with the reason; the referral stands either way, and the friend's reward makes the code
// when it is delivered if it is still missing then). Its Idempotency-Key is the friend's
// reward id, fixed on the referral.
func (s *Service) FriendCoupon(ctx context.Context, p *referral.Program, ref referral.Referral) (referral.Referral, error) {
	fc := ref.FriendCoupon
	if fc == nil || fc.Status == referral.FulfilmentDone {
		return ref, nil
	}
	work, cancel := beforeDeadline(ctx)
	defer cancel()
	out := *fc
	client, err := s.Stripe.Client(work)
	switch {
	case errors.Is(err, ErrStripeNotConfigured):
		out.Status, out.Reason = referral.FulfilmentFailed, referral.ReasonStripeNotConfigured
	case err != nil:
		return ref, err
	default:
		offer, _ := p.StripeFriendOffer()
		customer, err := s.Store.GetCustomer(work, ref.RefereeID)
		if err != nil && !errors.Is(err, referral.ErrCustomerNotFound) {
			return ref, err
		}
		stripeCustomer, _ := p.StripeCustomer(customer)
		meta := map[string]string{"reward_id": fc.RewardID, "program_id": p.ProgramID, "customer_id": ref.RefereeID, "referral_id": ref.ReferralID}
		id, code, err := client.PromotionCode(work, p.ProgramID, p.Name, offer, stripeCustomer, fc.ExpiresAt, fc.RewardID, meta)
		if err != nil {
			out.Status, out.Reason = referral.FulfilmentFailed, Reason(err)
			s.Log.WarnContext(ctx, "friend's promotion code failed", "programId", p.ProgramID, "reason", out.Reason)
		} else {
			out.Status, out.Reason, out.PromotionCodeID, out.Code = referral.FulfilmentDone, "", id, code
		}
	}
	if err := s.Store.SetFriendCoupon(ctx, ref, out); err != nil {
		return ref, err
	}
	ref.FriendCoupon = &out
	return ref, nil
}

// beforeDeadline is ctx ending providerMargin before its deadline, for provider calls.
func beforeDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-providerMargin))
	}
	return context.WithTimeout(ctx, 30*time.Second)
}
