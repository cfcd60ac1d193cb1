package locale

import (
	"strings"
	"testing"
)

func TestLangFallsBackToEnglish(t *testing.T) {
	for locale, want := range map[string]string{
		"": "en", "en": "en", "en-US": "en", "fr": "en", "fr-FR": "en", "pt_BR": "en", "xx": "en",
		"zh-CN": "zh", "ZH": "zh", "zh_Hans_SG": "zh", "zh-TW": "zh",
		"ms_MY": "ms", "MS-my": "ms", "ms": "ms",
		"id": "id", "id-ID": "id", "in": "id", "in_ID": "id",
		"th": "th", "th-TH": "th", " th ": "th",
		"msa": "ms", "ind": "id", "tha": "th", "zho": "zh",
		"idx": "en", "m": "en", "thai": "en",
	} {
		if got := Lang(locale); got != want {
			t.Errorf("Lang(%q) = %q, want %q", locale, got, want)
		}
	}
}

// TestFormatMoneyWritesAmountsAsPeopleDo: no ".00" on whole amounts in any language ("RM10",
// "¥20", "$10"), Thai baht as a word after the number ("300 บาท"), local grouping.
func TestFormatMoneyWritesAmountsAsPeopleDo(t *testing.T) {
	for _, c := range []struct {
		amount         int64
		currency, lang string
		want           string
	}{
		{2500, "USD", "en", "$25"},
		{1000, "USD", "en", "$10"},
		{1050, "USD", "en", "$10.50"},
		{2500, "usd", "en-US", "$25"},
		{123456789, "USD", "en", "$1,234,567.89"},
		{5, "USD", "en", "$0.05"},
		{0, "USD", "en", "$0"},
		{-2500, "USD", "en", "-$25"},
		{2500, "USD", "ms", "US$25"},
		{2550, "USD", "id", "US$25,50"},
		{1000, "EUR", "en", "€10"},
		{1000, "GBP", "en", "£10"},
		{1000, "MYR", "ms", "RM10"},
		{1050, "MYR", "ms", "RM10.50"},
		{1000, "SGD", "en", "S$10"},
		{30000, "THB", "th", "300 บาท"},
		{30050, "THB", "th", "300.50 บาท"},
		{3000000, "THB", "th", "30,000 บาท"},
		{30000, "THB", "en", "฿300"},
		{2000, "CNY", "zh", "¥20"},
		{2050, "CNY", "zh", "¥20.50"},
		{5000000, "IDR", "id", "Rp50.000"},
		{5000000, "IDR", "en", "Rp50,000"},
		{5000050, "IDR", "id", "Rp50.000,50"},
		{1500, "JPY", "en", "1,500 JPY"},
		{15000, "KRW", "en", "15,000 KRW"},
		{250000, "VND", "en", "250,000 VND"},
		{1500, "KWD", "en", "1.500 KWD"},
		{1000, "KWD", "en", "1 KWD"},
		{2500, "AUD", "en", "25 AUD"},
		{250050, "AUD", "id", "2.500,50 AUD"},
		{2500, "", "en", "25"},
	} {
		if got := FormatMoney(c.amount, c.currency, c.lang); got != c.want {
			t.Errorf("FormatMoney(%d, %q, %q) = %q, want %q", c.amount, c.currency, c.lang, got, c.want)
		}
	}
}

func v(n int64) *int64 { return &n }

