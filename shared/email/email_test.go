package email

import (
	"errors"
	"flag"
	"html"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
)

var update = flag.Bool("update", false, "rewrite compiled/ and the golden files in testdata/golden")

// TestRenderMatchesGoldenFiles renders every template in every language with the sample data
// and compares subject, text and HTML with testdata/golden/<lang>/<template>.*.
// After changing a template, run `go test ./shared/email -update` and review the diff.
func TestRenderMatchesGoldenFiles(t *testing.T) {
	if *update {
		if err := os.RemoveAll(filepath.Join("testdata", "golden")); err != nil {
			t.Fatal(err)
		}
	}
	for _, lang := range Languages {
		for _, name := range Templates {
			t.Run(lang+"/"+name, func(t *testing.T) {
				m, err := Render(name, lang, sampleData(lang, name))
				if err != nil {
					t.Fatal(err)
				}
				if m.Template != name || m.Lang != lang {
					t.Errorf("Template, Lang = %q, %q; want %q, %q", m.Template, m.Lang, name, lang)
				}
				parts := map[string]string{".subject.txt": m.Subject + "\n", ".txt": m.Text, ".html": m.HTML}
				for ext, got := range parts {
					file := filepath.Join("testdata", "golden", lang, name+ext)
					if *update {
						if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
							t.Fatal(err)
						}
						continue
					}
					want, err := os.ReadFile(file)
					if err != nil {
						t.Fatalf("%v (run `go test ./shared/email -update` to create it)", err)
					}
					if got != string(want) {
						t.Errorf("%s differs from the golden file (run with -update and review the diff)\n--- got:\n%s", file, got)
					}
				}
			})
		}
	}
}

