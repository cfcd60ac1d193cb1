package api

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEveryAPIErrorIsInTheOneCatalogue: API errors are declared in shared/referral/errors.go
// only, and docs/openapi.yaml names every code declared there.
func TestEveryAPIErrorIsInTheOneCatalogue(t *testing.T) {
	root := filepath.Join("..", "..")
	declares := regexp.MustCompile(`(&referral\.Error\{|&Error\{)`)
	catalogue := filepath.Join(root, "shared", "referral", "errors.go")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || path == catalogue {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if declares.Match(b) {
			t.Errorf("%s declares an API error; add it to shared/referral/errors.go instead", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(catalogue)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	codes := regexp.MustCompile(`Code: "([a-z_]+)"`).FindAllSubmatch(src, -1)
	if len(codes) < 20 {
		t.Fatalf("found only %d codes in the catalogue", len(codes))
	}
	for _, c := range codes {
		if !strings.Contains(string(doc), string(c[1])) {
			t.Errorf("docs/openapi.yaml does not mention the error code %s", c[1])
		}
	}
}
