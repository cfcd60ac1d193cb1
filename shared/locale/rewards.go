package locale

import (
	"fmt"
	"strings"
)

// Reward is what a phrase needs of a reward, a rule or a prize.
type Reward struct {
	Kind        string // discount, store_credit, points, gift_card, cash, free_product, upgrade, donation
	Value       *int64 // minor units of Currency (a number of points for kind points); nil = not monetary
	Percent     int64  // a percent rule's percentage when Value is nil (said only for discounts)
	Currency    string
	Description string // the merchant's words for a non-monetary reward ("VIP for a year")
	Charity     string // donations
	// MinOrder is the smallest order, in minor units of Currency, that a purchase reward
	// applies to (the rule's minAmount); nil for none. Friend offers say it.
	MinOrder *int64
}

// minOrder is r's minimum order said in lang, when r has one and the milestone is a purchase.
func (r Reward) minOrder(milestone, lang string) (string, bool) {
	if r.MinOrder == nil || *r.MinOrder <= 0 || milestone != MilestonePurchase {
		return "", false
	}
	return FormatMoney(*r.MinOrder, r.Currency, lang), true
}

// Milestones with their own wording in every language; any other milestone a program lists
// gets the language's general wording ("when their referral qualifies").
const (
	MilestoneSignup   = "signup"
	MilestoneDemo     = "demo"
	MilestoneTraining = "training"
	MilestonePurchase = "purchase"
)

// phrases are one language's ways of saying rewards, milestones and lists.
type phrases struct {
	// kinds are noun phrases per reward kind: %[1]s the amount (or points), %[2]s the charity,
	// %[3]s the English article for the amount.
	kinds map[string]string
	// percentOff is a percent discount as a noun phrase.
	percentOff func(percent int64) string
	// donation says what was (or will be) given and to whom, to follow the language's
	// "we donated" in the templates: %[1]s amount, %[2]s charity; donationAny without one.
	donation, donationAny string
	// when is the condition of the advocate's reward, from the advocate's side ("when they
	// make their first purchase"); reached follows the friend's name in a thank-you ("has just
	// made their first purchase"). Key "" is any other milestone.
	when, reached map[string]string
	// friendOffer is what the friend gets and when, phrased to follow the language's "they'll
	// get" (zh: "他们"), or "you'll get" when you is set (the friend reads it).
	friendOffer func(noun string, r Reward, milestone string, you bool) string
	// list joins two or more items.
	list func(items []string) string
}

var byLang = map[string]*phrases{"en": &en, "ms": &ms, "id": &id, "th": &th, "zh": &zh}

func phrasesOf(lang string) *phrases { return byLang[Lang(lang)] }

// Describe is the noun phrase for a reward in lang, as "you've earned …" needs it: "a $25 gift
// card", "RM10 store credit", "VIP for a year". A reward without a value is shown by its
// description (or the kind's general phrase: "a free product"); for kind "points" the value is
// a number of points ("500 points").
func Describe(r Reward, lang string) string {
	p := phrasesOf(lang)
	desc := strings.TrimSpace(r.Description)
	if r.Kind == "free_product" || r.Kind == "upgrade" || r.Value == nil {
		switch {
		case desc != "":
			return desc
		case r.Value == nil && r.Percent > 0 && r.Kind == "discount":
			return p.percentOff(r.Percent)
		}
		if phrase, ok := p.kinds[r.Kind]; ok && !strings.Contains(phrase, "%") {
			return phrase
		}
		return p.kinds["reward"]
	}
	if r.Kind == "points" {
		return fmt.Sprintf(p.kinds["points"], FormatNumber(*r.Value, lang))
	}
	amount := FormatMoney(*r.Value, r.Currency, lang)
	article := englishArticle(*r.Value, r.Currency)
	charity := strings.TrimSpace(r.Charity)
	switch r.Kind {
	case "gift_card", "store_credit", "discount", "cash":
		return fmt.Sprintf(p.kinds[r.Kind], amount, charity, article)
	case "donation":
		if charity == "" {
			return fmt.Sprintf(p.kinds["donation-any"], amount, charity, article)
		}
		return fmt.Sprintf(p.kinds["donation"], amount, charity, article)
	}
	return amount
}

// IsDonation reports whether a reward is given to a charity in the customer's name rather
// than to the customer.
func IsDonation(r Reward) bool { return r.Kind == "donation" }

// Donation says what a donation gives and to whom, to follow the language's "we donated" /
// "we'll donate" ("$5 to Red Cross"; zh "向壹基金捐赠 ¥20"). A donation without a value is
// shown by its description.
func Donation(r Reward, lang string) string {
	p := phrasesOf(lang)
	amount := strings.TrimSpace(r.Description)
	if r.Value != nil {
		amount = FormatMoney(*r.Value, r.Currency, lang)
	}
	if charity := strings.TrimSpace(r.Charity); charity != "" {
		return fmt.Sprintf(p.donation, amount, charity)
	}
	return fmt.Sprintf(p.donationAny, amount, "")
}

// When is the condition of an advocate's reward in lang, from the advocate's side: "when they
// make their first purchase" (th "เมื่อเพื่อนซื้อครั้งแรก", zh "朋友首次下单后").
func When(milestone, lang string) string { return milestonePhrase(phrasesOf(lang).when, milestone) }

// Reached is what a friend just did, to follow their name in a thank-you: "has just booked a
// demo" (ms "baru sahaja menempah demo").
func Reached(milestone, lang string) string {
	return milestonePhrase(phrasesOf(lang).reached, milestone)
}

func milestonePhrase(m map[string]string, milestone string) string {
	if s, ok := m[milestone]; ok {
		return s
	}
	return m[""]
}

// FriendOffer is what a referred friend gets and when, to follow the language's "they'll get"
// (zh: "他们"): "a $10 discount on their first order", zh "下单可立减 ¥20", with the order's
// minimum when the rule has one ("on their first order of $20 or more", zh "下单满 ¥100 可立减
// ¥20"). With you set it is said to the friend: "a $10 discount on your first order".
func FriendOffer(r Reward, milestone, lang string, you bool) string {
	p := phrasesOf(lang)
	return p.friendOffer(Describe(r, lang), r, milestone, you)
}

// List joins items the way lang lists them: "A, B and C", id "A, B, dan C", zh "A、B和C".
func List(items []string, lang string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return phrasesOf(lang).list(items)
}

// joinList is the usual list: items separated by sep, the last one by last.
func joinList(items []string, sep, last string) string {
	return strings.Join(items[:len(items)-1], sep) + last + items[len(items)-1]
}