func TestHTMLEscapesCustomerSuppliedNames(t *testing.T) {
	for _, lang := range Languages {
		for _, name := range []string{referral.EmailThanksLoyal, referral.EmailThanksOneTime} {
			d := sampleData(lang, name)
			d.RefereeFirstName = "<b>Zed</b>"
			m, err := Render(name, lang, d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(m.HTML, "&lt;b&gt;Zed&lt;/b&gt;") || strings.Contains(m.HTML, "<b>Zed</b>") {
				t.Errorf("%s/%s: HTML does not escape the referee's name:\n%s", lang, name, m.HTML)
			}
			if !strings.Contains(m.Text, "<b>Zed</b>") || !strings.Contains(m.Subject, "<b>Zed</b>") {
				t.Errorf("%s/%s: text and subject should show the name as given:\n%s\n%s", lang, name, m.Subject, m.Text)
			}
		}
	}
}

func TestHTMLRefusesScriptURLs(t *testing.T) {
	d := sampleData("en", referral.EmailAskPromoCode)
	d.ShareURL = "javascript:alert(1)"
	m, err := Render(referral.EmailAskPromoCode, "en", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, `href="javascript:`) || !strings.Contains(m.HTML, `href="#ZgotmplZ"`) {
		t.Errorf("HTML links to a javascript: URL:\n%s", m.HTML)
	}
}

// TestEveryEmailCarriesWhatItMust: the business's name and address in every footer, the
// signature, unsubscribe on marketing and not on reward-ready; asks and reminders carry the
// code, the link and both offers; thank-yous the friend and the reward.
func TestEveryEmailCarriesWhatItMust(t *testing.T) {
	for _, lang := range Languages {
		for _, name := range Templates {
			d := sampleData(lang, name)
			m, err := Render(name, lang, d)
			if err != nil {
				t.Fatal(err)
			}
			must := func(part, body, want string) {
				t.Helper()
				if !strings.Contains(body, want) {
					t.Errorf("%s/%s %s lacks %q:\n%s", lang, name, part, want, body)
				}
			}
			mustNot := func(part, body, bad string) {
				t.Helper()
				if bad != "" && strings.Contains(body, bad) {
					t.Errorf("%s/%s %s has %q:\n%s", lang, name, part, bad, body)
				}
			}
			must("HTML", m.HTML, `<html lang="`+lang+`">`)
			must("HTML", m.HTML, "<title>"+html.EscapeString(m.Subject)+"</title>")
			for part, body := range map[string]string{"text": m.Text, "HTML": m.HTML} {
				esc := func(s string) string { return s }
				if part == "HTML" {
					esc = html.EscapeString
				}
				must(part, body, esc(d.Signature))
				must(part, body, esc(d.BusinessName))
				must(part, body, esc(d.BusinessAddress))
				mustNot(part, body, samples[lang].program.Name) // the internal program name is never shown
				if IsMarketing(name) {
					must(part, body, esc(d.UnsubscribeURL))
				} else {
					mustNot(part, body, "unsubscribe")
				}
				switch name {
				case referral.EmailAskCurrent, referral.EmailAskPromoCode, referral.EmailAskPastClient, referral.EmailReminder:
					must(part, body, d.Code)
					must(part, body, esc(d.ShareURL))
					must(part, body, esc(d.FriendOffer))
					must(part, body, esc(d.AdvocateReward+d.AdvocateDonation))
					must(part, body, esc(d.AdvocateWhen))
				case referral.EmailThanksLoyal, referral.EmailThanksOneTime:
					must(part, body, esc(d.RefereeFirstName))
					must(part, body, esc(d.Earned))
					must(part, body, esc(d.Donated))
				case referral.EmailFriendWelcome:
					must(part, body, esc(d.AdvocateFirstName))
					must(part, body, esc(d.FriendOffer))
					must(part, body, esc(d.ShopURL))
				case referral.EmailRewardReady:
					must(part, body, esc(d.RewardName))
					must(part, body, esc(d.ShopURL))
				}
				if strings.Contains(body, "<no value>") || zeroCents.MatchString(body) {
					t.Errorf("%s/%s %s shows <no value> or .00:\n%s", lang, name, part, body)
				}
			}
			if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || len([]rune(m.Subject)) > 70 {
				t.Errorf("%s/%s: subject %q should be one short line", lang, name, m.Subject)
			}
		}
	}
}

// zeroCents finds a whole amount written with decimals ("RM10.00", "Rp50.000,00").
var zeroCents = regexp.MustCompile(`\d[.,]00(\D|$)`)

// TestRendersWithOnlyRequiredFields guards the optional parts: no names, no value proposition,
// no business, no rewards to mention, no sender name: no stray punctuation, and the email is
// signed by the language's "the team", never by the program's internal name.
func TestRendersWithOnlyRequiredFields(t *testing.T) {
	sloppy := regexp.MustCompile(`  | [,.!?，。！？]|[,.] [,.]|<p>\s*</p>|\(\)|^[,，]`)
	team := map[string]string{"en": "The team", "ms": "Pasukan kami", "id": "Tim kami", "th": "ทีมงานของเรา", "zh": "我们的团队"}
	for _, lang := range Languages {
		for _, name := range Templates {
			d := Data{Code: "ACME-7K2QX9", ShareURL: "https://shop.example.com/invite?ref=ACME-7K2QX9", Earned: "RewardPhrase",
				RewardName: "RewardPhrase", ShopURL: "https://shop.example.com/"}
			m, err := Render(name, lang, d)
			if err != nil {
				t.Fatal(err)
			}
			for part, body := range map[string]string{"subject": m.Subject, "text": m.Text, "HTML": m.HTML} {
				if strings.Contains(body, "<no value>") {
					t.Errorf("%s/%s %s shows <no value>", lang, name, part)
				}
				for _, line := range strings.Split(body, "\n") {
					if s := sloppy.FindString(strings.TrimLeft(line, " ")); s != "" && part != "HTML" {
						t.Errorf("%s/%s %s has %q:\n%s", lang, name, part, s, body)
					}
				}
				if part != "subject" && !strings.Contains(body, team[lang]) {
					t.Errorf("%s/%s %s is not signed by %q when there is no sender or business name", lang, name, part, team[lang])
				}
			}
		}
	}
}

func TestRenderRejectsUnknownTemplatesAndMissingData(t *testing.T) {
	if _, err := Render("ask-everyone", "en", Data{}); !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("unknown template: err = %v, want ErrUnknownTemplate", err)
	}
	for name, d := range map[string]Data{
		referral.EmailAskCurrent:    {ShareURL: "https://x.example/"},
		referral.EmailAskPromoCode:  {Code: "X"},
		referral.EmailReminder:      {ShareURL: "https://x.example/"},
		referral.EmailThanksLoyal:   {Signature: "Ana"},
		referral.EmailRewardReady:   {ShopURL: "https://x.example/"},
		referral.EmailFriendWelcome: {},
	} {
		if _, err := Render(name, "th", d); !errors.Is(err, ErrMissingData) {
			t.Errorf("%s without what it needs: err = %v, want ErrMissingData", name, err)
		}
	}
}

