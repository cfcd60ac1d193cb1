package referral

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// AdvocateState is what the engine needs to know about an advocate in a program before a
// conversion. The store keeps it per advocate and program and writes back Outcome.Advocate.
type AdvocateState struct {
	Counts           map[string]int // referees who reached each milestone in this program (before this conversion)
	RewardCount      int            // advocate rewards created so far in this program, whatever happened to them since
	RewardAmount     int64          // sum of monetary advocate reward amounts created so far (minor units)
	Day              string         // "2006-01-02" UTC day that ConversionsOnDay refers to
	ConversionsOnDay int            // qualifying conversions recorded for this advocate on Day
	// Thresholds names the one-time threshold bonuses paid and standing (ThresholdKey), so a
	// count that drops after a reversal and climbs again does not pay a bonus twice.
	Thresholds []string
}

// ThresholdKey names a threshold bonus in an advocate's standing: its milestone and count.
func ThresholdKey(r Rule) string { return fmt.Sprintf("%s@%d", r.Milestone, r.AtCount) }

// Reversed is the standing after a counted conversion of milestone is reversed: the referee no
// longer counts for the milestone, the advocate rewards it created no longer count toward the
// limits, and the threshold bonuses it paid may be earned again. The velocity window is left
// as it is: it counts conversions recorded, not conversions that stand.
func (st AdvocateState) Reversed(milestone string, rewards []Reward, thresholds []string) AdvocateState {
	out := st
	out.Counts = maps.Clone(st.Counts)
	if out.Counts[milestone] > 0 {
		out.Counts[milestone]--
	}
	for _, r := range rewards {
		if r.Role != RoleAdvocate {
			continue
		}
		out.RewardCount = max(out.RewardCount-1, 0)
		if r.Value != nil {
			out.RewardAmount = max(out.RewardAmount-r.Value.Amount, 0)
		}
	}
	out.Thresholds = slices.DeleteFunc(slices.Clone(st.Thresholds), func(k string) bool { return slices.Contains(thresholds, k) })
	return out
}

// InitialStatus is the status a new reward is written with: review when a fraud rule holds it,
// approved when the program has no hold period, pending otherwise.
func InitialStatus(p *Program, review bool) string {
	switch {
	case review:
		return RewardReview
	case p.HoldDays == 0:
		return RewardApproved
	default:
		return RewardPending
	}
}

// Evaluation is one conversion to price: the program, who converted and the advocate's state.
type Evaluation struct {
	Program        *Program
	AdvocateID     string
	RefereeID      string
	Milestone      string
	Amount         *Money    // the conversion amount, may be nil
	OccurredAt     time.Time // when the conversion happened (multipliers use this)
	Now            time.Time // when it is recorded (hold, expiry and the velocity day use this)
	AlreadyReached bool      // this referee already reached this milestone in this program
	Advocate       AdvocateState
}

// Outcome is what a conversion earns: a decision for every rule, the rewards to create and the
// advocate's state after the conversion.
type Outcome struct {
	Decisions []Decision
	Rewards   []Reward      // RewardID and EventID are left empty for the store to fill
	Advocate  AdvocateState // the state after this conversion (what the store writes back)
	Counted   bool          // the conversion counted (new referee×milestone): counters moved
	// Thresholds are the threshold bonuses this conversion paid (ThresholdKey), which a
	// reversal of it releases.
	Thresholds []string
}

