package samtemplate

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Route is one HTTP API route: a method (ANY matches every method) and a path template with
// {param} and a last {param+} segment, or the catch-all "$default". It is the one route
// matcher of the repository: the local HTTP API, the API tests and the sample-event tests
// find a request's route through it.
type Route struct {
	Method     string // upper case
	Path       string // "/codes/{code}", or "$default"
	Function   string // logical ID of the function serving it (resolved templates only)
	API        string // logical ID of its HttpApi; "" is the implicit API
	Authorizer string // "" when public (resolved templates only)
	segs       []routeSeg
}

type routeSeg struct {
	lit    string
	param  string
	greedy bool
}

// ParseRoute parses a route key as API Gateway writes it: "GET /codes/{code}" or "$default".
func ParseRoute(key string) (*Route, error) {
	if key == "$default" {
		return &Route{Method: "ANY", Path: "$default"}, nil
	}
	method, path, ok := strings.Cut(key, " ")
	if !ok {
		return nil, fmt.Errorf("route key %q is not \"METHOD /path\"", key)
	}
	return newRoute(method, path)
}

func newRoute(method, path string) (*Route, error) {
	r := &Route{Method: strings.ToUpper(method), Path: path}
	if r.Method == "" {
		r.Method = "ANY"
	}
	if path == "" || path == "$default" {
		r.Path = "$default"
		return r, nil
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path %q must start with /", path)
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, part := range parts {
		switch {
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "+}"):
			if i != len(parts)-1 {
				return nil, fmt.Errorf("path %q: greedy parameter must be last", path)
			}
			r.segs = append(r.segs, routeSeg{param: part[1 : len(part)-2], greedy: true})
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
			r.segs = append(r.segs, routeSeg{param: part[1 : len(part)-1]})
		default:
			r.segs = append(r.segs, routeSeg{lit: part})
		}
	}
	return r, nil
}

// Key is the routeKey API Gateway puts in events: "GET /codes/{code}" or "$default".
func (r *Route) Key() string {
	if r.Path == "$default" {
		return "$default"
	}
	return r.Method + " " + r.Path
}

// Match reports whether the route serves method and the (escaped) path, with its path
// parameters unescaped. An empty or badly escaped parameter does not match.
func (r *Route) Match(method, path string) (map[string]string, bool) {
	if r.Method != "ANY" && !strings.EqualFold(r.Method, method) {
		return nil, false
	}
	if r.Path == "$default" {
		return nil, true
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	params := map[string]string{}
	for i, s := range r.segs {
		if i >= len(parts) {
			return nil, false
		}
		if s.lit != "" || s.param == "" {
			if s.lit != parts[i] {
				return nil, false
			}
			continue
		}
		raw := parts[i]
		if s.greedy {
			raw = strings.Join(parts[i:], "/")
		}
		v, err := url.PathUnescape(raw)
		if err != nil || v == "" {
			return nil, false
		}
		params[s.param] = v
		if s.greedy {
			return params, true
		}
	}
	if len(parts) != len(r.segs) {
		return nil, false
	}
	return params, true
}

// MatchRoute reports whether method and path fit the route key, with the path parameters.
func MatchRoute(routeKey, method, path string) (map[string]string, bool) {
	r, err := ParseRoute(routeKey)
	if err != nil {
		return nil, false
	}
	return r.Match(method, path)
}

// Routes is a route table in API Gateway's order of preference.
type Routes []*Route

// NewRoutes parses route keys into a sorted table.
func NewRoutes(keys ...string) (Routes, error) {
	rs := make(Routes, 0, len(keys))
	for _, k := range keys {
		r, err := ParseRoute(k)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	rs.Sort()
	return rs, nil
}

// Sort orders routes the way API Gateway picks them: the most specific first (literal
// segments before parameters before greedy parameters, then more segments), a method
// before ANY, and $default last.
func (rs Routes) Sort() {
	rank := func(r *Route) []int {
		if r.Path == "$default" {
			return []int{9}
		}
		out := make([]int, 0, len(r.segs))
		for _, s := range r.segs {
			switch {
			case s.greedy:
				out = append(out, 3)
			case s.param != "":
				out = append(out, 2)
			default:
				out = append(out, 1)
			}
		}
		return out
	}
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rank(rs[i]), rank(rs[j])
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return rs[i].Method != "ANY" && rs[j].Method == "ANY"
	})
}

// Match returns the first route (in table order) serving method and path, with its path
// parameters, or nil.
func (rs Routes) Match(method, path string) (*Route, map[string]string) {
	for _, r := range rs {
		if params, ok := r.Match(method, path); ok {
			return r, params
		}
	}
	return nil, nil
}
