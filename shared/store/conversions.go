package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// eventItem is the idempotency record of a conversion: the payload hash it was recorded with
// and the exact result returned then (compressed, see storedResult), so a replay answers the
// same. The rewards it made are in that result.
type eventItem struct {
	PK          string          `json:"PK"`
	SK          string          `json:"SK"`
	Type        string          `json:"type"`
	EventID     string          `json:"eventId"`
	ProgramID   string          `json:"programId"`
	RefereeID   string          `json:"refereeId"`
	AdvocateID  string          `json:"advocateId"`
	Milestone   string          `json:"milestone"`
	Amount      *referral.Money `json:"amount"`
	Counted     bool            `json:"counted"`
	PayloadHash string          `json:"payloadHash"`
	Result      storedResult    `json:"result"`
	Thresholds  []string        `json:"thresholds,omitempty"` // threshold bonuses this conversion paid
	Reversed    bool            `json:"reversed"`
	ReversedAt  *time.Time      `json:"reversedAt"`
	CreatedAt   time.Time       `json:"createdAt"`
}

// ConversionRequest is a conversion to record, its program already resolved.
type ConversionRequest struct {
	EventID     string
	ProgramID   string
	RefereeID   string
	Milestone   string
	Amount      *referral.Money
	OccurredAt  time.Time
	PayloadHash string // hash of the request as sent; a replay must match it
	// NewReferral is set when this request made the referee's referral (checkout).
	NewReferral bool
}

// ConversionResult is what POST /conversions answers.
type ConversionResult struct {
	Conversion referral.Conversion `json:"conversion"`
	Rewards    []referral.Reward   `json:"rewards"`
}

// RecordStats says how a recording went, for metrics and tests.
type RecordStats struct {
	Attempts int  // transaction attempts (1 = no contention)
	Replay   bool // the eventId was recorded before with the same payload
}

// Conversions records conversions. A warm container remembers which advocate each referee
// belongs to (a referral never changes advocate) and the last standing it wrote for each
// advocate. The standing is only a guess: the transaction checks its version, and a stale
// guess costs one retry from a fresh read, never a wrong count.
type Conversions struct {
	Store    *Store
	Programs *ProgramCache

	mu        sync.Mutex
	advocates map[string]string       // programId|refereeId → advocateId
	standings map[string]advocateItem // programId|advocateId → last standing written or read
}

// maxRemembered bounds each container cache; when full it starts again empty.
const maxRemembered = 100_000

func (c *Conversions) advocateOf(programID, refereeID string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.advocates[programID+"|"+refereeID]
	return a, ok
}

func (c *Conversions) remember(programID, refereeID, advocateID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.advocates == nil || len(c.advocates) >= maxRemembered {
		c.advocates = map[string]string{}
	}
	c.advocates[programID+"|"+refereeID] = advocateID
}

func (c *Conversions) standing(programID, advocateID string) (advocateItem, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.standings[programID+"|"+advocateID]
	return a, ok
}

// keepStanding remembers a standing; ok=false forgets it (it proved stale).
func (c *Conversions) keepStanding(programID, advocateID string, a advocateItem, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		delete(c.standings, programID+"|"+advocateID)
		return
	}
	if c.standings == nil || len(c.standings) >= maxRemembered {
		c.standings = map[string]advocateItem{}
	}
	c.standings[programID+"|"+advocateID] = a
}

