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
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestRenderMatchesGoldenFiles renders every template in every language with the sample data
// and compares subject, text and HTML with testdata/golden/<lang>/<template>.*.
// After changing a template, run `go test ./shared/email -update` and review the diff.
func TestRenderMatchesGoldenFiles(t *testing.T) {
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
		for _, name := range []string{ThanksLoyal, ThanksOneTime} {
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
	d := sampleData("en", AskPromoCode)
	d.ShareURL = "javascript:alert(1)"
	m, err := Render(AskPromoCode, "en", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, `href="javascript:`) {
		t.Errorf("HTML links to a javascript: URL:\n%s", m.HTML)
	}
}

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
			must("HTML", m.HTML, `<html lang="`+lang+`">`)
			must("HTML", m.HTML, "<title>"+html.EscapeString(m.Subject)+"</title>")
			for part, body := range map[string]string{"text": m.Text, "HTML": m.HTML} {
				esc := func(s string) string { return s }
				if part == "HTML" {
					esc = html.EscapeString
				}
				if strings.Contains(body, "<no value>") {
					t.Errorf("%s/%s %s shows <no value>", lang, name, part)
				}
				must(part, body, esc(d.SenderName))
				if name != ThanksOneTime { // a one-time client is invited back, not asked again
					must(part, body, esc(d.ShareURL))
				}
				if IsAsk(name) {
					must(part, body, esc(d.UnsubscribeURL))
				} else {
					must(part, body, esc(d.RefereeFirstName))
					must(part, body, esc(d.RewardEarned))
				}
				if name == AskPromoCode {
					must(part, body, d.Code)
					must(part, body, esc(d.FriendOffer))
					must(part, body, esc(d.AdvocateReward))
				}
				if name == AskCurrent {
					must(part, body, esc(d.AdvocateReward))
				}
			}
			if IsAsk(name) {
				must("HTML", m.HTML, `<a href="`+html.EscapeString(d.UnsubscribeURL)+`"`)
			}
			if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || len([]rune(m.Subject)) > 70 {
				t.Errorf("%s/%s: subject %q should be one short line", lang, name, m.Subject)
			}
		}
	}
}

// TestRendersWithOnlyRequiredFields guards the optional parts: no name, no value proposition,
// no rewards to mention, no share link, no sender name.
func TestRendersWithOnlyRequiredFields(t *testing.T) {
	sloppy := regexp.MustCompile(`  | [,.!?，。！？]|[,.] [,.]|<p>\s*</p>|\(\)`)
	for _, lang := range Languages {
		for _, name := range Templates {
			d := Data{ProgramName: "Acme Rewards"}
			switch name {
			case AskPromoCode:
				d.Code = "ACME-7K2QX9"
			case ThanksLoyal, ThanksOneTime:
				d.RewardEarned = "RewardPhrase"
			}
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
				if part != "subject" && !strings.Contains(body, "Acme Rewards") {
					t.Errorf("%s/%s %s is not signed with the program name when the sender name is empty", lang, name, part)
				}
			}
			if strings.Contains(m.HTML, "<a href") {
				t.Errorf("%s/%s: HTML has a link although no URL was given", lang, name)
			}
		}
	}
}

func TestRenderRejectsUnknownTemplatesAndMissingData(t *testing.T) {
	if _, err := Render("ask-everyone", "en", Data{}); !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("unknown template: err = %v, want ErrUnknownTemplate", err)
	}
	if _, err := Render(AskPromoCode, "en", Data{SenderName: "Ana"}); !errors.Is(err, ErrMissingData) {
		t.Errorf("ask-promo-code without code: err = %v, want ErrMissingData", err)
	}
	if _, err := Render(ThanksLoyal, "th", Data{SenderName: "Ana"}); !errors.Is(err, ErrMissingData) {
		t.Errorf("thanks without reward: err = %v, want ErrMissingData", err)
	}
}

// priceLike finds what a hard-coded price would leave in a template's words: a digit, a
// currency symbol, or a currency's name or code.
var priceLike = regexp.MustCompile(`[0-9๐-๙０-９$€£¥￥฿₫₩₹]|(?i)\b(usd|eur|gbp|myr|sgd|thb|idr|cny|rm|rp|dollars?|ringgit|rupiah|baht|yuan)\b|元|บาท|块钱`)

var (
	templateActions = regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	styleBlocks     = regexp.MustCompile(`(?is)<style.*?</style>`)
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
	n := 0
	err := fs.WalkDir(files, "templates", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		n++
		src, err := fs.ReadFile(files, p)
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
	if want := 1 + 3*len(Languages)*len(Templates); n != want {
		t.Errorf("templates/ holds %d files, want %d", n, want)
	}
}

// TestEveryTemplateFileIsExpected catches stray or misnamed files, which would never be rendered.
func TestEveryTemplateFileIsExpected(t *testing.T) {
	expected := map[string]bool{"templates/layout.html": true}
	for _, lang := range Languages {
		for _, name := range Templates {
			for _, ext := range []string{".subject.txt", ".txt", ".html"} {
				expected[path.Join("templates", lang, name+ext)] = true
			}
		}
	}
	err := fs.WalkDir(files, "templates", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && !expected[p] {
			t.Errorf("unexpected template file %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
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
