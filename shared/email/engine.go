package email

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/referral/referrals/shared/render"
)

// engine runs the email templates (see package render: no text/template executor, so the
// function's binary keeps no SDK method it does not call); the functions are the emails' own.
var engine = render.New(render.Funcs{
	"link": func(a []any) (any, error) {
		if len(a) != 2 {
			return nil, fmt.Errorf("link takes a URL and a label")
		}
		return map[string]any{"URL": a[0], "Label": a[1]}, nil
	},
	"khun":   func(a []any) (any, error) { return khun(fmt.Sprint(a...)), nil },
	"pad":    func(a []any) (any, error) { return pad(fmt.Sprint(a...)), nil },
	"spaced": func(a []any) (any, error) { return spaced(fmt.Sprint(a...)), nil },
})

// khun is คุณ with a name. A name in Latin script is set apart by spaces on both sides
// ("คุณ Ana ส่ง…"), a Thai one is written against its neighbours ("คุณนภัส"), as Thai
// typesetting wants.
func khun(name string) string {
	if name == "" {
		return "คุณ"
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	out := "คุณ"
	if !native(first) {
		out += " "
	}
	out += name
	if !native(last) {
		out += " "
	}
	return out
}

// pad puts a space before a phrase that starts with a Latin letter, a digit or a currency
// symbol, to set it apart from the Thai or Chinese text it follows ("获得 ¥20 购物金").
func pad(s string) string {
	if r, _ := utf8.DecodeRuneInString(s); s != "" && !native(r) && !unicode.IsPunct(r) {
		return " " + s
	}
	return s
}

// spaced sets a name apart from the Thai around it when it starts or ends in another script
// ("ชอบ Acme Coffee เหมือนกัน", "ชอบสยามโยคะเหมือนกัน").
func spaced(s string) string {
	if s == "" {
		return s
	}
	if r, _ := utf8.DecodeLastRuneInString(s); !native(r) {
		s += " "
	}
	return pad(s)
}

// native reports whether r is written against its neighbours: Thai or Han.
func native(r rune) bool { return unicode.In(r, unicode.Thai, unicode.Han) }