// Record prices and records one conversion: 1 BatchGetItem (event, referral, advocate
// standing; eventually consistent on the first attempt, see try) and 1 TransactWriteItems that writes the idempotency record, the
// referral's stage, the advocate's counters and the rewards together or not at all. The
// referral and advocate items are version-checked; when a concurrent conversion moved them
// first, it re-reads and retries with jittered backoff, up to maxAttempts, then gives up with
// ErrUnavailable. A conversion is never half-written, lost or counted twice.
//
// Retries stop in time to answer (see Budget): when ctx has a deadline (the Lambda's), the
// work ends WorkMargin before it, an SDK call in flight then included, and the answer is 503
// with Retry-After, never a timeout. A transaction in flight at that point may have committed:
// one read of the event, ending SettleMargin before the deadline, tells, and a committed
// conversion is answered with its result; when even that read cannot tell, the 503 is safe
// because a retry with the same eventId answers the committed result (200).
func (c *Conversions) Record(ctx context.Context, p *referral.Program, in ConversionRequest) (ConversionResult, RecordStats, error) {
	var st RecordStats
	work, cancel := Budget(ctx)
	defer cancel()
	limit := attemptLimit(ctx)
	var fresh *freshReads // what a failed transaction told of the items it failed on
	for attempt := 1; attempt <= limit; attempt++ {
		st.Attempts = attempt
		if attempt > 1 {
			if err := backoff(work, attempt); err != nil {
				return c.settle(work, in, st)
			}
		}
		res, retry, err := c.try(work, p, in, &st, &fresh)
		if work.Err() != nil && (err != nil || retry) {
			return c.settle(work, in, st)
		}
		if !retry {
			return res, st, err
		}
	}
	return ConversionResult{}, st, referral.ErrUnavailable.With("too many concurrent conversions for this advocate; retry shortly", nil)
}

// settle answers a conversion whose work ran out of time: its committed result if its
// transaction went through after all, else 503.
func (c *Conversions) settle(work context.Context, in ConversionRequest, st RecordStats) (ConversionResult, RecordStats, error) {
	busy := referral.ErrUnavailable.With("the conversion could not be recorded in time; retry with the same eventId", nil)
	ctx, cancel, ok := settling(work)
	defer cancel()
	if !ok {
		return ConversionResult{}, st, busy
	}
	var ev eventItem
	found, err := c.Store.getItem(ctx, eventPK(in.EventID), eventSK, &ev)
	if err != nil || !found {
		return ConversionResult{}, st, busy
	}
	raw, err := marshal(ev)
	if err != nil {
		return ConversionResult{}, st, busy
	}
	res, err := replay(raw, in.PayloadHash)
	return res, st, err
}

// freshReads are the referral and the standing a conversion's next attempt can use without
// reading them again: the transaction failed only on the standing's version, and DynamoDB
// returned the standing as it is (ReturnValuesOnConditionCheckFailure ALL_OLD).
type freshReads struct {
	ref referralItem
	adv advocateItem
}

