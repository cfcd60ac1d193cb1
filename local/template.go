package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/referral/referrals/devkit/samtemplate"
)

// Fake identifiers used wherever a deployed stack would have real ones.
const (
	localRegion    = "us-east-1"
	localAccountID = "123456789012"
	localStackName = "referrals-local"
	localTableName = "referrals-local"
	localAPIID     = "local"
)

// Template is what the dev stack needs from template.yaml: functions with their
// routes and stream sources, the table definitions and the HTTP APIs' authorizers.
type Template struct {
	Functions  map[string]*FunctionDef
	Tables     map[string]*TableDef // by logical ID
	APIs       map[string]*APIDef   // by logical ID; "" is the implicit API
	Routes     []*Route
	Secrets    map[string]*SecretDef
	Parameters map[string]string // resolved values
	Warnings   []string

	raw       map[string]any
	resources map[string]map[string]any
	streamTS  string
}

// FunctionDef is one AWS::Serverless::Function with Globals.Function applied.
type FunctionDef struct {
	Name     string // logical ID
	FuncName string // AWS_LAMBDA_FUNCTION_NAME
	Dir      string // package directory relative to the root, e.g. ./functions/publiccodes
	Handler  string
	MemoryMB int
	Timeout  time.Duration
	Env      map[string]string
	LogFmt   string
	LogLevel string
	Streams  []*StreamSource
}

// TableDef is one AWS::DynamoDB::Table.
type TableDef struct {
	LogicalID string
	Name      string
	Props     map[string]any
	ViewType  string // "" when the table has no stream
	StreamARN string
	ARN       string
	TTLAttr   string // "" when TTL is off
}

// APIDef is one AWS::Serverless::HttpApi (or the implicit one).
type APIDef struct {
	LogicalID         string
	DefaultAuthorizer string
	Authorizers       map[string]*AuthorizerDef
}

// AuthorizerDef is a Lambda authorizer of an HTTP API, in SAM form.
type AuthorizerDef struct {
	Name            string
	Function        string // logical ID
	PayloadVersion  string
	SimpleResponses bool
	IdentityHeaders []string
	IdentityQuery   []string
	TTL             time.Duration
	Unsupported     string // non-empty when the authorizer cannot be emulated (JWT)
}

// Route is one HttpApi event of a function.
type Route struct {
	Method     string // upper case; ANY matches every method
	Path       string // template path, "$default" for the catch-all route
	Function   string
	API        string
	Authorizer string // "" when public
	segs       []routeSeg
}

// RouteKey is the routeKey API Gateway puts in events.
func (r *Route) RouteKey() string {
	if r.Path == "$default" {
		return "$default"
	}
	return r.Method + " " + r.Path
}

type routeSeg struct {
	lit    string
	param  string
	greedy bool
}

// StreamSource is a DynamoDB event of a function: an event source mapping.
type StreamSource struct {
	Name                 string
	Table                string // logical ID
	BatchSize            int
	Window               time.Duration
	StartingPosition     string
	ReportItemFailures   bool
	Bisect               bool
	MaxRetries           int // -1 = until the record expires
	MaxRecordAge         time.Duration
	Filters              []string // JSON patterns
	OnFailureDestination string
	Enabled              bool
}

// SecretDef is an AWS::SecretsManager::Secret, served by the local secrets endpoint.
type SecretDef struct {
	LogicalID string
	Name      string
	ARN       string
	Value     string // SecretString from the template, if any
	Generate  map[string]any
}

// LoadTemplate parses a SAM template. params override parameter defaults.
func LoadTemplate(path string, params map[string]string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	raw, err := samtemplate.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	t := &Template{
		Functions:  map[string]*FunctionDef{},
		Tables:     map[string]*TableDef{},
		APIs:       map[string]*APIDef{},
		Secrets:    map[string]*SecretDef{},
		Parameters: map[string]string{},
		raw:        raw,
		resources:  map[string]map[string]any{},
		streamTS:   time.Now().UTC().Format("2006-01-02T15:04:05.000"),
	}
	for name, p := range asMap(raw["Parameters"]) {
		if v, ok := params[name]; ok {
			t.Parameters[name] = v
			continue
		}
		def, ok := asMap(p)["Default"]
		if !ok {
			t.warnf("parameter %s has no default and no override: using an empty string", name)
		}
		t.Parameters[name] = scalarString(def)
	}
	for name, r := range asMap(raw["Resources"]) {
		t.resources[name] = asMap(r)
	}
	t.loadTables()
	t.loadSecrets()
	if err := t.loadAPIs(); err != nil {
		return nil, err
	}
	if err := t.loadFunctions(); err != nil {
		return nil, err
	}
	sortRoutes(t.Routes)
	return t, nil
}

