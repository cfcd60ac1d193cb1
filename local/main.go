// Command local is the `make dev` runtime: the whole stack of template.yaml on one machine,
// without Docker or an AWS account (SPEC §6).
//
// It builds every function of the template for the host and runs the real binaries behind
// the Lambda Runtime API; serves the HTTP API routes (with the Lambda authorizer) on :3000;
// embeds a DynamoDB engine (minidyn) on :8000 with the table of the template and its stream,
// delivered to the stream functions as Lambda's event source mapping would (batching,
// filters, batch item failures, bisect, retries; exhausted records go to .local/dlq.jsonl);
// runs aws-ses-v2-local (npm) on :8005; answers Secrets Manager and SSM reads for the
// template's secrets on :8010; keeps the table in .local/state.json between runs; and
// rebuilds a function when its sources change (the next request runs the new build).
//
// Usage, from the repository root (after `npm ci`):
//
//	go run ./local [-api-addr 127.0.0.1:3000] [-dynamodb-addr 127.0.0.1:8000] [-ses-addr 127.0.0.1:8005]
//	               [-secrets-addr 127.0.0.1:8010] [-state-dir .local] [-template template.yaml]
//	               [-env-vars env.json] [-param Name=Value]... [-secret LogicalId=Value]...
//	               [-no-ses] [-no-seed] [-no-state] [-no-watch]
//
// Each address flag also reads an environment variable: DEV_API_ADDR, DEV_DYNAMODB_ADDR,
// DEV_SES_ADDR, DEV_SECRETS_ADDR, DEV_STATE_DIR, DEV_TEMPLATE. -env-vars takes the file
// format of `sam local --env-vars`: {"Parameters": {...for all...}, "FunctionLogicalId": {...}}.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

type keyValues map[string]string

func (kv keyValues) String() string { return fmt.Sprint(map[string]string(kv)) }
func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want Name=Value, got %q", s)
	}
	kv[k] = v
	return nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run() error {
	var cfg Config
	params, secrets := keyValues{}, keyValues{}
	flag.StringVar(&cfg.APIAddr, "api-addr", env("DEV_API_ADDR", "127.0.0.1:3000"), "HTTP API address")
	flag.StringVar(&cfg.DynamoAddr, "dynamodb-addr", env("DEV_DYNAMODB_ADDR", "127.0.0.1:8000"), "DynamoDB address")
	flag.StringVar(&cfg.SESAddr, "ses-addr", env("DEV_SES_ADDR", "127.0.0.1:8005"), "SES (aws-ses-v2-local) address")
	flag.StringVar(&cfg.SecretsAddr, "secrets-addr", env("DEV_SECRETS_ADDR", "127.0.0.1:8010"), "Secrets Manager / SSM address")
	flag.StringVar(&cfg.StateDir, "state-dir", env("DEV_STATE_DIR", ".local"), "where state.json, dlq.jsonl and the binaries go")
	flag.StringVar(&cfg.Template, "template", env("DEV_TEMPLATE", "template.yaml"), "SAM template")
	envVars := flag.String("env-vars", "", "JSON file of environment overrides, in sam local's --env-vars format")
	flag.Var(params, "param", "template parameter override Name=Value (repeatable)")
	flag.Var(secrets, "secret", "secret value LogicalId=Value (repeatable)")
	noSES := flag.Bool("no-ses", false, "do not start aws-ses-v2-local")
	noSeed := flag.Bool("no-seed", false, "do not create the demo program and customer on a fresh start")
	noState := flag.Bool("no-state", false, "neither restore nor save state.json")
	idle := flag.Duration("idle-timeout", 5*time.Minute, "stop a function instance after this long without work")
	noWatch := flag.Bool("no-watch", false, "do not rebuild functions when their sources change")
	flag.Parse()

	cfg.Root = filepath.Dir(cfg.Template)
	cfg.Parameters = params
	cfg.Secrets = secrets
	cfg.SES = !*noSES
	cfg.Persist = !*noState
	cfg.IdleTimeout = *idle
	if !*noWatch {
		cfg.Watch = time.Second
	}
	if *envVars != "" {
		b, err := os.ReadFile(*envVars)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &cfg.Env); err != nil {
			return fmt.Errorf("%s: %w", *envVars, err)
		}
	}

	started := time.Now()
	s, err := Start(cfg)
	if err != nil {
		return err
	}
	if !s.Restored && !*noSeed {
		s.seed()
	}
	s.sink.line("", strings.TrimRight(s.banner(), "\n"))
	s.sink.printf("dev", "started in %.1fs; Ctrl-C saves and stops", time.Since(started).Seconds())

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	s.sink.printf("dev", "stopping (Ctrl-C again to quit without saving)")
	go func() {
		<-sig
		os.Exit(130)
	}()
	return s.Close()
}
