package locale

import (
	"unicode"
	"unicode/utf8"
)

// Thai and Chinese are written without spaces between words, but a name or an amount in Latin
// script is set apart from them. The email and page templates call these.

// Khun is คุณ with a name. A name in Latin script is set apart by spaces on both sides
// ("คุณ Ana ส่ง…"), a Thai one is written against its neighbours ("คุณนภัส"), as Thai
// typesetting wants.
func Khun(name string) string {
	if name == "" {
		return "คุณ"
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	out := "คุณ"
	if !Native(first) {
		out += " "
	}
	out += name
	if !Native(last) {
		out += " "
	}
	return out
}

// Pad puts a space before a phrase that starts with a Latin letter, a digit or a currency
// symbol, to set it apart from the Thai or Chinese text it follows ("获得 ¥20 购物金").
func Pad(s string) string {
	if r, _ := utf8.DecodeRuneInString(s); s != "" && !Native(r) && !unicode.IsPunct(r) {
		return " " + s
	}
	return s
}

// Spaced sets a name apart from the Thai around it when it starts or ends in another script
// ("ชอบ Acme Coffee เหมือนกัน", "ชอบสยามโยคะเหมือนกัน").
func Spaced(s string) string {
	if s == "" {
		return s
	}
	if r, _ := utf8.DecodeLastRuneInString(s); !Native(r) {
		s += " "
	}
	return Pad(s)
}

// Native reports whether r is written against its neighbours: Thai or Han.
func Native(r rune) bool { return unicode.In(r, unicode.Thai, unicode.Han) }
