package referral

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Email templates: what each email a program sends is for. Three ask for referrals, a
// reminder nudges an advocate who has not shared yet, two thank advocates for a friend who
// converted, one welcomes the friend, and reward-ready tells anyone their reward is delivered.
const (
	EmailAskCurrent    = "ask-current"
	EmailAskPromoCode  = "ask-promo-code"
	EmailAskPastClient = "ask-past-client"
	EmailThanksLoyal   = "thanks-loyal"
	EmailThanksOneTime = "thanks-one-time"
	EmailFriendWelcome = "friend-welcome"
	EmailRewardReady   = "reward-ready"
	EmailReminder      = "reminder"
)

// EmailTemplates lists the template ids, asks first.
var EmailTemplates = []string{EmailAskCurrent, EmailAskPromoCode, EmailAskPastClient, EmailThanksLoyal,
	EmailThanksOneTime, EmailFriendWelcome, EmailRewardReady, EmailReminder}

// EmailLanguages are the languages every template is written in; the first is the fallback.
var EmailLanguages = []string{"en", "ms", "id", "th", "zh"}

// IsAskTemplate reports whether a template asks for referrals (POST /asks may choose it).
func IsAskTemplate(name string) bool { return strings.HasPrefix(name, "ask-") }

// IsMarketingEmail reports whether an email is marketing: it carries List-Unsubscribe and
// never goes to a customer who opted out or an address that bounced or complained. Only
// reward-ready, which delivers what a customer earned, is transactional.
func IsMarketingEmail(name string) bool { return name != EmailRewardReady }

// Email tones: the register of a program's emails.
const (
	ToneBusiness = "business" // B2B: colleagues, working together
	TonePersonal = "personal" // B2C: friends, serving a customer (the default)
)

// Thai politeness particles a program's Thai emails may end their sentences with.
var thaiParticles = []string{"", "ค่ะ", "ครับ"}

// Loyalty defaults: an advocate is a long-time client from this many purchases, or this many
// days after their first purchase, when the program leaves the setting at 0.
const (
	DefaultLoyalAfterPurchases = 2
	DefaultLoyalAfterDays      = 365
)

// Localized is a text per language ("en", "ms", "id", "th", "zh"). In JSON it is an object
// keyed by language; a plain string is read as the English text, which is how programs
// written before the texts were per language stored it.
type Localized map[string]string

// UnmarshalJSON reads an object of texts by language, or a string as English.
func (l *Localized) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return l.UnmarshalText([]byte(s))
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*l = m
	return nil
}

// UnmarshalText reads a plain string as the English text.
func (l *Localized) UnmarshalText(b []byte) error {
	*l = nil
	if s := string(b); strings.TrimSpace(s) != "" {
		*l = Localized{"en": s}
	}
	return nil
}

// EmailCopy is a merchant's wording for one template in one language. Empty fields keep the
// template's own words. Subject, intro and cta may hold the template's placeholders
// ({firstName}…); the text is plain (an email escapes it), one paragraph.
type EmailCopy struct {
	Subject          string `json:"subject"`
	Intro            string `json:"intro"`
	CTA              string `json:"cta"`
	ValueProposition string `json:"valueProposition"`
}

// IsZero reports whether the copy changes nothing.
func (c EmailCopy) IsZero() bool { return c == EmailCopy{} }

// Bounds of merchant copy, in characters.
const (
	maxCopySubject = 100
	maxCopyIntro   = 600
	maxCopyCTA     = 40
	maxValueProp   = 120
)

// emailShapes says what each template lets a merchant change and which placeholders its
// texts may use.
var emailShapes = map[string]struct {
	cta, valueProposition bool
	placeholders          []string
}{
	EmailAskCurrent:    {true, true, []string{"firstName", "businessName", "reward", "code"}},
	EmailAskPromoCode:  {true, true, []string{"firstName", "businessName", "reward", "code"}},
	EmailAskPastClient: {true, true, []string{"firstName", "businessName", "reward", "code"}},
	EmailReminder:      {true, true, []string{"firstName", "businessName", "reward", "code"}},
	EmailThanksLoyal:   {true, false, []string{"firstName", "businessName", "friendName", "reward"}},
	EmailThanksOneTime: {false, false, []string{"firstName", "businessName", "friendName", "reward"}},
	EmailFriendWelcome: {true, true, []string{"firstName", "businessName", "advocateName", "reward"}},
	EmailRewardReady:   {true, false, []string{"firstName", "businessName", "reward"}},
}

// EmailPlaceholders lists the placeholders a template's copy may use, without braces.
func EmailPlaceholders(template string) []string {
	return slices.Clone(emailShapes[template].placeholders)
}

