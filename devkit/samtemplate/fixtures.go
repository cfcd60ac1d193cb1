package samtemplate

import (
	"regexp"
	"strconv"
	"strings"
)

// MergePatch applies a JSON merge patch (RFC 7396) to a decoded JSON document, as
// events/fixtures.json's "merge" steps do to a sample's body.
func MergePatch(doc, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	dm, ok := doc.(map[string]any)
	if !ok {
		dm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(dm, k)
		} else {
			dm[k] = MergePatch(dm[k], v)
		}
	}
	return dm
}

var (
	pathPart  = regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`)
	pathIndex = regexp.MustCompile(`\d+`)
)

// Lookup finds a fixtures path such as "a.b[0].c" in a decoded JSON document.
func Lookup(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		m := pathPart.FindStringSubmatch(part)
		if m == nil {
			return nil, false
		}
		if m[1] != "" {
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = obj[m[1]]; !ok {
				return nil, false
			}
		}
		for _, idx := range pathIndex.FindAllString(m[2], -1) {
			i, _ := strconv.Atoi(idx)
			arr, ok := v.([]any)
			if !ok || i >= len(arr) {
				return nil, false
			}
			v = arr[i]
		}
	}
	return v, true
}
