package devstack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const hotFunction = `package main

import "github.com/aws/aws-lambda-go/lambda"

func main() { lambda.Start(func() (string, error) { return "%s", nil }) }
`

const hotTemplate = `Transform: AWS::Serverless-2016-10-31
Resources:
  HotFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Hot:
          Type: HttpApi
          Properties: { Method: GET, Path: /hot }
`

// hotModule is a throwaway module (outside the repository, so tests never edit it) with one
// function answering version.
func hotModule(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	sum, err := os.ReadFile(repoRoot + "/go.sum")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module hotfixture\n\ngo 1.26\n\nrequire github.com/aws/aws-lambda-go v1.55.1\n")
	write("go.sum", string(sum))
	write("template.yaml", hotTemplate)
	write("functions/hot/main.go", strings.Replace(hotFunction, "%s", version, 1))
	return dir
}

func TestEditedFunctionIsRebuiltAndServed(t *testing.T) {
	engineIndependent(t)
	if testing.Short() {
		t.Skip("builds a function three times")
	}
	root := hotModule(t, "v1")
	s := startFixtureStack(t, func(c *Config) {
		c.Root, c.Template, c.BinDir, c.SkipBuild = root, "", filepath.Join(t.TempDir(), "bin"), false
		c.Watch = 100 * time.Millisecond
	})
	get := func() string {
		r := do(t, "GET", s.APIURL+"/hot", nil)
		return strings.TrimSpace(string(r.body))
	}
	if got := get(); got != `"v1"` {
		t.Fatalf("first build answers %s\n%s", got, s.logs)
	}

	src := filepath.Join(root, "functions", "hot", "main.go")
	edit := func(content string) {
		t.Helper()
		if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		// Make sure the modification time moves even on coarse file systems.
		later := time.Now().Add(2 * time.Second)
		_ = os.Chtimes(src, later, later)
	}
	edit(strings.Replace(hotFunction, "%s", "v2", 1))
	waitFor(t, "the edited function to answer", 60*time.Second, func() bool { return get() == `"v2"` })

	edit("package main\n\nfunc main() { this does not compile }\n")
	waitFor(t, "the failed rebuild", 60*time.Second, func() bool {
		return strings.Contains(s.logs.String(), "HotFunction keeps running its previous build")
	})
	if got := get(); got != `"v2"` {
		t.Errorf("after a failed build the function answers %s, want the previous build", got)
	}
}
