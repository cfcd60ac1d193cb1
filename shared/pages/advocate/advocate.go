// Package advocate is the advocate's page (GET /a/{token}, the signed link in every email to
// an advocate): their code and share link to copy, a QR code of it, share links for the
// messaging apps with a message in their language, the next tier or bonus, each friend's
// stage by first name, their rewards, and why a friend's conversion paid nothing. It works
// without JavaScript (the page script only adds a copy button).
package advocate

import (
	"embed"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/pages"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

//go:embed compiled templates/*.txt
var files embed.FS

// Set is the advocate page's set.
var Set = pages.NewSet("advocate", files)

// Input is what the page is drawn from: the program, the advocate's page as the store reads
// it, and the API's public URL (share links are its /r/{code}?ch=…).
type Input struct {
	Program   *referral.Program
	Advocate  store.AdvocatePage
	PublicURL string
}

// Data is the page's values in lang as its templates see them (plain strings, numbers, bools,
// maps and lists). The share message is the set's "share-message" word in lang.
func Data(in Input, lang string) (map[string]any, error) {
	p, a := in.Program, in.Advocate
	code := a.Code.Code.Code
	data := map[string]any{
		"Name":    referral.FirstName(a.Customer.Name),
		"Program": p.Name,
		"Code":    code,
		// Every value the templates name is present (the renderer refuses a missing one).
		"Offer": "", "OfferYou": "", "Reward": "", "Donation": false, "When": "", "Progress": false,
	}
	if r, m, ok := locale.Headline(p.RefereeRewards, p); ok {
		data["Offer"] = locale.FriendOffer(r, m, lang, false)
		data["OfferYou"] = locale.FriendOffer(r, m, lang, true)
	}
	if r, m, ok := locale.Headline(p.AdvocateRewards, p); ok {
		if locale.IsDonation(r) {
			data["Reward"], data["Donation"] = locale.Donation(r, lang), true
		} else {
			data["Reward"] = locale.Describe(r, lang)
		}
		data["When"] = locale.When(m, lang)
	}

	link := func(ch string) string {
		return strings.TrimRight(in.PublicURL, "/") + "/r/" + url.PathEscape(code) + "?ch=" + ch
	}
	message, err := Set.Text(lang, "share-message", data)
	if err != nil {
		return nil, err
	}
	subject, err := Set.Text(lang, "share-subject", data)
	if err != nil {
		return nil, err
	}
	data["CopyURL"] = link("copy")
	esc := url.QueryEscape
	data["Share"] = map[string]any{
		"whatsapp": "https://wa.me/?text=" + esc(message+" "+link("whatsapp")),
		"line":     "https://line.me/R/share?text=" + esc(message+" "+link("line")),
		"telegram": "https://t.me/share/url?url=" + esc(link("telegram")) + "&text=" + esc(message),
		"facebook": "https://www.facebook.com/sharer/sharer.php?u=" + esc(link("facebook")),
		"x":        "https://x.com/intent/post?text=" + esc(message) + "&url=" + esc(link("x")),
		// mailto wants %20 for spaces (RFC 6068), not QueryEscape's +.
		"email": "mailto:?subject=" + url.PathEscape(subject) + "&body=" + url.PathEscape(message+"\n\n"+link("email")),
	}
	qr, err := NewQR(link("qr"))
	if err != nil {
		return nil, err
	}
	data["QR"] = map[string]any{"ViewBox": qr.ViewBox, "Path": qr.Path}

	if next, ok := referral.NextStep(p, a.Standing); ok {
		have := a.Standing.Counts[next.Milestone]
		reward := locale.Describe(locale.OfReward(referral.Reward{Kind: next.Rule.Kind, Description: next.Rule.Description,
			Charity: next.Rule.Charity, Value: money(next.Amount, p.Currency)}, p.Currency), lang)
		if next.PerFriend {
			reward = locale.FormatMoney(next.Amount, p.Currency, lang)
		}
		data["Progress"] = map[string]any{"More": locale.FormatNumber(int64(next.More), lang), "One": next.More == 1,
			"PerFriend": next.PerFriend, "Reward": reward, "Milestone": next.Milestone,
			"Have": strconv.Itoa(have), "Goal": strconv.Itoa(have + next.More), "Bar": bar(have, have+next.More)}
	}

	friends := make([]any, 0, len(a.Referrals))
	for _, r := range a.Referrals {
		name := a.FirstNames[r.RefereeID]
		if name == "" {
			name = friendWord(lang)
		}
		whys := make([]any, 0, len(r.Unpaid))
		for _, w := range r.Unpaid {
			n := locale.FormatNumber(w.N, lang)
			if w.Code == referral.WhyBelowMinimum || w.Code == referral.WhyLimitAmount {
				n = locale.FormatMoney(w.N, p.Currency, lang)
			}
			whys = append(whys, map[string]any{"Friend": name, "Code": w.Code, "N": n, "Milestone": w.Milestone})
		}
		friends = append(friends, map[string]any{"Name": name, "Stage": r.Stage, "Tone": stageTone(p, r.Stage), "Whys": whys})
	}
	data["Friends"] = friends

	rewards := make([]any, 0, len(a.Rewards))
	for _, rw := range a.Rewards {
		what := locale.Describe(locale.OfReward(rw, p.Currency), lang)
		if locale.IsDonation(locale.OfReward(rw, p.Currency)) {
			what = locale.Donation(locale.OfReward(rw, p.Currency), lang)
		}
		ref := ""
		if rw.Status == referral.RewardFulfilled {
			ref = rw.Reference
			if rw.Fulfilment != nil && rw.Fulfilment.Reference != "" {
				ref = rw.Fulfilment.Reference
			}
		}
		rewards = append(rewards, map[string]any{"What": what, "Friend": a.FirstNames[rw.RefereeID], "Status": rw.Status,
			"Tone": statusTone[rw.Status], "Reference": ref})
	}
	data["Rewards"] = rewards
	return data, nil
}

func money(amount int64, currency string) *referral.Money {
	if amount <= 0 {
		return nil
	}
	return &referral.Money{Amount: amount, Currency: currency}
}

// bar is the progress bar's width class: have of goal, in tens of percent.
func bar(have, goal int) string {
	if goal <= 0 {
		return "w0"
	}
	return fmt.Sprintf("w%d", min(have*10/goal, 10)*10)
}

// stageTone is a friend's stage tag's colour: good once they reached a milestone that pays
// the advocate, info before.
func stageTone(p *referral.Program, stage string) string {
	for _, r := range p.AdvocateRewards {
		if r.Milestone == stage {
			return "good"
		}
	}
	return "info"
}

// statusTone is a reward status tag's colour.
var statusTone = map[string]string{
	referral.RewardPending: "wait", referral.RewardReview: "wait", referral.RewardApproved: "good",
	referral.RewardFulfilled: "good", referral.RewardReversed: "bad", referral.RewardExpired: "bad",
}

// friendWord names a friend whose name the page does not know (erased, or never given).
func friendWord(lang string) string {
	return map[string]string{"en": "A friend", "ms": "Seorang kawan", "id": "Seorang teman", "th": "เพื่อน", "zh": "一位朋友"}[locale.Lang(lang)]
}

// Render is the page response for the visit at rawPath in lang.
func Render(rawPath, lang string, in Input) (events.APIGatewayV2HTTPResponse, error) {
	data, err := Data(in, lang)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	v := pages.View{Lang: lang, Root: pages.RootOf(rawPath), Script: true, Langs: pages.Switcher(lang, rawPath, nil)}
	body, err := Set.HTML("advocate", v, data)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return pages.HTML(http.StatusOK, lang, body), nil
}

// Serve is the page for the visit req in lang ("": the browser's language, else English):
// plug it into the advocate page function's api.AdvocatePages.
func Serve(req events.APIGatewayV2HTTPRequest, lang string, p *referral.Program, a store.AdvocatePage, publicURL string) (events.APIGatewayV2HTTPResponse, error) {
	lang = pages.Negotiate(lang, req.Headers["accept-language"], "en")
	return Render(req.RawPath, lang, Input{Program: p, Advocate: a, PublicURL: publicURL})
}

// ErrorPage answers an error of the page as a page in the visitor's language: 410 for an
// expired or revoked link, 403 for a forged one, 404 for anything that is not a page, 503 when
// busy, 500 otherwise.
func ErrorPage(req events.APIGatewayV2HTTPRequest, err *referral.Error) events.APIGatewayV2HTTPResponse {
	lang := pages.Negotiate(req.QueryStringParameters["lang"], req.Headers["accept-language"], "en")
	root := pages.RootOf(req.RawPath)
	switch {
	case err.Status == http.StatusGone:
		return pages.Message(http.StatusGone, lang, root, "gone")
	case err.Status == http.StatusForbidden:
		return pages.Message(http.StatusForbidden, lang, root, "not-found")
	case err.Status == http.StatusServiceUnavailable || err.Status == http.StatusTooManyRequests:
		return pages.Message(err.Status, lang, root, "busy")
	case err.Status >= 500:
		return pages.Message(err.Status, lang, root, "broken")
	}
	return pages.Message(http.StatusNotFound, lang, root, "not-found")
}
