package insights

import (
	"strconv"
	"strings"
	"time"

	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Counter names in the aggregate items. Conversions are per milestone (conv#<milestone>);
// rewards per stored status and the hours their hold and validity end, so the effective
// status can be worked out when read (rw#<status>#<availableHour>#<expiresHour>#n|a).
const (
	counterCustomers       = "customers"
	counterAdvocates       = "advocates"
	counterActiveAdvocates = "activeAdvocates"
	counterRepeatReferrers = "repeatReferrers"
	counterReferrals       = "referrals"
	counterReversed        = "reversedConversions"
	counterRevenue         = "revenue"
	counterClicks          = "clicks"
	channelPrefix          = "ch#" // share-link visits per channel: ch#<channel>
	conversionPrefix       = "conv#"
	rewardPrefix           = "rw#"
	noHour                 = "-"
	hourLayout             = "2006010215"
	// bucketSpan is how late a reward bucket may turn: its hours are rounded up.
	bucketSpan = time.Hour
)

// LastMilestone is the milestone whose referees count as converted, or "" without a program.
func LastMilestone(p *referral.Program) string {
	if p == nil || len(p.Milestones) == 0 {
		return ""
	}
	return p.Milestones[len(p.Milestones)-1]
}

// NeedsProgram reports whether Facts needs the item's program for this change (to know its
// last milestone); Facts accepts nil otherwise.
func NeedsProgram(ch store.Change) bool {
	im := ch.New
	if im == nil {
		return false
	}
	return im.Type == store.TypeAdvocate && ch.Name == "MODIFY"
}

// Facts is what one item change contributes to the insights: nothing, or one Fact whose ID
// names the business event, so that the same change seen twice is applied once. p is the
// item's program when NeedsProgram says so (nil if it no longer exists).
func Facts(ch store.Change, p *referral.Program) []store.Fact {
	old, cur := ch.Old, ch.New
	var f *store.Fact
	switch {
	case cur == nil && old != nil && old.Type == store.TypeCustomer && ch.Name == "REMOVE":
		f = &store.Fact{ID: "customer#" + old.CustomerID + "#" + nanos(old.CreatedAt) + "#removed",
			Add: map[string]int64{counterCustomers: -1}}
	case cur == nil:
		return nil
	case cur.Type == store.TypeCustomer && ch.Name == "INSERT":
		f = &store.Fact{ID: "customer#" + cur.CustomerID + "#" + nanos(cur.CreatedAt), Add: map[string]int64{counterCustomers: 1}}
	case cur.Type == store.TypeAdvocate && ch.Name == "INSERT":
		f = &store.Fact{ID: "advocate#" + cur.ProgramID + "#" + cur.CustomerID, ProgramID: cur.ProgramID,
			Month: MonthOf(cur.CreatedAt), Add: map[string]int64{counterAdvocates: 1}}
	case cur.Type == store.TypeAdvocate && ch.Name == "MODIFY" && old != nil:
		last := LastMilestone(p)
		if last == "" || old.Counts[last] >= 2 || cur.Counts[last] < 2 {
			return nil
		}
		f = &store.Fact{ID: "repeat#" + cur.ProgramID + "#" + cur.CustomerID, ProgramID: cur.ProgramID,
			Month: MonthOf(ch.At), Add: map[string]int64{counterRepeatReferrers: 1}}
	case cur.Type == store.TypeCode && ch.Name == "MODIFY" && old != nil:
		// One code per advocate per program: its first use is the advocate's first referral.
		if old.Uses > 0 || cur.Uses < 1 {
			return nil
		}
		f = &store.Fact{ID: "active#" + cur.ProgramID + "#" + cur.CustomerID, ProgramID: cur.ProgramID,
			Month: MonthOf(ch.At), Add: map[string]int64{counterActiveAdvocates: 1}}
	case cur.Type == store.TypeReferral && ch.Name == "INSERT":
		f = &store.Fact{ID: "referral#" + cur.ReferralID, ProgramID: cur.ProgramID, Month: MonthOf(cur.CreatedAt),
			Add: map[string]int64{counterReferrals: 1}}
	case cur.Type == store.TypeClick && ch.Name == "INSERT":
		f = &store.Fact{ID: "click#" + cur.ClickID, ProgramID: cur.ProgramID, Month: MonthOf(cur.CreatedAt),
			Add: map[string]int64{counterClicks: 1, channelPrefix + referral.ClickChannel(cur.Channel): 1}}
	case cur.Type == store.TypeEvent && ch.Name == "INSERT":
		f = eventFact(cur, 1)
	case cur.Type == store.TypeEvent && ch.Name == "MODIFY" && old != nil && !old.Reversed && cur.Reversed:
		f = eventFact(cur, -1)
	case cur.Type == store.TypeReward && ch.Name == "INSERT":
		f = &store.Fact{ID: "reward#" + cur.RewardID, ProgramID: cur.ProgramID, Month: MonthOf(cur.CreatedAt), Add: map[string]int64{}}
		addReward(f.Add, cur, 1)
	case cur.Type == store.TypeReward && ch.Name == "MODIFY" && old != nil && old.Status != cur.Status:
		f = &store.Fact{ID: "reward#" + cur.RewardID + "#" + old.Status + ">" + cur.Status, ProgramID: cur.ProgramID,
			Month: MonthOf(cur.CreatedAt), Add: map[string]int64{}}
		addReward(f.Add, old, -1)
		addReward(f.Add, cur, 1)
	}
	if f == nil {
		return nil
	}
	f.At = ch.At
	return []store.Fact{*f}
}

// eventFact is a recorded conversion (sign 1) or its reversal (sign -1).
func eventFact(ev *store.Image, sign int64) *store.Fact {
	f := &store.Fact{ID: "event#" + ev.EventID, ProgramID: ev.ProgramID, Month: MonthOf(ev.CreatedAt), Add: map[string]int64{}}
	if sign < 0 {
		f.ID += "#reversed"
		f.Add[counterReversed] = 1
	}
	if ev.Counted {
		f.Add[conversionPrefix+ev.Milestone] = sign
	}
	if ev.Amount != nil && ev.Amount.Amount != 0 {
		f.Add[counterRevenue] = sign * ev.Amount.Amount
	}
	if len(f.Add) == 0 {
		f.Add = nil
	}
	if f.Add == nil {
		return nil
	}
	return f
}

func addReward(add map[string]int64, r *store.Image, sign int64) {
	b := rewardBucket(r.Status, r.AvailableAt, r.ExpiresAt)
	add[b+"#n"] += sign
	if r.Value != nil {
		add[b+"#a"] += sign * r.Value.Amount
	}
}

// rewardBucket names a reward's counter group: its stored status and, where time can still
// change its effective status, the hours its hold and its validity end (rounded up, so a
// bucket never turns early; it may turn up to an hour late).
func rewardBucket(status string, available time.Time, expires *time.Time) string {
	avail, exp := noHour, noHour
	switch status {
	case referral.RewardPending:
		avail = ceilHour(available)
		fallthrough
	case referral.RewardReview, referral.RewardApproved:
		if expires != nil {
			exp = ceilHour(*expires)
		}
	}
	return rewardPrefix + status + "#" + avail + "#" + exp
}

func ceilHour(t time.Time) string {
	t = t.UTC()
	h := t.Truncate(time.Hour)
	if h.Before(t) {
		h = h.Add(time.Hour)
	}
	return h.Format(hourLayout)
}

// parseBucket splits a reward counter name; ok is false for other counters.
func parseBucket(name string) (status string, avail, exp *time.Time, amount, ok bool) {
	rest, found := strings.CutPrefix(name, rewardPrefix)
	if !found {
		return "", nil, nil, false, false
	}
	parts := strings.Split(rest, "#")
	if len(parts) != 4 || (parts[3] != "n" && parts[3] != "a") {
		return "", nil, nil, false, false
	}
	hour := func(s string) *time.Time {
		t, err := time.Parse(hourLayout, s)
		if err != nil {
			return nil
		}
		return &t
	}
	return parts[0], hour(parts[1]), hour(parts[2]), parts[3] == "a", true
}

func nanos(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }
