// Package referrals_test holds the repository-wide checks: template.yaml, the Makefile,
// samconfig.toml, events/ and the Go code describe the same application.
package referrals_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/shared/metrics"
)

const module = "github.com/referral/referrals"

// issue2Routes are the routes issue 2 asks for; each must be served by a function of the template.
var issue2Routes = []string{
	"PUT /programs/{programId}",
	"GET /programs/{programId}",
	"GET /programs",
	"PUT /customers/{customerId}",
	"GET /customers/{customerId}",
	"POST /programs/{programId}/codes",
	"GET /codes/{code}",
	"GET /r/{code}",
	"POST /referrals",
	"GET /customers/{customerId}/referrals",
	"POST /conversions",
	"POST /conversions/{eventId}/reverse",
	"GET /customers/{customerId}/rewards",
	"POST /rewards/{rewardId}/fulfill",
	"POST /rewards/{rewardId}/approve",
}

// runtimeVariables are set by the Lambda runtime itself (besides every AWS_* name).
var runtimeVariables = map[string]bool{"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "LAMBDA_TASK_ROOT": true,
	"LAMBDA_RUNTIME_DIR": true, "TZ": true, "LANG": true, "PATH": true, "LD_LIBRARY_PATH": true}

// devOnlyVariables are read with os.Getenv for `make dev`, tests and `sam local invoke`, and
// deliberately never set by the template. platform.Getenv is for deployed configuration, so
// reading one of these through it fails.
var devOnlyVariables = map[string]string{
	"STRIPE_API_URL": "Stripe's endpoint (stripe-mock under make dev and make invoke), as AWS_ENDPOINT_URL_* are the AWS SDK's; a stack calls Stripe's API",
}

func loadTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tpl, err := samtemplate.Load("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl.Functions()) == 0 {
		t.Fatal("template.yaml has no AWS::Serverless::Function")
	}
	return tpl
}

func sortedIDs(m map[string]samtemplate.Resource) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func TestTemplateServesEveryRouteOfIssue2(t *testing.T) {
	tpl := loadTemplate(t)
	served := map[string]string{}
	for id, fn := range tpl.Functions() {
		for _, rk := range fn.RouteKeys() {
			if other, dup := served[rk]; dup {
				t.Errorf("%q is an HttpApi event of both %s and %s", rk, other, id)
			}
			served[rk] = id
		}
	}
	for _, rk := range issue2Routes {
		if served[rk] == "" {
			t.Errorf("no function in template.yaml serves %q", rk)
		}
	}
}

// TestEveryFunctionIsBuiltAndSampled: each function builds with the Makefile the way sam build
// runs it, has its main package and its sample events.
func TestEveryFunctionIsBuiltAndSampled(t *testing.T) {
	tpl := loadTemplate(t)
	globalFn, _ := tpl.Globals["Function"].(map[string]any)
	for _, id := range sortedIDs(tpl.Functions()) {
		fn := tpl.Functions()[id]
		dir := samtemplate.FunctionDir(id)
		t.Run(id, func(t *testing.T) {
			if bm, _ := fn.Metadata["BuildMethod"].(string); bm != "makefile" {
				t.Errorf("Metadata.BuildMethod = %q, want makefile", bm)
			}
			codeURI, ok := fn.Properties["CodeUri"]
			if !ok {
				codeURI = globalFn["CodeUri"]
			}
			if codeURI != "." {
				t.Errorf("CodeUri = %v, want . (the Makefile at the root builds every function)", codeURI)
			}
			checkMainPackage(t, dir)
			samples, err := samtemplate.SampleEvents("events", id)
			if err != nil {
				t.Fatal(err)
			}
			if len(samples) == 0 {
				t.Errorf("no sample events: add events/%s<case>.json", samtemplate.EventPrefix(id))
			}

			out, err := exec.Command("make", "-n", "build-"+id, "ARTIFACTS_DIR=/tmp/sam-artifacts/"+id).CombinedOutput()
			if err != nil {
				t.Fatalf("make -n build-%s: %v\n%s", id, err, out)
			}
			cmd := string(out)
			if !strings.Contains(cmd, "go build") {
				t.Fatalf("make -n build-%s runs no go build:\n%s", id, cmd)
			}
			for _, want := range []string{"GOOS=linux GOARCH=arm64 CGO_ENABLED=0", "-tags lambda.norpc", "-trimpath",
				`-ldflags "-s -w"`, "/tmp/sam-artifacts/" + id + "/bootstrap", "./" + filepath.ToSlash(dir)} {
				if !strings.Contains(cmd, want) {
					t.Errorf("make build-%s does not run %s:\n%s", id, want, cmd)
				}
			}
			if strings.Contains(cmd, "go mod tidy") {
				t.Errorf("make build-%s runs go mod tidy", id)
			}
		})
	}
}

