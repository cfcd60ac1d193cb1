// Package rendertest makes and checks the compiled templates that package render runs: it has
// html/template escape the template sources and writes the escaped trees back as template
// text (a test run with -update), and it fails a test whose compiled files are stale. Only
// tests import it, so no function links html/template.
package rendertest

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template/parse"
)

// Unit is one combination of template files that html/template escapes together: the files
// in order (a later file may not redefine an earlier one's template), the template that is
// executed (Entry), and sample data to execute it with (escaping happens on the first
// execution, whatever the data).
type Unit struct {
	Files []string
	Entry string
	Data  any
}

// Compile escapes every unit with html/template (funcs are the template functions as
// html/template wants them; parseFuncs the renderer's names, see render.Engine.ParseFuncs)
// and returns, per source file, the text of its escaped templates. A template must escape the
// same way in every unit that calls it: the renderer runs one form.
func Compile(src fs.FS, funcs htmltemplate.FuncMap, parseFuncs map[string]any, units []Unit) (map[string]string, error) {
	variants := map[string]map[string]map[string]bool{} // file → template → its escaped forms
	for _, u := range units {
		t := htmltemplate.New("").Funcs(funcs)
		defined := map[string]string{} // template name → the file that defines it
		for _, f := range u.Files {
			b, err := fs.ReadFile(src, f)
			if err != nil {
				return nil, err
			}
			trees, err := parse.Parse(f, string(b), "", "", map[string]any(funcs), parseFuncs)
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
		if err := t.ExecuteTemplate(&bytes.Buffer{}, u.Entry, u.Data); err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(u.Files, "+"), err)
		}
		called := reachable(t, u.Entry, map[string]bool{})
		for name := range called {
			if base, _, derived := strings.Cut(name, "$htmltemplate_"); derived {
				return nil, fmt.Errorf("%s: template %q is called where it must be escaped as an attribute, a URL or other non-HTML text; "+
					"the renderer runs one escaped form per template: pass those words as a value instead", strings.Join(u.Files, "+"), base)
			}
		}
		for _, tt := range t.Templates() {
			if tt.Tree == nil || !called[tt.Name()] {
				continue // html/template escapes only what the entry calls
			}
			f, ok := defined[tt.Name()]
			if !ok {
				return nil, fmt.Errorf("%s: html/template made %q (a template used in two contexts?); the renderer needs one context per template",
					strings.Join(u.Files, "+"), tt.Name())
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
	out := map[string]string{}
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
	if seen[name] {
		return seen
	}
	seen[name] = true
	tt := t.Lookup(name)
	if tt == nil || tt.Tree == nil {
		return seen // a name html/template derived for another context: Compile refuses it
	}
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

// Current checks that the folder dir (relative to the test's working directory) holds exactly
// want, by path under dir. With update it writes want there first (and removes what want
// does not name); cmd is the command that does so, for the failure message.
func Current(t testing.TB, dir string, want map[string]string, update bool, cmd string) {
	t.Helper()
	if update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for f, text := range want {
			p := filepath.Join(dir, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		f := filepath.ToSlash(strings.TrimPrefix(p, dir+string(filepath.Separator)))
		seen[f] = true
		got, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if w, ok := want[f]; !ok {
			t.Errorf("%s is not made from any template: run `%s`", p, cmd)
		} else if string(got) != w {
			t.Errorf("%s is not current: run `%s` and review the diff", p, cmd)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for f := range want {
		if !seen[f] {
			t.Errorf("%s/%s is missing: run `%s`", dir, f, cmd)
		}
	}
}
