// Command bench measures the referral backend and writes docs/PERFORMANCE.md (`make bench`):
// the Go benchmarks of shared/ (DynamoDB round trips and request units per API operation,
// handler overhead against hand-written SDK calls, the stream consumers, the reward engine),
// each function built for Lambda (linux/arm64, stripped) with its size, and the local stack
// (`make dev`'s runtime) booted on free ports for cold starts and conversions per second.
// From these it derives a cost model in dollars per million conversions.
//
// Usage, from the repository root:
//
//	go run ./bench [-out docs/PERFORMANCE.md] [-spread 500] [-sequential 100] [-hot 150] [-concurrency 8]
//	               [-viral 1,4,16] [-viral-conversions 60] [-skip-stack] [-skip-build]
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// config is what a run measures and where it writes.
type config struct {
	out              string
	spread           int   // referrals and conversions spread over many advocates, sequential ones included
	sequential       int   // of which sent by one client, for durations without queueing
	advocates        int   // how many advocates the spread run uses
	hot              int   // conversions for one advocate
	concurrency      int   // client connections driving the local stack
	viral            []int // concurrency levels of the viral advocate
	viralConversions int   // conversions of the viral advocate at each level
	skipStack        bool
	skipBuild        bool
}

func main() {
	var cfg config
	flag.StringVar(&cfg.out, "out", "docs/PERFORMANCE.md", "the report to write")
	flag.IntVar(&cfg.spread, "spread", 500, "referrals and conversions spread over many advocates, through the local stack")
	flag.IntVar(&cfg.sequential, "sequential", 100, "of the spread ones, how many one client sends first (durations without queueing)")
	flag.IntVar(&cfg.advocates, "advocates", 50, "advocates of the spread run")
	flag.IntVar(&cfg.hot, "hot", 150, "referrals and conversions all for one advocate, through the local stack")
	flag.IntVar(&cfg.concurrency, "concurrency", 8, "concurrent clients driving the local stack")
	viral := flag.String("viral", "1,4,16", "concurrency levels at which one (viral) advocate's conversions are measured, comma-separated")
	flag.IntVar(&cfg.viralConversions, "viral-conversions", 60, "conversions of the viral advocate at each level")
	flag.BoolVar(&cfg.skipStack, "skip-stack", false, "do not boot the local stack (no cold starts, no throughput)")
	flag.BoolVar(&cfg.skipBuild, "skip-build", false, "do not build the Lambda binaries (no sizes)")
	flag.Parse()
	for _, f := range strings.Split(*viral, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		c, err := strconv.Atoi(f)
		if err != nil || c < 1 {
			fmt.Fprintf(os.Stderr, "bench: -viral wants concurrency levels of at least 1, got %q\n", f)
			os.Exit(2)
		}
		cfg.viral = append(cfg.viral, c)
	}
	if cfg.advocates < 1 || cfg.concurrency < 1 || cfg.spread < 0 || cfg.hot < 0 || cfg.sequential < 0 {
		fmt.Fprintln(os.Stderr, "bench: -advocates and -concurrency must be at least 1, the phase sizes not negative")
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// results is everything one run measured.
type results struct {
	started  time.Time
	elapsed  time.Duration
	machine  machine
	benches  *goBenchmarks
	binaries []binary
	stack    *stackResults
	cost     costModel
}

func run(cfg config) error {
	if _, err := os.Stat("template.yaml"); err != nil {
		return fmt.Errorf("run it from the repository root (make bench): %w", err)
	}
	tmp, err := os.MkdirTemp("", "referrals-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	res := &results{started: time.Now(), machine: describeMachine()}
	step := func(name string) func() {
		start := time.Now()
		fmt.Fprintf(os.Stderr, "bench: %s...\n", name)
		return func() { fmt.Fprintf(os.Stderr, "bench: %s done in %.0fs\n", name, time.Since(start).Seconds()) }
	}

	done := step("Go benchmarks")
	if res.benches, err = runGoBenchmarks(tmp); err != nil {
		return err
	}
	done()

	fns, err := templateFunctions("template.yaml")
	if err != nil {
		return err
	}
	if !cfg.skipBuild {
		done = step("Lambda builds (linux/arm64)")
		if res.binaries, err = buildBinaries(tmp, fns); err != nil {
			return err
		}
		done()
	}
	if !cfg.skipStack {
		done = step("local stack")
		if res.stack, err = runStack(cfg, tmp, fns); err != nil {
			return err
		}
		done()
	}
	res.cost = buildCostModel(res, fns)
	res.elapsed = time.Since(res.started)
	if err := os.WriteFile(cfg.out, []byte(render(res, fns)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s in %.0fs\n", cfg.out, res.elapsed.Seconds())
	return nil
}