func (t *Template) warnf(format string, args ...any) {
	t.Warnings = append(t.Warnings, fmt.Sprintf(format, args...))
}

func (t *Template) resourcesOfType(typ string) []string {
	var ids []string
	for id, r := range t.resources {
		if r["Type"] == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (t *Template) loadTables() {
	for i, id := range t.resourcesOfType("AWS::DynamoDB::Table") {
		name := localTableName
		if i > 0 {
			name = localTableName + "-" + strings.ToLower(id)
		}
		props := asMap(t.resources[id]["Properties"])
		td := &TableDef{
			LogicalID: id,
			Name:      name,
			Props:     props,
			ARN:       fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", localRegion, localAccountID, name),
		}
		if ttl := asMap(props["TimeToLiveSpecification"]); ttl != nil && scalarBool(ttl["Enabled"]) {
			td.TTLAttr = scalarString(ttl["AttributeName"])
		}
		if spec := asMap(props["StreamSpecification"]); spec != nil {
			td.ViewType = scalarString(spec["StreamViewType"])
			td.StreamARN = td.ARN + "/stream/" + t.streamTS
		}
		t.Tables[id] = td
	}
}

func (t *Template) loadSecrets() {
	for _, id := range t.resourcesOfType("AWS::SecretsManager::Secret") {
		props := asMap(t.resources[id]["Properties"])
		s := &SecretDef{LogicalID: id, Name: id, Generate: asMap(props["GenerateSecretString"])}
		s.ARN = fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-local", localRegion, localAccountID, id)
		t.Secrets[id] = s
	}
	// Names and values may refer to other resources: resolve once all are known.
	for id, s := range t.Secrets {
		props := asMap(t.resources[id]["Properties"])
		if n, ok := props["Name"]; ok {
			s.Name = t.str(n, "secret "+id+" Name")
		}
		if v, ok := props["SecretString"]; ok {
			s.Value = t.str(v, "secret "+id+" SecretString")
		}
	}
}

func (t *Template) loadAPIs() error {
	globals := asMap(asMap(t.raw["Globals"])["HttpApi"])
	t.APIs[""] = t.parseAPI("", globals)
	for _, id := range t.resourcesOfType("AWS::Serverless::HttpApi") {
		props := asMap(t.resources[id]["Properties"])
		merged := map[string]any{}
		for k, v := range globals {
			merged[k] = v
		}
		for k, v := range props {
			merged[k] = v
		}
		t.APIs[id] = t.parseAPI(id, merged)
	}
	return nil
}

func (t *Template) parseAPI(id string, props map[string]any) *APIDef {
	api := &APIDef{LogicalID: id, Authorizers: map[string]*AuthorizerDef{}}
	auth := asMap(props["Auth"])
	api.DefaultAuthorizer = scalarString(auth["DefaultAuthorizer"])
	for name, a := range asMap(auth["Authorizers"]) {
		am := asMap(a)
		ad := &AuthorizerDef{Name: name, PayloadVersion: "2.0", TTL: 300 * time.Second}
		if am["JwtConfiguration"] != nil || am["IdentitySource"] != nil && am["FunctionArn"] == nil {
			ad.Unsupported = "JWT authorizers are not emulated"
		}
		ad.Function = refTarget(am["FunctionArn"])
		if ad.Function == "" && ad.Unsupported == "" {
			ad.Unsupported = "FunctionArn must be !GetAtt <Function>.Arn"
		}
		if v := scalarString(am["AuthorizerPayloadFormatVersion"]); v != "" {
			ad.PayloadVersion = v
		}
		ad.SimpleResponses = scalarBool(am["EnableSimpleResponses"])
		if idn, ok := am["Identity"]; ok {
			im := asMap(idn)
			ad.IdentityHeaders = stringList(im["Headers"])
			ad.IdentityQuery = stringList(im["QueryStrings"])
			if v, ok := im["ReauthorizeEvery"]; ok {
				ad.TTL = time.Duration(scalarInt(v, 300)) * time.Second
			}
		} else {
			ad.TTL = 0
		}
		if len(ad.IdentityHeaders)+len(ad.IdentityQuery) == 0 {
			ad.TTL = 0 // API Gateway cannot cache without an identity source
		}
		api.Authorizers[name] = ad
	}
	return api
}

func (t *Template) loadFunctions() error {
	globals := asMap(asMap(t.raw["Globals"])["Function"])
	for _, id := range t.resourcesOfType("AWS::Serverless::Function") {
		props := asMap(t.resources[id]["Properties"])
		get := func(key string) any {
			if v, ok := props[key]; ok {
				return v
			}
			return globals[key]
		}
		fn := &FunctionDef{
			Name:     id,
			FuncName: id,
			Dir:      "./functions/" + strings.ToLower(strings.TrimSuffix(id, "Function")),
			Handler:  scalarString(get("Handler")),
			MemoryMB: scalarInt(get("MemorySize"), 128),
			Timeout:  time.Duration(scalarInt(get("Timeout"), 3)) * time.Second,
			Env:      map[string]string{},
		}
		if v, ok := props["FunctionName"]; ok {
			if n := t.str(v, id+" FunctionName"); n != "" {
				fn.FuncName = n
			}
		}
		logCfg := asMap(get("LoggingConfig"))
		fn.LogFmt = scalarString(logCfg["LogFormat"])
		fn.LogLevel = scalarString(logCfg["ApplicationLogLevel"])
		for _, vars := range []any{asMap(globals["Environment"])["Variables"], asMap(props["Environment"])["Variables"]} {
			for k, v := range asMap(vars) {
				val, ok := t.resolve(v, id+" environment "+k)
				if !ok {
					delete(fn.Env, k)
					continue
				}
				fn.Env[k] = scalarString(val)
			}
		}
		t.Functions[id] = fn

		events := asMap(props["Events"])
		names := make([]string, 0, len(events))
		for n := range events {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, en := range names {
			ev := asMap(events[en])
			ep := asMap(ev["Properties"])
			switch ev["Type"] {
			case "HttpApi":
				r, err := t.parseRoute(fn.Name, ep)
				if err != nil {
					return fmt.Errorf("%s event %s: %w", id, en, err)
				}
				t.Routes = append(t.Routes, r)
			case "DynamoDB":
				fn.Streams = append(fn.Streams, t.parseStream(id, en, ep))
			default:
				t.warnf("%s event %s: type %v is not emulated locally", id, en, ev["Type"])
			}
		}
	}
	return nil
}

func (t *Template) parseRoute(fn string, ep map[string]any) (*Route, error) {
	r := &Route{Function: fn, API: refTarget(ep["ApiId"])}
	r.Method = strings.ToUpper(scalarString(ep["Method"]))
	r.Path = scalarString(ep["Path"])
	if r.Method == "" {
		r.Method = "ANY"
	}
	if r.Path == "" || r.Path == "$default" {
		r.Path = "$default"
	} else {
		segs, err := parsePath(r.Path)
		if err != nil {
			return nil, err
		}
		r.segs = segs
	}
	api := t.APIs[r.API]
	if api == nil {
		api = t.APIs[""]
	}
	r.Authorizer = api.DefaultAuthorizer
	if auth := asMap(ep["Auth"]); auth != nil {
		if a, ok := auth["Authorizer"]; ok {
			r.Authorizer = scalarString(a)
		}
	}
	if r.Authorizer == "NONE" {
		r.Authorizer = ""
	}
	if r.Authorizer != "" && api.Authorizers[r.Authorizer] == nil {
		return nil, fmt.Errorf("route %s uses unknown authorizer %q", r.RouteKey(), r.Authorizer)
	}
	return r, nil
}

func parsePath(p string) ([]routeSeg, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("path %q must start with /", p)
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	segs := make([]routeSeg, 0, len(parts))
	for i, part := range parts {
		switch {
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "+}"):
			if i != len(parts)-1 {
				return nil, fmt.Errorf("path %q: greedy parameter must be last", p)
			}
			segs = append(segs, routeSeg{param: part[1 : len(part)-2], greedy: true})
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
			segs = append(segs, routeSeg{param: part[1 : len(part)-1]})
		default:
			segs = append(segs, routeSeg{lit: part})
		}
	}
	return segs, nil
}

func (t *Template) parseStream(fn, name string, ep map[string]any) *StreamSource {
	s := &StreamSource{
		Name:             name,
		Table:            refTarget(ep["Stream"]),
		BatchSize:        scalarInt(ep["BatchSize"], 100),
		Window:           time.Duration(scalarInt(ep["MaximumBatchingWindowInSeconds"], 0)) * time.Second,
		StartingPosition: scalarString(ep["StartingPosition"]),
		Bisect:           scalarBool(ep["BisectBatchOnFunctionError"]),
		MaxRetries:       scalarInt(ep["MaximumRetryAttempts"], -1),
		Enabled:          true,
	}
	if v, ok := ep["Enabled"]; ok {
		s.Enabled = scalarBool(v)
	}
	if age := scalarInt(ep["MaximumRecordAgeInSeconds"], -1); age > 0 {
		s.MaxRecordAge = time.Duration(age) * time.Second
	}
	for _, rt := range stringList(ep["FunctionResponseTypes"]) {
		if rt == "ReportBatchItemFailures" {
			s.ReportItemFailures = true
		}
	}
	for _, f := range asList(asMap(ep["FilterCriteria"])["Filters"]) {
		if p, ok := asMap(f)["Pattern"]; ok {
			s.Filters = append(s.Filters, t.str(p, fn+" "+name+" filter pattern"))
		}
	}
	if dest := asMap(asMap(asMap(ep["DestinationConfig"])["OnFailure"])); dest != nil {
		s.OnFailureDestination = refTarget(dest["Destination"])
	}
	if _, ok := t.Tables[s.Table]; !ok {
		t.warnf("%s event %s: stream %v is not the stream of a table in the template; ignored", fn, name, ep["Stream"])
		s.Enabled = false
	}
	return s
}

// sortRoutes orders routes the way API Gateway picks them: the most specific first
// (literal segments before parameters before greedy parameters, then more segments),
// a method before ANY, and $default last.
func sortRoutes(rs []*Route) {
	rank := func(r *Route) []int {
		if r.Path == "$default" {
			return []int{9}
		}
		out := make([]int, 0, len(r.segs)+1)
		for _, s := range r.segs {
			switch {
			case s.greedy:
				out = append(out, 3)
			case s.param != "":
				out = append(out, 2)
			default:
				out = append(out, 1)
			}
		}
		return out
	}
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rank(rs[i]), rank(rs[j])
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return rs[i].Method != "ANY" && rs[j].Method == "ANY"
	})
}

