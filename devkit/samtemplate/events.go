package samtemplate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// EventsDir is the repository's events/ folder, found from this source file (for tests).
func EventsDir() string {
	return filepath.Join(filepath.Dir(Path()), "events")
}

// EventPrefix is the file-name prefix of a function's sample events: "ConversionsFunction" →
// "conversions-", so its samples are events/conversions-<case>.json.
func EventPrefix(logicalID string) string {
	return filepath.Base(FunctionDir(logicalID)) + "-"
}

// IsSampleEvent reports whether a file name in events/ is a sample event (<function>-<case>.json)
// rather than a support file such as fixtures.json.
func IsSampleEvent(name string) bool {
	dir, rest, ok := strings.Cut(name, "-")
	return ok && dir != "" && strings.HasSuffix(rest, ".json") && len(rest) > len(".json")
}

// SampleEvents lists the names of the sample events in dir that belong to the function
// logicalID, sorted.
func SampleEvents(dir, logicalID string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	prefix := EventPrefix(logicalID)
	var out []string
	for _, e := range entries {
		if !e.IsDir() && IsSampleEvent(e.Name()) && strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// EventFunction returns the logical ID of the function a sample event file belongs to, by its
// name: "publiccodes-check.json" → "PublicCodesFunction".
func (t *Template) EventFunction(name string) (string, bool) {
	if !IsSampleEvent(name) {
		return "", false
	}
	for id := range t.Functions() {
		if strings.HasPrefix(name, EventPrefix(id)) {
			return id, true
		}
	}
	return "", false
}

// Environment is the set of environment variable names the template sets for a function:
// Globals.Function.Environment plus the function's own Environment.
func (t *Template) Environment(logicalID string) map[string]bool {
	out := map[string]bool{}
	add := func(props map[string]any) {
		env, _ := props["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		for k := range vars {
			out[k] = true
		}
	}
	if fn, ok := t.Globals["Function"].(map[string]any); ok {
		add(fn)
	}
	if r, ok := t.Resources[logicalID]; ok {
		add(r.Properties)
	}
	return out
}

// DecodeEvent reads events/<name> into v, refusing fields v's type does not have, so a sample
// in the wrong shape (a typo, a REST v1 field in an HTTP API event) fails instead of decoding
// half-empty.
func DecodeEvent(name string, v any) error {
	b, err := os.ReadFile(filepath.Join(EventsDir(), name))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("events/%s: %w", name, err)
	}
	return nil
}
