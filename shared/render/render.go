// Package render runs templates written for html/template without text/template's executor.
//
// The executor looks methods up by name through reflection, and that alone makes the linker
// keep every exported method of every type in a binary (all of the AWS SDK clients'
// operations): 4 to 5 MB more per function. Here templates are parse trees of
// text/template/parse executed over plain values (strings, bools, ints, map[string]any and
// slices of them). The HTML templates run as the trees html/template produced when it escaped
// them, written to files by the tests (devkit/rendertest), so the escaping is html/template's
// own; each package that renders holds its output to html/template's in a test.
//
// The emails and the pages render with it.
package render

import (
	"fmt"
	"strconv"
	"strings"
	"text/template/parse"
	"unicode/utf8"
)

// Func is a template function: it gets its arguments (the piped value last) and returns one
// value or an error.
type Func func(args []any) (any, error)

// Funcs maps names to template functions.
type Funcs map[string]Func

// Engine parses and runs templates with a fixed set of functions: the builtins (and, or, not,
// eq), the escapers html/template inserts, and the caller's.
type Engine struct {
	funcs      Funcs
	parseFuncs map[string]any
}

// New returns an engine with the builtins, html/template's escapers and extra (which wins on
// a name clash).
func New(extra Funcs) *Engine {
	e := &Engine{funcs: Funcs{}, parseFuncs: map[string]any{}}
	for _, m := range []Funcs{builtins, escapers, extra} {
		for k, f := range m {
			e.funcs[k] = f
			e.parseFuncs[k] = true
		}
	}
	return e
}

// ParseFuncs are the engine's function names as text/template/parse wants them (it only
// checks that a name has a non-nil value).
func (e *Engine) ParseFuncs() map[string]any { return e.parseFuncs }

// Set is a set of named templates that may call each other.
type Set map[string]*parse.Tree

// Parse parses one template file; name is the file's name and the name of its top-level
// template. It refuses what the engine does not run, so that a template using it fails its
// parse (and the tests) instead of a page or an email.
func (e *Engine) Parse(name, text string) (Set, error) {
	trees, err := parse.Parse(name, text, "", "", e.parseFuncs)
	if err != nil {
		return nil, err
	}
	s := Set{}
	for n, tr := range trees {
		if err := check(tr.Root); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, n, err)
		}
		s[n] = tr
	}
	return s, nil
}

// With returns a set holding s's templates and then u's (u's win on a name clash).
func (s Set) With(u Set) Set {
	out := make(Set, len(s)+len(u))
	for k, v := range s {
		out[k] = v
	}
	for k, v := range u {
		out[k] = v
	}
	return out
}