// TestMakeBuildBuildsExactlyTheTemplatesFunctions: `make build` (which reads the function list
// from template.yaml) builds each function once, and a logical ID without a functions/ folder
// has no build target, so a typo fails sam build instead of building nothing.
func TestMakeBuildBuildsExactlyTheTemplatesFunctions(t *testing.T) {
	tpl := loadTemplate(t)
	out, err := exec.Command("make", "-n", "build").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, out)
	}
	var built []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if _, dir, ok := strings.Cut(line, " go build "); ok {
			built = append(built, dir[strings.LastIndex(dir, " ./")+3:])
		}
	}
	var want []string
	for _, id := range sortedIDs(tpl.Functions()) {
		want = append(want, filepath.ToSlash(samtemplate.FunctionDir(id)))
	}
	sort.Strings(built)
	sort.Strings(want) // folders, not logical IDs: functions/email sorts before functions/emailcopy
	if !slices.Equal(built, want) {
		t.Errorf("make build builds %q,\nwant the template's functions %q", built, want)
	}
	if out, err := exec.Command("make", "-n", "build-NoSuchFunction").CombinedOutput(); err == nil {
		t.Errorf("make build-NoSuchFunction succeeds (functions/nosuch does not exist):\n%s", out)
	}
}

func checkMainPackage(t *testing.T, dir string) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, "main.go"), nil, 0)
	if err != nil {
		t.Errorf("%s/main.go: %v", dir, err)
		return
	}
	if f.Name.Name != "main" {
		t.Errorf("%s/main.go is package %s, want main", dir, f.Name.Name)
	}
	if f.Scope.Lookup("main") == nil {
		t.Errorf("%s/main.go has no func main", dir)
	}
}