// ValidEmailTemplate checks a template id from a path or a body.
func ValidEmailTemplate(field, template string) error {
	if _, ok := emailShapes[template]; !ok {
		return Invalid(field, "%s must be one of %s", field, strings.Join(EmailTemplates, ", "))
	}
	return nil
}

// ValidEmailLanguage checks a language of the emails (exactly one of EmailLanguages).
func ValidEmailLanguage(field, lang string) error {
	if !slices.Contains(EmailLanguages, lang) {
		return Invalid(field, "%s must be one of %s", field, strings.Join(EmailLanguages, ", "))
	}
	return nil
}

// Validate checks merchant copy for template in lang: at least one field, the lengths, the
// placeholders the template knows, and a value proposition that reads as a verb phrase.
func (c EmailCopy) Validate(template, lang string) error {
	if err := ValidEmailTemplate("template", template); err != nil {
		return err
	}
	if err := ValidEmailLanguage("lang", lang); err != nil {
		return err
	}
	shape := emailShapes[template]
	if c.IsZero() {
		return Invalid("", "set at least one of subject, intro, cta and valueProposition (DELETE removes the copy)")
	}
	if c.CTA != "" && !shape.cta {
		return Invalid("cta", "%s has no button to label", template)
	}
	if c.ValueProposition != "" && !shape.valueProposition {
		return Invalid("valueProposition", "%s does not mention a value proposition", template)
	}
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{{"subject", c.Subject, maxCopySubject}, {"intro", c.Intro, maxCopyIntro}, {"cta", c.CTA, maxCopyCTA}} {
		if err := checkText(f.name, f.v, f.max, false); err != nil {
			return err
		}
		if err := checkPlaceholders(f.name, f.v, template, shape.placeholders); err != nil {
			return err
		}
	}
	if c.Subject != "" && strings.TrimSpace(fillPlaceholders(c.Subject)) == "" {
		return Invalid("subject", "subject needs words besides placeholders, which may be empty for some customers")
	}
	if c.ValueProposition != "" {
		return ValidValueProposition("valueProposition", lang, c.ValueProposition)
	}
	return nil
}

var placeholderRE = regexp.MustCompile(`\{([^{}]*)\}`)

// checkPlaceholders accepts {name} for the template's placeholders and refuses any other
// brace, so a typo shows at once instead of in a customer's inbox.
func checkPlaceholders(field, s, template string, allowed []string) error {
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(allowed, m[1]) {
			return Invalid(field, "unknown placeholder {%s}: %s can use {%s}", m[1], template, strings.Join(allowed, "}, {"))
		}
	}
	if rest := placeholderRE.ReplaceAllString(s, ""); strings.ContainsAny(rest, "{}") {
		return Invalid(field, "%s has a { or } that is not part of a placeholder such as {firstName}", field)
	}
	return nil
}

func fillPlaceholders(s string) string { return placeholderRE.ReplaceAllString(s, "") }

// valuePropFrames are the sentences a value proposition completes, per language.
var valuePropFrames = map[string]string{
	"en": `We love helping you …`,
	"ms": `Kami gembira dapat membantu anda …`,
	"id": `Kami senang bisa membantu Anda …`,
	"th": `เรายินดีที่ได้ช่วยให้คุณ…`,
	"zh": `我们很高兴能帮助您…`,
}

// notVerbs are English words a value proposition starts with when it is not a verb phrase:
// articles, pronouns, and the adjectives of noun phrases like "fresh beans delivered weekly".
var notVerbs = strings.Fields(`a an the our your my their his her its this these that those we you i it they
	fresh great best better new quality amazing delicious free premium affordable fast quick easy
	beautiful healthy top high low fine good nice perfect professional expert friendly local organic
	weekly daily monthly every all more most`)

// englishMarkers are words that give English away in a Malay or Indonesian text.
var englishMarkers = strings.Fields(`the your and with every for of our you to get grow enjoy save from`)

