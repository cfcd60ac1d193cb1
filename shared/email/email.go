// Package email renders and sends the referral program's emails: three that ask for
// referrals, a reminder, two thank-yous, the friend's welcome and reward-ready, in English,
// Malay, Indonesian, Thai and Simplified Chinese. The texts are embedded files under
// templates/ (subjects and plain-text parts) and compiled/ (the HTML parts as html/template
// escaped them), run by package render.
package email

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/render"
)

// Languages lists the languages every template is written in; the first is the fallback.
var Languages = referral.EmailLanguages

// Templates lists the template ids.
var Templates = referral.EmailTemplates

// Errors returned by Render.
var (
	ErrUnknownTemplate = errors.New("email: unknown template")
	ErrMissingData     = errors.New("email: missing data")
)

// Data is everything a template may show. Phrases arrive in the email's language, built by
// package locale (money, rewards, milestones), so the texts never contain prices of their own.
type Data struct {
	CustomerFirstName string // the recipient's first name; empty gives a nameless greeting
	Signature         string // who signs: emails.senderName, else business.name; empty: the language's "the team"
	BusinessName      string // business.name: the footer, "a customer of …"; empty: "us"
	BusinessAddress   string // business.address on one line
	B2B               bool   // emails.tone business: colleagues and teams rather than friends
	ThaiParticle      string // ค่ะ or ครับ for the Thai emails' polite sentences, or ""
	ValueProposition  string // completes "We love helping you …" in this language; "" = general wording
	UnsubscribeURL    string // marketing emails: the signed one-click link
	PageURL           string // emails to an advocate: the signed link to their referral page

	Code             string // the advocate's code: every ask, ask-promo-code and reminder
	CodeIsNew        bool   // ask-promo-code: the code was just created (else: a reminder of it)
	ShareURL         string // the advocate's share link: every ask and reminder, thanks-loyal
	FriendOffer      string // locale.FriendOffer: what the friend gets and when
	FriendReward     string // the friend's reward as a noun phrase: {reward} of friend-welcome
	AdvocateReward   string // the advocate's headline reward as a noun phrase ("a $10 gift card")
	AdvocateDonation string // when that reward is a donation: locale.Donation ("$5 to Red Cross")
	AdvocateWhen     string // locale.When: when the advocate's reward is paid

	RefereeFirstName string // thank-yous; empty reads "your friend"
	ContestPrize     bool   // thank-yous: a prize for the month's referrals rather than one friend
	Earned           string // thank-yous: the rewards earned (noun phrases, listed)
	Donated          string // thank-yous: what was donated in the advocate's name (listed)
	Reached          string // thank-yous in multi-step programs: locale.Reached ("has just booked a demo")

	AdvocateFirstName string // friend-welcome: who referred the recipient
	ShopURL           string // friend-welcome and reward-ready: where to use it
	Coupon            string // friend-welcome: the friend's coupon; reward-ready: the reward's code
	RewardName        string // reward-ready: the reward as a noun phrase
	CreditAdded       bool   // reward-ready: the reward was credited to the customer's account

	LastReminder bool // reminder: no more reminders after this one

	Copy referral.EmailCopy // the merchant's wording for this template and language, placeholders unfilled
}

// Message is a rendered email.
type Message struct {
	Template, Lang, Subject, Text, HTML string
}

// IsMarketing reports whether an email is marketing (List-Unsubscribe; never to opted-out or
// suppressed addresses).
func IsMarketing(name string) bool { return referral.IsMarketingEmail(name) }

// Render renders template name in the language that locale selects.
func Render(name, lang string, d Data) (Message, error) {
	lang = locale.Lang(lang)
	if referral.ValidEmailTemplate("template", name) != nil {
		return Message{}, fmt.Errorf("render %q: %w", name, ErrUnknownTemplate)
	}
	if err := required(name, d); err != nil {
		return Message{}, fmt.Errorf("render %s: %w", name, err)
	}
	s, err := setOf(lang, name)
	if err != nil {
		return Message{}, err
	}
	v := d.view(lang, name)
	var b strings.Builder
	if c := strings.TrimSpace(d.Copy.Subject); c != "" {
		b.WriteString(fill(c, d.placeholders(name), lang))
	} else if err := engine.Execute(&b, s.text, "subject", v); err != nil {
		return Message{}, fmt.Errorf("render %s/%s subject: %w", lang, name, err)
	}
	subject := strings.Join(strings.Fields(b.String()), " ")
	v["Subject"] = subject

	b.Reset()
	if err := engine.Execute(&b, s.text, name+".txt", v); err != nil {
		return Message{}, fmt.Errorf("render %s/%s text: %w", lang, name, err)
	}
	text := tidy(b.String())

	b.Reset()
	if err := engine.Execute(&b, s.html, "layout.html", v); err != nil {
		return Message{}, fmt.Errorf("render %s/%s html: %w", lang, name, err)
	}
	html := emptyLines.ReplaceAllString(tidy(b.String()), "\n")
	return Message{Template: name, Lang: lang, Subject: subject, Text: text, HTML: html}, nil
}

