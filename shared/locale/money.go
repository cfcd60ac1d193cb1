package locale

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
// "25 AUD". USD is "US$" outside English, as CLDR writes it for ms, id, th and zh, because in
// Southeast Asia a bare "$" could as well be Singapore dollars.
var symbols = map[string]string{
	"USD": "$", "EUR": "€", "GBP": "£", "MYR": "RM", "SGD": "S$", "THB": "฿", "IDR": "Rp", "CNY": "¥",
}

// FormatMoney writes an amount in minor units of currency the way readers of lang expect:
// 1000 USD en → "$10", 1050 USD en → "$10.50", 30000 THB th → "300 บาท", 2000 CNY zh → "¥20",
// 5000000 IDR id → "Rp50.000", 150000 JPY → "150,000 JPY".
//
// Whole amounts have no decimals: prices in marketing copy read "RM10" and "¥20", never
// "RM10.00". An amount with a fractional part keeps all of the currency's decimals ("$10.50").
// Amounts always use the ISO 4217 exponent, so IDR amounts are in sen (1/100 rupiah), as in
// ISO and most payment APIs. Indonesian groups with "." and uses "," as the decimal mark; the
// other languages use "," and ".". Thai writes baht as a word after the number.
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
	if frac != 0 {
		num += point + fmt.Sprintf("%0*d", exp, frac)
	}

	var s string
	switch sym, ok := symbols[cur]; {
	case cur == "THB" && lang == "th":
		s = num + " บาท"
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

// FormatNumber writes a whole number with lang's digit grouping ("1,500", id "1.500").
func FormatNumber(n int64, lang string) string {
	sep := ","
	if Lang(lang) == "id" {
		sep = "."
	}
	s := groupDigits(absU(n), sep)
	if n < 0 {
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