// ValidValueProposition checks a value proposition in lang: plain text of at most 120
// characters in that language (never English in another language's email), no closing
// punctuation, and in English a verb phrase that completes "We love helping you …".
func ValidValueProposition(field, lang, s string) error {
	frame := valuePropFrames[lang]
	hint := func(format string, args ...any) error {
		return Invalid(field, "%s: %s must be a verb phrase that completes %q in %s", fmt.Sprintf(format, args...), field, frame, lang)
	}
	if err := checkText(field, s, maxValueProp, true); err != nil {
		return err
	}
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "{}") {
		return hint("placeholders are not allowed here")
	}
	if last, _ := utf8.DecodeLastRuneInString(s); strings.ContainsRune(".!?。！？", last) {
		return hint("leave out the closing punctuation, the sentence goes on")
	}
	words := strings.Fields(strings.ToLower(s))
	switch lang {
	case "en":
		first := strings.Trim(words[0], `"'“”‘’`)
		switch {
		case unicode.IsUpper([]rune(s)[0]) && first != "i":
			return hint("start with a lower-case verb, as in \"grow your blog's conversions\" (not a sentence or a name)")
		case slices.Contains(notVerbs, first):
			return hint("%q does not start a verb phrase; write e.g. \"enjoy fresh beans every week\" rather than \"fresh beans delivered every week\"", first)
		case strings.HasSuffix(first, "ing") && !slices.Contains([]string{"bring", "sing", "ring", "spring", "swing", "string"}, first),
			strings.HasSuffix(first, "ed") && !strings.HasSuffix(first, "eed"):
			return hint("start with the verb's base form (\"save\", not %q)", first)
		}
	case "ms", "id":
		english := 0
		for _, w := range words {
			if slices.Contains(englishMarkers, w) {
				english++
			}
		}
		if english > 0 && english*3 >= len(words) {
			return hint("this looks like English; write it in %s", map[string]string{"ms": "Malay", "id": "Indonesian"}[lang])
		}
	case "th", "zh":
		script := map[string]*unicode.RangeTable{"th": unicode.Thai, "zh": unicode.Han}[lang]
		native, latin := 0, 0
		for _, r := range s {
			switch {
			case unicode.Is(script, r):
				native++
			case r < unicode.MaxASCII && unicode.IsLetter(r):
				latin++
			}
		}
		if native == 0 || latin > native {
			return hint("this is not written in %s", map[string]string{"th": "Thai", "zh": "Chinese"}[lang])
		}
	}
	return nil
}

// validateEmails checks a program's email settings and business identity.
func (p *Program) validateEmails() error {
	e := p.Emails
	for _, f := range []struct {
		field string
		v, hi int
	}{
		{"emails.loyalAfterPurchases", e.LoyalAfterPurchases, 1_000_000},
		{"emails.loyalAfterDays", e.LoyalAfterDays, maxDays},
		{"emails.askCooldownDays", e.AskCooldownDays, maxDays},
		{"emails.reminderAfterDays", e.ReminderAfterDays, 365},
		{"emails.maxReminders", e.MaxReminders, 5},
	} {
		if f.v < 0 || f.v > f.hi {
			return Invalid(f.field, "%s must be between 0 and %d", f.field, f.hi)
		}
	}
	if err := checkText("emails.senderName", e.SenderName, 100, false); err != nil {
		return err
	}
	if !slices.Contains([]string{"", ToneBusiness, TonePersonal}, e.Tone) {
		return Invalid("emails.tone", "emails.tone must be %s (B2B wording: colleagues, working together) or %s (B2C: friends, serving a customer)", ToneBusiness, TonePersonal)
	}
	if !slices.Contains(thaiParticles, e.ThaiParticle) {
		return Invalid("emails.thaiParticle", "emails.thaiParticle must be empty, ค่ะ or ครับ")
	}
	for _, lang := range sortedKeys(e.ValueProposition) {
		field := "emails.valueProposition." + lang
		if err := ValidEmailLanguage(field, lang); err != nil {
			return Invalid(field, "emails.valueProposition is keyed by language: %s", strings.Join(EmailLanguages, ", "))
		}
		if err := ValidValueProposition(field, lang, e.ValueProposition[lang]); err != nil {
			return err
		}
	}
	b := p.Business
	if err := checkText("business.name", b.Name, 100, false); err != nil {
		return err
	}
	if err := checkAddress("business.address", b.Address); err != nil {
		return err
	}
	if b.ReplyTo != "" {
		a, err := mail.ParseAddress(b.ReplyTo)
		if err != nil || a.Name != "" || a.Address != b.ReplyTo || len(b.ReplyTo) > 254 {
			return Invalid("business.replyTo", "business.replyTo must be a plain email address such as hello@example.com")
		}
	}
	return nil
}