func (c *Conversions) try(ctx context.Context, p *referral.Program, in ConversionRequest, st *RecordStats, fresh **freshReads) (res ConversionResult, retry bool, err error) {
	s := c.Store
	now := s.now()
	var ref referralItem
	var adv advocateItem
	guessed, reread := false, *fresh == nil
	got := map[string]map[string]types.AttributeValue{}
	if !reread {
		// Retrying on the standing a failed transaction returned: no read. The event's own
		// condition still catches a concurrent recording of the same eventId.
		ref, adv = (*fresh).ref, (*fresh).adv
		*fresh = nil
	} else {
		evKey := key(eventPK(in.EventID), eventSK)
		refKey := key(customerPK(in.RefereeID), referralSK(p.ProgramID))
		keys := []map[string]types.AttributeValue{evKey, refKey}
		advocateID, known := c.advocateOf(p.ProgramID, in.RefereeID)
		if known {
			keys = append(keys, key(customerPK(advocateID), advocateSK(p.ProgramID)))
		}
		// The first attempt reads eventually consistent (half the read units). What it may not
		// see of the last second is safe: an event recorded meanwhile fails this one's put (then
		// answered as a replay), and a referral or standing moved meanwhile fails its version
		// check (then retried, reading consistently). A referral it does not find (maybe made
		// a moment ago) and a milestone it finds reached (a reversal may have just taken it
		// back; such a conversion writes no version-checked item) are read again consistently.
		consistent := st.Attempts > 1 || in.NewReferral
		for {
			if got, err = s.batchRead(ctx, consistent, keys...); err != nil {
				return res, false, fmt.Errorf("record conversion %s: %w", in.EventID, err)
			}
			if raw, ok := got[eventPK(in.EventID)+"|"+eventSK]; ok {
				res, err := replay(raw, in.PayloadHash)
				st.Replay = err == nil
				return res, false, err
			}
			rawRef, ok := got[customerPK(in.RefereeID)+"|"+referralSK(p.ProgramID)]
			if !ok && consistent {
				return res, false, referral.ErrNotReferred
			}
			if ok {
				if err := unmarshal(rawRef, &ref); err != nil {
					return res, false, fmt.Errorf("decode referral: %w", err)
				}
			}
			if consistent || ok && !slices.Contains(ref.Reached, in.Milestone) {
				break
			}
			ref, consistent = referralItem{}, true
		}
		c.remember(p.ProgramID, in.RefereeID, ref.AdvocateID)
	}
	already := slices.Contains(ref.Reached, in.Milestone)
	switch raw, read := got[customerPK(ref.AdvocateID)+"|"+advocateSK(p.ProgramID)]; {
	case !reread: // the standing DynamoDB returned
	case read:
		err = unmarshal(raw, &adv)
	default:
		if cached, ok := c.standing(p.ProgramID, ref.AdvocateID); ok || already {
			// A milestone reached before moves no counter, so it needs no standing at all.
			adv, guessed = cached, ok
			break
		}
		// An advocate this container has not seen: one more read.
		var found bool
		found, err = s.getItem(ctx, customerPK(ref.AdvocateID), advocateSK(p.ProgramID), &adv)
		if err == nil && !found {
			err = fmt.Errorf("advocate %s has no standing in program %s", ref.AdvocateID, p.ProgramID)
		}
	}
	if err != nil {
		return res, false, fmt.Errorf("record conversion %s: advocate: %w", in.EventID, err)
	}
	if err := referral.CheckConversion(referral.ConversionCheck{Program: p, Referral: ref.Referral, OccurredAt: in.OccurredAt,
		Now: now, NewReferral: in.NewReferral, AdvocateBlocked: adv.Blocked, RefereeBlocked: ref.Blocked}); err != nil {
		if why, ok := referral.WhyRefused(err, p, ref.Referral, in.EventID, in.Milestone, in.OccurredAt); ok && !in.NewReferral {
			s.noteUnpaid(ctx, ref, why)
		}
		return res, false, err
	}

	evaluation := referral.Evaluation{Program: p, AdvocateID: ref.AdvocateID, RefereeID: in.RefereeID,
		Milestone: in.Milestone, Amount: in.Amount, OccurredAt: in.OccurredAt, Now: now,
		AlreadyReached: already, Advocate: adv.state()}
	out := referral.Evaluate(evaluation)

	res.Conversion = referral.Conversion{EventID: in.EventID, ProgramID: p.ProgramID, RefereeID: in.RefereeID,
		AdvocateID: ref.AdvocateID, Milestone: in.Milestone, Amount: in.Amount, OccurredAt: in.OccurredAt, Decisions: out.Decisions}
	res.Rewards = out.Rewards
	ev := eventItem{PK: eventPK(in.EventID), SK: eventSK, Type: TypeEvent, EventID: in.EventID, ProgramID: p.ProgramID,
		RefereeID: in.RefereeID, AdvocateID: ref.AdvocateID, Milestone: in.Milestone, Amount: in.Amount, Counted: out.Counted,
		PayloadHash: in.PayloadHash, Thresholds: out.Thresholds, CreatedAt: now}
	items := []types.TransactWriteItem{{}} // the event goes first; it is filled in below
	tookCoupon := false
	ids := make([]string, len(res.Rewards))
	for i := range res.Rewards {
		r := &res.Rewards[i]
		r.RewardID = referral.NewID(now)
		if !tookCoupon && r.TakeFriendCoupon(ref.FriendCoupon) {
			tookCoupon = true // the friend's reward gets the id its promotion code was made with
		}
		r.EventID = in.EventID
		ids[i] = r.RewardID
	}
	for _, r := range res.Rewards {
		it := newRewardItem(r)
		it.ConversionRewards = ids
		items = append(items, putNew(it))
	}
	standingAt := -1
	var lb boardWrite // the leaderboard: a counted conversion of the last milestone ranks its advocate
	if out.Counted {
		taker := ""
		if tookCoupon {
			taker = in.EventID
		}
		if in.Milestone == lastMilestone(p) {
			if lb, err = s.boardOnConversion(ctx, adv, now); err != nil {
				return res, false, fmt.Errorf("record conversion %s: %w", in.EventID, err)
			}
		}
		standing := standingUpdate(adv, out.Advocate, lb.board)
		standing.Update.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		standingAt = len(items) + 1
		var unpaid []referral.Why
		if why, ok := referral.WhyUnpaid(evaluation, out, in.EventID); ok {
			// Only a conversion that paid the advocate nothing writes its reason, in the
			// referral's update it makes anyway: a paying conversion's items are unchanged.
			unpaid = referral.AddWhy(ref.Unpaid, why)
		}
		items = append(items, reachUpdateWith(p, ref, referral.Reached(ref.Reached, in.Milestone), taker, unpaid), standing)
		items = append(items, lb.items...)
	}
	if len(items) > 100 {
		return res, false, referral.Invalid("", "this conversion would create %d rewards; a program may create at most 97 per conversion", len(res.Rewards))
	}
	body, err := json.Marshal(res)
	if err != nil {
		return res, false, err
	}
	ev.Result = body
	items[0] = putNew(ev)

	err = s.transact(ctx, items...)
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		if out.Counted {
			c.keepStanding(p.ProgramID, ref.AdvocateID, adv.withState(out.Advocate, lb.board), true)
		}
		return res, false, nil
	case reasons != nil && reasons[0] == "ConditionalCheckFailed":
		// The same eventId was recorded concurrently: answer as a replay of that one.
		var stored eventItem
		if _, gerr := s.getItem(ctx, ev.PK, ev.SK, &stored); gerr != nil {
			return res, false, gerr
		}
		raw, merr := marshal(stored)
		if merr != nil {
			return res, false, merr
		}
		res, err := replay(raw, in.PayloadHash)
		st.Replay = err == nil
		return res, false, err
	case reasons != nil:
		// A version check failed (another conversion moved the referral or the advocate) or
		// DynamoDB reported a transaction conflict: retry. When only the standing's version
		// failed, DynamoDB returned the standing as it is now, and the next attempt goes
		// straight to its transaction; otherwise it reads again (the standing in its batch,
		// since the referee's advocate is known now).
		if guessed {
			c.keepStanding(p.ProgramID, ref.AdvocateID, adv, false)
		}
		if now, ok := failedOnlyOn(err, standingAt); ok {
			var cur advocateItem
			if unmarshal(now, &cur) == nil && cur.Version > adv.Version {
				*fresh = &freshReads{ref: ref, adv: cur}
			}
		}
		return res, true, nil
	default:
		return res, false, unavailable(fmt.Errorf("record conversion %s: %w", in.EventID, err))
	}
}

