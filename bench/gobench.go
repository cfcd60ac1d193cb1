package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// benchtime is how long each known benchmark runs. The API benchmarks seed fresh data per
// iteration against minidyn, so they run a fixed number of iterations; others run for a time.
var benchtime = map[string]string{
	"BenchmarkRoundTrips":       "4x",
	"BenchmarkHandlerOverhead":  "150x",
	"BenchmarkStreamConsumers":  "100x",
	"BenchmarkEvaluate":         "1s",
	"default (any other bench)": "1s",
}

// benchResult is one line of `go test -bench` output.
type benchResult struct {
	Package    string
	Name       string // without the -GOMAXPROCS suffix
	Iterations int
	Metrics    map[string]float64 // unit → value: ns/op, B/op, allocs/op, custom units
}

// record is a line a benchmark wrote to REFERRALS_BENCH_OUT.
type record struct {
	Bench string         `json:"bench"`
	Case  string         `json:"case"`
	Data  map[string]any `json:"data"`
}

// goBenchmarks is what the Go benchmarks measured.
type goBenchmarks struct {
	results []benchResult
	records map[string]map[string]map[string]any // bench → case → data (the last run's)
	order   map[string][]string                  // bench → cases in first-seen order
	failed  []string                             // benchmarks that failed, with the end of their output
}

func (g *goBenchmarks) record(bench, name string) map[string]any { return g.records[bench][name] }

func (g *goBenchmarks) find(prefix string) []benchResult {
	var out []benchResult
	for _, r := range g.results {
		if strings.HasPrefix(r.Name, prefix) {
			out = append(out, r)
		}
	}
	return out
}

var benchFunc = regexp.MustCompile(`(?m)^func (Benchmark\w+)\(b \*testing\.B\)`)

// runGoBenchmarks finds the packages under shared/ with benchmarks, compiles each test binary
// once and runs every benchmark in it with its benchtime and -benchmem.
func runGoBenchmarks(tmp string) (*goBenchmarks, error) {
	pkgs := map[string][]string{} // dir → benchmark names
	err := filepath.WalkDir("shared", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range benchFunc.FindAllStringSubmatch(string(b), -1) {
			pkgs[filepath.Dir(path)] = append(pkgs[filepath.Dir(path)], m[1])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &goBenchmarks{records: map[string]map[string]map[string]any{}, order: map[string][]string{}}
	recPath := filepath.Join(tmp, "records.jsonl")
	dirs := make([]string, 0, len(pkgs))
	for d := range pkgs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		bin := filepath.Join(tmp, strings.ReplaceAll(dir, string(filepath.Separator), "_")+".test")
		if b, err := exec.Command("go", "test", "-c", "-o", bin, "./"+dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("compile %s tests: %v\n%s", dir, err, b)
		}
		names := pkgs[dir]
		sort.Strings(names)
		for _, name := range names {
			bt, ok := benchtime[name]
			if !ok {
				bt = benchtime["default (any other bench)"]
			}
			abs, _ := filepath.Abs(dir)
			cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", "^"+name+"$", "-test.benchtime", bt, "-test.benchmem", "-test.count", "1")
			cmd.Dir = abs // as go test runs it, so tests find their testdata
			cmd.Env = append(os.Environ(), "REFERRALS_BENCH_OUT="+recPath)
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			cmd.Stderr = os.Stderr
			fmt.Fprintf(os.Stderr, "bench:   %s %s (-benchtime %s)\n", dir, name, bt)
			if err := cmd.Run(); err != nil {
				// Report it and go on: the other measurements still stand.
				lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
				out.failed = append(out.failed, fmt.Sprintf("%s %s: %v: %s", dir, name, err, strings.Join(lines[max(0, len(lines)-5):], " / ")))
				fmt.Fprintf(os.Stderr, "bench:   %s FAILED: %v\n%s\n", name, err, stdout.String())
			}
			out.results = append(out.results, parseBench(dir, stdout.String())...)
		}
	}
	f, err := os.Open(recPath)
	if err != nil {
		if os.IsNotExist(err) {
			return out, nil
		}
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("benchmark record: %w", err)
		}
		if out.records[r.Bench] == nil {
			out.records[r.Bench] = map[string]map[string]any{}
		}
		if _, seen := out.records[r.Bench][r.Case]; !seen {
			out.order[r.Bench] = append(out.order[r.Bench], r.Case)
		}
		out.records[r.Bench][r.Case] = r.Data // the last run (largest b.N) wins
	}
	return out, sc.Err()
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// parseBench reads the result lines of `go test -bench` output.
func parseBench(pkg, out string) []benchResult {
	var res []benchResult
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		r := benchResult{Package: pkg, Name: procsSuffix.ReplaceAllString(f[0], ""), Iterations: n, Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				r.Metrics[f[i+1]] = v
			}
		}
		res = append(res, r)
	}
	return res
}

// machine describes where the run happened.
type machine struct {
	CPU     string
	Cores   int
	Go      string
	OS      string
	LoadAvg string // 1, 5 and 15 minute load averages when the run started
}

func describeMachine() machine {
	m := machine{CPU: "unknown", Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		m.Go = strings.TrimSpace(string(b))
	} else {
		m.Go = runtime.Version()
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`) + ", " + m.OS
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += ", kernel " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}
