package referral

import (
	"crypto/rand"
	"encoding/binary"
	"regexp"
	"strings"
	"time"
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, so codes read aloud and typed
// from a screen survive the usual confusions.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// CodeRandomChars is the length of the random part of a generated code: 10 × 5 = 50 bits.
const CodeRandomChars = 10

var vanityRE = regexp.MustCompile(`^[A-Z0-9](?:[A-Z0-9-]{2,30}[A-Z0-9])$`)

// GenerateCode returns prefix followed by CodeRandomChars characters from crypto/rand.
func GenerateCode(prefix string) (string, error) {
	var b [CodeRandomChars]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	out := make([]byte, 0, len(prefix)+CodeRandomChars)
	out = append(out, strings.ToUpper(prefix)...)
	for _, c := range b {
		out = append(out, crockford[c&31])
	}
	return string(out), nil
}

// NormalizeCode makes codes case-insensitive: surrounding space trimmed, upper case.
func NormalizeCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// ValidateVanityCode checks a merchant-chosen code: 4–32 letters, digits and inner hyphens.
func ValidateVanityCode(field, code string) error {
	if !vanityRE.MatchString(code) || strings.Contains(code, "--") {
		return Invalid(field, "a vanity code is 4 to 32 letters, digits and single inner hyphens")
	}
	return nil
}

// ValidCodeSyntax reports whether s could be a code at all (used before any lookup).
func ValidCodeSyntax(s string) bool {
	if len(s) < 4 || len(s) > 45 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// NewID returns a 26-character, time-ordered, random identifier (ULID layout: 48 bits of
// milliseconds, 80 bits from crypto/rand, Crockford base32).
func NewID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the OS has no entropy: nothing sensible to do
	}
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	out := make([]byte, 26)
	// 128 bits → 26 base32 digits (130 bits, the top two are zero).
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

// ShareLink is the link an advocate shares: the program's landing page with ref=CODE, or,
// for a program without one, the hosted friend page at apiURL/r/CODE ("" when apiURL is not
// known either).
func (p *Program) ShareLink(code, apiURL string) string {
	if p.LandingURL != "" {
		return ShareURL(p.LandingURL, code)
	}
	if apiURL == "" {
		return ""
	}
	return strings.TrimRight(apiURL, "/") + "/r/" + code
}

// ShopLink is where a friend shops with code: the shop (shopUrl) with ref=CODE, else the
// landing page with it.
func (p *Program) ShopLink(code string) string {
	if p.ShopURL != "" {
		return ShareURL(p.ShopURL, code)
	}
	return ShareURL(p.LandingURL, code)
}

// ShareURL is the program's landing URL with ref=CODE added to its query (?ref= or &ref=),
// before any #fragment, so that the page receives it.
func ShareURL(landing, code string) string {
	if landing == "" {
		return ""
	}
	base, fragment, hasFragment := strings.Cut(landing, "#")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	out := base + sep + "ref=" + code
	if hasFragment {
		out += "#" + fragment
	}
	return out
}