func TestTemplateGlobalsTableAndOutputs(t *testing.T) {
	tpl := loadTemplate(t)
	fn, _ := tpl.Globals["Function"].(map[string]any)
	for k, want := range map[string]string{"Runtime": "provided.al2023", "Handler": "bootstrap", "Tracing": "Active"} {
		if got, _ := fn[k].(string); got != want {
			t.Errorf("Globals.Function.%s = %q, want %q", k, got, want)
		}
	}
	if archs, _ := fn["Architectures"].([]any); len(archs) != 1 || archs[0] != "arm64" {
		t.Errorf("Globals.Function.Architectures = %v, want [arm64]", fn["Architectures"])
	}
	if lc, _ := fn["LoggingConfig"].(map[string]any); lc["LogFormat"] != "JSON" {
		t.Errorf("Globals.Function.LoggingConfig.LogFormat = %v, want JSON", lc["LogFormat"])
	}
	for _, id := range sortedIDs(tpl.Functions()) {
		p := tpl.Functions()[id].Properties
		for _, k := range []string{"Runtime", "Handler", "Architectures", "Tracing"} {
			if v, ok := p[k]; ok && fmt.Sprint(v) != fmt.Sprint(fn[k]) {
				t.Errorf("%s overrides %s with %v", id, k, v)
			}
		}
	}

	var tables, apis []string
	for id, r := range tpl.Resources {
		switch r.Type {
		case "AWS::DynamoDB::Table":
			tables = append(tables, id)
		case "AWS::Serverless::HttpApi":
			apis = append(apis, id)
		}
	}
	if len(tables) != 1 || len(apis) != 1 {
		t.Fatalf("want one table and one HTTP API, have tables %v and APIs %v", tables, apis)
	}
	table, api := tables[0], apis[0]
	p := tpl.Resources[table].Properties
	if p["BillingMode"] != "PAY_PER_REQUEST" {
		t.Errorf("%s.BillingMode = %v, want PAY_PER_REQUEST (on demand)", table, p["BillingMode"])
	}
	if ss, _ := p["StreamSpecification"].(map[string]any); ss["StreamViewType"] != "NEW_AND_OLD_IMAGES" {
		t.Errorf("%s.StreamSpecification.StreamViewType = %v, want NEW_AND_OLD_IMAGES", table, ss["StreamViewType"])
	}
	if pitr, _ := p["PointInTimeRecoverySpecification"].(map[string]any); pitr["PointInTimeRecoveryEnabled"] != true {
		t.Errorf("%s: point-in-time recovery is not enabled", table)
	}
	if ttl, _ := p["TimeToLiveSpecification"].(map[string]any); ttl["Enabled"] != true || ttl["AttributeName"] == "" || ttl["AttributeName"] == nil {
		t.Errorf("%s: TTL is not enabled on an attribute: %v", table, p["TimeToLiveSpecification"])
	}

	var apiURL, tableName bool
	for _, o := range tpl.Outputs {
		v := fmt.Sprint(o.(map[string]any)["Value"])
		if strings.Contains(v, "${"+api+"}") && strings.Contains(v, "execute-api") || strings.Contains(v, api+" ApiEndpoint") {
			apiURL = true
		}
		if v == fmt.Sprint(map[string]any{"Ref": table}) {
			tableName = true
		}
	}
	if !apiURL {
		t.Errorf("Outputs have no URL of the HTTP API %s", api)
	}
	if !tableName {
		t.Errorf("Outputs have no name of the table (!Ref %s)", table)
	}
}

func TestSamconfigBuildsInSourceWithAProdEnvironment(t *testing.T) {
	cfg := readSamconfig(t)
	if cfg["default.build.parameters"]["build_in_source"] != "true" {
		t.Errorf("[default.build.parameters] lacks build_in_source = true (sam build would copy the repository per function)")
	}
	envs := map[string]bool{}
	for section, kv := range cfg {
		env, rest, _ := strings.Cut(section, ".")
		envs[env] = true
		if strings.HasPrefix(rest, "build.") && kv["build_in_source"] != "true" {
			t.Errorf("[%s] lacks build_in_source = true", section)
		}
	}
	if !envs["prod"] {
		t.Errorf("samconfig.toml has no prod environment")
	}
	if len(cfg["prod.deploy.parameters"]) == 0 {
		t.Errorf("samconfig.toml has no [prod.deploy.parameters]")
	}
	if a, b := cfg["default.global.parameters"]["stack_name"], cfg["prod.global.parameters"]["stack_name"]+cfg["prod.deploy.parameters"]["stack_name"]; b == "" || a == b {
		t.Errorf("the prod environment needs its own stack_name (default %s, prod %s)", a, b)
	}
}

// parseSamconfig reads the part of TOML samconfig.toml uses: [a.b.c] tables of key = value.
func parseSamconfig(r io.Reader) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	section := ""
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[] ")
			if out[section] == nil {
				out[section] = map[string]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("samconfig.toml:%d: not key = value", n)
			}
			v = strings.TrimSpace(v)
			if uq, err := strconv.Unquote(v); err == nil {
				v = uq
			}
			if section != "" {
				out[section][strings.TrimSpace(k)] = v
			}
		}
	}
	return out, sc.Err()
}

// goPackage is what `go list` says about one package.
type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Deps       []string
}

