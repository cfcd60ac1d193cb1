package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Fake identifiers used wherever a deployed stack would have real ones.
const (
	LocalRegion    = "us-east-1"
	LocalAccountID = "123456789012"
	LocalStackName = "referrals-local"
	LocalTableName = "referrals-local"
	LocalAPIID     = "local"

	// LocalExecuteAPIURL is what the HTTP API's execute-api URL resolves to locally; the
	// local stack serves it at its own API address.
	LocalExecuteAPIURL = "https://" + LocalAPIID + ".execute-api." + LocalRegion + ".amazonaws.com"
)

// Resolved is template.yaml as the local stack runs it: functions with their routes, stream
// sources and environment (intrinsic functions resolved with local values), the table, the
// HTTP APIs' authorizers and the secrets. Resources it has no use for are ignored.
type Resolved struct {
	Functions  map[string]*FunctionDef
	Tables     map[string]*TableDef // by logical ID
	APIs       map[string]*APIDef   // by logical ID; "" is the implicit API
	Routes     Routes
	Secrets    map[string]*SecretDef
	Queues     map[string]*QueueDef // by logical ID
	Parameters map[string]string    // resolved values
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
	Topics   []string // logical IDs of the SNS topics the function is subscribed to
	Queues   []*QueueSource
	// Schedules are its Schedule and ScheduleV2 events.
	Schedules []*ScheduleSource
	// Reserved is its ReservedConcurrentExecutions: how many invocations may run at once (0:
	// no reservation).
	Reserved int
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
	// TumblingWindow is the mapping's tumbling window (0: none): each batch then comes as a
	// time-window event, with its shard's id, and the function answers with a state.
	TumblingWindow time.Duration
}

// QueueDef is an AWS::SQS::Queue, run by the local SQS emulator with the attributes the
// local stack needs: its visibility timeout and its redrive policy.
type QueueDef struct {
	LogicalID         string
	Name              string // the logical ID, as !Ref and !GetAtt resolve it locally
	ARN               string
	URL               string
	VisibilityTimeout int    // seconds; 0 is SQS's default (30)
	DeadLetterARN     string // RedrivePolicy.deadLetterTargetArn, or ""
	MaxReceiveCount   int
}

// QueueSource is a function's SQS event: the queue its event source mapping reads.
type QueueSource struct {
	Name               string
	Queue              string // logical ID
	BatchSize          int
	ReportItemFailures bool
	Enabled            bool
}

// SecretDef is an AWS::SecretsManager::Secret, served by the local secrets endpoint.
type SecretDef struct {
	LogicalID string
	Name      string
	ARN       string
	Value     string // SecretString from the template, if any
	Generate  map[string]any
}

