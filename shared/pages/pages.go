// Package pages serves the product's HTML pages from Lambda functions behind the HTTP API:
// the advocate's page, the friend's landing page and the owner's console are page sets built
// on it.
//
// A page set is a folder (a Go package) holding its templates (templates/<page>.html, the
// structure, with no words), its words per language (templates/<lang>.html, and
// templates/<lang>.txt for plain text such as a share message), and compiled/, what
// html/template made of the HTML when it escaped it (written by the set's tests with
// -update, run by package render without text/template's executor). Every page is framed
// by this package's layout (templates/layout.html, words in templates/<lang>.html) with the
// stylesheet and the one script in assets/, served from /assets/ with long caching. Pages
// carry no inline script or style: the Content-Security-Policy forbids both.
package pages

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/render"
)

// Funcs are the template functions every page set may call: the Thai and Chinese typesetting
// helpers of package locale.
var Funcs = render.Funcs{
	"khun":   func(a []any) (any, error) { return locale.Khun(fmt.Sprint(a...)), nil },
	"pad":    func(a []any) (any, error) { return locale.Pad(fmt.Sprint(a...)), nil },
	"spaced": func(a []any) (any, error) { return locale.Spaced(fmt.Sprint(a...)), nil },
}

var engine = render.New(Funcs)

// Engine is the renderer the page sets run on (tests compile with its function names).
func Engine() *render.Engine { return engine }

//go:embed compiled templates/*.txt assets
var files embed.FS

// Frame is this package's own set: the layout, its words, and the message page that every set
// uses for errors ("this page does not exist", "we are busy").
var Frame = NewSet("pages", files)

// Set is a page set: its compiled templates and words, rendered in the frame's layout.
type Set struct {
	name  string
	fsys  fs.FS    // compiled/<page>.html, compiled/<lang>.html, templates/<lang>.txt
	langs []string // the languages it is written in; nil: all of locale.Languages

	mu    sync.Mutex
	html  map[string]render.Set // by lang + "/" + page
	texts map[string]render.Set // by lang
}

// NewSet returns the page set name whose files are fsys (its embedded compiled/ and
// templates/*.txt).
func NewSet(name string, fsys fs.FS) *Set {
	return &Set{name: name, fsys: fsys, html: map[string]render.Set{}, texts: map[string]render.Set{}}
}

// Only makes the set one written in langs only (the first is the one it falls back to): the
// owner's console is in English first. It returns s.
func (s *Set) Only(langs ...string) *Set {
	s.langs = langs
	return s
}

// Languages are the languages the set is written in.
func (s *Set) Languages() []string {
	if len(s.langs) > 0 {
		return s.langs
	}
	return locale.Languages
}

// lang is lang if the set is written in it, else the set's first language.
func (s *Set) lang(lang string) string {
	lang = locale.Lang(lang)
	if slices.Contains(s.Languages(), lang) {
		return lang
	}
	return s.Languages()[0]
}

// Name is the set's name, as errors say it.
func (s *Set) Name() string { return s.name }

// Reload makes the set read its files from fsys from now on (tests that rewrite compiled/).
func (s *Set) Reload(fsys fs.FS) {
	s.mu.Lock()
	s.fsys, s.html, s.texts = fsys, map[string]render.Set{}, map[string]render.Set{}
	s.mu.Unlock()
	if s == Frame {
		frameMu.Lock()
		frames = map[string]render.Set{}
		frameMu.Unlock()
	}
}

// HTML renders page in v.Lang within the layout: data holds the page's values (see Dot).
func (s *Set) HTML(page string, v View, data map[string]any) (string, error) {
	t, err := s.htmlSet(v.Lang, page)
	if err != nil {
		return "", err
	}
	dot, err := s.Dot(v, data)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := engine.Execute(&b, t, "layout.html", dot); err != nil {
		return "", fmt.Errorf("page %s/%s in %s: %w", s.name, page, v.Lang, err)
	}
	return b.String(), nil
}

