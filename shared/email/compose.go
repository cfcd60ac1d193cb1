package email

import (
	"net/url"
	"slices"
	"strings"

	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
)

// Facts are what one email is about, as the table has them.
type Facts struct {
	Template  string
	Program   referral.Program
	Recipient referral.Customer
	Code      string // the recipient's code (asks, reminders, thank-yous) or the referring advocate's (friend-welcome)
	CodeIsNew bool   // ask-promo-code: the code was created for this email

	Rewards []referral.Reward  // thank-yous: the conversion's approved advocate rewards; reward-ready: the reward
	Referee *referral.Customer // thank-yous: the friend who converted, when known
	// friend-welcome
	Advocate *referral.Customer // who referred the recipient
	Coupon   string             // the friend's coupon code, once fulfilment gives them one

	LastReminder   bool
	Copy           referral.EmailCopy // the merchant's copy for this template in the recipient's language
	UnsubscribeURL string
	// PublicURL is the API's public base URL: the share link of a program without a landing
	// page is its hosted friend page there (/r/CODE).
	PublicURL string
	PageURL   string // emails to an advocate: the signed link to their referral page
}

// Compose turns facts into what the template shows, in the recipient's language.
func Compose(f Facts) (Data, string) {
	p, lang := &f.Program, locale.Lang(f.Recipient.Locale)
	d := Data{
		CustomerFirstName: referral.FirstName(f.Recipient.Name),
		Signature:         SenderName(p),
		BusinessName:      strings.TrimSpace(p.Business.Name),
		BusinessAddress:   OneLine(p.Business.Address),
		B2B:               p.Emails.Tone == referral.ToneBusiness,
		ValueProposition:  strings.TrimSpace(f.Copy.ValueProposition),
		UnsubscribeURL:    f.UnsubscribeURL,
		PageURL:           f.PageURL,
		Code:              f.Code,
		CodeIsNew:         f.CodeIsNew,
		LastReminder:      f.LastReminder,
		Copy:              f.Copy,
	}
	if lang == "th" {
		d.ThaiParticle = p.Emails.ThaiParticle
	}
	if d.ValueProposition == "" {
		d.ValueProposition = strings.TrimSpace(p.Emails.ValueProposition[lang])
	}
	if f.Code != "" {
		d.ShareURL = p.ShareLink(f.Code, f.PublicURL)
	}
	friendWelcome := f.Template == referral.EmailFriendWelcome
	if r, m, ok := locale.Headline(p.RefereeRewards, p); ok {
		d.FriendReward = locale.Describe(r, lang)
		d.FriendOffer = locale.FriendOffer(r, m, lang, friendWelcome)
	}
	if r, m, ok := locale.Headline(p.AdvocateRewards, p); ok {
		if locale.IsDonation(r) {
			d.AdvocateDonation = locale.Donation(r, lang)
		} else {
			d.AdvocateReward = locale.Describe(r, lang)
		}
		d.AdvocateWhen = locale.When(m, lang)
	}

	switch f.Template {
	case referral.EmailThanksLoyal, referral.EmailThanksOneTime:
		var earned, donated []string
		for _, rw := range f.Rewards {
			lr := locale.OfReward(rw, p.Currency)
			if locale.IsDonation(lr) {
				donated = append(donated, locale.Donation(lr, lang))
			} else {
				earned = append(earned, locale.Describe(lr, lang))
			}
		}
		d.Earned, d.Donated = locale.List(earned, lang), locale.List(donated, lang)
		if f.Referee != nil {
			d.RefereeFirstName = referral.FirstName(f.Referee.Name)
		}
		if len(f.Rewards) > 0 {
			first := f.Rewards[0]
			d.ContestPrize = first.RefereeID == ""
			if !d.ContestPrize && MultiStep(p) {
				d.Reached = locale.Reached(first.Milestone, lang)
			}
		}
	case referral.EmailFriendWelcome:
		if f.Advocate != nil {
			d.AdvocateFirstName = referral.FirstName(f.Advocate.Name)
		}
		d.ShopURL, d.ShareURL = referral.ShareURL(p.LandingURL, f.Code), ""
		if p.LandingURL == "" { // no landing page: the shop itself
			d.ShopURL = referral.ShareURL(p.ShopURL, f.Code)
		}
		d.Coupon = f.Coupon
	case referral.EmailRewardReady:
		if len(f.Rewards) > 0 {
			rw := f.Rewards[0]
			d.RewardName = locale.Describe(locale.OfReward(rw, p.Currency), lang)
			d.Coupon, d.CreditAdded = rw.ReadyAs()
		}
		d.ShopURL, d.ShareURL = Shop(p.LandingURL), ""
		if p.LandingURL == "" { // no landing page: the shop itself
			d.ShopURL = p.ShopURL
		}
	}
	return d, lang
}

// SenderName is the name emails come from and are signed with: emails.senderName, else the
// business's name, else none (never the program's internal name).
func SenderName(p *referral.Program) string {
	if s := strings.TrimSpace(p.Emails.SenderName); s != "" {
		return s
	}
	return strings.TrimSpace(p.Business.Name)
}

// MultiStep reports whether a program pays its advocates at more than one milestone, so that
// a thank-you says which one the friend reached.
func MultiStep(p *referral.Program) bool {
	var ms []string
	for _, r := range p.AdvocateRewards {
		if !slices.Contains(ms, r.Milestone) {
			ms = append(ms, r.Milestone)
		}
	}
	return len(ms) > 1
}

// Shop is the landing page's site, where a customer uses a reward: its scheme and host.
func Shop(landing string) string {
	u, err := url.Parse(landing)
	if err != nil || u.Host == "" {
		return landing
	}
	return u.Scheme + "://" + u.Host + "/"
}
