package friend_test

import (
	"flag"
	"testing"

	"github.com/referral/referrals/devkit/pagetest"
	"github.com/referral/referrals/shared/pages"
	"github.com/referral/referrals/shared/pages/friend"
)

var update = flag.Bool("update", false, "rewrite compiled/ from templates/")

func sample(advocate, offer string) pagetest.Sample {
	return func(lang, page string) (pages.View, map[string]any) {
		pg := friend.Page{Advocate: advocate, Program: "Acme Coffee", Offer: offer, Code: "ANA-7KQ2XR",
			ShopURL: "https://shop.example.com/?a=1&ref=ANA-7KQ2XR"}
		return pages.View{Lang: lang, Root: "../", Langs: pages.Switcher(lang, "/r/ANA-7KQ2XR", map[string]string{"page": "1"})}, pg.Data()
	}
}

func TestFriendPageIsCompiled(t *testing.T) {
	pagetest.Compiled(t, friend.Set, []string{"friend"}, sample("Ana", "a $10 discount <b>now</b>"), *update)
	pagetest.SameWords(t)
}

func TestFriendPageRendersAsHTMLTemplateDoes(t *testing.T) {
	pagetest.MatchesHTMLTemplate(t, friend.Set, "friend", map[string]pagetest.Sample{
		"with offer":       sample("Ana", "a $10 discount <b>now</b>"),
		"without offer":    sample("Ana", ""),
		"without advocate": sample("", "RM10 store credit"),
		"thai advocate":    sample("นภัส", "ส่วนลด ฿100"),
		"script in a name": sample(`<script>alert(1)</script>`, ""),
	})
}