// replay answers a repeated eventId: the stored result when the payload matches, else 409.
func replay(raw map[string]types.AttributeValue, hash string) (ConversionResult, error) {
	var ev eventItem
	if err := unmarshal(raw, &ev); err != nil {
		return ConversionResult{}, fmt.Errorf("decode event: %w", err)
	}
	if ev.PayloadHash != hash {
		return ConversionResult{}, referral.ErrIdempotencyConflict
	}
	var res ConversionResult
	if err := json.Unmarshal([]byte(ev.Result), &res); err != nil {
		return res, fmt.Errorf("decode stored result of %s: %w", ev.EventID, err)
	}
	return res, nil
}

// furthest is the reached milestone that comes last in the program's milestone order.
func furthest(p *referral.Program, reached []string) string {
	best, at := "", -1
	for _, m := range reached {
		if i := p.MilestoneIndex(m); i > at {
			best, at = m, i
		}
	}
	return best
}

// reachUpdate writes a referral's reached milestones and stage, if it is still at its version.
func reachUpdate(p *referral.Program, ref referralItem, reached []string) types.TransactWriteItem {
	return reachUpdateWith(p, ref, reached, "", nil)
}

// reachUpdateWith is reachUpdate that also marks the referral's friend coupon taken by the
// conversion eventID ("" = not taken) and writes the referral's unpaid conversions (nil: left
// as they are).
func reachUpdateWith(p *referral.Program, ref referralItem, reached []string, eventID string, unpaid []referral.Why) types.TransactWriteItem {
	cond := expression.Name("version").Equal(expression.Value(ref.Version))
	upd := expression.Set(expression.Name("stage"), expression.Value(furthest(p, reached))).
		Set(expression.Name("version"), expression.Value(ref.Version+1))
	if eventID != "" {
		upd = upd.Set(expression.Name("friendCoupon.eventId"), expression.Value(eventID))
	}
	if unpaid != nil {
		upd = upd.Set(expression.Name("unpaid"), expression.Value(whyValues(unpaid)))
	}
	if len(reached) > 0 {
		upd = upd.Set(expression.Name("reached"), expression.Value(reached))
	} else { // NULL, not an empty list or REMOVE: minidyn mishandles both (docs/DATA-MODEL.md)
		upd = upd.Set(expression.Name("reached"), expression.Value(&types.AttributeValueMemberNULL{Value: true}))
	}
	return update(ref.PK, ref.SK, upd, &cond)
}