// Dot is what a page's templates see: data, the layout's values (Lang, Root, CSS, JS, Script,
// Langs), and T, the plain-text words of the frame and the set in v.Lang (templates/<lang>.txt:
// "title" is the page's title) rendered with data, for attributes, URLs and the title, where
// HTML words cannot go. A word whose template needs a value data lacks is left out of T.
func (s *Set) Dot(v View, data map[string]any) (map[string]any, error) {
	dot := v.dot(data)
	words := map[string]any{}
	for _, set := range []*Set{Frame, s} {
		t, err := set.textSet(v.Lang)
		if err != nil {
			return nil, err
		}
		for name := range t {
			var b strings.Builder
			if engine.Execute(&b, t, name, dot) == nil {
				words[name] = strings.Join(strings.Fields(b.String()), " ")
			}
		}
	}
	dot["T"] = words
	return dot, nil
}

// Text renders the plain-text word name of lang (templates/<lang>.txt) with data: nothing is
// escaped, so the caller escapes it for where it goes (a URL, an email subject...).
func (s *Set) Text(lang, name string, data map[string]any) (string, error) {
	t, err := s.textSet(lang)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := engine.Execute(&b, t, name, data); err != nil {
		return "", fmt.Errorf("text %s/%s in %s: %w", s.name, name, lang, err)
	}
	return strings.Join(strings.Fields(b.String()), " "), nil
}

func (s *Set) htmlSet(lang, page string) (render.Set, error) {
	lang = s.lang(lang)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.html[lang+"/"+page]; ok {
		return t, nil
	}
	frame, err := frameSet(lang, s.frameFS())
	if err != nil {
		return nil, err
	}
	own := frame
	for _, f := range []string{"compiled/" + page + ".html", "compiled/" + lang + ".html"} {
		if s == Frame && f == "compiled/"+lang+".html" {
			continue // the frame's words are in frame already
		}
		t, err := parseFile(s.fsys, f)
		if err != nil {
			return nil, fmt.Errorf("page set %s: %w", s.name, err)
		}
		own = own.With(t)
	}
	s.html[lang+"/"+page] = own
	return own, nil
}

// frameFS is where the frame's files are: the Frame set's (s.mu is held, and may be Frame's).
func (s *Set) frameFS() fs.FS {
	if s == Frame {
		return s.fsys
	}
	Frame.mu.Lock()
	defer Frame.mu.Unlock()
	return Frame.fsys
}

// frameSet is the layout with the frame's words in lang (parsed once per language).
func frameSet(lang string, fsys fs.FS) (render.Set, error) {
	frameMu.Lock()
	defer frameMu.Unlock()
	if t, ok := frames[lang]; ok {
		return t, nil
	}
	layout, err := parseFile(fsys, "compiled/layout.html")
	if err != nil {
		return nil, err
	}
	words, err := parseFile(fsys, "compiled/"+lang+".html")
	if err != nil {
		return nil, err
	}
	frames[lang] = layout.With(words)
	return frames[lang], nil
}

var (
	frameMu sync.Mutex
	frames  = map[string]render.Set{}
)

func (s *Set) textSet(lang string) (render.Set, error) {
	lang = s.lang(lang)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.texts[lang]; ok {
		return t, nil
	}
	t, err := parseFile(s.fsys, "templates/"+lang+".txt")
	if err != nil {
		return nil, fmt.Errorf("page set %s: %w", s.name, err)
	}
	s.texts[lang] = t
	return t, nil
}

// parseFile parses one embedded template file. The files are embedded, so an error is a bug
// that the set's tests catch, not a runtime condition.
func parseFile(fsys fs.FS, path string) (render.Set, error) {
	b, err := fs.ReadFile(fsys, path)
	if err != nil {
		return nil, err
	}
	name := path[strings.LastIndexByte(path, '/')+1:]
	t, err := engine.Parse(name, string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
