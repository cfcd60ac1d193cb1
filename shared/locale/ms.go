package locale

import (
	"fmt"
	"strings"
)

var ms = phrases{
	kinds: map[string]string{
		"gift_card":    "kad hadiah bernilai %[1]s",
		"store_credit": "kredit kedai bernilai %[1]s",
		"discount":     "diskaun %[1]s",
		"cash":         "ganjaran tunai %[1]s",
		"points":       "%[1]s mata ganjaran",
		"donation":     "sumbangan %[1]s kepada %[2]s",
		"donation-any": "sumbangan %[1]s kepada badan amal",
		"free_product": "produk percuma",
		"upgrade":      "naik taraf percuma",
		"reward":       "ganjaran istimewa",
	},
	percentOff:  func(p int64) string { return fmt.Sprintf("diskaun %d%%", p) },
	donation:    "%[1]s kepada %[2]s",
	donationAny: "%[1]s kepada badan amal",
	when: map[string]string{
		MilestoneSignup:   "apabila mereka mendaftar",
		MilestoneDemo:     "apabila mereka menempah sesi demo",
		MilestoneTraining: "apabila mereka menamatkan latihan",
		MilestonePurchase: "apabila mereka membuat pembelian pertama",
		"":                "apabila rujukan mereka layak",
	},
	reached: map[string]string{
		MilestoneSignup:   "baru sahaja mendaftar",
		MilestoneDemo:     "baru sahaja menempah sesi demo",
		MilestoneTraining: "baru sahaja menamatkan latihan",
		MilestonePurchase: "baru sahaja membuat pembelian pertama",
		"":                "baru sahaja melengkapkan langkah seterusnya",
	},
	friendOffer: func(noun string, r Reward, milestone string, you bool) string {
		when := milestonePhrase(map[string]string{
			MilestoneSignup:   "apabila mendaftar",
			MilestoneDemo:     "apabila menempah sesi demo",
			MilestoneTraining: "apabila menamatkan latihan",
			MilestonePurchase: "untuk pembelian pertama mereka",
			"":                "apabila mereka layak",
		}, milestone)
		if least, ok := r.minOrder(milestone, "ms"); ok {
			when += " dengan belanja minimum " + least
		}
		if you {
			when = strings.NewReplacer("mereka", "anda").Replace(when)
		}
		return noun + " " + when
	},
	list: func(items []string) string { return joinList(items, ", ", " dan ") },
}