// match reports whether the route serves method and path, with its path parameters.
func (r *Route) match(method, path string) (map[string]string, bool) {
	if r.Method != "ANY" && r.Method != method {
		return nil, false
	}
	if r.Path == "$default" {
		return nil, true
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	params := map[string]string{}
	for i, s := range r.segs {
		if s.greedy {
			rest := strings.Join(parts[i:], "/")
			if i >= len(parts) || rest == "" {
				return nil, false
			}
			params[s.param] = unescape(rest)
			return params, true
		}
		if i >= len(parts) {
			return nil, false
		}
		if s.param != "" {
			if parts[i] == "" {
				return nil, false
			}
			params[s.param] = unescape(parts[i])
			continue
		}
		if s.lit != parts[i] {
			return nil, false
		}
	}
	if len(parts) != len(r.segs) {
		return nil, false
	}
	if len(params) == 0 {
		params = nil
	}
	return params, true
}

// --- intrinsic functions ---------------------------------------------------------------------

type noValue struct{}

// str resolves v to a string, warning (and returning "") when it cannot.
func (t *Template) str(v any, where string) string {
	r, ok := t.resolve(v, where)
	if !ok {
		return ""
	}
	return scalarString(r)
}

// resolve evaluates intrinsic functions locally. ok is false for AWS::NoValue.
func (t *Template) resolve(v any, where string) (any, bool) {
	r, err := t.eval(v)
	if err != nil {
		t.warnf("%s: %v: using an empty string", where, err)
		return "", true
	}
	if _, isNo := r.(noValue); isNo {
		return nil, false
	}
	return r, true
}

func (t *Template) eval(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			r, err := t.eval(e)
			if err != nil {
				return nil, err
			}
			if _, isNo := r.(noValue); !isNo {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					return t.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := t.eval(e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	default:
		return v, nil
	}
}

func (t *Template) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		return t.ref(scalarString(arg))
	case "Fn::GetAtt":
		res, attr := getAttParts(arg)
		return t.getAtt(res, attr)
	case "Fn::Sub":
		return t.sub(arg)
	case "Fn::Join":
		l := asList(arg)
		if len(l) != 2 {
			return nil, fmt.Errorf("Fn::Join needs [delimiter, list]")
		}
		items, err := t.eval(l[1])
		if err != nil {
			return nil, err
		}
		parts := []string{}
		for _, it := range asList(items) {
			parts = append(parts, scalarString(it))
		}
		return strings.Join(parts, scalarString(l[0])), nil
	case "Fn::Select":
		l := asList(arg)
		if len(l) != 2 {
			return nil, fmt.Errorf("Fn::Select needs [index, list]")
		}
		idx, err := t.eval(l[0])
		if err != nil {
			return nil, err
		}
		items, err := t.eval(l[1])
		if err != nil {
			return nil, err
		}
		i := scalarInt(idx, -1)
		list := asList(items)
		if i < 0 || i >= len(list) {
			return nil, fmt.Errorf("Fn::Select index %v out of range", idx)
		}
		return list[i], nil
	case "Fn::Split":
		l := asList(arg)
		if len(l) != 2 {
			return nil, fmt.Errorf("Fn::Split needs [delimiter, string]")
		}
		s, err := t.eval(l[1])
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, p := range strings.Split(scalarString(s), scalarString(l[0])) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::Base64":
		s, err := t.eval(arg)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(scalarString(s))), nil
	case "Fn::FindInMap":
		l := asList(arg)
		if len(l) < 3 {
			return nil, fmt.Errorf("Fn::FindInMap needs [map, key, key]")
		}
		keys := make([]string, 3)
		for i := range keys {
			k, err := t.eval(l[i])
			if err != nil {
				return nil, err
			}
			keys[i] = scalarString(k)
		}
		v, ok := asMap(asMap(asMap(t.raw["Mappings"])[keys[0]])[keys[1]])[keys[2]]
		if !ok {
			return nil, fmt.Errorf("Fn::FindInMap %v: not found", keys)
		}
		return t.eval(v)
	case "Fn::If":
		l := asList(arg)
		if len(l) != 3 {
			return nil, fmt.Errorf("Fn::If needs [condition, then, else]")
		}
		ok, err := t.condition(scalarString(l[0]))
		if err != nil {
			return nil, err
		}
		if ok {
			return t.eval(l[1])
		}
		return t.eval(l[2])
	case "Condition":
		return t.condition(scalarString(arg))
	case "Fn::Equals":
		l := asList(arg)
		if len(l) != 2 {
			return nil, fmt.Errorf("Fn::Equals needs two values")
		}
		a, err := t.eval(l[0])
		if err != nil {
			return nil, err
		}
		b, err := t.eval(l[1])
		if err != nil {
			return nil, err
		}
		return scalarString(a) == scalarString(b), nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		l := asList(arg)
		vals := make([]bool, 0, len(l))
		for _, e := range l {
			r, err := t.eval(e)
			if err != nil {
				return nil, err
			}
			vals = append(vals, scalarBool(r))
		}
		switch fn {
		case "Fn::Not":
			return len(vals) == 1 && !vals[0], nil
		case "Fn::And":
			for _, b := range vals {
				if !b {
					return false, nil
				}
			}
			return true, nil
		default:
			for _, b := range vals {
				if b {
					return true, nil
				}
			}
			return false, nil
		}
	case "Fn::GetAZs":
		return []any{localRegion + "a", localRegion + "b"}, nil
	}
	return nil, fmt.Errorf("%s cannot be resolved locally", fn)
}