func TestDescribePerKindAndLanguage(t *testing.T) {
	for _, c := range []struct {
		r    Reward
		lang string
		want string
	}{
		{Reward{Kind: "gift_card", Value: v(2500), Currency: "USD"}, "en", "a $25 gift card"},
		{Reward{Kind: "gift_card", Value: v(800), Currency: "USD"}, "en", "an $8 gift card"},
		{Reward{Kind: "gift_card", Value: v(1100), Currency: "USD"}, "en", "an $11 gift card"},
		{Reward{Kind: "gift_card", Value: v(8500), Currency: "USD"}, "en", "an $85 gift card"},
		{Reward{Kind: "gift_card", Value: v(1800000), Currency: "USD"}, "en", "an $18,000 gift card"},
		{Reward{Kind: "gift_card", Value: v(11000), Currency: "USD"}, "en", "a $110 gift card"},
		{Reward{Kind: "gift_card", Value: v(800), Currency: "JPY"}, "en", "an 800 JPY gift card"},
		{Reward{Kind: "store_credit", Value: v(1000), Currency: "USD"}, "en", "$10 store credit"},
		{Reward{Kind: "discount", Value: v(1000), Currency: "USD"}, "en", "a $10 discount"},
		{Reward{Kind: "discount", Percent: 15}, "en", "a 15% discount"},
		{Reward{Kind: "cash", Value: v(1050), Currency: "USD"}, "en", "a $10.50 cash reward"},
		{Reward{Kind: "points", Value: v(1500), Currency: "USD"}, "en", "1,500 points"},
		{Reward{Kind: "donation", Value: v(500), Currency: "USD", Charity: "Red Cross"}, "en", "a $5 donation to Red Cross"},
		{Reward{Kind: "donation", Value: v(800), Currency: "USD"}, "en", "an $8 donation to charity"},
		{Reward{Kind: "upgrade", Description: "VIP for a year"}, "en", "VIP for a year"},
		{Reward{Kind: "free_product", Value: v(2000), Currency: "USD", Description: "a free tote bag"}, "en", "a free tote bag"},
		{Reward{Kind: "free_product"}, "en", "a free product"},
		{Reward{Kind: "gift_card", Description: "Amazon gift card"}, "en", "Amazon gift card"},
		{Reward{Kind: "mystery"}, "en", "a reward"},
		{Reward{Kind: "mystery", Value: v(1000), Currency: "USD"}, "en", "$10"},

		{Reward{Kind: "gift_card", Value: v(1000), Currency: "MYR"}, "ms", "kad hadiah bernilai RM10"},
		{Reward{Kind: "store_credit", Value: v(1000), Currency: "MYR"}, "ms-MY", "kredit kedai bernilai RM10"},
		{Reward{Kind: "discount", Value: v(1000), Currency: "MYR"}, "ms", "diskaun RM10"},
		{Reward{Kind: "upgrade"}, "ms", "naik taraf percuma"},

		{Reward{Kind: "gift_card", Value: v(5000000), Currency: "IDR"}, "id", "voucher hadiah senilai Rp50.000"},
		{Reward{Kind: "discount", Value: v(5000000), Currency: "IDR"}, "id", "diskon Rp50.000"},
		{Reward{Kind: "points", Value: v(1500), Currency: "IDR"}, "id", "1.500 poin"},

		{Reward{Kind: "gift_card", Value: v(50000), Currency: "THB"}, "th", "บัตรของขวัญมูลค่า 500 บาท"},
		{Reward{Kind: "points", Value: v(500), Currency: "THB"}, "th", "คะแนนสะสม 500 คะแนน"},
		{Reward{Kind: "free_product"}, "th", "สินค้าฟรี"},

		{Reward{Kind: "gift_card", Value: v(5000), Currency: "CNY"}, "zh-CN", "价值 ¥50 的礼品卡"},
		{Reward{Kind: "store_credit", Value: v(2000), Currency: "CNY"}, "zh", "¥20 购物金"},
		{Reward{Kind: "discount", Percent: 15}, "zh", "8.5折优惠"},

		{Reward{Kind: "gift_card", Value: v(2500), Currency: "USD"}, "fr", "a $25 gift card"},
	} {
		if got := Describe(c.r, c.lang); got != c.want {
			t.Errorf("Describe(%+v, %q) = %q, want %q", c.r, c.lang, got, c.want)
		}
	}
}

// TestDonationsAreGivenInTheCustomersName: a donation is what "we donated" gives, to whom.
func TestDonationsAreGivenInTheCustomersName(t *testing.T) {
	for _, c := range []struct {
		r    Reward
		lang string
		want string
	}{
		{Reward{Kind: "donation", Value: v(500), Currency: "USD", Charity: "Red Cross"}, "en", "$5 to Red Cross"},
		{Reward{Kind: "donation", Value: v(500), Currency: "USD"}, "en", "$5 to charity"},
		{Reward{Kind: "donation", Value: v(500), Currency: "MYR", Charity: "MERCY Malaysia"}, "ms", "RM5 kepada MERCY Malaysia"},
		{Reward{Kind: "donation", Value: v(2500000), Currency: "IDR"}, "id", "Rp25.000 untuk lembaga amal"},
		{Reward{Kind: "donation", Value: v(30000), Currency: "THB", Charity: "สภากาชาดไทย"}, "th", "300 บาท ให้แก่สภากาชาดไทย"},
		{Reward{Kind: "donation", Value: v(2000), Currency: "CNY", Charity: "壹基金"}, "zh", "向壹基金捐赠 ¥20"},
	} {
		if got := Donation(c.r, c.lang); got != c.want {
			t.Errorf("Donation(%+v, %q) = %q, want %q", c.r, c.lang, got, c.want)
		}
	}
}