// required refuses data a template cannot do without.
func required(name string, d Data) error {
	var missing string
	switch {
	case referral.IsAskTemplate(name) || name == referral.EmailReminder:
		switch {
		case d.Code == "":
			missing = "code"
		case d.ShareURL == "":
			missing = "share URL"
		}
	case name == referral.EmailThanksLoyal || name == referral.EmailThanksOneTime:
		if d.Earned == "" && d.Donated == "" {
			missing = "reward earned"
		}
	case name == referral.EmailRewardReady:
		switch {
		case d.RewardName == "":
			missing = "reward"
		case d.ShopURL == "":
			missing = "shop URL"
		}
	case name == referral.EmailFriendWelcome:
		if d.ShopURL == "" {
			missing = "shop URL"
		}
	}
	if missing != "" {
		return fmt.Errorf("%w: %s is empty", ErrMissingData, missing)
	}
	return nil
}

// view is what the template files see: every field of Data by name, the merchant's copy with
// its placeholders filled, and what the layout needs.
func (d Data) view(lang, name string) map[string]any {
	ph := d.placeholders(name)
	return map[string]any{
		"Lang":              lang,
		"Subject":           "",
		"Intro":             fill(d.Copy.Intro, ph, lang),
		"CTA":               fill(d.Copy.CTA, ph, lang),
		"BusinessLine":      businessLine(d.BusinessName, d.BusinessAddress),
		"CustomerFirstName": d.CustomerFirstName,
		"Signature":         d.Signature,
		"BusinessName":      d.BusinessName,
		"BusinessAddress":   d.BusinessAddress,
		"B2B":               d.B2B,
		"ThaiParticle":      d.ThaiParticle,
		"ThaiQuestion":      thaiQuestion(d.ThaiParticle),
		"ValueProposition":  d.ValueProposition,
		"UnsubscribeURL":    d.UnsubscribeURL,
		"PageURL":           d.PageURL,
		"Code":              d.Code,
		"CodeIsNew":         d.CodeIsNew,
		"ShareURL":          d.ShareURL,
		"FriendOffer":       d.FriendOffer,
		"FriendReward":      d.FriendReward,
		"AdvocateReward":    d.AdvocateReward,
		"AdvocateDonation":  d.AdvocateDonation,
		"AdvocateWhen":      d.AdvocateWhen,
		"RefereeFirstName":  d.RefereeFirstName,
		"ContestPrize":      d.ContestPrize,
		"Earned":            d.Earned,
		"Donated":           d.Donated,
		"Reached":           d.Reached,
		"AdvocateFirstName": d.AdvocateFirstName,
		"ShopURL":           d.ShopURL,
		"Coupon":            d.Coupon,
		"RewardName":        d.RewardName,
		"CreditAdded":       d.CreditAdded,
		"LastReminder":      d.LastReminder,
	}
}

// thaiQuestion is the particle that ends a polite Thai question: คะ where a statement ends
// with ค่ะ; ครับ either way.
func thaiQuestion(particle string) string {
	if particle == "ค่ะ" {
		return "คะ"
	}
	return particle
}

// businessLine is the footer's identity line: "Acme Coffee · 1 Main St, Springfield".
func businessLine(name, address string) string {
	var parts []string
	if name = strings.TrimSpace(name); name != "" {
		parts = append(parts, name)
	}
	if address = OneLine(address); address != "" {
		parts = append(parts, address)
	}
	return strings.Join(parts, " · ")
}

// OneLine writes a postal address given on several lines on one: "1 Main St, Springfield".
func OneLine(address string) string {
	var lines []string
	for l := range strings.SplitSeq(address, "\n") {
		if l = strings.Trim(strings.TrimSpace(l), ","); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, ", ")
}

// placeholders are the values of the merchant copy's placeholders in template.
func (d Data) placeholders(template string) map[string]string {
	reward := d.AdvocateReward
	switch template {
	case referral.EmailThanksLoyal, referral.EmailThanksOneTime:
		reward = d.Earned
		if reward == "" {
			reward = d.Donated
		}
	case referral.EmailFriendWelcome:
		reward = d.FriendReward
	case referral.EmailRewardReady:
		reward = d.RewardName
	}
	return map[string]string{
		"firstName":    d.CustomerFirstName,
		"friendName":   d.RefereeFirstName,
		"advocateName": d.AdvocateFirstName,
		"businessName": d.BusinessName,
		"reward":       reward,
		"code":         d.Code,
	}
}