// Reverse marks a conversion reversed and all its rewards reversed, and when the conversion
// counted, takes it off the advocate's standing (the milestone count, the reward count and
// amount, the threshold bonuses it paid, its month's leaderboard) and off the referral's
// reached milestones, so a later conversion of that referee and milestone is priced again.
// Cost: 1 consistent GetItem (event), 1 BatchGetItem (referral, standing, and for a
// conversion of the last milestone its month's leaderboard entry, if the standing has moved
// on from that month) when it counted, and 1 TransactWriteItems; the referral
// and standing are version-checked and a concurrent conversion makes it retry from a fresh
// read, bounded as recording is. Reversing again changes nothing and answers the same.
func (s *Store) Reverse(ctx context.Context, eventID string, programs *ProgramCache) (ConversionResult, error) {
	work, cancel := Budget(ctx)
	defer cancel()
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt > 1 {
			if err := backoff(work, attempt); err != nil {
				return ConversionResult{}, referral.ErrUnavailable.With("the reversal could not be recorded in time; retry it", nil)
			}
		}
		res, retry, err := s.tryReverse(work, eventID, programs)
		if !retry {
			return res, err
		}
	}
	return ConversionResult{}, referral.ErrUnavailable.With("too many concurrent changes to this advocate; retry the reversal shortly", nil)
}

