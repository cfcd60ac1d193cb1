package console_test

import (
	"flag"
	"testing"

	"github.com/referral/referrals/devkit/pagetest"
	"github.com/referral/referrals/shared/pages"
	"github.com/referral/referrals/shared/pages/console"
)

var update = flag.Bool("update", false, "rewrite compiled/ from templates/")

// samples are the data each page is compiled and compared with.
func samples(lang, page string) (pages.View, map[string]any) {
	v := pages.View{Lang: lang, Root: "../"}
	d := map[string]any{"CSRF": "tok<en>", "SignedIn": true, "Title": "T", "Nav": page, "Done": "Saved.", "Next": "?cursor=a%2Fb&x=<y>"}
	switch page {
	case "signin":
		d["SignedIn"], d["Error"] = false, "That key is not <b>valid</b>."
	case "notice":
		d["Heading"], d["Text"] = "Refused", "Nothing changed & <i>nothing</i> will."
	case "programs":
		d["Programs"] = []any{map[string]any{"ID": "p-1", "Name": "Acme <Coffee>", "Status": "active", "Currency": "USD", "Next": "paused", "Action": "Pause", "Archived": false}}
	case "program":
		d["ID"], d["Creating"], d["Action"], d["Settings"] = "p-1", true, "../console/programs", `{"a": "</textarea><script>"}`
		d["Fields"] = []any{map[string]any{"Name": "name", "Label": "Name", "Type": "text", "Hint": "h", "Value": `"x"`, "Error": "must not be empty"}}
		d["Statuses"] = []any{map[string]any{"Value": "active", "Selected": true}}
		d["SettingsError"], d["IDError"], d["StatusError"], d["FormError"], d["HasErrors"] = "bad", "taken", "", "", true
	case "dashboard":
		d["ID"], d["Name"], d["Status"] = "p-1", "Acme", "active"
		d["Figures"] = []any{map[string]any{"Label": "Referrals", "Value": "3"}}
		d["Charts"] = []any{
			map[string]any{"Title": "C", "Kind": "columns", "Alt": "a", "ViewBox": "0 0 10 10", "Width": "10", "BaseY": "9", "Empty": false,
				"Items": []any{map[string]any{"X": "1", "Y": "2", "W": "3", "H": "4", "CX": "2", "VY": "1", "LY": "9", "Label": "Nov", "Value": "$1"}}},
			map[string]any{"Title": "B", "Kind": "bars", "Alt": "b", "ViewBox": "0 0 10 10", "Empty": false,
				"Items": []any{map[string]any{"X": "1", "Y": "2", "W": "3", "H": "4", "LX": "1", "TY": "2", "VX": "3", "Label": "Ana <3", "Value": "2"}}},
			map[string]any{"Title": "E", "Kind": "bars", "Empty": true},
		}
	case "contests":
		d["ID"], d["Name"], d["Period"], d["Month"], d["Previous"], d["Following"] = "p-1", "Acme", "2026-11", "November 2026", "?period=2026-10", "?period=2026-12"
		d["Entries"] = []any{map[string]any{"Rank": 1, "Name": "Ana <b>", "Customer": "ana", "Conversions": 3}}
		d["Prizes"] = []any{map[string]any{"Rank": 1, "What": "$50 gift_card"}}
	case "keys":
		d["Issued"], d["Secret"], d["IssuedID"], d["IssuedScope"], d["IssuedName"] = true, "rk_live_x", "key_1", "server", "Shop <backend>"
		d["NameError"], d["ScopeError"], d["KeyIDError"], d["Name"], d["KeyID"] = "too long", "bad scope", "no such key", "n", "k"
		d["Scopes"] = []any{map[string]any{"Value": "server", "Label": "server"}, map[string]any{"Value": "admin", "Label": "admin"}}
		d["Keys"] = []any{
			map[string]any{"ID": "key_1", "Name": "Shop <backend>", "Scope": "server", "Last4": "a<b>", "Created": "2026-11-20 12:00", "Revoked": "", "Current": true},
			map[string]any{"ID": "key_2", "Name": "Old", "Scope": "admin", "Last4": "", "Created": "2026-11-01 09:00", "Revoked": "2026-11-02 10:00", "Current": false},
		}
	case "emails":
		d["ID"], d["Template"], d["EmailLang"], d["Subject"], d["Text"], d["HTMLURL"] = "p-1", "ask-current", "th", "สวัสดี <b>", "Hi\n<there>", "emails/preview?template=ask-current&lang=th"
		d["Templates"] = []any{map[string]any{"Value": "ask-current", "Selected": true}}
		d["Languages"] = []any{map[string]any{"Value": "th", "Name": "Thai", "Selected": true}}
		d["To"], d["ToError"], d["Sent"] = "a@b", "bad address", "Sent."
	case "webhooks":
		d["Endpoints"] = []any{map[string]any{"ID": "we_1", "URL": "https://hooks.example.com/?a=1&b=<2>", "Description": "CRM <sync>", "Events": "reward.created", "Rotating": true}}
		d["Events"] = []any{map[string]any{"Value": "reward.created", "Checked": true}}
		d["Secret"], d["SecretFor"], d["URL"], d["Description"] = "whsec_x", "https://hooks.example.com/ (we_1)", "ftp://x", "d"
		d["URLError"], d["EventsError"], d["DescriptionError"] = "must be https", "choose one", "too long"
	case "deliveries":
		d["ID"] = "we_1"
		d["Deliveries"] = []any{map[string]any{"ID": "whd_1", "Event": "reward.created", "EventID": "evt_1", "Status": "failed", "Attempts": 3,
			"Last": "HTTP 500 in 20 ms", "Created": "2026-11-20 12:00", "Good": false, "Bad": true}}
	case "rewards":
		d["Heading"], d["Status"], d["Back"], d["Export"] = "Review queue", "review", "status=review", "rewards/export?status=review"
		d["Tabs"] = []any{map[string]any{"Title": "Review queue", "URL": "?status=review", "Current": true}}
		d["Rewards"] = []any{map[string]any{"ID": "r1", "Program": "p-1", "Customer": "c1", "Role": "advocate", "Kind": "credit", "Value": "$10.00",
			"Milestone": "first_purchase", "EventID": "e1", "Created": "2026-11-20 12:00", "Review": true, "Payout": true}}
	}
	return v, d
}

func TestConsolePagesAreCompiled(t *testing.T) {
	pagetest.Compiled(t, console.Set, console.Pages, samples, *update)
	pagetest.SameWords(t)
}

func TestConsolePagesRenderAsHTMLTemplateDoes(t *testing.T) {
	for _, p := range console.Pages {
		pagetest.MatchesHTMLTemplate(t, console.Set, p, map[string]pagetest.Sample{"sample": samples})
	}
}