// Resolve reads the SAM template at path as the local stack runs it; params override the
// parameters' defaults.
func Resolve(path string, params map[string]string) (*Resolved, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	raw, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	t := &Resolved{
		Functions:  map[string]*FunctionDef{},
		Tables:     map[string]*TableDef{},
		APIs:       map[string]*APIDef{},
		Secrets:    map[string]*SecretDef{},
		Queues:     map[string]*QueueDef{},
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
	t.loadQueues()
	if err := t.loadAPIs(); err != nil {
		return nil, err
	}
	if err := t.loadFunctions(); err != nil {
		return nil, err
	}
	t.Routes.Sort()
	return t, nil
}

func (t *Resolved) warnf(format string, args ...any) {
	t.Warnings = append(t.Warnings, fmt.Sprintf(format, args...))
}

func (t *Resolved) resourcesOfType(typ string) []string {
	var ids []string
	for id, r := range t.resources {
		if r["Type"] == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (t *Resolved) loadTables() {
	for i, id := range t.resourcesOfType("AWS::DynamoDB::Table") {
		name := LocalTableName
		if i > 0 {
			name = LocalTableName + "-" + strings.ToLower(id)
		}
		props := asMap(t.resources[id]["Properties"])
		td := &TableDef{
			LogicalID: id,
			Name:      name,
			Props:     props,
			ARN:       fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", LocalRegion, LocalAccountID, name),
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

func (t *Resolved) loadQueues() {
	for _, id := range t.resourcesOfType("AWS::SQS::Queue") {
		props := asMap(t.resources[id]["Properties"])
		q := &QueueDef{LogicalID: id, Name: id, VisibilityTimeout: scalarInt(props["VisibilityTimeout"], 0)}
		q.ARN = fmt.Sprintf("arn:aws:sqs:%s:%s:%s", LocalRegion, LocalAccountID, id)
		q.URL = fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", LocalRegion, LocalAccountID, id)
		if rp := asMap(props["RedrivePolicy"]); rp != nil {
			q.DeadLetterARN = t.str(rp["deadLetterTargetArn"], "queue "+id+" RedrivePolicy")
			q.MaxReceiveCount = scalarInt(rp["maxReceiveCount"], 0)
		}
		t.Queues[id] = q
	}
}

func (t *Resolved) loadSecrets() {
	for _, id := range t.resourcesOfType("AWS::SecretsManager::Secret") {
		props := asMap(t.resources[id]["Properties"])
		s := &SecretDef{LogicalID: id, Name: id, Generate: asMap(props["GenerateSecretString"])}
		s.ARN = fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-local", LocalRegion, LocalAccountID, id)
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

func (t *Resolved) loadAPIs() error {
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

func (t *Resolved) parseAPI(id string, props map[string]any) *APIDef {
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

func (t *Resolved) loadFunctions() error {
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
			Dir:      "./" + filepath.ToSlash(FunctionDir(id)),
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
		if v, ok := props["ReservedConcurrentExecutions"]; ok {
			fn.Reserved = scalarInt(t.str(v, id+" ReservedConcurrentExecutions"), 0)
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
			case "SNS":
				fn.Topics = append(fn.Topics, refTarget(ep["Topic"]))
			case "SQS":
				q := &QueueSource{Name: en, Queue: refTarget(ep["Queue"]), BatchSize: scalarInt(ep["BatchSize"], 10), Enabled: true}
				if v, ok := ep["Enabled"]; ok {
					q.Enabled = scalarBool(v)
				}
				q.ReportItemFailures = slices.Contains(stringList(ep["FunctionResponseTypes"]), "ReportBatchItemFailures")
				fn.Queues = append(fn.Queues, q)
			case "Schedule", "ScheduleV2":
				fn.Schedules = append(fn.Schedules, t.parseSchedule(id, en, scalarString(ev["Type"]), ep))
			default:
				t.warnf("%s event %s: type %v is not emulated locally", id, en, ev["Type"])
			}
		}
	}
	return nil
}

func (t *Resolved) parseRoute(fn string, ep map[string]any) (*Route, error) {
	r, err := newRoute(scalarString(ep["Method"]), scalarString(ep["Path"]))
	if err != nil {
		return nil, err
	}
	r.Function, r.API = fn, refTarget(ep["ApiId"])
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
		return nil, fmt.Errorf("route %s uses unknown authorizer %q", r.Key(), r.Authorizer)
	}
	return r, nil
}

func (t *Resolved) parseStream(fn, name string, ep map[string]any) *StreamSource {
	s := &StreamSource{
		Name:             name,
		Table:            refTarget(ep["Stream"]),
		BatchSize:        scalarInt(ep["BatchSize"], 100),
		Window:           time.Duration(scalarInt(ep["MaximumBatchingWindowInSeconds"], 0)) * time.Second,
		StartingPosition: scalarString(ep["StartingPosition"]),
		Bisect:           scalarBool(ep["BisectBatchOnFunctionError"]),
		MaxRetries:       scalarInt(ep["MaximumRetryAttempts"], -1),
		Enabled:          true,
		TumblingWindow:   time.Duration(scalarInt(ep["TumblingWindowInSeconds"], 0)) * time.Second,
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

// --- intrinsic functions ---------------------------------------------------------------------

type noValue struct{}

// str resolves v to a string, warning (and returning "") when it cannot.
func (t *Resolved) str(v any, where string) string {
	r, ok := t.resolve(v, where)
	if !ok {
		return ""
	}
	return scalarString(r)
}

// resolve evaluates intrinsic functions locally. ok is false for AWS::NoValue.
func (t *Resolved) resolve(v any, where string) (any, bool) {
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

func (t *Resolved) eval(v any) (any, error) {
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

func (t *Resolved) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		return t.ref(scalarString(arg))
	case "Fn::GetAtt":
		res, attr := getAttParts(arg)
		return t.getAtt(res, attr)
	case "Fn::Sub":
		return t.sub(arg)
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
	case "Fn::Not":
		l := asList(arg)
		if len(l) != 1 {
			return nil, fmt.Errorf("Fn::Not needs one condition")
		}
		r, err := t.eval(l[0])
		if err != nil {
			return nil, err
		}
		return !scalarBool(r), nil
	}
	return nil, fmt.Errorf("%s cannot be resolved locally", fn)
}

func (t *Resolved) condition(name string) (bool, error) {
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

func (t *Resolved) ref(name string) (any, error) {
	switch name {
	case "AWS::Region":
		return LocalRegion, nil
	case "AWS::AccountId":
		return LocalAccountID, nil
	case "AWS::StackName":
		return LocalStackName, nil
	case "AWS::StackId":
		return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/local", LocalRegion, LocalAccountID, LocalStackName), nil
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
		return LocalAPIID, nil
	case "AWS::SecretsManager::Secret":
		return t.Secrets[name].ARN, nil
	case "AWS::SQS::Queue":
		return t.Queues[name].URL, nil
	case "AWS::SNS::Topic":
		return fmt.Sprintf("arn:aws:sns:%s:%s:%s", LocalRegion, LocalAccountID, name), nil
	default:
		return name, nil // a resource the local stack does not run: its logical ID stands in
	}
}

func (t *Resolved) getAtt(res, attr string) (any, error) {
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
			return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", LocalRegion, LocalAccountID, res), nil
		}
	case "AWS::SQS::Queue":
		switch attr {
		case "Arn":
			return t.Queues[res].ARN, nil
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

func (t *Resolved) sub(arg any) (any, error) {
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

// SESFeedbackTopics lists the SNS topics (logical IDs) that SES configuration sets publish
// their bounces and complaints to, and the local ARN of each.
func (t *Resolved) SESFeedbackTopics() map[string]string {
	out := map[string]string{}
	for _, r := range t.resources {
		if r["Type"] != "AWS::SES::ConfigurationSetEventDestination" {
			continue
		}
		dest := asMap(asMap(asMap(r["Properties"])["EventDestination"])["SnsDestination"])
		if topic := refTarget(dest["TopicARN"]); topic != "" {
			if arn, err := t.ref(topic); err == nil {
				out[topic] = scalarString(arn)
			}
		}
	}
	return out
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

// AbsDir is the absolute package directory of the function under root.
func (fn *FunctionDef) AbsDir(root string) string {
	return filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(fn.Dir, "./")))
}

// WithAPIURL is the function with its links pointed at a local API: an environment value
// naming the HTTP API's execute-api URL (unsubscribe links in emails, say) names apiURL instead.
func (fn *FunctionDef) WithAPIURL(apiURL string) *FunctionDef {
	out := *fn
	out.Env = make(map[string]string, len(fn.Env))
	for k, v := range fn.Env {
		if rest, ok := strings.CutPrefix(v, LocalExecuteAPIURL); ok {
			v = apiURL + rest
		}
		out.Env[k] = v
	}
	return &out
}
