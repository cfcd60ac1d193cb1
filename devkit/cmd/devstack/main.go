// Command devstack is `make dev`: the whole stack of template.yaml on this machine, without
// Docker or an AWS account (see package devstack).
//
// Usage, from the repository root (after `npm ci` and `make dynamodb-local`):
//
//	devstack [-api-addr 127.0.0.1:3000] [-lambda-addr 127.0.0.1:3001] [-dynamodb-addr 127.0.0.1:8000]
//	         [-ses-addr 127.0.0.1:8005] [-secrets-addr 127.0.0.1:8010] [-sqs-addr 127.0.0.1:8015]
//	         [-webhook-addr 127.0.0.1:8020] [-stripe-addr 127.0.0.1:8025] [-engine auto|local|embedded]
//	         [-state-dir .local] [-template template.yaml] [-env-vars env.json]
//	         [-param Name=Value]... [-secret LogicalId=Value]... [-tick-every 1m]
//	         [-no-ses] [-no-stripe] [-no-seed] [-no-state] [-no-watch]
//
// Each address flag also reads an environment variable: DEV_API_ADDR, DEV_LAMBDA_ADDR,
// DEV_DYNAMODB_ADDR, DEV_SES_ADDR, DEV_SECRETS_ADDR, DEV_SQS_ADDR, DEV_WEBHOOK_ADDR,
// DEV_STRIPE_ADDR, DEV_DYNAMODB_ENGINE, DEV_STATE_DIR, DEV_TEMPLATE. -env-vars takes the file
// format of `sam local --env-vars`:
// {"Parameters": {...for all...}, "FunctionLogicalId": {...}}.
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

	"github.com/referral/referrals/devkit/devstack"
)

func main() {
	// Signals first: a Ctrl-C that arrives while the stack starts (or the instant it answers
	// its first request) is handled, never lost.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	if err := run(sig); err != nil {
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

func run(sig <-chan os.Signal) error {
	var cfg devstack.Config
	params, secrets := keyValues{}, keyValues{}
	flag.StringVar(&cfg.APIAddr, "api-addr", env("DEV_API_ADDR", "127.0.0.1:3000"), "HTTP API address")
	flag.StringVar(&cfg.LambdaAddr, "lambda-addr", env("DEV_LAMBDA_ADDR", "127.0.0.1:3001"), "Lambda Invoke API address")
	flag.StringVar(&cfg.DynamoAddr, "dynamodb-addr", env("DEV_DYNAMODB_ADDR", "127.0.0.1:8000"), "DynamoDB address")
	flag.StringVar(&cfg.SESAddr, "ses-addr", env("DEV_SES_ADDR", "127.0.0.1:8005"), "SES (aws-ses-v2-local) address")
	flag.StringVar(&cfg.SecretsAddr, "secrets-addr", env("DEV_SECRETS_ADDR", "127.0.0.1:8010"), "Secrets Manager address")
	flag.StringVar(&cfg.SQSAddr, "sqs-addr", env("DEV_SQS_ADDR", "127.0.0.1:8015"), "SQS (moto_server) address, for the webhook delivery queue")
	flag.StringVar(&cfg.WebhookAddr, "webhook-addr", env("DEV_WEBHOOK_ADDR", "127.0.0.1:8020"), "webhook receiver address (its page shows every event)")
	flag.StringVar(&cfg.StripeAddr, "stripe-addr", env("DEV_STRIPE_ADDR", "127.0.0.1:8025"), "Stripe (stripe-mock, behind a proxy that logs each request) address")
	flag.StringVar(&cfg.Engine, "engine", env("DEV_DYNAMODB_ENGINE", devstack.EngineAuto), "DynamoDB engine: auto (DynamoDB Local with Java 17+, else embedded), local or embedded")
	flag.StringVar(&cfg.StateDir, "state-dir", env("DEV_STATE_DIR", ".local"), "where the table, streams' positions, dlq.jsonl and the binaries go")
	flag.StringVar(&cfg.Template, "template", env("DEV_TEMPLATE", "template.yaml"), "SAM template")
	envVars := flag.String("env-vars", "", "JSON file of environment overrides, in sam local's --env-vars format")
	flag.Var(params, "param", "template parameter override Name=Value (repeatable)")
	flag.Var(secrets, "secret", "secret value LogicalId=Value (repeatable)")
	noSES := flag.Bool("no-ses", false, "do not start aws-ses-v2-local")
	noStripe := flag.Bool("no-stripe", false, "do not start stripe-mock (Stripe rewards then fail with stripe_not_configured)")
	flag.DurationVar(&cfg.TickEvery, "tick-every", time.Minute, "how often the functions with a Schedule event run (POST /_local/tick runs them now); 0 never")
	noSeed := flag.Bool("no-seed", false, "do not create the demo program and customer on a fresh start")
	noState := flag.Bool("no-state", false, "keep nothing between runs")
	idle := flag.Duration("idle-timeout", 5*time.Minute, "stop a function instance after this long without work")
	noWatch := flag.Bool("no-watch", false, "do not rebuild functions when their sources change")
	flag.Parse()

	cfg.Root = filepath.Dir(cfg.Template)
	cfg.Parameters = params
	cfg.Secrets = secrets
	cfg.SES = !*noSES
	cfg.Stripe = !*noStripe
	if cfg.TickEvery == 0 {
		cfg.TickEvery = -1 // never
	}
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
	s, err := devstack.Start(cfg)
	if err != nil {
		return err
	}
	select {
	case <-sig: // during start-up: stop at once
		return stop(s, sig)
	default:
	}
	go func() { // a signal while seeding stops too
		<-sig
		stopping <- struct{}{}
	}()
	if !s.Restored && !*noSeed {
		s.Seed()
	}
	fmt.Print(s.Banner())
	fmt.Printf("[dev] started in %.1fs; Ctrl-C stops\n", time.Since(started).Seconds())
	<-stopping
	return stop(s, sig)
}

var stopping = make(chan struct{}, 1)

// stop stops the stack after a signal; a second signal quits at once.
func stop(s *devstack.Stack, sig <-chan os.Signal) error {
	fmt.Println("[dev] stopping (Ctrl-C again to quit at once)")
	go func() {
		<-sig
		os.Exit(130)
	}()
	return s.Close()
}