func (t *Template) condition(name string) (bool, error) {
	c, ok := asMap(t.raw["Conditions"])[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %q", name)
	}
	r, err := t.eval(c)
	if err != nil {
		return false, err
	}
	return scalarBool(r), nil
}

func (t *Template) ref(name string) (any, error) {
	switch name {
	case "AWS::Region":
		return localRegion, nil
	case "AWS::AccountId":
		return localAccountID, nil
	case "AWS::StackName":
		return localStackName, nil
	case "AWS::StackId":
		return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/local", localRegion, localAccountID, localStackName), nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::NoValue":
		return noValue{}, nil
	}
	if v, ok := t.Parameters[name]; ok {
		return v, nil
	}
	r, ok := t.resources[name]
	if !ok {
		return nil, fmt.Errorf("!Ref %s: no such parameter or resource", name)
	}
	switch typ := r["Type"]; typ {
	case "AWS::DynamoDB::Table":
		return t.Tables[name].Name, nil
	case "AWS::Serverless::Function":
		if fn := t.Functions[name]; fn != nil {
			return fn.FuncName, nil
		}
		return name, nil
	case "AWS::Serverless::HttpApi":
		return localAPIID, nil
	case "AWS::SecretsManager::Secret":
		return t.Secrets[name].ARN, nil
	case "AWS::SQS::Queue":
		return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", localRegion, localAccountID, name), nil
	case "AWS::SNS::Topic":
		return fmt.Sprintf("arn:aws:sns:%s:%s:%s", localRegion, localAccountID, name), nil
	case "AWS::SSM::Parameter":
		return t.str(asMap(r["Properties"])["Name"], "parameter "+name), nil
	default:
		return nil, fmt.Errorf("!Ref %s (%v) has no local value", name, typ)
	}
}

