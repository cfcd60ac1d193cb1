package referral

import (
	"net/mail"
	"regexp"
	"strings"
)

var idRE = regexp.MustCompile(`^[A-Za-z0-9._:@+-]{1,128}$`)

// ValidID checks an id chosen by the merchant (program, customer, event): 1–128 characters
// from letters, digits and . _ : @ + -.
func ValidID(field, id string) error {
	if !idRE.MatchString(id) {
		return Invalid(field, "must be 1 to 128 letters, digits or . _ : @ + -")
	}
	return nil
}

// gmailLike are providers that ignore dots and +tags in the local part.
var gmailLike = map[string]string{"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}

// NormalizeEmail is the form two addresses are compared in for self-referral and duplicate
// referees: trimmed, lower case, a +tag stripped from the local part for every domain, and for
// Gmail (googlemail.com being the same mailbox) without dots in the local part.
func NormalizeEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	local, domain := s[:at], s[at+1:]
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if canon, ok := gmailLike[domain]; ok {
		local = strings.ReplaceAll(local, ".", "")
		domain = canon
	}
	return local + "@" + domain
}

// ValidEmail checks a plain address (no display name) of at most 254 characters.
func ValidEmail(field, s string) error {
	if len(s) > 254 {
		return Invalid(field, "an email address is at most 254 characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return Invalid(field, "must be a plain email address like ana@example.com")
	}
	return nil
}

var localeRE = regexp.MustCompile(`^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$`)

// ValidLocale checks a BCP 47-like language tag (en, ms, zh-CN, pt_BR).
func ValidLocale(field, s string) error {
	if len(s) > 35 || !localeRE.MatchString(s) {
		return Invalid(field, "must be a language tag like en, ms or zh-CN")
	}
	return nil
}

// FirstName is the part of a full name shown publicly.
func FirstName(name string) string {
	f := strings.Fields(name)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