// goList runs go list for the Lambda build (linux/arm64, lambda.norpc) and decodes its output.
func goList(t *testing.T, args ...string) []goPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-tags", "lambda.norpc", "-json=ImportPath,Dir,GoFiles,Deps"}, args...)...)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.String())
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// envRead is one environment variable read in the code.
type envRead struct {
	Name     string
	Platform bool   // through platform.Getenv (deployed configuration)
	Where    string // file:line
}

// TestTemplateSetsEveryEnvironmentVariableTheCodeReads: for each function, every variable its
// code (the function's main and every package of this module it links) reads with
// platform.Getenv or os.Getenv is set by the template (Globals or the function's Environment).
func TestTemplateSetsEveryEnvironmentVariableTheCodeReads(t *testing.T) {
	tpl := loadTemplate(t)
	all := map[string]goPackage{}
	for _, p := range goList(t, "-deps", "./functions/...") {
		all[p.ImportPath] = p
	}
	mains := map[string]goPackage{}
	for _, p := range goList(t, "./functions/...") {
		mains[p.ImportPath] = p
	}
	reads := map[string][]envRead{} // import path → reads
	readsOf := func(p goPackage) []envRead {
		if r, ok := reads[p.ImportPath]; ok {
			return r
		}
		r := envReads(t, p)
		reads[p.ImportPath] = r
		return r
	}
	for _, id := range sortedIDs(tpl.Functions()) {
		main, ok := mains[module+"/"+filepath.ToSlash(samtemplate.FunctionDir(id))]
		if !ok {
			t.Errorf("%s: no package %s", id, samtemplate.FunctionDir(id))
			continue
		}
		set := tpl.Environment(id)
		pkgs := []goPackage{main}
		for _, dep := range main.Deps {
			if dep == module || strings.HasPrefix(dep, module+"/") {
				pkgs = append(pkgs, all[dep])
			}
		}
		for _, p := range pkgs {
			for _, r := range readsOf(p) {
				switch {
				case strings.HasPrefix(r.Name, "AWS_") || runtimeVariables[r.Name]:
				case devOnlyVariables[r.Name] != "" && r.Platform:
					t.Errorf("%s: %s is a development-only variable (%s); read it with os.Getenv, not platform.Getenv", r.Where, r.Name, devOnlyVariables[r.Name])
				case devOnlyVariables[r.Name] != "":
					if set[r.Name] {
						t.Errorf("%s: template.yaml sets the development-only variable %s", id, r.Name)
					}
				case !set[r.Name]:
					t.Errorf("%s reads %s (%s), which template.yaml sets neither in Globals nor in %s's Environment", id, r.Name, r.Where, id)
				}
			}
		}
	}
}

// envReads finds the calls Getenv(name) and LookupEnv(name) in a package's build files:
// os.Getenv, platform.Getenv and the package's own Getenv.
func envReads(t *testing.T, p goPackage) []envRead {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	consts := map[string]string{}
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[n.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	var out []envRead
	for _, f := range files {
		imports := map[string]string{} // local name → import path
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			name := filepath.Base(path)
			if im.Name != nil {
				name = im.Name.Name
			}
			imports[name] = path
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			wrapper := fd.Recv == nil && (fd.Name.Name == "Getenv" || fd.Name.Name == "LookupEnv")
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) != 1 {
					return true
				}
				var fn string
				platform := false
				switch f := call.Fun.(type) {
				case *ast.SelectorExpr:
					x, ok := f.X.(*ast.Ident)
					if !ok {
						return true
					}
					path := imports[x.Name]
					if path != "os" && !strings.HasPrefix(path, module+"/") {
						return true
					}
					fn, platform = f.Sel.Name, path != "os"
				case *ast.Ident:
					fn, platform = f.Name, true // the package's own Getenv (shared/platform)
				default:
					return true
				}
				if fn != "Getenv" && fn != "LookupEnv" {
					return true
				}
				where := fmt.Sprintf("%s:%d", filepath.Join(p.ImportPath, filepath.Base(fset.Position(call.Pos()).Filename)), fset.Position(call.Pos()).Line)
				name, ok := constString(call.Args[0], consts)
				switch {
				case ok:
					out = append(out, envRead{Name: name, Platform: platform, Where: where})
				case wrapper:
					// Getenv's own body passes its parameter on: its callers are checked.
				case platform:
					t.Errorf("%s: platform.Getenv with a name that is not a constant: the template test cannot check it", where)
				default:
					t.Logf("%s: os.%s with a name that is not a constant is not checked", where, fn)
				}
				return true
			})
		}
	}
	return out
}