func (s *Store) tryReverse(ctx context.Context, eventID string, programs *ProgramCache) (res ConversionResult, retry bool, err error) {
	now := s.now()
	var ev eventItem
	found, err := s.getItem(ctx, eventPK(eventID), eventSK, &ev)
	if err != nil {
		return res, false, fmt.Errorf("reverse %s: %w", eventID, err)
	}
	if !found {
		return res, false, referral.ErrConversionNotFound
	}
	if err := json.Unmarshal([]byte(ev.Result), &res); err != nil {
		return res, false, fmt.Errorf("reverse %s: stored result: %w", eventID, err)
	}
	at := now
	if ev.Reversed && ev.ReversedAt != nil {
		at = *ev.ReversedAt
	}
	rewards := slices.Clone(res.Rewards)
	res.Conversion.Reversed = true
	for i := range res.Rewards {
		res.Rewards[i].Status = referral.RewardReversed
		res.Rewards[i].UpdatedAt = &at
	}
	if ev.Reversed {
		return res, false, nil
	}
	notReversed := expression.Name("reversed").Equal(expression.Value(false))
	items := []types.TransactWriteItem{update(ev.PK, ev.SK,
		expression.Set(expression.Name("reversed"), expression.Value(true)).
			Set(expression.Name("reversedAt"), expression.Value(now)), &notReversed)}
	exists := expression.AttributeExists(expression.Name("PK"))
	for _, r := range rewards {
		upd := expression.Set(expression.Name("previousStatus"), expression.Name("status")).
			Set(expression.Name("status"), expression.Value(referral.RewardReversed)).
			Set(expression.Name("updatedAt"), expression.Value(now))
		if rev := r.ReversalOwed(now); rev != nil {
			// A Stripe credit may have been delivered: the scheduler takes it back (or finds
			// there is nothing to take back).
			f := *r.Fulfilment
			f.Reversal = rev
			r.Fulfilment = &f
			upd = upd.Set(expression.Name("fulfilment.reversal"), expression.Value(attrValue(rev)))
		}
		items = append(items, update(rewardPK(r.RewardID), rewardSK, requeue(upd, r, referral.RewardReversed), &exists))
	}
	if ev.Counted {
		p, err := programs.Get(ctx, ev.ProgramID) // for the order of milestones (the stage)
		if err != nil {
			return res, false, fmt.Errorf("reverse %s: %w", eventID, err)
		}
		refKey, advKey := key(customerPK(ev.RefereeID), referralSK(ev.ProgramID)), key(customerPK(ev.AdvocateID), advocateSK(ev.ProgramID))
		keys := []map[string]types.AttributeValue{refKey, advKey}
		ranked := ev.Milestone == lastMilestone(&p) // the conversion is on a leaderboard
		entryKey := key(customerPK(ev.AdvocateID), leaderSK(ev.ProgramID, leaderPeriod(ev.CreatedAt)))
		if ranked {
			keys = append(keys, entryKey) // in case the standing has moved on from its month
		}
		got, err := s.batchGet(ctx, keys...)
		if err != nil {
			return res, false, fmt.Errorf("reverse %s: %w", eventID, err)
		}
		var ref referralItem
		var adv advocateItem
		rawRef, okRef := got[itemKey(refKey)]
		rawAdv, okAdv := got[itemKey(advKey)]
		if !okRef || !okAdv {
			return res, false, fmt.Errorf("reverse %s: the referral or the advocate's standing is missing", eventID)
		}
		if err := unmarshal(rawRef, &ref); err != nil {
			return res, false, fmt.Errorf("reverse %s: %w", eventID, err)
		}
		if err := unmarshal(rawAdv, &adv); err != nil {
			return res, false, fmt.Errorf("reverse %s: %w", eventID, err)
		}
		var lb boardWrite
		if ranked {
			var entry *leaderItem
			if raw, ok := got[itemKey(entryKey)]; ok {
				it, err := decodeLeader(raw)
				if err != nil {
					return res, false, fmt.Errorf("reverse %s: %w", eventID, err)
				}
				entry = &it
			}
			lb = boardOnReversal(adv, entry, ev.CreatedAt, now)
		}
		items = append(items, reachUpdate(&p, ref, referral.Unreached(ref.Reached, ev.Milestone)),
			standingUpdate(adv, adv.state().Reversed(ev.Milestone, rewards, ev.Thresholds), lb.board))
		items = append(items, lb.items...)
	}
	err = s.transact(ctx, items...)
	reasons := cancellationReasons(err)
	switch {
	case err == nil:
		return res, false, nil
	case reasons != nil && reasons[0] == "ConditionalCheckFailed":
		return res, true, nil // reversed concurrently: the next attempt answers what is stored
	case reasons != nil:
		return res, true, nil // a conversion moved the referral or the standing: read again
	default:
		return res, false, unavailable(fmt.Errorf("reverse %s: %w", eventID, err))
	}
}