// TestFriendOfferNamesTheMilestone: the friend's offer says when it applies, per language;
// zh says a discount as what the order costs less ("他们下单可立减 ¥20").
func TestFriendOfferNamesTheMilestone(t *testing.T) {
	discount := func(amount int64, cur string) Reward {
		return Reward{Kind: "discount", Value: v(amount), Currency: cur}
	}
	for _, c := range []struct {
		r         Reward
		milestone string
		lang      string
		want      string
	}{
		{discount(1000, "USD"), "purchase", "en", "a $10 discount on their first order"},
		{discount(1000, "USD"), "signup", "en", "a $10 discount when they sign up"},
		{discount(1000, "USD"), "first_ride", "en", "a $10 discount once they qualify"},
		{discount(1000, "MYR"), "purchase", "ms", "diskaun RM10 untuk pembelian pertama mereka"},
		{discount(5000000, "IDR"), "signup", "id", "diskon Rp50.000 saat mendaftar"},
		{discount(30000, "THB"), "purchase", "th", "ส่วนลด 300 บาทสำหรับการซื้อครั้งแรก"},
		{discount(2000, "CNY"), "purchase", "zh", "下单可立减 ¥20"},
		{discount(2000, "CNY"), "signup", "zh", "注册后下单可立减 ¥20"},
		{Reward{Kind: "discount", Percent: 10}, "purchase", "zh", "下单可享9折"},
		{Reward{Kind: "gift_card", Value: v(5000), Currency: "CNY"}, "demo", "zh", "预约演示即可获得价值 ¥50 的礼品卡"},
		// A rule's minimum order is part of the offer (a purchase's only: a signup has no order).
		{Reward{Kind: "discount", Value: v(500), Currency: "USD", MinOrder: v(2000)}, "purchase", "en", "a $5 discount on their first order of $20 or more"},
		{Reward{Kind: "discount", Value: v(500), Currency: "USD", MinOrder: v(2000)}, "signup", "en", "a $5 discount when they sign up"},
		{Reward{Kind: "discount", Value: v(1000), Currency: "MYR", MinOrder: v(5000)}, "purchase", "ms", "diskaun RM10 untuk pembelian pertama mereka dengan belanja minimum RM50"},
		{Reward{Kind: "discount", Value: v(2500000), Currency: "IDR", MinOrder: v(20000000)}, "purchase", "id", "diskon Rp25.000 untuk pembelian pertama mereka dengan minimal belanja Rp200.000"},
		{Reward{Kind: "discount", Value: v(5000), Currency: "THB", MinOrder: v(50000)}, "purchase", "th", "ส่วนลด 50 บาทสำหรับการซื้อครั้งแรก เมื่อซื้อครบ 500 บาท"},
		{Reward{Kind: "discount", Value: v(2000), Currency: "CNY", MinOrder: v(10000)}, "purchase", "zh", "下单满 ¥100 可立减 ¥20"},
		{Reward{Kind: "discount", Percent: 10, MinOrder: v(10000), Currency: "CNY"}, "purchase", "zh", "下单满 ¥100 可享9折"},
		{Reward{Kind: "gift_card", Value: v(5000), Currency: "CNY", MinOrder: v(10000)}, "purchase", "zh", "首次下单满 ¥100 即可获得价值 ¥50 的礼品卡"},
	} {
		if got := FriendOffer(c.r, c.milestone, c.lang, false); got != c.want {
			t.Errorf("FriendOffer(%+v, %q, %q) = %q, want %q", c.r, c.milestone, c.lang, got, c.want)
		}
	}
}