// Execute runs the template name of s with dot, writing to b.
func (e *Engine) Execute(b *strings.Builder, s Set, name string, dot any) error {
	tr, ok := s[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	st := &state{e: e, set: s, b: b, root: dot}
	return st.walk(dot, tr.Root)
}

// check refuses the nodes the executor does not run.
func check(n parse.Node) error {
	switch n := n.(type) {
	case nil, *parse.TextNode, *parse.CommentNode:
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := check(c); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return checkPipe(n.Pipe)
	case *parse.IfNode:
		return checkBranch(&n.BranchNode)
	case *parse.WithNode:
		return checkBranch(&n.BranchNode)
	case *parse.RangeNode:
		return checkBranch(&n.BranchNode)
	case *parse.TemplateNode:
		if n.Pipe != nil {
			return checkPipe(n.Pipe)
		}
	default:
		return fmt.Errorf("line %d: %s is not supported by the renderer", lineOf(n), n)
	}
	return nil
}

func checkBranch(b *parse.BranchNode) error {
	if err := checkPipe(b.Pipe); err != nil {
		return err
	}
	if err := check(b.List); err != nil {
		return err
	}
	return check(b.ElseList)
}

func checkPipe(p *parse.PipeNode) error {
	if len(p.Decl) > 0 {
		return fmt.Errorf("%s: declaring variables is not supported by the renderer ($ and $.Field are)", p)
	}
	for _, c := range p.Cmds {
		for i, a := range c.Args {
			switch a := a.(type) {
			case *parse.FieldNode, *parse.DotNode, *parse.StringNode, *parse.BoolNode:
				if _, isField := a.(*parse.FieldNode); isField && i == 0 && len(c.Args) > 1 {
					return fmt.Errorf("%s: methods are not supported by the renderer", c)
				}
			case *parse.VariableNode:
				if a.Ident[0] != "$" {
					return fmt.Errorf("%s: only the variable $ is supported by the renderer", c)
				}
			case *parse.IdentifierNode:
				if i != 0 {
					return fmt.Errorf("%s: a function must come first", c)
				}
			case *parse.PipeNode:
				if err := checkPipe(a); err != nil {
					return err
				}
			default:
				return fmt.Errorf("%s: %s is not supported by the renderer", c, a)
			}
		}
	}
	return nil
}

func lineOf(n parse.Node) int {
	if n == nil {
		return 0
	}
	return int(n.Position())
}

type state struct {
	e     *Engine
	set   Set
	b     *strings.Builder
	root  any // $
	depth int
}

// maxDepth bounds template calls, as text/template does, against a template calling itself.
const maxDepth = 100

func (s *state) walk(dot any, n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := s.walk(dot, c); err != nil {
				return err
			}
		}
	case *parse.TextNode:
		s.b.Write(n.Text)
	case *parse.CommentNode:
	case *parse.ActionNode:
		v, err := s.pipe(dot, n.Pipe)
		if err != nil {
			return err
		}
		out, err := printable(v)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		s.b.WriteString(out)
	case *parse.IfNode:
		return s.branch(dot, &n.BranchNode, false)
	case *parse.WithNode:
		return s.branch(dot, &n.BranchNode, true)
	case *parse.RangeNode:
		return s.rangeOver(dot, n)
	case *parse.TemplateNode:
		tr, ok := s.set[n.Name]
		if !ok {
			return fmt.Errorf("%s: no template %q", n, n.Name)
		}
		var next any
		if n.Pipe != nil {
			v, err := s.pipe(dot, n.Pipe)
			if err != nil {
				return err
			}
			next = v
		}
		if s.depth++; s.depth > maxDepth {
			return fmt.Errorf("%s: templates call each other more than %d deep", n, maxDepth)
		}
		err := s.walk(next, tr.Root)
		s.depth--
		return err
	default:
		return fmt.Errorf("line %d: %s is not supported", lineOf(n), n)
	}
	return nil
}

func (s *state) branch(dot any, b *parse.BranchNode, with bool) error {
	v, err := s.pipe(dot, b.Pipe)
	if err != nil {
		return err
	}
	if truth(v) {
		if with {
			dot = v
		}
		return s.walk(dot, b.List)
	}
	if b.ElseList != nil {
		return s.walk(dot, b.ElseList)
	}
	return nil
}

// rangeOver runs a range's body once per element of a slice (dot is the element), or its
// else branch when the slice is empty.
func (s *state) rangeOver(dot any, n *parse.RangeNode) error {
	v, err := s.pipe(dot, n.Pipe)
	if err != nil {
		return err
	}
	var items []any
	switch v := v.(type) {
	case nil:
	case []any:
		items = v
	case []map[string]any:
		for _, m := range v {
			items = append(items, m)
		}
	case []string:
		for _, x := range v {
			items = append(items, x)
		}
	default:
		return fmt.Errorf("%s: cannot range over a %T", n, v)
	}
	if len(items) == 0 {
		if n.ElseList != nil {
			return s.walk(dot, n.ElseList)
		}
		return nil
	}
	for _, it := range items {
		if err := s.walk(it, n.List); err != nil {
			return err
		}
	}
	return nil
}

// pipe evaluates a pipeline: each command's result is the last argument of the next.
func (s *state) pipe(dot any, p *parse.PipeNode) (any, error) {
	var v any
	for i, c := range p.Cmds {
		var err error
		if v, err = s.command(dot, c, v, i > 0); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (s *state) command(dot any, c *parse.CommandNode, prev any, hasPrev bool) (any, error) {
	if id, ok := c.Args[0].(*parse.IdentifierNode); ok {
		f, ok := s.e.funcs[id.Ident]
		if !ok {
			return nil, fmt.Errorf("%s: no function %q", c, id.Ident)
		}
		args := make([]any, 0, len(c.Args))
		for _, a := range c.Args[1:] {
			v, err := s.arg(dot, a)
			if err != nil {
				return nil, err
			}
			args = append(args, v)
		}
		if hasPrev {
			args = append(args, prev)
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("%s: %s needs arguments", c, id.Ident)
		}
		return f(args)
	}
	if hasPrev || len(c.Args) > 1 {
		return nil, fmt.Errorf("%s: only a function takes arguments", c)
	}
	return s.arg(dot, c.Args[0])
}

func (s *state) arg(dot any, n parse.Node) (any, error) {
	switch n := n.(type) {
	case *parse.DotNode:
		return dot, nil
	case *parse.StringNode:
		return n.Text, nil
	case *parse.BoolNode:
		return n.True, nil
	case *parse.FieldNode:
		return field(dot, n.Ident, n)
	case *parse.VariableNode: // $ or $.Field (check refuses other variables)
		return field(s.root, n.Ident[1:], n)
	case *parse.PipeNode:
		return s.pipe(dot, n)
	}
	return nil, fmt.Errorf("%s is not supported", n)
}

// field follows a chain of field names through maps.
func field(v any, names []string, n parse.Node) (any, error) {
	for _, name := range names {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: .%s of a %T", n, name, v)
		}
		if v, ok = m[name]; !ok {
			return nil, fmt.Errorf("%s: no field %s", n, name)
		}
	}
	return v, nil
}

// truth is text/template's notion of true: not the zero value.
func truth(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case bool:
		return v
	case int:
		return v != 0
	case int64:
		return v != 0
	case map[string]any:
		return len(v) > 0
	case []any:
		return len(v) > 0
	case []map[string]any:
		return len(v) > 0
	case []string:
		return len(v) > 0
	}
	return true
}

