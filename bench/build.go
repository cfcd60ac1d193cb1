package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/referral/referrals/devkit/samtemplate"
)

// function is a function of template.yaml as the report needs it.
type function struct {
	Name     string   // logical ID
	MemoryMB int      // MemorySize, or the Globals default
	Routes   []string // HTTP API route keys ("GET /codes/{code}")
	Stream   bool     // consumes the table's stream
	// LogMetrics are the custom metrics the template's metric filters count from the
	// function's log group (each billed as a custom metric, as the EMF ones).
	LogMetrics []string
}

func templateFunctions(path string) ([]function, error) {
	tpl, err := samtemplate.Load(path)
	if err != nil {
		return nil, err
	}
	globalMem := 128 // Lambda's default
	if g, ok := tpl.Globals["Function"].(map[string]any); ok {
		if m, ok := g["MemorySize"].(int64); ok {
			globalMem = int(m)
		}
	}
	var out []function
	for name, r := range tpl.Functions() {
		fn := function{Name: name, MemoryMB: globalMem, Routes: r.RouteKeys()}
		if m, ok := r.Properties["MemorySize"].(int64); ok {
			fn.MemoryMB = int(m)
		}
		for _, ev := range r.Events() {
			if ev.Type == "DynamoDB" {
				fn.Stream = true
			}
		}
		sort.Strings(fn.Routes)
		out = append(out, fn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for _, r := range tpl.Resources {
		if r.Type != "AWS::Logs::MetricFilter" {
			continue
		}
		group, _ := r.Properties["LogGroupName"].(map[string]any)
		ref, _ := group["Ref"].(string)
		transforms, _ := r.Properties["MetricTransformations"].([]any)
		for i := range out {
			if ref != out[i].Name+"Logs" {
				continue
			}
			for _, t := range transforms {
				m, _ := t.(map[string]any)
				if name, ok := m["MetricName"].(string); ok {
					out[i].LogMetrics = append(out[i].LogMetrics, name)
				}
			}
			sort.Strings(out[i].LogMetrics)
		}
	}
	return out, nil
}

// binary is one function built as `sam build` builds it.
type binary struct {
	Function string
	Bytes    int64
}

// buildBinaries runs `make build-<LogicalId>` for every function (the targets `sam build`
// runs: linux/arm64, -tags lambda.norpc, -trimpath, stripped) and measures each bootstrap.
func buildBinaries(tmp string, fns []function) ([]binary, error) {
	out := make([]binary, len(fns))
	errs := make([]error, len(fns))
	sem := make(chan struct{}, max(1, min(4, len(fns))))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			dir := filepath.Join(tmp, "lambda", fn.Name)
			cmd := exec.Command("make", "-s", "build-"+fn.Name, "ARTIFACTS_DIR="+dir)
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("make build-%s: %v\n%s", fn.Name, err, strings.TrimSpace(string(b)))
				return
			}
			st, err := os.Stat(filepath.Join(dir, "bootstrap"))
			if err != nil {
				errs[i] = err
				return
			}
			out[i] = binary{Function: fn.Name, Bytes: st.Size()}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