func constString(e ast.Expr, consts map[string]string) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind == token.STRING {
			s, err := strconv.Unquote(x.Value)
			return s, err == nil
		}
	case *ast.Ident:
		s, ok := consts[x.Name]
		return s, ok
	}
	return "", false
}

// TestTemplateRoutesAreTheRoutersRoutes: each function's HttpApi events in template.yaml are
// exactly the routes of the api.NewX router its main package builds (read from the source of
// shared/api: the Route{"METHOD /path", ...} literals in NewX).
func TestTemplateRoutesAreTheRoutersRoutes(t *testing.T) {
	tpl := loadTemplate(t)
	fset := token.NewFileSet()
	pkgs := map[string]goPackage{}
	for _, p := range goList(t, "./functions/...", "./shared/api", "./shared/pages/...") {
		pkgs[p.ImportPath] = p
	}
	routes := routerRoutes(t, fset, buildFiles(t, fset, pkgs[module+"/shared/api"]))
	// A page set's router (console.New) is read the same way from its package.
	var sets []string
	for p := range pkgs {
		if strings.HasPrefix(p, module+"/shared/pages/") {
			sets = append(sets, p)
		}
	}
	sort.Strings(sets)
	for _, id := range sortedIDs(tpl.Functions()) {
		dir := samtemplate.FunctionDir(id)
		files := buildFiles(t, fset, pkgs[module+"/"+filepath.ToSlash(dir)])
		ctors := apiConstructorsCalled(files)
		var served []string
		for _, set := range sets {
			for _, c := range constructorsCalled(files, set) {
				rs := routerRoutes(t, fset, buildFiles(t, fset, pkgs[set]))[c]
				if len(rs) == 0 {
					t.Errorf("%s: found no Route{Key: \"METHOD /path\", ...} literals in %s.%s", id, path.Base(set), c)
				}
				served = append(served, rs...)
				ctors = append(ctors, path.Base(set)+"."+c)
			}
		}
		for _, c := range ctors {
			if strings.Contains(c, ".") {
				continue // a page set's, counted above
			}
			rs, ok := routes[c]
			if !ok {
				t.Errorf("%s: %s calls api.%s, which shared/api does not define", id, dir, c)
			}
			if len(rs) == 0 {
				t.Errorf("%s: found no Route{\"METHOD /path\", ...} literals in api.%s", id, c)
			}
			served = append(served, rs...)
		}
		inTemplate := tpl.Functions()[id].RouteKeys()
		sort.Strings(served)
		sort.Strings(inTemplate)
		if !slices.Equal(served, inTemplate) {
			t.Errorf("%s: the router (api.%s) serves %q\nbut template.yaml routes %q to it",
				id, strings.Join(ctors, ", api."), served, inTemplate)
		}
	}
}

