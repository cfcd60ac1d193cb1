package referral

import (
	"errors"
	"slices"
	"strings"
	"time"
)

// Reason codes of a conversion that paid its advocate nothing (Why.Code). The advocate's page
// says each in the advocate's language from the code and its number (Why.N); no sentence is
// stored.
const (
	WhyBelowMinimum    = "below_minimum"   // the amount was under the rule's minimum (N: minor units)
	WhyNoAmount        = "no_amount"       // the conversion had no amount (in the program's currency)
	WhyNoTier          = "no_tier"         // the tiers end before this friend (N: the last tier's count)
	WhyNotYet          = "threshold_later" // a bonus that pays at a later friend (N: its count)
	WhyBonusPaid       = "threshold_paid"  // the bonus at N friends was paid already
	WhyLimitRewards    = "limit_rewards"   // the advocate has N rewards, the most the program gives
	WhyLimitAmount     = "limit_amount"    // the advocate has earned N (minor units), the most it gives
	WhyWindowClosed    = "window_closed"   // the conversion came after the N-day attribution window
	WhyProgramEnded    = "program_ended"   // the program was not running
	WhyNotRewardable   = "not_rewardable"  // anything else the rules say (an amount of zero...)
	MaxWhysPerFriend   = 5                 // a referral keeps its last five
	whyNotForMilestone = "rule is for milestone"
)

// Why is the compact decision record of one conversion that paid the advocate nothing, kept
// on the referral (its last MaxWhysPerFriend) so the advocate's page can say why.
type Why struct {
	EventID   string    `json:"eventId"`
	Milestone string    `json:"milestone"`
	Code      string    `json:"code"`
	N         int64     `json:"n,omitempty"`
	At        time.Time `json:"at"` // when the conversion occurred
}

// WhyUnpaid is the decision record of conversion eventID, which the engine priced (in, out), when it paid the
// advocate nothing although an advocate rule is for its milestone. A milestone reached before
// and a milestone no advocate rule pays are not news to the advocate: ok is false for them.
func WhyUnpaid(in Evaluation, out Outcome, eventID string) (w Why, ok bool) {
	if in.Program == nil || !out.Counted {
		return w, false
	}
	for _, r := range out.Rewards {
		if r.Role == RoleAdvocate {
			return w, false
		}
	}
	found := false
	for _, d := range out.Decisions {
		if d.Side != RoleAdvocate || d.Outcome != OutcomeSkipped || strings.HasPrefix(d.Reason, whyNotForMilestone) ||
			d.Rule < 0 || d.Rule >= len(in.Program.AdvocateRewards) {
			continue
		}
		code, n := whyOf(in.Program.AdvocateRewards[d.Rule], d.Reason, in.Program.Limits)
		// A bonus that pays later explains less than another rule's reason: keep looking.
		if !found || w.Code == WhyNotYet {
			w, found = Why{EventID: eventID, Milestone: in.Milestone, Code: code, N: n, At: in.OccurredAt.UTC()}, true
		}
	}
	return w, found
}

// whyOf classifies the engine's reason for skipping advocate rule r.
func whyOf(r Rule, reason string, l Limits) (string, int64) {
	switch {
	case strings.HasPrefix(reason, "below minimum amount: no conversion amount"):
		return WhyNoAmount, 0
	case strings.Contains(reason, "below minimum amount"):
		return WhyBelowMinimum, r.MinAmount
	case strings.Contains(reason, "no conversion amount"), strings.Contains(reason, "conversion amount in"):
		return WhyNoAmount, 0
	case strings.Contains(reason, "no tier for referral"):
		return WhyNoTier, int64(lastUpTo(r.Tiers))
	case strings.Contains(reason, "the bonus at"):
		return WhyBonusPaid, int64(r.AtCount)
	case strings.HasPrefix(reason, "threshold at"):
		return WhyNotYet, int64(r.AtCount)
	case strings.Contains(reason, "rewards per advocate"):
		return WhyLimitRewards, int64(l.MaxRewardsPerAdvocate)
	case strings.Contains(reason, "limit reached"):
		return WhyLimitAmount, l.MaxAmountPerAdvocate
	}
	return WhyNotRewardable, 0
}

// WhyRefused is the decision record of a conversion CheckConversion refused for a reason the
// advocate should hear (the attribution window had closed, the program had ended); ok is false
// for any other error.
func WhyRefused(err error, p *Program, ref Referral, eventID, milestone string, occurredAt time.Time) (w Why, ok bool) {
	w = Why{EventID: eventID, Milestone: milestone, At: occurredAt.UTC()}
	switch {
	case errors.Is(err, ErrAttributionExpired):
		w.Code = WhyWindowClosed
		if p != nil && p.AttributionWindowDays > 0 {
			w.N = int64(p.AttributionWindowDays)
		} else if ref.AttributionExpiresAt != nil {
			w.N = int64(ref.AttributionExpiresAt.Sub(ref.CreatedAt).Round(24*time.Hour) / (24 * time.Hour))
		}
		return w, true
	case errors.Is(err, ErrProgramInactive):
		w.Code = WhyProgramEnded
		return w, true
	}
	return w, false
}

// AddWhy is whys with w added (once per event) and only the last MaxWhysPerFriend kept.
func AddWhy(whys []Why, w Why) []Why {
	out := slices.DeleteFunc(slices.Clone(whys), func(x Why) bool { return x.EventID == w.EventID })
	out = append(out, w)
	if len(out) > MaxWhysPerFriend {
		out = out[len(out)-MaxWhysPerFriend:]
	}
	return out
}

// Progress is the advocate's next step in a program: More friends reaching Milestone earn
// them the next tier (PerFriend: Amount for each friend from then on) or a threshold bonus
// (Rule's reward, once).
type Progress struct {
	More      int
	Milestone string
	Rule      Rule
	Amount    int64 // the tier's amount per friend, or the bonus's amount (minor units; 0: not money)
	PerFriend bool
}

// NextStep is the nearest next tier or threshold bonus of the program's advocate rules for an
// advocate whose standing is st: the one that needs the fewest more friends (the first rule on
// a tie). ok is false when there is none: no tier pays more than the current one and every
// bonus is paid.
func NextStep(p *Program, st AdvocateState) (best Progress, ok bool) {
	if p == nil {
		return best, false
	}
	consider := func(c Progress) {
		if c.More > 0 && (!ok || c.More < best.More) {
			best, ok = c, true
		}
	}
	for _, r := range p.AdvocateRewards {
		count := st.Counts[r.Milestone]
		switch r.Type {
		case RuleTiered:
			// The next friend is count+1; a tier paying more than theirs starts after the
			// previous tier's upTo.
			i := tierFor(r.Tiers, count+1)
			if i < 0 {
				continue
			}
			for j := i + 1; j < len(r.Tiers); j++ {
				if r.Tiers[j].Amount > r.Tiers[i].Amount {
					consider(Progress{More: r.Tiers[j-1].UpTo - count, Milestone: r.Milestone, Rule: r,
						Amount: r.Tiers[j].Amount, PerFriend: true})
					break
				}
			}
		case RuleThreshold:
			if slices.Contains(st.Thresholds, ThresholdKey(r)) || count >= r.AtCount {
				continue
			}
			consider(Progress{More: r.AtCount - count, Milestone: r.Milestone, Rule: r, Amount: r.Amount})
		}
	}
	return best, ok
}
