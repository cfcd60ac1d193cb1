// Package email renders the referral program's five emails (three that ask for referrals, two
// that say thank you) in English, Malay, Indonesian, Thai and Simplified Chinese. The texts are
// embedded files under templates/; subjects and plain-text parts go through text/template, HTML
// parts through html/template so that customer-supplied names are escaped.
package email

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"regexp"
	"strings"
	texttemplate "text/template"

	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
)

// Template ids (the domain's).
const (
	AskCurrent    = referral.EmailAskCurrent
	AskPromoCode  = referral.EmailAskPromoCode
	AskPastClient = referral.EmailAskPastClient
	ThanksLoyal   = referral.EmailThanksLoyal
	ThanksOneTime = referral.EmailThanksOneTime
)

// Templates lists the template ids, asks first.
var Templates = referral.EmailTemplates

// Languages lists the languages every template is written in; the first is the fallback.
var Languages = locale.Languages

// Errors returned by Render.
var (
	ErrUnknownTemplate = errors.New("email: unknown template")
	ErrMissingData     = errors.New("email: missing data")
)

// Data is everything a template may show. Money values arrive pre-formatted by FormatMoney
// (usually through DescribeReward), so the texts never contain prices of their own.
type Data struct {
	CustomerFirstName string // advocate's (recipient's) first name; empty gives a nameless greeting
	SenderName        string // program emails.senderName, e.g. "Ana at Acme"; empty falls back to ProgramName
	ProgramName       string
	ValueProposition  string // e.g. "grow your blog's conversions": a verb phrase addressed to the customer
	Code              string // promo code; required by ask-promo-code
	ShareURL          string // the advocate's share link; a call-to-action button where non-empty
	FriendOffer       string // e.g. "a $10.00 discount": a noun phrase that follows "they'll get", from refereeRewards
	AdvocateReward    string // e.g. "a $10.00 gift card": likewise, from advocateRewards
	RefereeFirstName  string // thanks templates; empty reads "your friend"
	ContestPrize      bool   // thanks templates: the reward is a contest prize, for many referrals
	RewardEarned      string // thanks templates (required): e.g. "a $25.00 gift card"
	UnsubscribeURL    string // ask templates; empty for thanks
}

// Message is a rendered email.
type Message struct {
	Template, Lang, Subject, Text, HTML string
}

// IsAsk reports whether a template asks for referrals (and so is marketing: it carries
// List-Unsubscribe headers and is never sent to opted-out customers).
func IsAsk(name string) bool { return referral.IsAskTemplate(name) }

// Lang is the language a customer locale selects (see locale.Lang).
func Lang(l string) string { return locale.Lang(l) }

// Render renders template name in the language that locale selects.
func Render(name, locale string, d Data) (Message, error) {
	lang := Lang(locale)
	s, ok := parsed[lang+"/"+name]
	if !ok {
		return Message{}, fmt.Errorf("render %q: %w", name, ErrUnknownTemplate)
	}
	switch {
	case name == AskPromoCode && d.Code == "":
		return Message{}, fmt.Errorf("render %s: %w: code is empty", name, ErrMissingData)
	case !IsAsk(name) && d.RewardEarned == "":
		return Message{}, fmt.Errorf("render %s: %w: reward earned is empty", name, ErrMissingData)
	}
	if d.SenderName == "" {
		d.SenderName = d.ProgramName
	}

	v := view{Data: d, Lang: lang}
	var b bytes.Buffer
	if err := s.subject.Execute(&b, v); err != nil {
		return Message{}, fmt.Errorf("render %s/%s subject: %w", lang, name, err)
	}
	v.Subject = strings.Join(strings.Fields(b.String()), " ")

	b.Reset()
	if err := s.text.Execute(&b, v); err != nil {
		return Message{}, fmt.Errorf("render %s/%s text: %w", lang, name, err)
	}
	text := tidy(b.String())

	b.Reset()
	if err := s.html.ExecuteTemplate(&b, "layout.html", v); err != nil {
		return Message{}, fmt.Errorf("render %s/%s html: %w", lang, name, err)
	}
	html := emptyLines.ReplaceAllString(tidy(b.String()), "\n")
	return Message{Template: name, Lang: lang, Subject: v.Subject, Text: text, HTML: html}, nil
}

// view is what the template files see: the caller's data plus what the layout needs.
type view struct {
	Data
	Lang    string
	Subject string
}

// link is what the layout's "button" and "footer-link" templates take.
type link struct {
	URL, Label string
}

//go:embed templates
var files embed.FS

type set struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

// parsed holds every template set by "lang/name"; the files are embedded, so a parse error
// is a bug that the tests catch, not a runtime condition.
var parsed = mustParse(files)

func mustParse(fsys fs.FS) map[string]set {
	layout := htmltemplate.Must(htmltemplate.New("layout.html").
		Funcs(htmltemplate.FuncMap{"link": func(url, label string) link { return link{url, label} }}).
		ParseFS(fsys, "templates/layout.html"))
	m := make(map[string]set)
	for _, lang := range Languages {
		for _, name := range Templates {
			base := "templates/" + lang + "/" + name
			m[lang+"/"+name] = set{
				subject: texttemplate.Must(texttemplate.ParseFS(fsys, base+".subject.txt")),
				text:    texttemplate.Must(texttemplate.ParseFS(fsys, base+".txt")),
				html:    htmltemplate.Must(htmltemplate.Must(layout.Clone()).ParseFS(fsys, base+".html")),
			}
		}
	}
	return m
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
