package locale

import (
	"fmt"
	"strings"
)

var en = phrases{
	kinds: map[string]string{
		"gift_card":    "%[3]s %[1]s gift card",
		"store_credit": "%[1]s store credit",
		"discount":     "%[3]s %[1]s discount",
		"cash":         "%[3]s %[1]s cash reward",
		"points":       "%[1]s points",
		"donation":     "%[3]s %[1]s donation to %[2]s",
		"donation-any": "%[3]s %[1]s donation to charity",
		"free_product": "a free product",
		"upgrade":      "an upgrade",
		"reward":       "a reward",
	},
	percentOff:  func(p int64) string { return fmt.Sprintf("a %d%% discount", p) },
	donation:    "%[1]s to %[2]s",
	donationAny: "%[1]s to charity",
	when: map[string]string{
		MilestoneSignup:   "when they sign up",
		MilestoneDemo:     "when they book a demo",
		MilestoneTraining: "when they complete their training",
		MilestonePurchase: "when they make their first purchase",
		"":                "when their referral qualifies",
	},
	reached: map[string]string{
		MilestoneSignup:   "has just signed up",
		MilestoneDemo:     "has just booked a demo",
		MilestoneTraining: "has just completed their training",
		MilestonePurchase: "has just made their first purchase",
		"":                "has just reached the next step",
	},
	friendOffer: func(noun string, r Reward, milestone string, you bool) string {
		when := milestonePhrase(map[string]string{
			MilestoneSignup:   "when they sign up",
			MilestoneDemo:     "when they book a demo",
			MilestoneTraining: "when they complete their training",
			MilestonePurchase: "on their first order",
			"":                "once they qualify",
		}, milestone)
		if least, ok := r.minOrder(milestone, "en"); ok {
			when += " of " + least + " or more"
		}
		if you {
			when = strings.NewReplacer("their", "your", "they", "you").Replace(when)
		}
		return noun + " " + when
	},
	list: func(items []string) string { return joinList(items, ", ", " and ") },
}
