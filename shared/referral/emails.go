package referral

import "strings"

// Email templates: what each email a program sends is for. Three ask for referrals, two thank
// advocates for them.
const (
	EmailAskCurrent    = "ask-current"
	EmailAskPromoCode  = "ask-promo-code"
	EmailAskPastClient = "ask-past-client"
	EmailThanksLoyal   = "thanks-loyal"
	EmailThanksOneTime = "thanks-one-time"
)

// EmailTemplates lists the template ids, asks first.
var EmailTemplates = []string{EmailAskCurrent, EmailAskPromoCode, EmailAskPastClient, EmailThanksLoyal, EmailThanksOneTime}

// IsAskTemplate reports whether a template asks for referrals.
func IsAskTemplate(name string) bool { return strings.HasPrefix(name, "ask-") }