// priceLike finds what a hard-coded price would leave in a template's words: a digit, a
// currency symbol, or a currency's name or code.
var priceLike = regexp.MustCompile(`[0-9๐-๙０-９$€£¥￥฿₫₩₹]|(?i)\b(usd|eur|gbp|myr|sgd|thb|idr|cny|rm|rp|dollars?|ringgit|rupiah|baht|yuan)\b|元|บาท|块钱`)

var (
	templateActions = regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	styleBlocks     = regexp.MustCompile(`(?is)<style.*?</style>|style="[^"]*"|width="[^"]*"|cellpadding="[^"]*"|cellspacing="[^"]*"|border="[^"]*"`)
	htmlTags        = regexp.MustCompile(`(?s)<[^>]*>`)
)

// words is what a template file says to the reader: no template actions, tags or styles.
func words(src string) string {
	s := templateActions.ReplaceAllString(src, " ")
	s = styleBlocks.ReplaceAllString(s, " ")
	return htmlTags.ReplaceAllString(s, " ")
}

func TestTemplatesHaveNoHardCodedPrices(t *testing.T) {
	for _, bad := range []string{"Get $10 off", "RM10", "Rp 50.000", "ส่วนลด 100 บาท", "立减20元", "10 dollars", "<p>25% off</p>"} {
		if !priceLike.MatchString(words(bad)) {
			t.Errorf("the guard misses %q", bad)
		}
	}
	err := fs.WalkDir(sources, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		src, err := fs.ReadFile(sources, p)
		if err != nil {
			return err
		}
		if m := priceLike.FindString(words(string(src))); m != "" {
			t.Errorf("%s has %q: prices and currencies come from Data, never from the text", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEveryTemplateFileIsExpected catches stray or misnamed files, which would never be rendered.
func TestEveryTemplateFileIsExpected(t *testing.T) {
	expected := map[string]bool{"layout.html": true}
	for _, lang := range Languages {
		for _, f := range []string{"common.txt", "common.html"} {
			expected[path.Join(lang, f)] = true
		}
		for _, name := range Templates {
			for _, ext := range []string{".txt", ".html"} {
				expected[path.Join(lang, name+ext)] = true
			}
		}
	}
	n := 0
	err := fs.WalkDir(sources, ".", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			n++
			if !expected[p] {
				t.Errorf("unexpected template file %s", p)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(expected) {
		t.Errorf("templates/ holds %d files, want %d", n, len(expected))
	}
}

func TestWriteSamplesWritesEveryEmail(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSamples(dir); err != nil {
		t.Fatal(err)
	}
	for _, lang := range Languages {
		for _, name := range Templates {
			for _, ext := range []string{".html", ".txt"} {
				b, err := os.ReadFile(filepath.Join(dir, lang, name+ext))
				if err != nil {
					t.Fatal(err)
				}
				if ext == ".txt" && !strings.HasPrefix(string(b), "Subject: ") {
					t.Errorf("%s/%s.txt does not start with the subject", lang, name)
				}
			}
		}
	}
}

// rendered is the sample email of name in lang, with change applied to its data first.
func rendered(t *testing.T, lang, name string, change func(*Data)) Message {
	t.Helper()
	d := sampleData(lang, name)
	if change != nil {
		change(&d)
	}
	m, err := Render(name, lang, d)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTranslationTableIsApplied holds the rows of the native marketers' review: each "better"
// wording appears where the "now" one was, and the old wording is gone.
func TestTranslationTableIsApplied(t *testing.T) {
	personal := func(d *Data) { d.B2B = false }
	contest := func(d *Data) { d.RefereeFirstName, d.ContestPrize = "", true }
	latin := func(d *Data) { d.CustomerFirstName = "Ana" }
	for _, row := range []struct {
		lang, name string
		change     func(*Data)
		better     []string
		now        []string
	}{
		{"ms", referral.EmailThanksLoyal, nil, []string{"terima kasih kerana memperkenalkan Hafiz kepada kami!"}, []string{"kerana merujuk"}},
		{"ms", referral.EmailAskPromoCode, nil, []string{"Kod anda sudah disertakan dalam pautan itu"}, []string{"sudah tersedia di dalamnya"}},
		{"ms", referral.EmailAskPastClient, nil, []string{"Walau apa pun, terima kasih"}, []string{"\nApa pun, terima kasih"}},
		{"id", referral.EmailAskPastClient, personal, []string{"Kami senang sekali pernah melayani Anda"}, []string{"bekerja sama dengan Anda"}},
		{"id", referral.EmailAskPastClient, nil, []string{"Bagaimanapun juga,", "Ajak teman Anda"}, []string{"Apa pun itu,", "Kenalkan teman Anda"}},
		{"id", referral.EmailAskCurrent, personal, []string{"Ajak teman Anda"}, []string{"Kenalkan teman Anda"}},
		{"th", referral.EmailAskCurrent, personal, []string{"และอยากให้คนอื่น ๆ ได้รับประสบการณ์ดี ๆ แบบเดียวกับคุณ"}, []string{"อยากช่วยคนอื่น ๆ แบบคุณให้มากขึ้น"}},
		{"th", referral.EmailAskCurrent, nil, []string{"ช่วยแนะนำเพื่อนมารู้จักเรา", "เมื่อเพื่อนซื้อครั้งแรก"}, []string{"แนะนำพวกเขาให้รู้จักเรา", "เมื่อพวกเขามาร่วมกับเรา"}},
		{"th", referral.EmailAskPastClient, nil, []string{"เราอยากขอบคุณอีกครั้ง"}, []string{"เราอยากขอบคุณคุณอีกครั้ง"}},
		{"th", referral.EmailThanksLoyal, nil, []string{"ลิงก์ของคุณยังใช้ได้อยู่"}, []string{"ลิงก์ของคุณยังใช้ได้เสมอ"}},
		{"th", referral.EmailThanksLoyal, contest, []string{"เพื่อน ๆ ของคุณมารู้จักเรา"}, []string{"ๆมา"}},
		{"th", referral.EmailThanksLoyal, latin, []string{"คุณ Ana", "ค่ะ"}, []string{"คุณAna"}},
		{"th", referral.EmailAskCurrent, func(d *Data) { d.BusinessName = "Acme Coffee" }, []string{"ชอบ Acme Coffee เหมือนกัน"}, []string{"ชอบAcme", "Coffeeเหมือน"}},
		{"zh", referral.EmailAskPastClient, personal, []string{"为您服务、帮助您每天喝到一杯好咖啡的那段时光"}, []string{"与您合作"}},
		{"zh", referral.EmailAskCurrent, nil, []string{"他们下单可立减 ¥20"}, []string{"他们将获得立减", "¥20.00"}},
		{"zh", referral.EmailThanksLoyal, contest, []string{"感谢您把朋友们介绍给我们"}, []string{"您的朋友们介绍"}},
		{"zh", referral.EmailThanksLoyal, nil, []string{"感谢您把子涵介绍给我们！"}, []string{"感谢您推荐子涵"}},
	} {
		m := rendered(t, row.lang, row.name, row.change)
		all := m.Subject + "\n" + m.Text
		for _, want := range row.better {
			if !strings.Contains(all, want) || !strings.Contains(html.UnescapeString(htmlTags.ReplaceAllString(m.HTML, "")), want) {
				t.Errorf("%s/%s lacks %q:\n%s", row.lang, row.name, want, all)
			}
		}
		for _, bad := range row.now {
			if strings.Contains(all, bad) {
				t.Errorf("%s/%s still says %q:\n%s", row.lang, row.name, bad, all)
			}
		}
	}
	// Every Thai ๆ is followed by a space or the end of a line (the table's "เพื่อน ๆมาหาเรา").
	for _, name := range Templates {
		for _, variant := range dataVariants("th", name) {
			m, err := Render(name, "th", variant)
			if err != nil {
				t.Fatal(err)
			}
			if bad := regexp.MustCompile(`ๆ[^\s<]`).FindString(m.Subject + m.Text + m.HTML); bad != "" {
				t.Errorf("th/%s: %q has no space after ๆ", name, bad)
			}
		}
	}
}

// TestAsksNameTheMilestoneThatPays: the reward is promised for the milestone of the rule, in
// every language, never "when they join".
func TestAsksNameTheMilestoneThatPays(t *testing.T) {
	join := []string{"when they join", "menyertai kami", "bergabung", "มาร่วมกับเรา", "朋友加入后"}
	for _, lang := range Languages {
		for _, name := range []string{referral.EmailAskCurrent, referral.EmailAskPromoCode, referral.EmailAskPastClient, referral.EmailReminder} {
			f := sampleFacts(lang, name)
			p := &f.Program
			_, milestone, _ := locale.Headline(p.AdvocateRewards, p)
			m := rendered(t, lang, name, nil)
			if want := locale.When(milestone, lang); !strings.Contains(m.Text, want) {
				t.Errorf("%s/%s does not say %q:\n%s", lang, name, want, m.Text)
			}
			for _, bad := range join {
				if strings.Contains(m.Text, bad) {
					t.Errorf("%s/%s says %q", lang, name, bad)
				}
			}
		}
	}
}

// TestThankYousForDonationsSayWeDonated: "we donated … in your name", never "you've earned a
// donation".
func TestThankYousForDonationsSayWeDonated(t *testing.T) {
	want := map[string]string{"en": "we've donated $5 to Red Cross in your name", "ms": "kami telah menderma US$5 kepada Red Cross atas nama anda",
		"id": "kami telah mendonasikan US$5 untuk Red Cross atas nama Anda", "th": "เราได้บริจาค US$5 ให้แก่Red Crossในนามของคุณแล้ว",
		"zh": "我们已以您的名义向Red Cross捐赠 US$5"}
	for _, lang := range Languages {
		f := sampleFacts(lang, referral.EmailThanksOneTime)
		amount := int64(500)
		f.Rewards = []referral.Reward{{RefereeID: "bo", Milestone: "purchase", Kind: "donation", Value: &referral.Money{Amount: amount, Currency: "USD"}, Charity: "Red Cross", Description: "donation to Red Cross"}}
		d, _ := Compose(f)
		m, err := Render(referral.EmailThanksOneTime, lang, d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, want[lang]) || strings.Contains(m.Text, "earned a donation") {
			t.Errorf("%s: want %q:\n%s", lang, want[lang], m.Text)
		}
	}
}

// TestMultiStepThankYousNameTheMilestone: in a program that pays at several milestones the
// thank-you says which one the friend reached; a one-step program does not.
func TestMultiStepThankYousNameTheMilestone(t *testing.T) {
	f := sampleFacts("en", referral.EmailThanksLoyal)
	f.Rewards = []referral.Reward{{RefereeID: "jordan", Milestone: "demo", Kind: "gift_card", Value: &referral.Money{Amount: 1000, Currency: "USD"}}}
	d, _ := Compose(f)
	m, err := Render(referral.EmailThanksLoyal, "en", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Jordan has just booked a demo. As a thank-you, you've earned a $10 gift card.") {
		t.Errorf("multi-step thank-you:\n%s", m.Text)
	}
	m = rendered(t, "ms", referral.EmailThanksLoyal, nil) // one milestone
	if strings.Contains(m.Text, "baru sahaja") {
		t.Errorf("a one-step program's thank-you names the milestone:\n%s", m.Text)
	}
}

func TestToneChangesTheWording(t *testing.T) {
	b2b := rendered(t, "en", referral.EmailAskCurrent, func(d *Data) { d.B2B = true })
	b2c := rendered(t, "en", referral.EmailAskCurrent, func(d *Data) { d.B2B = false })
	if !strings.Contains(b2b.Text, "colleague") || strings.Contains(b2b.Text, "Invite a friend") {
		t.Errorf("business tone:\n%s", b2b.Text)
	}
	if strings.Contains(b2c.Text, "colleague") || !strings.Contains(b2c.Text, "Invite a friend") {
		t.Errorf("personal tone:\n%s", b2c.Text)
	}
}

// TestAskPromoCodeToAnAdvocateWithACode does not announce a new code.
func TestAskPromoCodeToAnAdvocateWithACode(t *testing.T) {
	for lang, newCode := range map[string]string{"en": "here's your personal referral code", "ms": "ini kod rujukan peribadi anda",
		"id": "ini kode referal pribadi Anda", "th": "นี่คือโค้ดแนะนำเพื่อนของคุณ", "zh": "这是您的专属推荐码"} {
		again := rendered(t, lang, referral.EmailAskPromoCode, func(d *Data) { d.CodeIsNew = false })
		fresh := rendered(t, lang, referral.EmailAskPromoCode, nil)
		if !strings.Contains(fresh.Subject, newCode) || strings.Contains(again.Subject, newCode) || again.Text == fresh.Text {
			t.Errorf("%s: a reminder of an existing code reads as a new one: %q / %q", lang, fresh.Subject, again.Subject)
		}
	}
}

// TestMerchantCopyReplacesTheTemplatesWords: subject, intro and button from the merchant,
// placeholders filled, HTML escaped; a language without a value proposition gets the
// template's general wording, never the English one.
func TestMerchantCopyReplacesTheTemplatesWords(t *testing.T) {
	f := sampleFacts("en", referral.EmailThanksLoyal)
	f.Copy = referral.EmailCopy{Subject: "{firstName}, {friendName} says hi!", Intro: "<b>{friendName}</b> joined {businessName} & loves it.", CTA: "Tell another friend"}
	d, _ := Compose(f)
	m, err := Render(referral.EmailThanksLoyal, "en", d)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Maya, Jordan says hi!" {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.Text, "<b>Jordan</b> joined Acme Analytics & loves it.") || !strings.Contains(m.HTML, "&lt;b&gt;Jordan&lt;/b&gt; joined Acme Analytics &amp; loves it.") {
		t.Errorf("intro not filled or not escaped:\n%s\n%s", m.Text, m.HTML)
	}
	if !strings.Contains(m.HTML, ">Tell another friend</a>") {
		t.Errorf("button label:\n%s", m.HTML)
	}
	// A nameless customer leaves no stray comma.
	f.Recipient.Name = ""
	d, _ = Compose(f)
	if m, _ = Render(referral.EmailThanksLoyal, "en", d); m.Subject != "Jordan says hi!" {
		t.Errorf("subject without a first name: %q", m.Subject)
	}

	th := sampleFacts("th", referral.EmailAskCurrent)
	th.Program.Emails.ValueProposition = referral.Localized{"en": "enjoy single-origin coffee"}
	d, lang := Compose(th)
	m, err = Render(referral.EmailAskCurrent, lang, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "single-origin") || !strings.Contains(m.Text, "เรายินดีมากที่ได้ดูแลคุณ") {
		t.Errorf("a Thai email without a Thai value proposition:\n%s", m.Text)
	}
	th.Copy.ValueProposition = "ได้ดื่มกาแฟดี ๆ ทุกเช้า"
	d, lang = Compose(th)
	if m, _ = Render(referral.EmailAskCurrent, lang, d); !strings.Contains(m.Text, "ช่วยให้คุณได้ดื่มกาแฟดี ๆ ทุกเช้า") {
		t.Errorf("the template's Thai value proposition is not used:\n%s", m.Text)
	}
}

// TestSenderIsNeverTheProgramsInternalName: without senderName the From name and signature
// are the business's name, and without that, none.
func TestSenderIsNeverTheProgramsInternalName(t *testing.T) {
	p := referral.Program{Name: "Partner referral: demo, training, purchase", Business: referral.Business{Name: "Acme Analytics"}}
	if got := SenderName(&p); got != "Acme Analytics" {
		t.Errorf("SenderName = %q", got)
	}
	p.Business.Name = ""
	if got := SenderName(&p); got != "" {
		t.Errorf("SenderName = %q, want none", got)
	}
}

// A program without a landing page: the asks share its hosted friend page on the API's
// domain, and the friend's welcome and the reward-ready email send people to its shop.
func TestWithoutALandingPageEmailsLinkTheHostedPageAndTheShop(t *testing.T) {
	for name, want := range map[string]string{
		referral.EmailAskCurrent:    "https://api.example.com/r/",
		referral.EmailFriendWelcome: "https://shop.example.com/store?ref=",
		referral.EmailRewardReady:   "https://shop.example.com/store",
	} {
		f := sampleFacts("en", name)
		f.Program.LandingURL, f.Program.ShopURL, f.PublicURL = "", "https://shop.example.com/store", "https://api.example.com"
		d, _ := Compose(f)
		m, err := Render(name, "en", d)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(m.Text, want) || strings.Contains(m.Text, "invite") {
			t.Errorf("%s links %q? \n%s", name, want, m.Text)
		}
	}
}
