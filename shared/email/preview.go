package email

import (
	"context"
	"fmt"

	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
)

// Previewer renders a program's emails for its merchant: the program's own rewards, wording
// and business, sample customers in the email's language, and a sample unsubscribe link. It
// serves the API's preview and test-send routes.
type Previewer struct {
	Sender Sender // test sends; nil: previews only
}

// previewPeople are the sample advocate and friend of a preview, by language.
var previewPeople = map[string][2]string{
	"en": {"Maya Patel", "Jordan Lee"}, "ms": {"Aisyah Rahman", "Hafiz Ismail"}, "id": {"Putri Lestari", "Budi Santoso"},
	"th": {"นภัส สุขใจ", "ต้น วงศ์ใหญ่"}, "zh": {"晓雯", "子涵"},
}

// previewFacts are the facts of template to a sample customer of p in lang, with copy c.
func (pv *Previewer) previewFacts(p referral.Program, template, lang string, c referral.EmailCopy, baseURL string) Facts {
	people := previewPeople[lang]
	advocate := referral.Customer{CustomerID: "preview", Name: people[0], Locale: lang, PurchaseCount: 3}
	friend := referral.Customer{CustomerID: "preview-friend", Name: people[1], Locale: lang}
	p.Normalize()
	f := Facts{Template: template, Program: p, Recipient: advocate, Code: "PREVIEW-7K2Q", CodeIsNew: true, Copy: c, PublicURL: baseURL}
	if IsMarketing(template) {
		f.UnsubscribeURL = baseURL + "/unsubscribe?c=preview&t=preview"
	}
	if template != referral.EmailFriendWelcome {
		f.PageURL = baseURL + "/a/preview"
	}
	// The rewards of a thank-you and of reward-ready: what the program's headline advocate
	// rule pays (its first milestone), as the ledger would have them.
	var rewards []referral.Reward
	for _, r := range p.AdvocateRewards {
		lr, milestone, ok := locale.Headline([]referral.Rule{r}, &p)
		if !ok || (len(rewards) > 0 && milestone != rewards[0].Milestone) {
			continue
		}
		rw := referral.Reward{Role: referral.RoleAdvocate, CustomerID: advocate.CustomerID, RefereeID: friend.CustomerID,
			Milestone: milestone, Kind: lr.Kind, Description: lr.Description, Charity: lr.Charity, Status: referral.RewardApproved}
		if lr.Value != nil {
			rw.Value = &referral.Money{Amount: *lr.Value, Currency: p.Currency}
		}
		rewards = append(rewards, rw)
	}
	if len(rewards) == 0 {
		rewards = []referral.Reward{{Role: referral.RoleAdvocate, RefereeID: friend.CustomerID, Kind: "gift_card", Status: referral.RewardApproved}}
	}
	switch template {
	case referral.EmailThanksLoyal, referral.EmailThanksOneTime:
		f.Rewards, f.Referee = rewards, &friend
	case referral.EmailFriendWelcome:
		f.Recipient, f.Advocate = friend, &advocate
	case referral.EmailRewardReady:
		rw := rewards[0]
		rw.Reference, rw.Status = "PREVIEW-GIFT-1234", referral.RewardFulfilled
		f.Rewards = []referral.Reward{rw}
	}
	return f
}

// Preview renders template in lang for program p with copy c; baseURL is the API's public
// URL, for the sample unsubscribe link.
func (pv *Previewer) Preview(p referral.Program, template, lang string, c referral.EmailCopy, baseURL string) (subject, text, html string, err error) {
	d, _ := Compose(pv.previewFacts(p, template, lang, c, baseURL))
	m, err := Render(template, lang, d)
	if err != nil {
		return "", "", "", fmt.Errorf("preview %s/%s: %w", template, lang, err)
	}
	return m.Subject, m.Text, m.HTML, nil
}

// TestSend sends the preview to one address, its subject marked as a test. It carries no
// List-Unsubscribe (no customer is behind the address) and the tag test=true.
func (pv *Previewer) TestSend(ctx context.Context, p referral.Program, template, lang string, c referral.EmailCopy, baseURL, to string) (string, error) {
	if pv.Sender == nil {
		return "", fmt.Errorf("test send: no sender")
	}
	d, _ := Compose(pv.previewFacts(p, template, lang, c, baseURL))
	m, err := Render(template, lang, d)
	if err != nil {
		return "", fmt.Errorf("test send %s/%s: %w", template, lang, err)
	}
	m.Subject = "[TEST] " + m.Subject
	return pv.Sender.Send(ctx, Outgoing{To: to, SenderName: SenderName(&p), ReplyTo: p.Business.ReplyTo, Message: m,
		Tags: map[string]string{"template": template, "program": p.ProgramID, "test": "true"}})
}
