// Package pagetest is the test kit of the HTML pages (package pages and its page sets): it
// compiles a set's templates with html/template into the compiled/ files the renderer runs
// and fails a test whose files are stale, holds the renderer's output to html/template's,
// checks that every language defines the same words, serves page handlers over HTTP as the
// local stack does, and drives Debian's chromium through chromedp (axe-core, screenshots,
// bytes transferred, JavaScript off, CSP reports, fonts).
package pagetest

import (
	"bytes"
	"errors"
	htmltemplate "html/template"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/referral/referrals/devkit/rendertest"
	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/pages"
)

// HTMLFuncs are the pages' template functions as html/template wants them.
var HTMLFuncs = htmltemplate.FuncMap{"khun": locale.Khun, "pad": locale.Pad, "spaced": locale.Spaced}

// Sample gives the data a page is compiled and compared with: the page's values (the layout's
// are added) and the view.
type Sample func(lang, page string) (pages.View, map[string]any)

// RepoRoot is the repository's root (where go.mod is), found from the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// sources lays out the files html/template escapes together: the frame's (frame/layout.html,
// frame/<lang>.html) and the set's (set/<page>.html, set/<lang>.html), set being the folder of
// the test (its templates/).
func sources(t testing.TB, set *pages.Set, pageNames []string) fstest.MapFS {
	t.Helper()
	frame := filepath.Join(RepoRoot(t), "shared", "pages", "templates")
	fsys := fstest.MapFS{}
	add := func(name, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fsys[name] = &fstest.MapFile{Data: b}
	}
	add("frame/layout.html", filepath.Join(frame, "layout.html"))
	for _, l := range set.Languages() {
		add("frame/"+l+".html", filepath.Join(frame, l+".html"))
		add("set/"+l+".html", filepath.Join("templates", l+".html"))
	}
	for _, p := range pageNames {
		add("set/"+p+".html", filepath.Join("templates", p+".html"))
	}
	return fsys
}

// isFrame reports whether the test runs in the frame's own folder (shared/pages).
func isFrame(t testing.TB) bool {
	wd, _ := os.Getwd()
	return filepath.Clean(wd) == filepath.Join(RepoRoot(t), "shared", "pages")
}

func units(t testing.TB, set *pages.Set, pageNames []string, sample Sample) []rendertest.Unit {
	var out []rendertest.Unit
	for _, l := range set.Languages() {
		for _, p := range pageNames {
			v, data := sample(l, p)
			dot, err := set.Dot(v, data)
			if err != nil {
				t.Fatal(err)
			}
			files := []string{"frame/layout.html", "frame/" + l + ".html", "set/" + p + ".html"}
			if !isFrame(t) {
				files = append(files, "set/"+l+".html")
			}
			out = append(out, rendertest.Unit{Files: files, Entry: "frame/layout.html", Data: dot})
		}
	}
	return out
}

// Compiled checks that the set in the test's folder has current compiled/ files for its
// pages (with update, writes them first; then set reads them from the folder). The frame's
// own files are checked by the frame's test (shared/pages).
func Compiled(t *testing.T, set *pages.Set, pageNames []string, sample Sample, update bool) {
	t.Helper()
	fsys := sources(t, set, pageNames)
	// The layout is named layout.html everywhere, so the frame's files keep their names.
	for k, f := range fsys {
		if k == "frame/layout.html" {
			fsys["layout.html"] = f
			delete(fsys, k)
		}
	}
	us := units(t, set, pageNames, sample)
	for i := range us {
		for j, f := range us[i].Files {
			if f == "frame/layout.html" {
				us[i].Files[j] = "layout.html"
			}
		}
		us[i].Entry = "layout.html"
	}
	got, err := rendertest.Compile(fsys, HTMLFuncs, pages.Engine().ParseFuncs(), us)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	frame := isFrame(t)
	for k, text := range got {
		switch {
		case strings.HasPrefix(k, "set/"):
			want[strings.TrimPrefix(k, "set/")] = text
		case frame && k == "layout.html":
			want[k] = text
		case frame && strings.HasPrefix(k, "frame/"):
			want[strings.TrimPrefix(k, "frame/")] = text
		}
	}
	pkg := "./" + strings.TrimPrefix(filepath.ToSlash(mustRel(t)), "./")
	rendertest.Current(t, "compiled", want, update, "go test "+pkg+" -update")
	if update {
		set.Reload(os.DirFS("."))
	}
}

func mustRel(t testing.TB) string {
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(RepoRoot(t), wd)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// MatchesHTMLTemplate renders page in every language with set and with html/template from the
// sources, and fails the test where they differ.
func MatchesHTMLTemplate(t *testing.T, set *pages.Set, page string, samples map[string]Sample) {
	t.Helper()
	fsys := sources(t, set, []string{page})
	for name, sample := range samples {
		for _, l := range set.Languages() {
			v, data := sample(l, page)
			got, err := set.HTML(page, v, data)
			if err != nil {
				t.Errorf("%s %s/%s: %v", name, l, page, err)
				continue
			}
			files := []string{"frame/layout.html", "frame/" + l + ".html", "set/" + page + ".html"}
			if !isFrame(t) {
				files = append(files, "set/"+l+".html")
			}
			ht := htmltemplate.New("").Funcs(HTMLFuncs)
			for _, f := range files {
				htmltemplate.Must(ht.New(f).Parse(string(fsys[f].Data)))
			}
			dot, err := set.Dot(v, data)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := ht.ExecuteTemplate(&want, "frame/layout.html", dot); err != nil {
				t.Fatalf("%s %s/%s: html/template: %v", name, l, page, err)
			}
			if got != want.String() {
				t.Errorf("%s %s/%s differs from html/template's:\n--- renderer:\n%s\n--- html/template:\n%s", name, l, page, got, want.String())
			}
		}
	}
}

var defines = regexp.MustCompile(`\{\{-?\s*define\s+"([^"]+)"`)

// SameWords checks that every language's word files present (templates/<lang>.html, and .txt where
// English has one) define the templates English defines, and no others.
func SameWords(t *testing.T) {
	t.Helper()
	names := func(path string) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		set := map[string]bool{}
		for _, m := range defines.FindAllSubmatch(b, -1) {
			set[string(m[1])] = true
		}
		return slices.Sorted(maps.Keys(set))
	}
	for _, ext := range []string{".html", ".txt"} {
		en := filepath.Join("templates", "en"+ext)
		if _, err := os.Stat(en); err != nil {
			continue
		}
		want := names(en)
		for _, l := range locale.Languages[1:] {
			path := filepath.Join("templates", l+ext)
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				continue // a set written in fewer languages (Set.Only); Compiled needs the set's own
			}
			if got := names(path); !slices.Equal(got, want) {
				t.Errorf("templates/%s%s defines %v; English defines %v", l, ext, got, want)
			}
		}
	}
}
