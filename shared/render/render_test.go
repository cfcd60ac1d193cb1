package render

import (
	"bytes"
	htmltemplate "html/template"
	"os/exec"
	"strings"
	"testing"

	"github.com/referral/referrals/devkit/rendertest"
	"testing/fstest"
)

// page exercises what the pages use: range with else, $ inside a range, attributes, URLs
// with escaped query values, RCDATA.
const page = `<!DOCTYPE html><html lang="{{.Lang}}"><head><title>{{.Title}}</title></head><body>
<ul>{{range .Friends}}<li class="{{.Stage}}">{{.Name}} ({{$.Lang}}){{if .Paid}} ✓{{end}}</li>{{else}}<li>none</li>{{end}}</ul>
{{range .Tags}}<span>{{.}}</span>{{end}}
<a href="{{.Link}}">x</a> <a href="https://wa.me/?text={{.Text}}">wa</a> <a href="mailto:?subject={{.Subject}}&amp;body={{.Text}}">mail</a>
<input value="{{.Link}}" aria-label="{{.Title}}"><textarea>{{.Text}}</textarea>
{{with .Missing}}{{.}}{{else}}<p>{{template "word" .}}</p>{{end}}
</body></html>
{{define "word"}}{{if eq .Lang "th" "zh"}}{{.Count}} คน{{else}}{{.Count}} friends{{end}}{{end}}`

func views() map[string]map[string]any {
	friends := []any{map[string]any{"Name": "Bo", "Stage": "purchase", "Paid": true}, map[string]any{"Name": `<script>"x"</script> & O'Neil+1`, "Stage": `a"b`, "Paid": false}}
	return map[string]map[string]any{
		"sample": {"Lang": "en", "Title": "Ana's page", "Friends": friends, "Tags": []string{"a", "<b>"}, "Link": "https://shop.example.com/r/ABC?ch=x&y=1",
			"Text": "Get $10 off — use ABC & enjoy: https://x.example/r/ABC?ch=wa", "Subject": "10% off?", "Missing": "", "Count": 3},
		"hostile": {"Lang": `th"><script>`, "Title": `</title><script>alert(1)</script>`, "Friends": []any{}, "Tags": []string(nil),
			"Link": "javascript:alert(1)", "Text": "ก ข ค 中文 \x00 %zz %41", "Subject": "", "Missing": "", "Count": int64(2)},
		"empty": {"Lang": "zh", "Title": "", "Friends": nil, "Tags": nil, "Link": "", "Text": "", "Subject": "", "Missing": "shown", "Count": 0},
	}
}

// TestRendererMatchesHTMLTemplate compiles a page with html/template's escaper, as the
// packages that render do, and holds the renderer's output to html/template's.
func TestRendererMatchesHTMLTemplate(t *testing.T) {
	e := New(nil)
	src := fstest.MapFS{"page.html": {Data: []byte(page)}}
	compiled, err := rendertest.Compile(src, nil, e.ParseFuncs(), []rendertest.Unit{{Files: []string{"page.html"}, Entry: "page.html", Data: views()["sample"]}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := e.Parse("page.html", compiled["page.html"])
	if err != nil {
		t.Fatalf("%v\n%s", err, compiled["page.html"])
	}
	ref := htmltemplate.Must(htmltemplate.New("page.html").Parse(page))
	for name, v := range views() {
		var got strings.Builder
		if err := e.Execute(&got, set, "page.html", v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var want bytes.Buffer
		if err := ref.Execute(&want, v); err != nil {
			t.Fatalf("%s: html/template: %v", name, err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: the renderer differs from html/template:\n--- renderer:\n%s\n--- html/template:\n%s", name, got.String(), want.String())
		}
	}
}

func TestParseRefusesWhatTheRendererDoesNotRun(t *testing.T) {
	e := New(nil)
	for _, text := range []string{
		`{{$x := .A}}{{$x}}`,            // declared variables
		`{{range $i, $e := .A}}{{end}}`, // range variables
		`{{.A.Method "arg"}}`,           // methods
		`{{block "b" .}}x{{end}}`,       // fine: block is a define and a call
		`{{break}}`,                     // break outside range is a parse error
	} {
		_, err := e.Parse("t", text)
		if text == `{{block "b" .}}x{{end}}` {
			if err != nil {
				t.Errorf("%s: %v", text, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: parsed; the renderer cannot run it", text)
		}
	}
}

func TestExecuteSaysWhatIsWrong(t *testing.T) {
	e := New(nil)
	set, err := e.Parse("t", `{{.A.B}}|{{range .N}}{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dot  any
		want string
	}{
		{map[string]any{"A": map[string]any{}, "N": nil}, "no field B"},
		{map[string]any{"A": "s", "N": nil}, ".B of a string"},
		{map[string]any{"A": map[string]any{"B": 1.5}, "N": nil}, "cannot print a float64"},
		{map[string]any{"A": map[string]any{"B": "x"}, "N": 3}, "cannot range over a int"},
	} {
		var b strings.Builder
		err := e.Execute(&b, set, "t", tc.dot)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one saying %q", tc.dot, err, tc.want)
		}
	}
	var b strings.Builder
	if err := e.Execute(&b, set, "nope", nil); err == nil {
		t.Error("an unknown template executed")
	}
}

// TestFunctionsDoNotLinkTheTemplateExecutor: text/template's executor looks methods up by
// name through reflection, which makes the linker keep every exported method of every type
// (all the SDK clients' operations): a function grows 4 to 5 MB with it. Functions render
// with this package, which needs only the parser.
func TestFunctionsDoNotLinkTheTemplateExecutor(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "../../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "text/template" || pkg == "html/template" {
			t.Errorf("a function links %s; render with package render instead", pkg)
		}
	}
}
