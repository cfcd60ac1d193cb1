package devstack

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/referral/referrals/devkit/lambdaruntime"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// TestAnEmailToTheBounceSimulatorSuppressesItsAddress runs the real email and feedback
// functions: an ask to a customer at bounce@simulator.amazonses.com goes through
// aws-ses-v2-local, the stack plays SES's bounce notification to the function subscribed to
// the configuration set's topic, and the address lands on the suppression list.
func TestAnEmailToTheBounceSimulatorSuppressesItsAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the email and feedback functions")
	}
	if _, err := os.Stat(repoRoot + "/node_modules/.bin/aws-ses-v2-local"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("aws-ses-v2-local is missing: npm ci")
		}
		if _, err := exec.LookPath("node"); err != nil {
			t.Skip("no Node.js: the SES emulator cannot run")
		}
		t.Skip("no node_modules: run npm ci")
	}
	tmpl, err := samtemplate.Resolve(repoRoot+"/template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	build := map[string]*samtemplate.FunctionDef{}
	for _, name := range []string{"EmailFunction", "EmailFeedbackFunction"} {
		if tmpl.Functions[name] == nil {
			t.Fatalf("template.yaml has no %s", name)
		}
		build[name] = tmpl.Functions[name]
	}
	if len(tmpl.SESFeedbackTopics()) == 0 {
		t.Fatal("no SES configuration set publishes its feedback to a topic")
	}
	binDir := t.TempDir()
	broken, _ := lambdaruntime.Build(repoRoot, binDir, build, io.Discard)
	for name, err := range broken {
		t.Fatalf("build %s: %v", name, err)
	}
	logs := &syncBuffer{}
	s, err := Start(Config{Root: repoRoot, StateDir: t.TempDir(), BinDir: binDir, SkipBuild: true, SES: true, Engine: testEngine(t), JarDir: jarDir,
		APIAddr: "127.0.0.1:0", LambdaAddr: "127.0.0.1:0", DynamoAddr: "127.0.0.1:0", SESAddr: "127.0.0.1:0", SecretsAddr: "127.0.0.1:0",
		Log: logs, RetryBase: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	defer func() {
		_ = s.Close()
		if t.Failed() {
			t.Logf("stack log:\n%s", logs)
		}
	}()

	var p referral.Program
	b, err := os.ReadFile("seed/program-demo.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	p.ProgramID = "demo"
	st := store.New((&testStack{Stack: s}).ddb(), samtemplate.LocalTableName, nil)
	ctx := context.Background()
	if _, _, err := st.PutProgram(ctx, p); err != nil {
		t.Fatal(err)
	}
	const addr = "bounce@simulator.amazonses.com"
	if _, _, err := st.PutCustomer(ctx, "zed", store.CustomerUpdate{Email: addr, Name: "Zed", Locale: "en"}); err != nil {
		t.Fatal(err)
	}
	code, _, err := st.CreateAskCode(ctx, &p, "zed")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordAsk(ctx, store.Ask{AskID: referral.NewID(st.Now()), CustomerID: "zed", ProgramID: "demo",
		Template: referral.EmailAskCurrent, Code: code.Code.Code, CodeCreated: true, CreatedAt: st.Now()}, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bounce to suppress "+addr, 60*time.Second, func() bool {
		_, found, err := st.Suppressed(ctx, addr)
		return err == nil && found
	})
	// The stack logs the notification once the function has handled it, so after the
	// suppression may already be visible.
	waitFor(t, "the stack to say it played the bounce", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "SES feedback: 1 notification(s)")
	})
}