// Evaluate applies a program's reward rules to one conversion. It is pure: the same Evaluation
// always gives the same Outcome, and the input state is never modified.
//
// Every rule of both sides (advocate rules first) gets exactly one Decision saying whether it
// rewarded and why, so "why did I get nothing?" always has an answer.
func Evaluate(in Evaluation) Outcome {
	p := in.Program
	out := Outcome{Decisions: []Decision{}, Rewards: []Reward{}, Advocate: in.Advocate}
	out.Advocate.Counts = maps.Clone(in.Advocate.Counts)
	if p == nil {
		return out
	}
	sides := []struct {
		role  string
		rules []Rule
	}{{RoleAdvocate, p.AdvocateRewards}, {RoleReferee, p.RefereeRewards}}

	if in.AlreadyReached {
		for _, s := range sides {
			for i, r := range s.rules {
				reason := fmt.Sprintf("already rewarded: referee reached %s before", in.Milestone)
				if r.Milestone != in.Milestone {
					reason = fmt.Sprintf("rule is for milestone %q", r.Milestone)
				}
				out.Decisions = append(out.Decisions, Decision{Side: s.role, Rule: i, Type: r.Type, Outcome: OutcomeSkipped, Reason: reason})
			}
		}
		return out
	}

	st := &out.Advocate
	if st.Counts == nil {
		st.Counts = map[string]int{}
	}
	st.Counts[in.Milestone]++
	now := in.Now.UTC()
	if today := now.Format(time.DateOnly); st.Day == today {
		st.ConversionsOnDay++
	} else {
		st.Day, st.ConversionsOnDay = today, 1
	}
	out.Counted = true

	velocity := ""
	if limit := p.Limits.MaxConversionsPerAdvocatePerDay; limit > 0 && st.ConversionsOnDay > limit {
		velocity = fmt.Sprintf("velocity: %d conversions today > limit %d", st.ConversionsOnDay, limit)
	}
	status := InitialStatus(p, velocity != "")

	c := ruleInput{
		currency:   p.Currency,
		amount:     in.Amount,
		occurredAt: in.OccurredAt,
		count:      st.Counts[in.Milestone],
		multiplier: p.Multipliers,
	}
	for _, s := range sides {
		for i, r := range s.rules {
			d := Decision{Side: s.role, Rule: i, Type: r.Type, Outcome: OutcomeSkipped}
			if r.Milestone != in.Milestone {
				d.Reason = fmt.Sprintf("rule is for milestone %q", r.Milestone)
				out.Decisions = append(out.Decisions, d)
				continue
			}
			a, skip := c.price(r)
			if skip == "" && r.Type == RuleThreshold && s.role == RoleAdvocate && slices.Contains(st.Thresholds, ThresholdKey(r)) {
				skip = fmt.Sprintf("already rewarded: the bonus at %d referrals was paid and still stands", r.AtCount)
			}
			if skip == "" && s.role == RoleAdvocate {
				skip = applyLimits(&a, p.Limits, st, p.Currency)
			}
			if skip != "" {
				d.Reason = strings.Join(append(a.notes, skip), "; ")
				out.Decisions = append(out.Decisions, d)
				continue
			}
			if velocity != "" {
				a.notes = append(a.notes, velocity)
			}
			d.Outcome, d.Reason = OutcomeRewarded, strings.Join(a.notes, "; ")
			out.Decisions = append(out.Decisions, d)

			customer := in.AdvocateID
			if s.role == RoleAdvocate {
				if r.Type == RuleThreshold {
					st.Thresholds = append(slices.Clone(st.Thresholds), ThresholdKey(r))
					out.Thresholds = append(out.Thresholds, ThresholdKey(r))
				}
				st.RewardCount++
				if a.monetary {
					st.RewardAmount = addSaturating(st.RewardAmount, a.amount)
				}
			} else {
				customer = in.RefereeID
			}
			out.Rewards = append(out.Rewards, newReward(p, r, a, s.role, customer, in, status, now))
		}
	}
	return out
}

// applyLimits holds an advocate reward to the program's per-advocate limits, reducing a's amount
// to what is left, or says why it cannot be given at all.
func applyLimits(a *award, l Limits, st *AdvocateState, currency string) (skip string) {
	if l.MaxRewardsPerAdvocate > 0 && st.RewardCount >= l.MaxRewardsPerAdvocate {
		return fmt.Sprintf("limit reached: %d rewards per advocate", l.MaxRewardsPerAdvocate)
	}
	if !a.monetary || l.MaxAmountPerAdvocate <= 0 {
		return ""
	}
	left := l.MaxAmountPerAdvocate - st.RewardAmount
	if left <= 0 {
		return fmt.Sprintf("limit reached: %d %s per advocate", l.MaxAmountPerAdvocate, currency)
	}
	if a.amount > left {
		a.notes = append(a.notes, fmt.Sprintf("reduced to fit limit: %d %s left of %d %s per advocate", left, currency, l.MaxAmountPerAdvocate, currency))
		a.amount = left
	}
	return ""
}

func newReward(p *Program, r Rule, a award, role, customer string, in Evaluation, status string, now time.Time) Reward {
	rw := Reward{
		ProgramID:   p.ProgramID,
		CustomerID:  customer,
		Role:        role,
		RefereeID:   in.RefereeID,
		Milestone:   in.Milestone,
		Rule:        r.Type,
		Kind:        r.Kind,
		Description: r.Description,
		Charity:     r.Charity,
		Status:      status,
		CreatedAt:   now,
		AvailableAt: now.AddDate(0, 0, p.HoldDays),
	}
	if a.monetary {
		rw.Value = &Money{Amount: a.amount, Currency: p.Currency}
	}
	if rw.Description == "" && r.Charity != "" {
		rw.Description = "donation to " + r.Charity
	}
	if p.RewardExpiresInDays > 0 {
		t := now.AddDate(0, 0, p.RewardExpiresInDays)
		rw.ExpiresAt = &t
	}
	return rw.Deliver(p, r.DeliveryOf(), now)
}

// addSaturating adds two non-negative amounts; the running total only feeds the amount limit,
// which is far below math.MaxInt64, so saturating there cannot change a decision.
func addSaturating(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
