package email

import (
	"fmt"
	"strconv"
	"strings"
	"text/template/parse"
	"unicode"
	"unicode/utf8"
)

// The renderer runs the templates without text/template's executor, which looks methods up
// by name through reflection: that alone made the linker keep every exported method of every
// type in the binary (all of the SDK clients' operations), 5 MB of EmailFunction. Here the
// templates are parse trees of text/template/parse, executed over plain values (strings,
// bools, map[string]any), and the HTML parts are the trees html/template produced when it
// escaped them (compiled/, written by `go test ./shared/email -update`): the escaping is
// html/template's own, and TestRendererMatchesHTMLTemplate holds the two to the same output.

// tmpl is a set of named parse trees: one template and those it calls.
type tmpl map[string]*parse.Tree

// funcs are the functions the templates may call, with the names html/template gives its
// escapers.
var funcs = map[string]func(args []any) (any, error){
	"link": func(a []any) (any, error) {
		if len(a) != 2 {
			return nil, fmt.Errorf("link takes a URL and a label")
		}
		return map[string]any{"URL": a[0], "Label": a[1]}, nil
	},
	"khun":   func(a []any) (any, error) { return khun(fmt.Sprint(a...)), nil },
	"pad":    func(a []any) (any, error) { return pad(fmt.Sprint(a...)), nil },
	"spaced": func(a []any) (any, error) { return spaced(fmt.Sprint(a...)), nil },
	"not":    func(a []any) (any, error) { return len(a) == 1 && !truth(a[0]), nil },
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
	"_html_template_htmlescaper":   escaper(htmlEscape),
	"_html_template_attrescaper":   escaper(htmlEscape),
	"_html_template_rcdataescaper": escaper(htmlEscape),
	"_html_template_urlfilter":     escaper(urlFilter),
	"_html_template_urlnormalizer": escaper(urlNormalize),
}

// parseFuncs is funcs as the parser wants it: it only checks that a name has a non-nil value.
var parseFuncs = func() map[string]any {
	m := make(map[string]any, len(funcs))
	for k := range funcs {
		m[k] = true
	}
	return m
}()

// khun is คุณ with a name. A name in Latin script is set apart by spaces on both sides
// ("คุณ Ana ส่ง…"), a Thai one is written against its neighbours ("คุณนภัส"), as Thai
// typesetting wants.
func khun(name string) string {
	if name == "" {
		return "คุณ"
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	out := "คุณ"
	if !native(first) {
		out += " "
	}
	out += name
	if !native(last) {
		out += " "
	}
	return out
}

// pad puts a space before a phrase that starts with a Latin letter, a digit or a currency
// symbol, to set it apart from the Thai or Chinese text it follows ("获得 ¥20 购物金").
func pad(s string) string {
	if r, _ := utf8.DecodeRuneInString(s); s != "" && !native(r) && !unicode.IsPunct(r) {
		return " " + s
	}
	return s
}

// spaced sets a name apart from the Thai around it when it starts or ends in another script
// ("ชอบ Acme Coffee เหมือนกัน", "ชอบสยามโยคะเหมือนกัน").
func spaced(s string) string {
	if s == "" {
		return s
	}
	if r, _ := utf8.DecodeLastRuneInString(s); !native(r) {
		s += " "
	}
	return pad(s)
}

// native reports whether r is written against its neighbours: Thai or Han.
func native(r rune) bool { return unicode.In(r, unicode.Thai, unicode.Han) }

func escaper(f func(string) string) func([]any) (any, error) {
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

// parseTemplate parses one template file with the names of funcs; name is the file's name
// and the name of its top-level template.
func parseTemplate(name, text string) (tmpl, error) {
	trees, err := parse.Parse(name, text, "", "", parseFuncs)
	if err != nil {
		return nil, err
	}
	t := tmpl{}
	for n, tr := range trees {
		if err := check(tr.Root); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, n, err)
		}
		t[n] = tr
	}
	return t, nil
}

// with returns a set holding t's templates and then u's (u's win on a name clash).
func (t tmpl) with(u tmpl) tmpl {
	out := make(tmpl, len(t)+len(u))
	for k, v := range t {
		out[k] = v
	}
	for k, v := range u {
		out[k] = v
	}
	return out
}

// check refuses what the executor does not do, so that a template using it fails its parse
// (and the tests) instead of an email.
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
	case *parse.TemplateNode:
		if n.Pipe != nil {
			return checkPipe(n.Pipe)
		}
	default:
		return fmt.Errorf("line %d: %s is not supported by the email renderer", lineOf(n), n)
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
		return fmt.Errorf("%s: variables are not supported by the email renderer", p)
	}
	for _, c := range p.Cmds {
		for i, a := range c.Args {
			switch a := a.(type) {
			case *parse.FieldNode, *parse.DotNode, *parse.StringNode, *parse.BoolNode:
				if _, isField := a.(*parse.FieldNode); isField && i == 0 && len(c.Args) > 1 {
					return fmt.Errorf("%s: methods are not supported by the email renderer", c)
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
				return fmt.Errorf("%s: %s is not supported by the email renderer", c, a)
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

// execute runs the template name of t with dot, writing to b.
func (t tmpl) execute(b *strings.Builder, name string, dot any) error {
	tr, ok := t[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	s := &state{t: t, b: b}
	return s.walk(dot, tr.Root)
}

type state struct {
	t     tmpl
	b     *strings.Builder
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
	case *parse.TemplateNode:
		tr, ok := s.t[n.Name]
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
		f, ok := funcs[id.Ident]
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
		v := dot
		for _, name := range n.Ident {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: .%s of a %T", n, name, v)
			}
			if v, ok = m[name]; !ok {
				return nil, fmt.Errorf("%s: no field %s", n, name)
			}
		}
		return v, nil
	case *parse.PipeNode:
		return s.pipe(dot, n)
	}
	return nil, fmt.Errorf("%s is not supported", n)
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
	case map[string]any:
		return v != nil
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
	}
	return "", fmt.Errorf("cannot print a %T", v)
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
// "#ZgotmplZ", so that a "javascript:" share link cannot run.
func urlFilter(s string) string {
	if protocol, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(protocol, "/") {
		if !strings.EqualFold(protocol, "http") && !strings.EqualFold(protocol, "https") && !strings.EqualFold(protocol, "mailto") {
			return "#ZgotmplZ"
		}
	}
	return s
}

// urlNormalize is html/template's urlNormalizer: it percent-encodes what may not appear in a
// URL and keeps reserved characters and valid escapes.
func urlNormalize(s string) string {
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte("!#$&*+,/:;=?@[]-._~", c) >= 0:
			continue
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			continue
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
