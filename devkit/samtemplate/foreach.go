package samtemplate

import (
	"fmt"
	"strings"
	"unicode"
)

// forEachPrefix starts the key of an Fn::ForEach loop (AWS::LanguageExtensions transform).
const forEachPrefix = "Fn::ForEach::"

// expandForEach replaces every "Fn::ForEach::<Loop>": [Identifier, [values...], {fragment}]
// key in v's mappings with the fragment once per value, the way the AWS::LanguageExtensions
// transform does before SAM and CloudFormation see the template: ${Identifier} and
// &{Identifier} (the value without its non-alphanumeric characters) in the fragment's keys and
// strings, and {"Ref": Identifier}, become the value. Loops may nest. The collection must be a
// literal list of strings, the only form this template uses.
func expandForEach(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := expandForEach(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		add := func(k string, v any) error {
			if _, dup := out[k]; dup {
				return fmt.Errorf("%s is defined twice (by an Fn::ForEach loop)", k)
			}
			out[k] = v
			return nil
		}
		for k, e := range x {
			if !strings.HasPrefix(k, forEachPrefix) {
				r, err := expandForEach(e)
				if err != nil {
					return nil, err
				}
				if err := add(k, r); err != nil {
					return nil, err
				}
				continue
			}
			generated, err := forEach(k, e)
			if err != nil {
				return nil, err
			}
			for gk, gv := range generated {
				if err := add(gk, gv); err != nil {
					return nil, err
				}
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

// forEach expands one loop into the keys and values it generates.
func forEach(key string, args any) (map[string]any, error) {
	usage := fmt.Errorf("%s: want [Identifier, [values...], {OutputKey: OutputValue}] with a literal list of strings", key)
	l, _ := args.([]any)
	if len(l) != 3 {
		return nil, usage
	}
	id, _ := l[0].(string)
	values, isList := l[1].([]any)
	fragment, _ := l[2].(map[string]any)
	if id == "" || !isList || fragment == nil {
		return nil, usage
	}
	for k := range fragment {
		if !strings.HasPrefix(k, forEachPrefix) && !strings.Contains(k, "${"+id+"}") && !strings.Contains(k, "&{"+id+"}") {
			return nil, fmt.Errorf("%s: output key %q uses neither ${%s} nor &{%s}", key, k, id, id)
		}
	}
	out := map[string]any{}
	for _, v := range values {
		s, ok := v.(string)
		if !ok {
			return nil, usage
		}
		expanded, err := expandForEach(substitute(fragment, id, s))
		if err != nil {
			return nil, fmt.Errorf("%s (%s=%s): %w", key, id, s, err)
		}
		for k, e := range expanded.(map[string]any) {
			if _, dup := out[k]; dup {
				return nil, fmt.Errorf("%s: %s is generated twice", key, k)
			}
			out[k] = e
		}
	}
	return out, nil
}

// substitute returns a copy of v with the loop identifier id replaced by value.
func substitute(v any, id, value string) any {
	replace := strings.NewReplacer("${"+id+"}", value, "&{"+id+"}", alphanumeric(value))
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			return replace.Replace(x)
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = walk(e)
			}
			return out
		case map[string]any:
			if ref, ok := x["Ref"]; ok && len(x) == 1 && ref == id {
				return value
			}
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[replace.Replace(k)] = walk(e)
			}
			return out
		default:
			return v
		}
	}
	return walk(v)
}

// alphanumeric is s without the characters a logical ID cannot hold (&{Identifier}).
func alphanumeric(s string) string {
	return strings.Map(func(r rune) rune {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return -1
	}, s)
}
