package devstack

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/referral/referrals/devkit/lambdaruntime"
)

// sourceWatch rebuilds the functions when a file they are built from changes, so an edit
// reaches the next request without a restart: idle instances stop at once, busy ones after
// their invocation. A function that no longer compiles keeps serving its previous build.
// Changes to the template need a restart, which it says.
type sourceWatch struct {
	s        *Stack
	modDir   string
	files    []string // watched: the main module's source files and their folders
	last     string   // their statHash when last built
	tmplHash string
}

// newWatch starts from the files the build listed, so an edit made while the stack starts
// is not mistaken for the state that was built.
func newWatch(s *Stack, sources []string) *sourceWatch {
	w := &sourceWatch{s: s, modDir: s.cfg.Root}
	cmd := exec.Command("go", "env", "GOMOD")
	cmd.Dir = s.cfg.Root
	if out, err := cmd.Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		w.modDir = filepath.Dir(strings.TrimSpace(string(out)))
	}
	w.files = w.watchable(sources)
	w.last = lambdaruntime.StatHash(w.files)
	w.tmplHash = lambdaruntime.StatHash([]string{s.cfg.Template})
	return w
}

func (w *sourceWatch) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if h := lambdaruntime.StatHash([]string{w.s.cfg.Template}); h != w.tmplHash {
			w.tmplHash = h
			w.s.sink.Printf("build", "%s changed: restart the dev stack to apply it", filepath.Base(w.s.cfg.Template))
		}
		h := lambdaruntime.StatHash(w.files)
		if h == w.last {
			continue
		}
		// Let a burst of saves settle before building.
		time.Sleep(every / 2)
		if lambdaruntime.StatHash(w.files) != h || ctx.Err() != nil {
			continue
		}
		w.rebuild()
	}
}

func (w *sourceWatch) rebuild() {
	s := w.s
	before := binaryTimes(s.cfg.BinDir, s.functions)
	s.sink.Printf("build", "sources changed: rebuilding")
	broken, sources := lambdaruntime.Build(s.cfg.Root, s.cfg.BinDir, s.Template.Functions, s.sink.Writer("build"))
	after := binaryTimes(s.cfg.BinDir, s.functions)
	for _, name := range slices.Sorted(maps.Keys(s.functions)) {
		fn := s.functions[name]
		switch err := broken[name]; {
		case err == nil && !after[name].Equal(before[name]):
			fn.Swap()
		case err == nil:
		case !after[name].IsZero():
			s.sink.Printf("build", "%s keeps running its previous build until it compiles again", name)
		default:
			fn.SetBroken(err)
		}
	}
	if sources != nil { // new imports change what to watch
		w.files = w.watchable(sources)
	}
	w.last = lambdaruntime.StatHash(w.files)
}

// watchable keeps the files of the main module (the module cache does not change) and adds
// their folders, whose modification time reveals new and deleted files.
func (w *sourceWatch) watchable(files []string) []string {
	prefix := strings.TrimSuffix(w.modDir, string(filepath.Separator)) + string(filepath.Separator)
	var out []string
	dirs := map[string]bool{}
	for _, f := range files {
		if !strings.HasPrefix(f, prefix) {
			continue
		}
		out = append(out, f)
		if d := filepath.Dir(f); !dirs[d] {
			dirs[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

func binaryTimes(binDir string, fns map[string]*lambdaruntime.Function) map[string]time.Time {
	out := map[string]time.Time{}
	for name := range fns {
		if st, err := os.Stat(filepath.Join(binDir, name, "bootstrap")); err == nil {
			out[name] = st.ModTime()
		}
	}
	return out
}
