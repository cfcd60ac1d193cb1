package email

import (
	"fmt"
	"strconv"
	"strings"
)

// minorUnits holds the ISO 4217 minor-unit exponents that are not 2.
var minorUnits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// MinorUnits is the ISO 4217 exponent of a currency: 2 unless listed otherwise (JPY 0, KWD 3…).
func MinorUnits(currency string) int {
	if e, ok := minorUnits[strings.ToUpper(currency)]; ok {
		return e
	}
	return 2
}

// symbols are the currencies written with a symbol before the amount; the rest are written
// "25.00 AUD". USD is "US$" outside English, as CLDR writes it for ms, id, th and zh, because
// in Southeast Asia a bare "$" could as well be Singapore dollars.
var symbols = map[string]string{
	"USD": "$", "EUR": "€", "GBP": "£", "MYR": "RM", "SGD": "S$", "THB": "฿", "IDR": "Rp", "CNY": "¥",
}

// FormatMoney writes an amount in minor units of currency the way readers of lang expect:
// 2500 USD en → "$25.00", 5000000 IDR id → "Rp50.000", 1500 JPY → "1,500 JPY".
//
// Amounts always use the ISO 4217 exponent, so IDR amounts are in sen (1/100 rupiah), as in
// ISO and most payment APIs. Rupiah are shown without decimals, as Indonesians write prices,
// unless the amount has a non-zero sen part, which is kept rather than rounded away.
// Indonesian groups with "." and uses "," as the decimal mark; the other languages use "," and ".".
func FormatMoney(amountMinor int64, currency string, lang string) string {
	cur := strings.ToUpper(strings.TrimSpace(currency))
	lang = Lang(lang)
	exp := MinorUnits(cur)

	neg := amountMinor < 0
	abs := absU(amountMinor)
	unit := uint64(1)
	for range exp {
		unit *= 10
	}
	whole, frac := abs/unit, abs%unit

	group, point := ",", "."
	if lang == "id" {
		group, point = ".", ","
	}
	num := groupDigits(whole, group)
	if exp > 0 && (cur != "IDR" || frac != 0) {
		num += point + fmt.Sprintf("%0*d", exp, frac)
	}

	var s string
	switch sym, ok := symbols[cur]; {
	case ok && cur == "USD" && lang != "en":
		s = "US$" + num
	case ok:
		s = sym + num
	case cur == "":
		s = num
	default:
		s = num + " " + cur
	}
	if neg {
		s = "-" + s
	}
	return s
}

// absU is |n|, right for math.MinInt64 too.
func absU(n int64) uint64 {
	if n < 0 {
		return -uint64(n)
	}
	return uint64(n)
}