// TestFriendOfferSaidToTheFriend: friend-welcome says "your first order", not "their".
func TestFriendOfferSaidToTheFriend(t *testing.T) {
	d := Reward{Kind: "discount", Value: v(1000), Currency: "USD"}
	for _, c := range []struct{ milestone, lang, want string }{
		{"purchase", "en", "a $10 discount on your first order"},
		{"training", "en", "a $10 discount when you complete your training"},
		{"purchase", "ms", "diskaun US$10 untuk pembelian pertama anda"},
		{"purchase", "id", "diskon US$10 untuk pembelian pertama Anda"},
	} {
		if got := FriendOffer(d, c.milestone, c.lang, true); got != c.want {
			t.Errorf("FriendOffer(%s, %s, you) = %q, want %q", c.milestone, c.lang, got, c.want)
		}
	}
	minimum := d
	minimum.MinOrder = v(5000)
	for _, c := range []struct{ lang, want string }{
		{"en", "a $10 discount on your first order of $50 or more"},
		{"ms", "diskaun US$10 untuk pembelian pertama anda dengan belanja minimum US$50"},
	} {
		if got := FriendOffer(minimum, "purchase", c.lang, true); got != c.want {
			t.Errorf("FriendOffer(min $50, %s, you) = %q, want %q", c.lang, got, c.want)
		}
	}
}

// TestMilestonesHaveWordsInEveryLanguage: the four known milestones have their own words in
// every language, other milestones a general phrase; nothing falls back to English.
func TestMilestonesHaveWordsInEveryLanguage(t *testing.T) {
	known := []string{MilestoneSignup, MilestoneDemo, MilestoneTraining, MilestonePurchase}
	for _, lang := range Languages {
		seen := map[string]string{}
		for _, m := range append(known, "first_ride") {
			for name, got := range map[string]string{"When": When(m, lang), "Reached": Reached(m, lang),
				"FriendOffer": FriendOffer(Reward{Kind: "gift_card", Value: v(1000), Currency: "USD"}, m, lang, false)} {
				if got == "" || strings.Contains(got, "%!") || strings.Contains(got, "first_ride") {
					t.Errorf("%s(%q, %s) = %q", name, m, lang, got)
				}
				if lang != "en" && got == map[string]string{"When": When(m, "en"), "Reached": Reached(m, "en")}[name] {
					t.Errorf("%s(%q, %s) is the English %q", name, m, lang, got)
				}
				if prev, dup := seen[name+got]; dup {
					t.Errorf("%s: %q and %q read the same in %s: %q", name, prev, m, lang, got)
				}
				seen[name+got] = m
			}
		}
	}
	if got := When(MilestonePurchase, "th"); got != "เมื่อเพื่อนซื้อครั้งแรก" {
		t.Errorf("th purchase: %q", got)
	}
	if got := When(MilestoneSignup, "th"); got != "เมื่อเพื่อนสมัคร" {
		t.Errorf("th signup: %q", got)
	}
}

func TestListJoinsTheWayEachLanguageDoes(t *testing.T) {
	three := []string{"A", "B", "C"}
	for lang, want := range map[string]string{"en": "A, B and C", "ms": "A, B dan C", "id": "A, B, dan C", "th": "A B และ C", "zh": "A、B和C"} {
		if got := List(three, lang); got != want {
			t.Errorf("List(%s) = %q, want %q", lang, got, want)
		}
	}
	if got := List([]string{"บัตรของขวัญ", "สินค้าฟรี"}, "th"); got != "บัตรของขวัญ และสินค้าฟรี" {
		t.Errorf("th Thai items: %q", got)
	}
	if got := List([]string{"x", "y"}, "id"); got != "x dan y" {
		t.Errorf("id pair: %q", got)
	}
	if got := List([]string{"only"}, "zh"); got != "only" {
		t.Errorf("one item: %q", got)
	}
}

func TestDescribeCoversEveryKindInEveryLanguage(t *testing.T) {
	kinds := []string{"discount", "store_credit", "points", "gift_card", "cash", "free_product", "upgrade", "donation"}
	for _, lang := range Languages {
		for _, kind := range kinds {
			for _, value := range []*int64{v(1000), nil} {
				got := Describe(Reward{Kind: kind, Value: value, Currency: "USD", Charity: "Red Cross"}, lang)
				if got == "" || strings.Contains(got, "%!") {
					t.Errorf("Describe(%q, %v, %q) = %q", kind, value, lang, got)
				}
			}
		}
	}
}