// printable is v as an action prints it.
func printable(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	}
	return "", fmt.Errorf("cannot print a %T", v)
}

// builtins are text/template's logic functions the templates use.
var builtins = Funcs{
	"not": func(a []any) (any, error) { return len(a) == 1 && !truth(a[0]), nil },
	"and": func(a []any) (any, error) {
		for _, v := range a {
			if !truth(v) {
				return v, nil
			}
		}
		return a[len(a)-1], nil
	},
	"or": func(a []any) (any, error) {
		for _, v := range a {
			if truth(v) {
				return v, nil
			}
		}
		return a[len(a)-1], nil
	},
	"eq": func(a []any) (any, error) {
		for _, v := range a[1:] {
			if v == a[0] {
				return true, nil
			}
		}
		return false, nil
	},
}

// escapers are the functions html/template inserts into the templates it escapes, under its
// names, for the contexts our templates use: HTML text, quoted attribute values, RCDATA
// (<title>, <textarea>) and URLs. A template that needs another (inline script or style, an
// unquoted attribute) fails to parse, so its tests fail.
var escapers = Funcs{
	"_html_template_htmlescaper":   escaper(htmlEscape),
	"_html_template_attrescaper":   escaper(htmlEscape),
	"_html_template_rcdataescaper": escaper(htmlEscape),
	"_html_template_urlfilter":     escaper(urlFilter),
	"_html_template_urlnormalizer": escaper(func(s string) string { return processURL(s, true) }),
	"_html_template_urlescaper":    escaper(func(s string) string { return processURL(s, false) }),
}

func escaper(f func(string) string) Func {
	return func(a []any) (any, error) {
		var b strings.Builder
		for _, v := range a {
			if v == nil {
				continue
			}
			s, err := printable(v)
			if err != nil {
				return nil, err
			}
			b.WriteString(s)
		}
		return f(b.String()), nil
	}
}

// htmlEscape is html/template's escaper for HTML text, RCDATA and quoted attribute values
// (its htmlReplacer with htmlReplacementTable, for plain strings).
func htmlEscape(s string) string {
	var b strings.Builder
	written := 0
	for i, w := 0, 0; i < len(s); i += w {
		var r rune
		r, w = utf8.DecodeRuneInString(s[i:])
		var repl string
		switch r {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		if written == 0 {
			b.Grow(len(s) + 16)
		}
		b.WriteString(s[written:i])
		b.WriteString(repl)
		written = i + w
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

// urlFilter is html/template's: a URL whose scheme is not http, https or mailto becomes
// "#ZgotmplZ", so that a "javascript:" link cannot run.
func urlFilter(s string) string {
	if protocol, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(protocol, "/") {
		if !strings.EqualFold(protocol, "http") && !strings.EqualFold(protocol, "https") && !strings.EqualFold(protocol, "mailto") {
			return "#ZgotmplZ"
		}
	}
	return s
}

// processURL is html/template's urlNormalizer (norm: percent-encode what may not appear in a
// URL, keep reserved characters and valid escapes) and urlEscaper (!norm: percent-encode
// everything but unreserved characters, for a value in a query).
func processURL(s string, norm bool) string {
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte("!#$&*+,/:;=?@[]", c) >= 0:
			if norm {
				continue
			}
		case strings.IndexByte("-._~", c) >= 0:
			continue
		case c == '%':
			if norm && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				continue
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			continue
		}
		b.WriteString(s[written:i])
		fmt.Fprintf(&b, "%%%02x", c)
		written = i + 1
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
