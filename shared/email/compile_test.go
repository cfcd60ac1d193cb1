package email

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	texttemplate "text/template"
	"text/template/parse"
)

// The HTML parts run from compiled/: the trees html/template makes of templates/ when it
// escapes them, written back as template text. These tests write compiled/ (with -update),
// check it is current, and hold the renderer to html/template's and text/template's output.

// sources are the template sources as they are in the repository.
var sources = os.DirFS("templates")

// htmlFuncs are the renderer's functions as html/template wants them.
var htmlFuncs = htmltemplate.FuncMap{
	"link":   func(url, label string) map[string]any { return map[string]any{"URL": url, "Label": label} },
	"khun":   khun,
	"pad":    pad,
	"spaced": spaced,
}

// sampleView is sampleData as the templates see it.
func sampleView(lang, name string) map[string]any { return sampleData(lang, name).view(lang, name) }

// compile escapes every template with html/template and returns compiled/'s files by path.
func compile(src fs.FS) (map[string]string, error) {
	out := map[string]string{}
	variants := map[string]map[string]map[string]bool{} // file → template → its escaped forms
	for _, lang := range Languages {
		for _, name := range Templates {
			files := []string{"layout.html", lang + "/common.html", lang + "/" + name + ".html"}
			t := htmltemplate.New("").Funcs(htmlFuncs)
			defined := map[string]string{} // template name → the file that defines it
			for _, f := range files {
				b, err := fs.ReadFile(src, f)
				if err != nil {
					return nil, err
				}
				trees, err := parse.Parse(f, string(b), "", "", htmlFuncs, parseFuncs)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
				for n, tr := range trees {
					if n == f && parse.IsEmptyTree(tr.Root) {
						continue
					}
					if prev, dup := defined[n]; dup {
						return nil, fmt.Errorf("%s and %s both define %q", prev, f, n)
					}
					defined[n] = f
				}
				if _, err := t.New(f).Parse(string(b)); err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
			}
			// Escaping happens before the first execution, whatever the data.
			if err := t.ExecuteTemplate(&bytes.Buffer{}, "layout.html", sampleView(lang, name)); err != nil {
				return nil, fmt.Errorf("%s/%s: %w", lang, name, err)
			}
			called := reachable(t, "layout.html", map[string]bool{})
			for _, tt := range t.Templates() {
				if tt.Tree == nil || !called[tt.Name()] {
					continue // html/template escapes only what the layout calls
				}
				f, ok := defined[tt.Name()]
				if !ok {
					return nil, fmt.Errorf("%s/%s: html/template made %q (a template used in two contexts?); the renderer needs one context per template", lang, name, tt.Name())
				}
				if variants[f] == nil {
					variants[f] = map[string]map[string]bool{}
				}
				if variants[f][tt.Name()] == nil {
					variants[f][tt.Name()] = map[string]bool{}
				}
				variants[f][tt.Name()][tt.Tree.Root.String()] = true
			}
		}
	}
	// A shared template must escape the same way in every set that calls it.
	for f, names := range variants {
		var defs []string
		for n, forms := range names {
			if len(forms) > 1 {
				return nil, fmt.Errorf("%s: %q escapes differently in different templates", f, n)
			}
			for form := range forms {
				defs = append(defs, fmt.Sprintf("{{define %q}}%s{{end}}", n, form))
			}
		}
		slices.Sort(defs)
		out[f] = strings.Join(defs, "\n") + "\n"
	}
	return out, nil
}

// reachable lists the templates that name calls, itself included.
func reachable(t *htmltemplate.Template, name string, seen map[string]bool) map[string]bool {
	tt := t.Lookup(name)
	if seen[name] || tt == nil || tt.Tree == nil {
		return seen
	}
	seen[name] = true
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.IfNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			reachable(t, n.Name, seen)
		}
	}
	walk(tt.Tree.Root)
	return seen
}

func TestCompiledTemplatesAreCurrent(t *testing.T) {
	want, err := compile(sources)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.RemoveAll("compiled"); err != nil {
			t.Fatal(err)
		}
		for f, text := range want {
			p := filepath.Join("compiled", f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// Render what was just written, not what the test binary embedded.
		setsMu.Lock()
		templateFS, sets, shared = os.DirFS("."), map[string]*set{}, nil
		setsMu.Unlock()
	}
	seen := map[string]bool{}
	err = fs.WalkDir(templateFS, "compiled", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		f := strings.TrimPrefix(p, "compiled/")
		seen[f] = true
		got, err := fs.ReadFile(templateFS, p)
		if err != nil {
			return err
		}
		if w, ok := want[f]; !ok {
			t.Errorf("%s is not made from any template", p)
		} else if string(got) != w && !*update {
			t.Errorf("%s is not current: run `go test ./shared/email -update` and review the diff", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for f := range want {
		if !seen[f] && !*update {
			t.Errorf("compiled/%s is missing: run `go test ./shared/email -update`", f)
		}
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

// TestFunctionsDoNotLinkTheTemplateExecutor: text/template's executor looks methods up by
// name through reflection, which makes the linker keep every exported method of every type
// (all the SDK clients' operations): EmailFunction grew 5 MB with it. The renderer needs only
// the parser.
func TestFunctionsDoNotLinkTheTemplateExecutor(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "../../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "text/template" || pkg == "html/template" {
			t.Errorf("a function links %s; render with this package's engine instead", pkg)
		}
	}
}
