package locale

import "fmt"

var zh = phrases{
	kinds: map[string]string{
		"gift_card":    "价值 %[1]s 的礼品卡",
		"store_credit": "%[1]s 购物金",
		"discount":     "%[1]s 优惠",
		"cash":         "%[1]s 现金奖励",
		"points":       "%[1]s 积分",
		"donation":     "以您的名义向%[2]s捐赠的 %[1]s 善款",
		"donation-any": "以您的名义捐出的 %[1]s 公益善款",
		"free_product": "免费产品",
		"upgrade":      "免费升级",
		"reward":       "专属奖励",
	},
	percentOff:  func(p int64) string { return zhDiscountRate(p) + "优惠" },
	donation:    "向%[2]s捐赠 %[1]s",
	donationAny: "捐赠 %[1]s 公益善款",
	when: map[string]string{
		MilestoneSignup:   "朋友注册后",
		MilestoneDemo:     "朋友预约演示后",
		MilestoneTraining: "朋友完成培训后",
		MilestonePurchase: "朋友首次下单后",
		"":                "朋友达成条件后",
	},
	reached: map[string]string{
		MilestoneSignup:   "刚刚完成了注册",
		MilestoneDemo:     "刚刚预约了演示",
		MilestoneTraining: "刚刚完成了培训",
		MilestonePurchase: "刚刚下了第一单",
		"":                "刚刚又完成了一步",
	},
	// A discount is said as what the order costs less ("下单可立减 ¥20", a percentage as
	// "下单可享9折", with a minimum "下单满 ¥100 可立减 ¥20"); anything else as what they
	// receive once the milestone is reached.
	friendOffer: func(noun string, r Reward, milestone string, _ bool) string {
		order := "下单"
		if least, ok := r.minOrder(milestone, "zh"); ok {
			order = "下单满 " + least + " "
		}
		if r.Kind == "discount" && (r.Value != nil || r.Percent > 0) {
			before := milestonePhrase(map[string]string{
				MilestoneSignup:   "注册后",
				MilestoneDemo:     "预约演示后",
				MilestoneTraining: "完成培训后",
				MilestonePurchase: "",
				"":                "达成条件后",
			}, milestone)
			if r.Value == nil {
				return before + order + "可享" + zhDiscountRate(r.Percent)
			}
			return before + order + "可立减 " + FormatMoney(*r.Value, r.Currency, "zh")
		}
		if milestone == MilestonePurchase {
			return "首次" + order + "即可获得" + noun
		}
		return milestonePhrase(map[string]string{
			MilestoneSignup:   "注册即可获得",
			MilestoneDemo:     "预约演示即可获得",
			MilestoneTraining: "完成培训即可获得",
			"":                "达成条件即可获得",
		}, milestone) + noun
	},
	list: func(items []string) string { return joinList(items, "、", "和") },
}

// zhDiscountRate writes a percent discount as Chinese shoppers read it: 10% off is "9折",
// 15% off "8.5折".
func zhDiscountRate(percent int64) string {
	rest := 100 - percent
	if rest%10 == 0 {
		return fmt.Sprintf("%d折", rest/10)
	}
	return fmt.Sprintf("%d.%d折", rest/10, rest%10)
}
