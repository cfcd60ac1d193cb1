package api

import (
	"reflect"
	"strconv"
	"strings"
	"time"
)

// unknownField returns the JSON path of the first field in raw (decoded JSON) that the Go value
// v has no field for, or "". encoding/json's DisallowUnknownFields names the field but not
// where it is; this names "advocateRewards[1].amout".
func unknownField(raw any, v any) string {
	return walkUnknown(raw, reflect.TypeOf(v), "")
}

var timeType = reflect.TypeOf(time.Time{})

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