// checkAddress allows a postal address on several lines: at most 300 characters, no control
// characters but line breaks.
func checkAddress(field, s string) error {
	return checkText(field, strings.ReplaceAll(s, "\n", " "), 300, false)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// LoyalClient reports whether an advocate is a long-time client by the program's settings
// (thanks-loyal rather than thanks-one-time): at least LoyalAfterPurchases purchases, or a
// first purchase at least LoyalAfterDays ago; a setting of 0 is its default (2 purchases, a
// year), never "no criterion".
func LoyalClient(c Customer, e Emails, now time.Time) bool {
	purchases, days := e.LoyalAfterPurchases, e.LoyalAfterDays
	if purchases == 0 {
		purchases = DefaultLoyalAfterPurchases
	}
	if days == 0 {
		days = DefaultLoyalAfterDays
	}
	return c.PurchaseCount >= purchases || c.FirstPurchaseAt != nil && !c.FirstPurchaseAt.After(now.AddDate(0, 0, -days))
}

// RewardEmail says what a reward's written status change calls for: a thank-you to its
// advocate when it becomes approved (or, being reversed, may let its conversion's other
// rewards be thanked for), reward-ready to its owner when it becomes fulfilled. from is the
// status before ("" for a new reward). A donation is not the customer's to use, and the
// friend's Stripe discount is the promotion code they were given when referred (and used at
// the purchase that earned the reward): neither gets a reward-ready email.
func RewardEmail(r Reward, from string) (thanks, ready bool) {
	held := from == "" || from == RewardPending || from == RewardReview
	switch r.Status {
	case RewardApproved:
		thanks = held && r.Role == RoleAdvocate
	case RewardReversed:
		thanks = held && from != "" && r.Role == RoleAdvocate
	case RewardFulfilled:
		thanks = from == "" && r.Role == RoleAdvocate
		friendsPromotionCode := r.Role == RoleReferee && r.Fulfilment != nil && r.Fulfilment.Provider == ProviderStripe
		ready = from != RewardFulfilled && r.Kind != "donation" && !friendsPromotionCode
	}
	return thanks, ready
}

// ReadyAs is what a fulfilled reward's email hands over: the code to enter at checkout (a code
// drawn from a coupon pool, a Stripe promotion code, or the reference the merchant recorded
// for a discount or gift card they delivered by hand), or credit already on the customer's
// account (a Stripe balance credit, store credit or points). Neither: the email names the
// reward only.
func (r *Reward) ReadyAs() (coupon string, credit bool) {
	if f := r.Fulfilment; f != nil {
		if f.Status != FulfilmentDone {
			return "", false
		}
		switch {
		case f.Provider == ProviderCouponPool, f.Provider == ProviderStripe && r.Role == RoleReferee:
			return f.Reference, false
		case f.Provider == ProviderStripe:
			return "", true
		}
	}
	switch r.Kind {
	case "discount", "gift_card":
		return r.Reference, false
	case "store_credit", "points":
		return "", true
	}
	return "", false
}

// FriendWelcomeDue says whether a write of a referral calls for the friend's welcome email
// (before is nil for the referral's insert): its insert, unless a Stripe promotion code is
// being made for the friend; then the write that records the code, or that it failed, so
// the email can show the code. A friend who has already reached a milestone is past welcoming.
func FriendWelcomeDue(before *Referral, after Referral) bool {
	making := func(fc *FriendCoupon) bool { return fc != nil && fc.Status == FulfilmentPending }
	if before == nil {
		return !making(after.FriendCoupon)
	}
	return making(before.FriendCoupon) && !making(after.FriendCoupon) && after.FriendCoupon != nil && after.Stage == ""
}

// ThanksFor decides the thank-you of one conversion from its rewards: the advocate's rewards
// that are approved (or already fulfilled), once none of them is still held (pending or in
// review), so that one email names them all. ready is false while a reward is held or when
// none was approved.
func ThanksFor(rewards []Reward, advocateID string) (approved []Reward, ready bool) {
	for _, r := range rewards {
		if r.Role != RoleAdvocate || r.CustomerID != advocateID {
			continue
		}
		switch r.Status {
		case RewardPending, RewardReview:
			return nil, false
		case RewardApproved, RewardFulfilled:
			approved = append(approved, r)
		}
	}
	return approved, len(approved) > 0
}

// ReminderDue reports whether an advocate is due for their next reminder, and which: they have
// a code (since codeCreatedAt) and have referred no one; reminders are on (reminderAfterDays
// and maxReminders above 0); fewer than maxReminders were sent; and reminderAfterDays have
// passed since the code was created, or since the last reminder. The scheduler records the
// reminder it finds due (store.RecordReminder); its insert sends the email.
func ReminderDue(e Emails, codeCreatedAt time.Time, referrals, sent int, lastSentAt *time.Time, now time.Time) (next int, due bool) {
	if e.ReminderAfterDays <= 0 || e.MaxReminders <= 0 || referrals > 0 || sent >= e.MaxReminders {
		return 0, false
	}
	since := codeCreatedAt
	if lastSentAt != nil && lastSentAt.After(since) {
		since = *lastSentAt
	}
	return sent + 1, !now.Before(since.AddDate(0, 0, e.ReminderAfterDays))
}