var (
	placeholder     = regexp.MustCompile(`\{([A-Za-z]+)\}`)
	spaceBeforeMark = regexp.MustCompile(`\s+([,.!?;:，。！？；：])`)
	leadingMarks    = regexp.MustCompile(`^[\s,.;:，。；：]+`)
	repeatedSpaces  = regexp.MustCompile(`[ \t]{2,}`)
)

// fill replaces the placeholders of merchant copy with their values. A placeholder without a
// value (a customer without a name) leaves no trace: no doubled space, no leading comma.
func fill(s string, values map[string]string, lang string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	last := 0
	for _, m := range placeholder.FindAllStringSubmatchIndex(s, -1) {
		before, v := s[last:m[0]], values[s[m[2]:m[3]]]
		if lang == "th" && v != "" { // a Latin value is spaced from the Thai around it
			if r, _ := utf8.DecodeLastRuneInString(before); unicode.Is(unicode.Thai, r) {
				v = locale.Pad(v)
			}
			next, _ := utf8.DecodeRuneInString(s[m[1]:])
			if end, _ := utf8.DecodeLastRuneInString(v); unicode.Is(unicode.Thai, next) && !locale.Native(end) {
				v += " "
			}
		}
		b.WriteString(before)
		b.WriteString(v)
		last = m[1]
	}
	b.WriteString(s[last:])
	s = b.String()
	s = repeatedSpaces.ReplaceAllString(s, " ")
	s = spaceBeforeMark.ReplaceAllString(s, "$1")
	s = leadingMarks.ReplaceAllString(s, "")
	return strings.TrimSpace(s)
}

//go:embed templates/*/*.txt compiled
var files embed.FS

// templateFS is where the sets are read from: the embedded files (tests that rewrite
// compiled/ read the folder instead).
var templateFS fs.FS = files

// set is one template in one language: its text templates (subject and plain-text part) and
// its compiled HTML.
type set struct {
	text, html render.Set
}

var (
	setsMu sync.Mutex
	sets   = map[string]*set{}
	shared render.Set // compiled/layout.html, parsed once
)

// setOf parses (once) the templates of name in lang. The files are embedded, so an error is a
// bug that the tests catch, not a runtime condition.
func setOf(lang, name string) (*set, error) {
	setsMu.Lock()
	defer setsMu.Unlock()
	if s, ok := sets[lang+"/"+name]; ok {
		return s, nil
	}
	s, err := loadSet(templateFS, lang, name)
	if err != nil {
		return nil, err
	}
	sets[lang+"/"+name] = s
	return s, nil
}

func loadSet(fsys fs.FS, lang, name string) (*set, error) {
	if shared == nil {
		t, err := parseFile(fsys, "compiled/layout.html")
		if err != nil {
			return nil, err
		}
		shared = t
	}
	common, err := parseFile(fsys, "templates/"+lang+"/common.txt")
	if err != nil {
		return nil, err
	}
	text, err := parseFile(fsys, "templates/"+lang+"/"+name+".txt")
	if err != nil {
		return nil, err
	}
	commonHTML, err := parseFile(fsys, "compiled/"+lang+"/common.html")
	if err != nil {
		return nil, err
	}
	html, err := parseFile(fsys, "compiled/"+lang+"/"+name+".html")
	if err != nil {
		return nil, err
	}
	return &set{text: common.With(text), html: shared.With(commonHTML).With(html)}, nil
}

func parseFile(fsys fs.FS, path string) (render.Set, error) {
	b, err := fs.ReadFile(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("email templates: %w", err)
	}
	name := path[strings.LastIndexByte(path, '/')+1:]
	t, err := engine.Parse(name, string(b))
	if err != nil {
		return nil, fmt.Errorf("email templates: %s: %w", path, err)
	}
	return t, nil
}

var (
	trailingSpace = regexp.MustCompile(`[ \t]+\n`)
	blankLines    = regexp.MustCompile(`\n{3,}`)
	emptyLines    = regexp.MustCompile(`\n{2,}`)
)

// tidy trims trailing spaces and folds the blank lines that optional paragraphs leave behind,
// so the files can be written for people to read rather than around template whitespace.
func tidy(s string) string {
	s = trailingSpace.ReplaceAllString(s, "\n")
	s = blankLines.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s) + "\n"
}
