// Package friend is the friend's landing page (GET /r/{code}?page=1): who invited them, what
// they get, the code, and the button to the shop, in the browser's language.
package friend

import (
	"embed"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/pages"
	"github.com/referral/referrals/shared/referral"
)

//go:embed compiled templates/*.txt
var files embed.FS

// Set is the friend page's set.
var Set = pages.NewSet("friend", files)

// Page is what the friend page shows.
type Page struct {
	Advocate string // the advocate's first name ("" when unknown)
	Program  string
	Offer    string // what the friend gets, said to them in the page's language ("" for nothing)
	Code     string
	ShopURL  string // the shop, with ?ref=CODE
}

// Of is the friend page of code in lang.
func Of(p *referral.Program, code referral.Code, advocateFirstName, lang string) Page {
	pg := Page{Advocate: advocateFirstName, Program: p.Name, Code: code.Code}
	pg.ShopURL = p.ShopLink(code.Code)
	if r, m, ok := locale.Headline(p.RefereeRewards, p); ok {
		pg.Offer = locale.FriendOffer(r, m, lang, true)
	}
	return pg
}

// Data is the page's values as its templates see them.
func (pg Page) Data() map[string]any {
	return map[string]any{"Advocate": pg.Advocate, "Program": pg.Program, "Offer": pg.Offer, "Code": pg.Code, "ShopURL": pg.ShopURL}
}

// Render is the friend page response for the visit at rawPath (/r/{code}) in lang.
func Render(rawPath, lang string, pg Page) (events.APIGatewayV2HTTPResponse, error) {
	v := pages.View{Lang: lang, Root: pages.RootOf(rawPath), Langs: pages.Switcher(lang, rawPath, map[string]string{"page": "1"})}
	body, err := Set.HTML("friend", v, pg.Data())
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return pages.HTML(200, lang, body), nil
}

// Serve is the friend page of code for the visit req, in the language the visitor asked for
// (?lang=, else Accept-Language, else English).
func Serve(req events.APIGatewayV2HTTPRequest, p *referral.Program, code referral.Code, advocateFirstName string) (events.APIGatewayV2HTTPResponse, error) {
	lang := pages.Negotiate(req.QueryStringParameters["lang"], req.Headers["accept-language"], "en")
	return Render(req.RawPath, lang, Of(p, code, advocateFirstName, lang))
}
