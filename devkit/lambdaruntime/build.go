package lambdaruntime

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/referral/referrals/devkit/samtemplate"
)

// Build builds every function of the template for the host into binDir/<LogicalId>/bootstrap.
// It returns, per Function, why it cannot run (missing folder, compile error); functions that
// built are absent from the map. Nothing is rebuilt when no input file of any function changed.
//
// It also returns the source files it listed, for the watcher (nil when listing failed).
func Build(root, binDir string, fns map[string]*samtemplate.FunctionDef, log io.Writer) (map[string]error, []string) {
	broken := map[string]error{}
	var names []string
	for _, fn := range fns {
		if st, err := os.Stat(fn.AbsDir(root)); err != nil || !st.IsDir() {
			broken[fn.Name] = fmt.Errorf("%s: package %s does not exist", fn.Name, fn.Dir)
			continue
		}
		names = append(names, fn.Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return broken, nil
	}
	pkgs := make([]string, len(names))
	for i, n := range names {
		pkgs[i] = fns[n].Dir
	}
	files, err := sourceFiles(root, pkgs)
	stamp := runtime.Version() + " " + strings.Join(pkgs, " ") + " " + StatHash(files)
	stampFile := filepath.Join(binDir, ".stamp")
	if err == nil && allExist(binDir, names) {
		if old, _ := os.ReadFile(stampFile); string(old) == stamp {
			fmt.Fprintf(log, "%d functions up to date\n", len(names))
			return broken, files
		}
	}
	fmt.Fprintf(log, "building %d functions for %s/%s...\n", len(names), runtime.GOOS, runtime.GOARCH)
	_ = os.Remove(stampFile)

	// One go build for all packages shares the loading and links in parallel; only when it
	// fails is each function built alone, to tell the broken from the good.
	tmp, terr := os.MkdirTemp(binDir, ".build-")
	if terr != nil {
		for _, n := range names {
			broken[n] = terr
		}
		return broken, files
	}
	defer os.RemoveAll(tmp)
	unique := map[string]bool{}
	var all []string
	for _, p := range pkgs {
		if !unique[p] {
			unique[p] = true
			all = append(all, p)
		}
	}
	if _, berr := goBuild(root, tmp+string(filepath.Separator), all...); berr == nil {
		for _, n := range names {
			if err := install(filepath.Join(tmp, filepath.Base(fns[n].Dir)), binDir, n); err != nil {
				broken[n] = err
			}
		}
		if err == nil {
			_ = os.WriteFile(stampFile, []byte(stamp), 0o644)
		}
		return broken, files
	}

	var mu sync.Mutex
	outputs := map[string]string{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2) // go build is parallel inside; two at a time keeps a laptop usable
	for _, n := range names {
		wg.Add(1)
		go func(fn *samtemplate.FunctionDef) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out := filepath.Join(tmp, fn.Name)
			output, err := goBuild(root, out, fn.Dir)
			if err == nil {
				err = install(out, binDir, fn.Name)
			}
			if err != nil {
				mu.Lock()
				broken[fn.Name] = fmt.Errorf("%s: go build %s failed (%v); the compiler's output is in the dev log", fn.Name, fn.Dir, err)
				outputs[fn.Name] = output
				mu.Unlock()
			}
		}(fns[n])
	}
	wg.Wait()
	reportBuildErrors(log, names, outputs)
	return broken, files
}

// goBuild builds packages for the host as Lambda builds them (no RPC shim, stripped).
func goBuild(root, out string, pkgs ...string) (string, error) {
	args := append([]string{"build", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	err := cmd.Run()
	return strings.TrimSpace(output.String()), err
}

// install puts a built binary at binDir/<name>/bootstrap, where Lambda would find it. It links
// rather than moves, since two logical IDs may share a package.
func install(src, binDir, name string) error {
	dst := filepath.Join(binDir, name, "bootstrap")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	_ = os.Remove(dst) // a running process keeps its own copy of the old file
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// reportBuildErrors prints each distinct compiler output once, with the functions it broke
// (a broken shared package breaks them all the same way).
func reportBuildErrors(log io.Writer, names []string, outputs map[string]string) {
	var order []string
	byOutput := map[string][]string{}
	for _, n := range names {
		out, ok := outputs[n]
		if !ok {
			continue
		}
		if byOutput[out] == nil {
			order = append(order, out)
		}
		byOutput[out] = append(byOutput[out], n)
	}
	for _, out := range order {
		fmt.Fprintf(log, "go build failed for %s:\n%s\n", strings.Join(byOutput[out], ", "), out)
	}
}

func allExist(binDir string, names []string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(binDir, n, "bootstrap")); err != nil {
			return false
		}
	}
	return true
}

// sourceFiles lists the files the packages are built from, with the module's go.mod and go.sum.
func sourceFiles(root string, pkgs []string) ([]string, error) {
	args := append([]string{"list", "-tags", "lambda.norpc", "-deps", "-f",
		`{{if not .Standard}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}`}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range strings.Split(string(out), "\n") {
		if f = strings.TrimSpace(f); f != "" {
			files = append(files, f)
		}
	}
	gomodCmd := exec.Command("go", "env", "GOMOD")
	gomodCmd.Dir = root
	if gomod, err := gomodCmd.Output(); err == nil {
		mod := strings.TrimSpace(string(gomod))
		files = append(files, mod, strings.TrimSuffix(mod, ".mod")+".sum")
	}
	sort.Strings(files)
	return files, nil
}

// StatHash hashes the size and modification time of files.
func StatHash(files []string) string {
	h := sha256.New()
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			fmt.Fprintln(h, f, "missing")
			continue
		}
		fmt.Fprintln(h, f, st.Size(), st.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil))
}
