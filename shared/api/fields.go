package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/referral/referrals/shared/referral"
)

// unknownField returns the JSON path of the first field in raw (decoded JSON) that the Go value
// v has no field for, or "". encoding/json's DisallowUnknownFields names the field but not
// where it is; this names "advocateRewards[1].amout".
func unknownField(raw any, v any) string {
	return walkUnknown(raw, reflect.TypeOf(v), "")
}

var (
	timeType            = reflect.TypeOf(time.Time{})
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

func walkUnknown(raw any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := raw.(type) {
	case map[string]any:
		if t.Kind() == reflect.Map {
			for k, v := range x {
				if f := walkUnknown(v, t.Elem(), join(path, k)); f != "" {
					return f
				}
			}
			return ""
		}
		if t.Kind() != reflect.Struct || t == timeType {
			return ""
		}
		fields := jsonFields(t)
		for k, v := range x {
			ft, ok := fields[k]
			if !ok {
				return join(path, k)
			}
			if f := walkUnknown(v, ft, join(path, k)); f != "" {
				return f
			}
		}
	case []any:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return ""
		}
		for i, v := range x {
			if f := walkUnknown(v, t.Elem(), path+"["+strconv.Itoa(i)+"]"); f != "" {
				return f
			}
		}
	}
	return ""
}

// jsonFields maps JSON names to field types, flattening embedded structs as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, taken := out[k]; !taken {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// timeField finds the path of the string value that failed to parse as a time.
func timeField(raw any, value string) string {
	switch x := raw.(type) {
	case map[string]any:
		for k, v := range x {
			if s, ok := v.(string); ok && strings.Contains(value, s) && s != "" {
				return k
			}
			if f := timeField(v, value); f != "" {
				if strings.HasPrefix(f, "[") {
					return k + f
				}
				return k + "." + f
			}
		}
	case []any:
		for i, v := range x {
			if f := timeField(v, value); f != "" {
				return "[" + strconv.Itoa(i) + "]." + f
			}
		}
	}
	return ""
}

// wellFormed checks what encoding/json lets through silently: invalid UTF-8 (replaced by
// U+FFFD), lone UTF-16 surrogates in \u escapes (replaced too) and duplicate object keys
// (the last one wins). Each is a 400: the body does not say one thing.
func wellFormed(b []byte) error {
	if !utf8.Valid(b) {
		return referral.Invalid("", "the body is not valid UTF-8")
	}
	if err := checkSurrogates(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		keys    map[string]bool
		object  bool
		wantKey bool
		path    string
		index   int
	}
	var stack []*frame
	path := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // json.Unmarshal reports syntax errors with their offset
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return referral.Invalid(join(top.path, k), "%s is given twice", join(top.path, k))
				}
				top.keys[k] = true
				top.wantKey = false
				path = join(top.path, k)
				continue
			}
		}
		if top != nil && !top.object {
			path = top.path + "[" + strconv.Itoa(top.index) + "]"
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, object: true, wantKey: true, path: path})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{path: path})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			top = stack[len(stack)-1]
			if top.object {
				top.wantKey = true
			} else {
				top.index++
			}
		}
	}
}

// checkSurrogates refuses \u escapes that encode half of a UTF-16 surrogate pair.
func checkSurrogates(b []byte) error {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	inString := false
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '"':
			inString = !inString
		case inString && b[i] == '\\' && i+1 < len(b) && b[i+1] != 'u':
			i++ // \" \\ and friends
		case inString && b[i] == '\\':
			r, ok := hex4(i)
			if !ok {
				continue
			}
			switch {
			case r >= 0xD800 && r <= 0xDBFF:
				lo, ok := hex4(i + 6)
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return referral.Invalid("", "the body holds a lone UTF-16 surrogate (\\u%04x): not valid text", r)
				}
				i += 11
			case r >= 0xDC00 && r <= 0xDFFF:
				return referral.Invalid("", "the body holds a lone UTF-16 surrogate (\\u%04x): not valid text", r)
			default:
				i += 5
			}
		}
	}
	return nil
}

// mistyped finds the first value in raw (decoded JSON) whose JSON type does not fit the Go
// type t, and says what it must be in words; path carries array indexes.
func mistyped(raw any, t reflect.Type, path string) (field, want string) {
	for t.Kind() == reflect.Pointer {
		if raw == nil {
			return "", ""
		}
		t = t.Elem()
	}
	if raw == nil {
		return "", "" // null leaves a value as it is
	}
	if t == timeType {
		if _, ok := raw.(string); !ok {
			return path, "an RFC 3339 time string like 2026-11-22T10:00:00Z"
		}
		return "", ""
	}
	if _, ok := raw.(string); ok && reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return "", "" // the type reads itself from a string too (referral.Localized)
	}
	switch t.Kind() {
	case reflect.Interface:
		return "", ""
	case reflect.String:
		if _, ok := raw.(string); !ok {
			return path, "a string"
		}
	case reflect.Bool:
		if _, ok := raw.(bool); !ok {
			return path, "true or false"
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		if _, ok := raw.(float64); !ok {
			return path, "a number"
		}
	case reflect.Slice, reflect.Array:
		a, ok := raw.([]any)
		if !ok {
			return path, "an array"
		}
		for i, v := range a {
			if f, w := mistyped(v, t.Elem(), path+"["+strconv.Itoa(i)+"]"); w != "" {
				return f, w
			}
		}
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			return path, "an object"
		}
		for k, v := range m {
			if f, w := mistyped(v, t.Elem(), join(path, k)); w != "" {
				return f, w
			}
		}
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			return path, "an object"
		}
		fields := jsonFields(t)
		for k, v := range m {
			if ft, ok := fields[k]; ok {
				if f, w := mistyped(v, ft, join(path, k)); w != "" {
					return f, w
				}
			}
		}
	}
	return "", ""
}
