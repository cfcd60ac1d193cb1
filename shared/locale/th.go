package locale

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

var th = phrases{
	kinds: map[string]string{
		"gift_card":    "บัตรของขวัญมูลค่า %[1]s",
		"store_credit": "เครดิตร้านค้ามูลค่า %[1]s",
		"discount":     "ส่วนลด %[1]s",
		"cash":         "เงินรางวัล %[1]s",
		"points":       "คะแนนสะสม %[1]s คะแนน",
		"donation":     "การบริจาค %[1]s ให้แก่%[2]s",
		"donation-any": "การบริจาค %[1]s เพื่อการกุศล",
		"free_product": "สินค้าฟรี",
		"upgrade":      "การอัปเกรดฟรี",
		"reward":       "ของรางวัลพิเศษ",
	},
	percentOff:  func(p int64) string { return fmt.Sprintf("ส่วนลด %d%%", p) },
	donation:    "%[1]s ให้แก่%[2]s",
	donationAny: "%[1]s เพื่อการกุศล",
	when: map[string]string{
		MilestoneSignup:   "เมื่อเพื่อนสมัคร",
		MilestoneDemo:     "เมื่อเพื่อนนัดชมเดโม",
		MilestoneTraining: "เมื่อเพื่อนเข้าอบรมครบ",
		MilestonePurchase: "เมื่อเพื่อนซื้อครั้งแรก",
		"":                "เมื่อเพื่อนทำตามเงื่อนไขครบ",
	},
	reached: map[string]string{
		MilestoneSignup:   "เพิ่งสมัครสมาชิก",
		MilestoneDemo:     "เพิ่งนัดชมเดโม",
		MilestoneTraining: "เพิ่งเข้าอบรมครบ",
		MilestonePurchase: "เพิ่งซื้อครั้งแรก",
		"":                "เพิ่งผ่านอีกขั้นหนึ่ง",
	},
	// A minimum order is said as Thai shops say it, a clause of its own: "… สำหรับการซื้อ
	// ครั้งแรก เมื่อซื้อครบ 200 บาท".
	friendOffer: func(noun string, r Reward, milestone string, _ bool) string {
		offer := noun + milestonePhrase(map[string]string{
			MilestoneSignup:   "เมื่อสมัครสมาชิก",
			MilestoneDemo:     "เมื่อนัดชมเดโม",
			MilestoneTraining: "เมื่ออบรมครบ",
			MilestonePurchase: "สำหรับการซื้อครั้งแรก",
			"":                "เมื่อทำตามเงื่อนไขครบ",
		}, milestone)
		if least, ok := r.minOrder(milestone, "th"); ok {
			offer += " เมื่อซื้อครบ " + least
		}
		return offer
	},
	// Thai separates list items with spaces and joins the last with และ, written against a
	// Thai word and spaced from a Latin one.
	list: func(items []string) string {
		last := items[len(items)-1]
		and := " และ"
		if r, _ := utf8.DecodeRuneInString(last); !unicode.Is(unicode.Thai, r) {
			and += " "
		}
		return strings.Join(items[:len(items)-1], " ") + and + last
	},
}