func groupDigits(n uint64, sep string) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	lead := len(s) % 3
	if lead == 0 {
		lead = 3
	}
	b.WriteString(s[:lead])
	for i := lead; i < len(s); i += 3 {
		b.WriteString(sep)
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// rewardPhrases are per language and kind: %[1]s is the amount (or points count), %[2]s the
// charity and, in English, %[3]s the article ("a" or "an") for the amount.
var rewardPhrases = map[string]map[string]string{
	"en": {
		"gift_card":      "%[3]s %[1]s gift card",
		"store_credit":   "%[1]s store credit",
		"discount":       "%[3]s %[1]s discount",
		"cash":           "%[3]s %[1]s cash reward",
		"points":         "%[1]s points",
		"donation":       "a donation of %[1]s to %[2]s",
		"donation-any":   "%[3]s %[1]s donation to charity",
		"free_product":   "a free product",
		"upgrade":        "an upgrade",
		"reward":         "a reward",
		"monetary-other": "%[1]s",
	},
	"ms": {
		"gift_card":      "kad hadiah bernilai %[1]s",
		"store_credit":   "kredit kedai bernilai %[1]s",
		"discount":       "diskaun %[1]s",
		"cash":           "ganjaran tunai %[1]s",
		"points":         "%[1]s mata ganjaran",
		"donation":       "sumbangan %[1]s atas nama anda kepada %[2]s",
		"donation-any":   "sumbangan %[1]s atas nama anda kepada badan amal",
		"free_product":   "produk percuma",
		"upgrade":        "naik taraf percuma",
		"reward":         "ganjaran istimewa",
		"monetary-other": "%[1]s",
	},
	"id": {
		"gift_card":      "voucher hadiah senilai %[1]s",
		"store_credit":   "saldo belanja senilai %[1]s",
		"discount":       "diskon %[1]s",
		"cash":           "hadiah uang tunai %[1]s",
		"points":         "%[1]s poin",
		"donation":       "donasi sebesar %[1]s atas nama Anda untuk %[2]s",
		"donation-any":   "donasi sebesar %[1]s atas nama Anda untuk lembaga amal",
		"free_product":   "produk gratis",
		"upgrade":        "upgrade gratis",
		"reward":         "hadiah spesial",
		"monetary-other": "%[1]s",
	},
	"th": {
		"gift_card":      "บัตรของขวัญมูลค่า %[1]s",
		"store_credit":   "เครดิตร้านค้ามูลค่า %[1]s",
		"discount":       "ส่วนลด %[1]s",
		"cash":           "เงินรางวัล %[1]s",
		"points":         "คะแนนสะสม %[1]s คะแนน",
		"donation":       "การบริจาค %[1]s ในนามของคุณให้แก่%[2]s",
		"donation-any":   "การบริจาค %[1]s ในนามของคุณเพื่อการกุศล",
		"free_product":   "สินค้าฟรี",
		"upgrade":        "การอัปเกรดฟรี",
		"reward":         "ของรางวัลพิเศษ",
		"monetary-other": "%[1]s",
	},
	"zh": {
		"gift_card":      "价值 %[1]s 的礼品卡",
		"store_credit":   "价值 %[1]s 的购物金",
		"discount":       "立减 %[1]s 的优惠",
		"cash":           "现金奖励 %[1]s",
		"points":         "%[1]s积分",
		"donation":       "一笔以您的名义向%[2]s捐赠的 %[1]s 善款",
		"donation-any":   "一笔以您的名义捐出的 %[1]s 公益善款",
		"free_product":   "免费产品",
		"upgrade":        "免费升级",
		"reward":         "专属奖励",
		"monetary-other": "%[1]s",
	},
}

// DescribeReward is the phrase a sentence like "you've earned …" needs for a reward, in lang:
// "a $25.00 gift card", "$10.00 store credit", "a donation of $5.00 to Red Cross". value is in
// minor units of currency, or nil for a non-monetary reward, which is shown by its description.
// For kind "points" the value is a number of points, not money ("500 points").
func DescribeReward(kind string, value *int64, currency, description, charity, lang string) string {
	lang = Lang(lang)
	p := rewardPhrases[lang]
	description = strings.TrimSpace(description)

	if kind == "free_product" || kind == "upgrade" || value == nil {
		if description != "" {
			return description
		}
		if phrase, ok := p[kind]; ok && !strings.Contains(phrase, "%") {
			return phrase
		}
		return p["reward"]
	}

	if kind == "points" {
		sep := ","
		if lang == "id" {
			sep = "."
		}
		n := *value
		s := groupDigits(absU(n), sep)
		if n < 0 {
			s = "-" + s
		}
		return fmt.Sprintf(p["points"], s)
	}

	amount := FormatMoney(*value, currency, lang)
	article := englishArticle(*value, currency)
	switch kind {
	case "gift_card", "store_credit", "discount", "cash":
		return fmt.Sprintf(p[kind], amount, charity, article)
	case "donation":
		if charity = strings.TrimSpace(charity); charity == "" {
			return fmt.Sprintf(p["donation-any"], amount, charity, article)
		}
		return fmt.Sprintf(p["donation"], amount, charity, article)
	}
	return fmt.Sprintf(p["monetary-other"], amount, charity, article)
}

// englishArticle is "an" when the amount is read starting with a vowel sound: $8, $11, $18,
// $80–$89, $800–$899, $8,000, $11,000… (what comes first is the number, whatever the symbol).
func englishArticle(amountMinor int64, currency string) string {
	whole := absU(amountMinor)
	for range MinorUnits(currency) {
		whole /= 10
	}
	lead := groupDigits(whole, ",")
	lead, _, _ = strings.Cut(lead, ",")
	if amountMinor >= 0 && (strings.HasPrefix(lead, "8") || lead == "11" || lead == "18") {
		return "an"
	}
	return "a"
}
