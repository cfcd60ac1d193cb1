package locale

import (
	"fmt"
	"strings"
)

var id = phrases{
	kinds: map[string]string{
		"gift_card":    "voucher hadiah senilai %[1]s",
		"store_credit": "saldo belanja senilai %[1]s",
		"discount":     "diskon %[1]s",
		"cash":         "hadiah uang tunai %[1]s",
		"points":       "%[1]s poin",
		"donation":     "donasi sebesar %[1]s untuk %[2]s",
		"donation-any": "donasi sebesar %[1]s untuk lembaga amal",
		"free_product": "produk gratis",
		"upgrade":      "upgrade gratis",
		"reward":       "hadiah spesial",
	},
	percentOff:  func(p int64) string { return fmt.Sprintf("diskon %d%%", p) },
	donation:    "%[1]s untuk %[2]s",
	donationAny: "%[1]s untuk lembaga amal",
	when: map[string]string{
		MilestoneSignup:   "saat mereka mendaftar",
		MilestoneDemo:     "saat mereka menjadwalkan demo",
		MilestoneTraining: "saat mereka menyelesaikan pelatihan",
		MilestonePurchase: "saat mereka melakukan pembelian pertama",
		"":                "saat rujukan mereka memenuhi syarat",
	},
	reached: map[string]string{
		MilestoneSignup:   "baru saja mendaftar",
		MilestoneDemo:     "baru saja menjadwalkan demo",
		MilestoneTraining: "baru saja menyelesaikan pelatihan",
		MilestonePurchase: "baru saja melakukan pembelian pertama",
		"":                "baru saja menyelesaikan langkah berikutnya",
	},
	friendOffer: func(noun string, r Reward, milestone string, you bool) string {
		when := milestonePhrase(map[string]string{
			MilestoneSignup:   "saat mendaftar",
			MilestoneDemo:     "saat menjadwalkan demo",
			MilestoneTraining: "setelah menyelesaikan pelatihan",
			MilestonePurchase: "untuk pembelian pertama mereka",
			"":                "setelah memenuhi syarat",
		}, milestone)
		if least, ok := r.minOrder(milestone, "id"); ok {
			when += " dengan minimal belanja " + least
		}
		if you {
			when = strings.NewReplacer("mereka", "Anda").Replace(when)
		}
		return noun + " " + when
	},
	// Indonesian puts a comma before "dan" in a list of three or more (PUEBI).
	list: func(items []string) string {
		if len(items) == 2 {
			return items[0] + " dan " + items[1]
		}
		return joinList(items, ", ", ", dan ")
	},
}
