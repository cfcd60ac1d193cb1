package dynamostream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Filter is an event source mapping's FilterCriteria with Lambda's event filtering
// semantics (exact values, prefix, suffix, equals-ignore-case, wildcard, anything-but,
// numeric, exists, $or): a record is delivered when it matches any of the patterns. The
// make dev stack and the tests that deliver stream records use this one implementation.
type Filter struct {
	patterns []map[string]any
}

// CompileFilter parses FilterCriteria patterns (the JSON strings of the template's
// FilterCriteria.Filters[].Pattern).
func CompileFilter(patterns []string) (*Filter, error) {
	f := &Filter{}
	for _, p := range patterns {
		dec := json.NewDecoder(strings.NewReader(p))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("filter pattern %q: %w", p, err)
		}
		f.patterns = append(f.patterns, m)
	}
	return f, nil
}

// Match reports whether the JSON form of event matches the filter. No patterns: everything matches.
func (f *Filter) Match(event any) bool {
	if f == nil || len(f.patterns) == 0 {
		return true
	}
	b, err := json.Marshal(event)
	if err != nil {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return false
	}
	for _, p := range f.patterns {
		if matchPattern(p, doc) {
			return true
		}
	}
	return false
}

func matchPattern(pattern map[string]any, event any) bool {
	obj, _ := event.(map[string]any)
	for k, pv := range pattern {
		if k == "$or" {
			found := false
			for _, alt := range filterList(pv) {
				if m, ok := alt.(map[string]any); ok && matchPattern(m, event) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
			continue
		}
		val, exists := obj[k]
		switch p := pv.(type) {
		case map[string]any:
			if !exists || !matchPattern(p, val) {
				return false
			}
		case []any:
			if !matchValues(p, val, exists) {
				return false
			}
		default:
			return false // a leaf must be an array of matchers
		}
	}
	return true
}

func matchValues(matchers []any, val any, exists bool) bool {
	vals := []any{val}
	if arr, ok := val.([]any); ok {
		vals = arr
	}
	for _, m := range matchers {
		op, isOp := m.(map[string]any)
		if isOp {
			if e, ok := op["exists"]; ok {
				if want, _ := e.(bool); want == exists {
					return true
				}
				continue
			}
		}
		if !exists {
			continue
		}
		for _, v := range vals {
			if isOp && matchOperator(op, v) || !isOp && equalValue(m, v) {
				return true
			}
		}
	}
	return false
}

func equalValue(pattern, v any) bool {
	switch p := pattern.(type) {
	case nil:
		return v == nil
	case string:
		s, ok := v.(string)
		return ok && s == p
	case bool:
		b, ok := v.(bool)
		return ok && b == p
	case json.Number:
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		a, err1 := p.Float64()
		b, err2 := n.Float64()
		return err1 == nil && err2 == nil && a == b
	}
	return false
}

func matchOperator(op map[string]any, v any) bool {
	for name, arg := range op {
		switch name {
		case "prefix", "suffix", "equals-ignore-case", "wildcard":
			s, ok := v.(string)
			if !ok {
				return false
			}
			want, ok := arg.(string)
			if !ok {
				if m, isMap := arg.(map[string]any); isMap && name == "prefix" {
					// {"prefix": {"equals-ignore-case": "x"}}
					want, _ = m["equals-ignore-case"].(string)
					return strings.HasPrefix(strings.ToLower(s), strings.ToLower(want))
				}
				return false
			}
			switch name {
			case "prefix":
				return strings.HasPrefix(s, want)
			case "suffix":
				return strings.HasSuffix(s, want)
			case "equals-ignore-case":
				return strings.EqualFold(s, want)
			default:
				ok, _ := path.Match(strings.ReplaceAll(want, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
				return ok
			}
		case "anything-but":
			switch a := arg.(type) {
			case []any:
				for _, x := range a {
					if equalValue(x, v) {
						return false
					}
				}
				return true
			case map[string]any:
				return !matchOperator(a, v)
			default:
				return !equalValue(a, v)
			}
		case "numeric":
			n, ok := v.(json.Number)
			if !ok {
				return false
			}
			x, err := n.Float64()
			if err != nil {
				return false
			}
			conds := filterList(arg)
			for i := 0; i+1 < len(conds); i += 2 {
				opName, _ := conds[i].(string)
				bound, err := strconv.ParseFloat(fmt.Sprint(conds[i+1]), 64)
				if err != nil {
					return false
				}
				var ok bool
				switch opName {
				case "=":
					ok = x == bound
				case "<":
					ok = x < bound
				case "<=":
					ok = x <= bound
				case ">":
					ok = x > bound
				case ">=":
					ok = x >= bound
				}
				if !ok {
					return false
				}
			}
			return true
		default:
			return false
		}
	}
	return false
}

// filterList is v as a JSON array (nil when it is not one).
func filterList(v any) []any {
	l, _ := v.([]any)
	return l
}
