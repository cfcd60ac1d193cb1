package insights

import (
	"math"
	"strings"
	"time"

	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Stats is the body of GET /programs/{programId}/stats: a program's KPIs over a range of months
// (both ends null: since the program began). See the package doc for the definitions.
type Stats struct {
	ProgramID           string                 `json:"programId"`
	From                *string                `json:"from"`
	To                  *string                `json:"to"`
	AsOf                time.Time              `json:"asOf"` // the newest change counted
	Advocates           int64                  `json:"advocates"`
	ActiveAdvocates     int64                  `json:"activeAdvocates"`
	Referrals           int64                  `json:"referrals"`
	Conversions         map[string]int64       `json:"conversions"` // referees who reached each milestone, net of reversals
	ReversedConversions int64                  `json:"reversedConversions"`
	ConversionRate      float64                `json:"conversionRate"` // conversions of the last milestone ÷ referrals
	RepeatReferrers     int64                  `json:"repeatReferrers"`
	Customers           int64                  `json:"customers"`
	ReferralRate        float64                `json:"referralRate"`      // active advocates ÷ customers
	Clicks              int64                  `json:"clicks"`            // visits to share links
	ClicksByChannel     map[string]int64       `json:"clicksByChannel"`   // visits per share channel (?ch=)
	ReferralsPerClick   float64                `json:"referralsPerClick"` // referrals ÷ clicks
	ReferredRevenue     referral.Money         `json:"referredRevenue"`
	Rewards             map[string]RewardTotal `json:"rewards"` // by effective status
}

// RewardTotal is how many rewards are in a status and what the monetary ones are worth.
type RewardTotal struct {
	Count  int64          `json:"count"`
	Amount referral.Money `json:"amount"`
}

// Summarize folds monthly aggregates (and the business-wide total) into a program's Stats as
// they stand at now: every reward is shown in its effective status. The aggregates count
// rewards by the hours their hold and validity end, so a bucket turns up to an hour late;
// turning (store.RewardsTurning: the rewards whose hold or validity ended lately, not yet
// written so) moves the ones a bucket has not turned yet, so a change shows at once. from
// and to are echoed ("" = open).
func Summarize(p *referral.Program, months []store.MonthStats, total store.MonthStats, turning []referral.Reward, from, to string, now time.Time) Stats {
	st := Stats{ProgramID: p.ProgramID, Conversions: map[string]int64{}, Rewards: map[string]RewardTotal{}, ClicksByChannel: map[string]int64{},
		ReferredRevenue: referral.Money{Currency: p.Currency}}
	if from != "" {
		st.From = &from
	}
	if to != "" {
		st.To = &to
	}
	for _, m := range p.Milestones {
		st.Conversions[m] = 0
	}
	for _, s := range referral.RewardStatuses {
		st.Rewards[s] = RewardTotal{Amount: referral.Money{Currency: p.Currency}}
	}
	for _, m := range months {
		if m.AsOf.After(st.AsOf) {
			st.AsOf = m.AsOf
		}
		for name, v := range m.Counters {
			switch name {
			case counterAdvocates:
				st.Advocates += v
			case counterActiveAdvocates:
				st.ActiveAdvocates += v
			case counterReferrals:
				st.Referrals += v
			case counterRepeatReferrers:
				st.RepeatReferrers += v
			case counterReversed:
				st.ReversedConversions += v
			case counterRevenue:
				st.ReferredRevenue.Amount += v
			case counterClicks:
				st.Clicks += v
			default:
				if ch, ok := strings.CutPrefix(name, channelPrefix); ok {
					st.ClicksByChannel[ch] += v
				} else if ms, ok := strings.CutPrefix(name, conversionPrefix); ok {
					st.Conversions[ms] += v
				} else if status, avail, exp, amount, ok := parseBucket(name); ok {
					eff := effective(status, avail, exp, now)
					t := st.Rewards[eff]
					if amount {
						t.Amount.Amount += v
					} else {
						t.Count += v
					}
					st.Rewards[eff] = t
				}
			}
		}
	}
	for _, r := range turning {
		if m := MonthOf(r.CreatedAt); (from != "" && m < from) || (to != "" && m > to) {
			continue
		}
		status, avail, exp, _, _ := parseBucket(rewardBucket(r.Status, r.AvailableAt, r.ExpiresAt) + "#n")
		counted, exact := effective(status, avail, exp, now), r.EffectiveStatus(now)
		if counted == exact {
			continue
		}
		was, is := st.Rewards[counted], st.Rewards[exact]
		was.Count--
		is.Count++
		if r.Value != nil {
			was.Amount.Amount -= r.Value.Amount
			is.Amount.Amount += r.Value.Amount
		}
		st.Rewards[counted], st.Rewards[exact] = was, is
	}
	if total.AsOf.After(st.AsOf) {
		st.AsOf = total.AsOf
	}
	if st.AsOf.IsZero() {
		st.AsOf = now // nothing counted yet
	}
	st.Customers = total.Counters[counterCustomers]
	st.ConversionRate = ratio(st.Conversions[LastMilestone(p)], st.Referrals)
	st.ReferralRate = ratio(st.ActiveAdvocates, st.Customers)
	st.ReferralsPerClick = ratio(st.Referrals, st.Clicks)
	return st
}

// effective is the status a reward bucket has at now (as referral.Reward.EffectiveStatus).
func effective(status string, avail, exp *time.Time, now time.Time) string {
	switch status {
	case referral.RewardPending, referral.RewardApproved, referral.RewardReview:
		if exp != nil && !now.Before(*exp) {
			return referral.RewardExpired
		}
		if status == referral.RewardPending && avail != nil && !now.Before(*avail) {
			return referral.RewardApproved
		}
	}
	return status
}

// ratio is n/d to four decimals, 0 when d is 0.
func ratio(n, d int64) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(float64(n)/float64(d)*10000) / 10000
}
