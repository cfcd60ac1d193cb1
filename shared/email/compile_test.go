package email

import (
	"bytes"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	texttemplate "text/template"

	"github.com/referral/referrals/devkit/rendertest"
	"github.com/referral/referrals/shared/locale"
)

// The HTML parts run from compiled/: the trees html/template makes of templates/ when it
// escapes them, written back as template text. These tests write compiled/ (with -update),
// check it is current, and hold the renderer to html/template's and text/template's output.

// sources are the template sources as they are in the repository.
var sources = os.DirFS("templates")

// htmlFuncs are the renderer's functions as html/template wants them.
var htmlFuncs = htmltemplate.FuncMap{
	"link":   func(url, label string) map[string]any { return map[string]any{"URL": url, "Label": label} },
	"khun":   locale.Khun,
	"pad":    locale.Pad,
	"spaced": locale.Spaced,
}

// sampleView is sampleData as the templates see it.
func sampleView(lang, name string) map[string]any { return sampleData(lang, name).view(lang, name) }

// compile escapes every template with html/template and returns compiled/'s files by path.
func compile(src fs.FS) (map[string]string, error) {
	var units []rendertest.Unit
	for _, lang := range Languages {
		for _, name := range Templates {
			units = append(units, rendertest.Unit{Files: []string{"layout.html", lang + "/common.html", lang + "/" + name + ".html"},
				Entry: "layout.html", Data: sampleView(lang, name)})
		}
	}
	return rendertest.Compile(src, htmlFuncs, engine.ParseFuncs(), units)
}

func TestCompiledTemplatesAreCurrent(t *testing.T) {
	want, err := compile(sources)
	if err != nil {
		t.Fatal(err)
	}
	rendertest.Current(t, "compiled", want, *update, "go test ./shared/email -update")
	if *update {
		// Render what was just written, not what the test binary embedded.
		setsMu.Lock()
		templateFS, sets, shared = os.DirFS("."), map[string]*set{}, nil
		setsMu.Unlock()
	}
}

// reference renders with text/template and html/template themselves, for comparison.
func reference(t *testing.T, lang, name string, d Data) Message {
	t.Helper()
	v := d.view(lang, name)
	parseText := func(files ...string) *texttemplate.Template {
		tt := texttemplate.New(name).Funcs(texttemplate.FuncMap(htmlFuncs))
		for _, f := range files {
			b, err := fs.ReadFile(sources, f)
			if err != nil {
				t.Fatal(err)
			}
			texttemplate.Must(tt.New(filepath.Base(f)).Parse(string(b)))
		}
		return tt
	}
	txt := parseText(lang+"/common.txt", lang+"/"+name+".txt")
	var b bytes.Buffer
	subject := strings.TrimSpace(d.Copy.Subject)
	if subject != "" {
		subject = fill(subject, d.placeholders(name), lang)
	} else {
		if err := txt.ExecuteTemplate(&b, "subject", v); err != nil {
			t.Fatal(err)
		}
		subject = b.String()
	}
	subject = strings.Join(strings.Fields(subject), " ")
	v["Subject"] = subject
	b.Reset()
	if err := txt.ExecuteTemplate(&b, name+".txt", v); err != nil {
		t.Fatal(err)
	}
	text := tidy(b.String())
	ht := htmltemplate.New("").Funcs(htmlFuncs)
	for _, f := range []string{"layout.html", lang + "/common.html", lang + "/" + name + ".html"} {
		src, err := fs.ReadFile(sources, f)
		if err != nil {
			t.Fatal(err)
		}
		htmltemplate.Must(ht.New(f).Parse(string(src)))
	}
	b.Reset()
	if err := ht.ExecuteTemplate(&b, "layout.html", v); err != nil {
		t.Fatal(err)
	}
	return Message{Template: name, Lang: lang, Subject: subject, Text: text, HTML: emptyLines.ReplaceAllString(tidy(b.String()), "\n")}
}

// TestRendererMatchesHTMLTemplate renders every template in every language with many kinds
// of data, hostile ones included, and compares with text/template and html/template.
func TestRendererMatchesHTMLTemplate(t *testing.T) {
	for _, lang := range Languages {
		for _, name := range Templates {
			for variant, d := range dataVariants(lang, name) {
				got, err := Render(name, lang, d)
				if err != nil {
					t.Errorf("%s/%s %s: %v", lang, name, variant, err)
					continue
				}
				want := reference(t, lang, name, d)
				for part, pair := range map[string][2]string{"subject": {got.Subject, want.Subject}, "text": {got.Text, want.Text}, "HTML": {got.HTML, want.HTML}} {
					if pair[0] != pair[1] {
						t.Errorf("%s/%s %s: the %s differs from html/template's:\n--- renderer:\n%s\n--- html/template:\n%s", lang, name, variant, part, pair[0], pair[1])
					}
				}
			}
		}
	}
}

// dataVariants are the sample data and its variations: hostile values, nothing optional,
// the other tone, merchant copy.
func dataVariants(lang, name string) map[string]Data {
	base := sampleData(lang, name)
	hostile := base
	hostile.CustomerFirstName = `<script>alert("x")</script>`
	hostile.RefereeFirstName = `Zed & "Co" <b>`
	hostile.AdvocateFirstName = `O'Brien+1`
	hostile.ShareURL = `javascript:alert(1)`
	hostile.ShopURL = `https://shop.example.com/a b?q=<x>&r="y"`
	hostile.UnsubscribeURL = `https://api.example.com/unsubscribe?c=a&t=b"><script>`
	hostile.BusinessName = `Tom & Jerry's <Deli>`
	hostile.Coupon = `<CODE>`
	hostile.Copy.Intro = `<b>{firstName}</b> & friends`
	b2b := base
	b2b.B2B = !b2b.B2B
	b2b.ThaiParticle = "ครับ"
	b2b.CodeIsNew = !b2b.CodeIsNew
	b2b.LastReminder = true
	copied := base
	copied.Copy.Subject = "{firstName}, a note from {businessName}"
	copied.Copy.Intro = "Hello from {businessName}!"
	copied.Copy.CTA = "Go"
	minimal := Data{Code: base.Code, ShareURL: base.ShareURL, Earned: base.Earned, Donated: base.Donated,
		RewardName: base.RewardName, ShopURL: base.ShopURL}
	return map[string]Data{"sample": base, "hostile": hostile, "other tone": b2b, "merchant copy": copied, "minimal": minimal}
}