// buildFiles parses the files of a package that its Lambda build compiles (as go list says).
func buildFiles(t *testing.T, fset *token.FileSet, p goPackage) []*ast.File {
	t.Helper()
	if len(p.GoFiles) == 0 {
		t.Fatalf("package %q has no Go files in the Lambda build", p.ImportPath)
	}
	var files []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// apiConstructorsCalled lists the api.NewX functions a function's main package calls.
func apiConstructorsCalled(files []*ast.File) []string {
	return constructorsCalled(files, module+"/shared/api")
}

// constructorsCalled lists the New* functions of the package importPath that files call.
func constructorsCalled(files []*ast.File, importPath string) []string {
	var out []string
	for _, f := range files {
		apiName := ""
		for _, im := range f.Imports {
			if p, _ := strconv.Unquote(im.Path.Value); p == importPath {
				apiName = path.Base(importPath)
				if im.Name != nil {
					apiName = im.Name.Name
				}
			}
		}
		if apiName == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == apiName && strings.HasPrefix(sel.Sel.Name, "New") && sel.Sel.Name != "NewRouter" {
				out = append(out, sel.Sel.Name)
			}
			return true
		})
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// routerRoutes maps each func NewX of shared/api to the route keys of the Route literals in it.
func routerRoutes(t *testing.T, fset *token.FileSet, files []*ast.File) map[string][]string {
	t.Helper()
	consts := map[string]string{}
	var funcs []*ast.FuncDecl
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && strings.HasPrefix(d.Name.Name, "New") {
					funcs = append(funcs, d)
				}
			case *ast.GenDecl:
				if d.Tok != token.CONST {
					continue
				}
				for _, s := range d.Specs {
					vs := s.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if s, ok := constString(vs.Values[i], nil); ok {
								consts[n.Name] = s
							}
						}
					}
				}
			}
		}
	}
	out := map[string][]string{}
	for _, fd := range funcs {
		var keys []string
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok || len(lit.Elts) == 0 {
				return true
			}
			switch ty := lit.Type.(type) {
			case *ast.Ident: // Route{...} in shared/api
				if ty.Name != "Route" {
					return true
				}
			case *ast.SelectorExpr: // api.Route{...} in a page set
				if ty.Sel.Name != "Route" {
					return true
				}
			default:
				return true
			}
			key := lit.Elts[0]
			for _, e := range lit.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					key = nil
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Key" {
						key = kv.Value
						break
					}
				}
			}
			if key == nil {
				t.Errorf("%s: a Route literal without its Key", fset.Position(lit.Pos()))
				return true
			}
			s, ok := constString(key, consts)
			if !ok {
				t.Errorf("%s: a Route whose key is not a constant string: this test cannot read it", fset.Position(lit.Pos()))
				return true
			}
			keys = append(keys, s)
			return true
		})
		out[fd.Name.Name] = keys
	}
	return out
}

// TestEveryFunctionKeepsItsLogsAndAlarmsOnErrors: operations — each function's log
// group has the stack's retention, and an alarm on its errors notifies the alarm topic, as do
// the stream consumers' on-failure queue alarms.
func TestEveryFunctionKeepsItsLogsAndAlarmsOnErrors(t *testing.T) {
	tpl := loadTemplate(t)
	logs, alarms := map[string]bool{}, map[string]bool{}
	for name, r := range tpl.Resources {
		switch r.Type {
		case "AWS::Logs::LogGroup":
			sub, _ := r.Properties["LogGroupName"].(map[string]any)["Fn::Sub"].(string)
			ret, _ := r.Properties["RetentionInDays"].(map[string]any)
			if ret["Ref"] != "LogRetentionDays" {
				t.Errorf("%s: retention is not the LogRetentionDays parameter", name)
			}
			logs[strings.TrimSuffix(strings.TrimPrefix(sub, "/aws/lambda/${"), "}")] = true
		case "AWS::CloudWatch::Alarm":
			actions, _ := r.Properties["AlarmActions"].([]any)
			if len(actions) == 0 || fmt.Sprint(actions[0]) != "map[Ref:AlarmTopic]" {
				t.Errorf("%s: the alarm notifies no one (AlarmActions: %v)", name, actions)
			}
			if r.Properties["Namespace"] == "AWS/Lambda" && r.Properties["MetricName"] == "Errors" {
				dims, _ := r.Properties["Dimensions"].([]any)
				for _, d := range dims {
					if d, _ := d.(map[string]any); d["Name"] == "FunctionName" {
						alarms[resourceNamed(d["Value"])] = true
					}
				}
			}
		}
	}
	for fn := range tpl.Functions() {
		if !logs[fn] {
			t.Errorf("%s has no log group with retention", fn)
		}
		if !alarms[fn] {
			t.Errorf("%s has no alarm on its errors", fn)
		}
	}
}