func (t *Template) getAtt(res, attr string) (any, error) {
	r, ok := t.resources[res]
	if !ok {
		return nil, fmt.Errorf("!GetAtt %s.%s: no such resource", res, attr)
	}
	switch r["Type"] {
	case "AWS::DynamoDB::Table":
		td := t.Tables[res]
		switch attr {
		case "Arn":
			return td.ARN, nil
		case "StreamArn":
			return td.StreamARN, nil
		}
	case "AWS::Serverless::Function":
		if attr == "Arn" {
			return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", localRegion, localAccountID, res), nil
		}
	case "AWS::SQS::Queue":
		switch attr {
		case "Arn":
			return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", localRegion, localAccountID, res), nil
		case "QueueName":
			return res, nil
		case "QueueUrl":
			return t.ref(res)
		}
	case "AWS::SecretsManager::Secret":
		if attr == "Id" || attr == "Arn" {
			return t.Secrets[res].ARN, nil
		}
	}
	return nil, fmt.Errorf("!GetAtt %s.%s has no local value", res, attr)
}

func (t *Template) sub(arg any) (any, error) {
	var tmpl string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		tmpl = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub needs a string or [string, variables]")
		}
		tmpl = scalarString(a[0])
		for k, v := range asMap(a[1]) {
			r, err := t.eval(v)
			if err != nil {
				return nil, err
			}
			vars[k] = r
		}
	default:
		return nil, fmt.Errorf("Fn::Sub needs a string")
	}
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(tmpl)
			break
		}
		b.WriteString(tmpl[:i])
		j := strings.Index(tmpl[i:], "}")
		if j < 0 {
			return nil, fmt.Errorf("Fn::Sub: unclosed ${ in %q", tmpl)
		}
		name := tmpl[i+2 : i+j]
		tmpl = tmpl[i+j+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var val any
		var err error
		if v, ok := vars[name]; ok {
			val = v
		} else if res, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			val, err = t.getAtt(res, attr)
		} else {
			val, err = t.ref(name)
		}
		if err != nil {
			return nil, err
		}
		b.WriteString(scalarString(val))
	}
	return b.String(), nil
}

// refTarget returns the logical ID that a !Ref X or !GetAtt X.Attr points at.
func refTarget(v any) string {
	m := asMap(v)
	if r, ok := m["Ref"]; ok {
		return scalarString(r)
	}
	if g, ok := m["Fn::GetAtt"]; ok {
		res, _ := getAttParts(g)
		return res
	}
	return ""
}

func getAttParts(arg any) (string, string) {
	switch a := arg.(type) {
	case string:
		res, attr, _ := strings.Cut(a, ".")
		return res, attr
	case []any:
		if len(a) == 2 {
			return scalarString(a[0]), scalarString(a[1])
		}
	}
	return "", ""
}

// --- loose accessors -------------------------------------------------------------------------

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func stringList(v any) []string {
	var out []string
	for _, e := range asList(v) {
		out = append(out, scalarString(e))
	}
	return out
}

func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

func scalarInt(v any, def int) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n
		}
	}
	return def
}

func scalarBool(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		b, _ := strconv.ParseBool(x)
		return b
	}
	return false
}

// functionDir is the absolute package directory of fn under root.
func functionDir(root string, fn *FunctionDef) string {
	return filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(fn.Dir, "./")))
}
