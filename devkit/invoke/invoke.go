// Package invoke is the Docker-free `sam local invoke`: it builds one function of the
// template for this machine and runs the real binary once under AWS's Lambda Runtime
// Interface Emulator (aws-lambda-rie), with the template's environment, sam's --env-vars
// overrides and the local stack's endpoints, and hands back the response and the emulator's
// log (START, END and REPORT lines included).
package invoke

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/referral/referrals/devkit/lambdaruntime"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/fulfil"
)

// Options says what to run and where the local stack is.
type Options struct {
	Root     string // repository root; default "."
	Template string // default Root/template.yaml
	Function string // logical ID, e.g. ConversionsFunction
	Event    []byte // the event, JSON
	RIE      string // the aws-lambda-rie binary
	BinDir   string // where the function is built; default Root/.local/invoke

	Env        map[string]map[string]string // sam's --env-vars format
	Parameters map[string]string            // template parameter overrides
	DynamoURL  string                       // the local stack's endpoints
	SESURL     string
	SecretsURL string
	StripeURL  string // stripe-mock (the key comes from the secrets endpoint, as make dev serves it)
	APIURL     string // the local HTTP API, for links the function writes

	Log     io.Writer     // the emulator's and the function's output; default os.Stderr
	Timeout time.Duration // on top of the function's own; default 30s
}

// Result is the function's answer.
type Result struct {
	Payload       []byte // the response, or Lambda's error document
	FunctionError string // X-Amz-Function-Error ("Unhandled"), "" on success
}

// Run builds and invokes the function once.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Root == "" {
		o.Root = "."
	}
	if o.Template == "" {
		o.Template = filepath.Join(o.Root, "template.yaml")
	}
	if o.BinDir == "" {
		o.BinDir = filepath.Join(o.Root, ".local", "invoke")
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if !json.Valid(o.Event) {
		return nil, fmt.Errorf("the event is not JSON")
	}
	tmpl, err := samtemplate.Resolve(o.Template, o.Parameters)
	if err != nil {
		return nil, err
	}
	def := tmpl.Functions[o.Function]
	if def == nil {
		names := make([]string, 0, len(tmpl.Functions))
		for n := range tmpl.Functions {
			names = append(names, n)
		}
		return nil, fmt.Errorf("no function %q in %s (there are %v)", o.Function, o.Template, names)
	}
	if o.APIURL != "" {
		def = def.WithAPIURL(o.APIURL)
	}
	if err := os.MkdirAll(o.BinDir, 0o755); err != nil {
		return nil, err
	}
	broken, _ := lambdaruntime.Build(o.Root, o.BinDir, map[string]*samtemplate.FunctionDef{def.Name: def}, o.Log)
	if err := broken[def.Name]; err != nil {
		return nil, err
	}
	binary, err := filepath.Abs(filepath.Join(o.BinDir, def.Name, "bootstrap"))
	if err != nil {
		return nil, err
	}
	rie, err := filepath.Abs(o.RIE) // the emulator runs in the function's folder
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	runtimeAddr, err := freeAddr() // its Runtime API, 127.0.0.1:9001 by default: one per run
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", runtimeAddr,
		"--log-level", "error", binary)
	cmd.Dir = filepath.Dir(binary)
	opts := lambdaruntime.Options{DynamoURL: o.DynamoURL, SESURL: o.SESURL, SecretsURL: o.SecretsURL, Overrides: o.Env}
	if o.StripeURL != "" {
		opts.Env = map[string]string{fulfil.URLVar: o.StripeURL}
	}
	cmd.Env = lambdaruntime.Environment(def, opts, filepath.Dir(binary))
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	lambdaruntime.SetProcAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w (run `make invoke`, which installs it)", o.RIE, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		// SIGTERM lets the emulator shut its runtime down first (a killed emulator leaves the
		// function complaining that its Runtime API went away); then nothing may be left.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
		}
		lambdaruntime.KillGroup(cmd)
		<-exited
	}()

	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	ctx, cancel := context.WithTimeout(ctx, def.Timeout+o.Timeout)
	defer cancel()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("aws-lambda-rie exited before it served")
		case <-ctx.Done():
			return nil, fmt.Errorf("aws-lambda-rie did not listen on %s: %w", addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(o.Event))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", def.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	res := &Result{Payload: body, FunctionError: resp.Header.Get("X-Amz-Function-Error")}
	if resp.StatusCode != http.StatusOK && res.FunctionError == "" {
		res.FunctionError = fmt.Sprintf("emulator answered %d", resp.StatusCode)
	}
	return res, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