// resourceNamed is the logical ID whose name a value resolves to, !Ref X or !Sub "${X}"
// (the form an Fn::ForEach loop can write); "" for anything else.
func resourceNamed(v any) string {
	m, _ := v.(map[string]any)
	if ref, ok := m["Ref"].(string); ok {
		return ref
	}
	if sub, ok := m["Fn::Sub"].(string); ok && strings.HasPrefix(sub, "${") && strings.HasSuffix(sub, "}") &&
		strings.Count(sub, "${") == 1 {
		return sub[2 : len(sub)-1]
	}
	return ""
}

// TestEveryCustomMetricIsAlarmedOrRead: a custom metric is billed every month whether it moves
// or not, so each one a function publishes (metrics.Published) is watched by an alarm of the
// template or read by someone, as docs/OPERATIONS.md says row by row; every alarm on a custom
// metric watches one its function publishes; and each function in the list is one a main starts.
func TestEveryCustomMetricIsAlarmedOrRead(t *testing.T) {
	tpl := loadTemplate(t)
	type metric struct{ function, name string }
	alarmed := map[metric][]string{} // → the alarms that watch it
	watch := func(alarm string, m map[string]any) {
		if m["Namespace"] != metrics.Namespace {
			return
		}
		dims, _ := m["Dimensions"].([]any)
		for _, d := range dims {
			if d, _ := d.(map[string]any); d["Name"] == "Function" {
				k := metric{fmt.Sprint(d["Value"]), fmt.Sprint(m["MetricName"])}
				alarmed[k] = append(alarmed[k], alarm)
			}
		}
	}
	for name, r := range tpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		watch(name, r.Properties)
		queries, _ := r.Properties["Metrics"].([]any)
		for _, q := range queries {
			stat, _ := q.(map[string]any)["MetricStat"].(map[string]any)
			if m, ok := stat["Metric"].(map[string]any); ok {
				watch(name, m)
			}
		}
	}
	published := map[metric]bool{}
	for fn, names := range metrics.Published {
		for _, n := range names {
			published[metric{fn, n}] = true
		}
	}
	for m, alarms := range alarmed {
		if !published[m] {
			t.Errorf("%v watch %s of function %q, which it does not publish (metrics.Published)", alarms, m.name, m.function)
		}
	}

	doc, err := os.ReadFile("docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z]+)` \\| `([A-Za-z]+)` \\| (read|alarmed): ([^|]+)\\|$")
	documented := map[metric]bool{}
	for _, r := range row.FindAllStringSubmatch(string(doc), -1) {
		m := metric{r[1], r[2]}
		documented[m] = true
		switch {
		case !published[m]:
			t.Errorf("docs/OPERATIONS.md lists %s of %s, which it does not publish", m.name, m.function)
		case r[3] == "alarmed" && len(alarmed[m]) == 0:
			t.Errorf("docs/OPERATIONS.md says %s of %s is alarmed; no alarm of the template watches it", m.name, m.function)
		case r[3] == "alarmed" && !slices.ContainsFunc(alarmed[m], func(a string) bool { return strings.Contains(r[4], "`"+a+"`") }):
			t.Errorf("docs/OPERATIONS.md names the wrong alarm for %s of %s (watched by %v)", m.name, m.function, alarmed[m])
		}
	}
	for m := range published {
		if !documented[m] {
			t.Errorf("%s publishes %s: docs/OPERATIONS.md does not say who alarms on it or reads it", m.function, m.name)
		}
	}

	started := map[string]bool{}
	mains, _ := filepath.Glob("functions/*/main.go")
	start := regexp.MustCompile(`platform\.Start\("([a-z]+)"`)
	for _, path := range mains {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range start.FindAllStringSubmatch(string(b), -1) {
			started[m[1]] = true
		}
	}
	for fn := range metrics.Published {
		if !started[fn] {
			t.Errorf("metrics.Published names %q, which no function in functions/ starts as", fn)
		}
	}
}
