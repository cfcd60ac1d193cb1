// Command invoke is `make invoke`: the Docker-free `sam local invoke`. It builds one function
// and runs it once under AWS's Lambda Runtime Interface Emulator with the template's
// environment, pointed at the local stack (`make dev`), prints the emulator's log (with the
// REPORT line) on stderr and the response on stdout.
//
//	make invoke FUNCTION=ConversionsFunction EVENT=events/conversions-record.json [ENV_VARS=env.json]
//
// The local endpoints follow make dev's variables: DEV_API_ADDR, DEV_DYNAMODB_ADDR,
// DEV_SES_ADDR, DEV_SECRETS_ADDR, DEV_STRIPE_ADDR.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/referral/referrals/devkit/invoke"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	var o invoke.Options
	flag.StringVar(&o.Function, "function", "", "logical ID of the function, e.g. ConversionsFunction")
	event := flag.String("event", "", "event file, e.g. events/conversions-record.json (- reads stdin)")
	envVars := flag.String("env-vars", "", "JSON file of environment overrides, in sam local's --env-vars format")
	flag.StringVar(&o.RIE, "rie", ".local/bin/aws-lambda-rie", "the aws-lambda-rie binary")
	flag.StringVar(&o.Template, "template", "template.yaml", "SAM template")
	flag.Parse()
	if o.Function == "" || *event == "" {
		fmt.Fprintln(os.Stderr, "usage: make invoke FUNCTION=<LogicalId> EVENT=<file> [ENV_VARS=<file>]")
		os.Exit(2)
	}
	var err error
	if *event == "-" {
		o.Event, err = io.ReadAll(os.Stdin)
	} else {
		o.Event, err = os.ReadFile(*event)
	}
	if err != nil {
		fail(err)
	}
	if *envVars != "" {
		b, err := os.ReadFile(*envVars)
		if err != nil {
			fail(err)
		}
		if err := json.Unmarshal(b, &o.Env); err != nil {
			fail(fmt.Errorf("%s: %w", *envVars, err))
		}
	}
	url := func(v, def string) string { return "http://" + env(v, def) }
	o.APIURL = url("DEV_API_ADDR", "127.0.0.1:3000")
	o.DynamoURL = url("DEV_DYNAMODB_ADDR", "127.0.0.1:8000")
	o.SESURL = url("DEV_SES_ADDR", "127.0.0.1:8005")
	o.SecretsURL = url("DEV_SECRETS_ADDR", "127.0.0.1:8010")
	o.StripeURL = url("DEV_STRIPE_ADDR", "127.0.0.1:8025")
	res, err := invoke.Run(context.Background(), o)
	if err != nil {
		fail(err)
	}
	fmt.Println(strings.TrimSpace(string(res.Payload)))
	if res.FunctionError != "" {
		fmt.Fprintln(os.Stderr, "invoke: function error:", res.FunctionError)
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "invoke:", err)
	os.Exit(1)
}
