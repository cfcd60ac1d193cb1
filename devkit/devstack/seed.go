package devstack

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/referral/referrals/devkit/devlog"
	"github.com/referral/referrals/devkit/samplesecrets"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/schedules"
	"github.com/referral/referrals/devkit/secrets"
	"github.com/referral/referrals/devkit/stripemock"
	"github.com/referral/referrals/shared/advocatelink"
)

// DevAdminKey is the admin API key `make dev` accepts: the value of the bootstrap admin key secret.
const DevAdminKey = secrets.AdminSecretValue

var (
	//go:embed seed/program-demo.json
	seedProgram string
	//go:embed seed/customer-ana.json
	seedAna string
)

// apiStep is one HTTP call of the demo: seeding runs some, the banner prints the rest as curl.
type apiStep struct {
	Title  string
	Method string
	Path   string
	Body   string
}

// seedSteps create the demo program, its demo advocate and her code (so that her page, whose
// link the banner prints, has something to show) on a fresh start.
var seedSteps = []apiStep{
	{"demo program", http.MethodPut, "/programs/demo", seedProgram},
	{"demo advocate ana", http.MethodPut, "/customers/ana", seedAna},
	{"ana's code", http.MethodPost, "/programs/demo/codes", `{"customerId":"ana","code":"ANAFRIEND"}`},
}

// AdvocatePageSecret is the template's secret that signs the links to advocates' pages.
const AdvocatePageSecret = "AdvocatePageSecret"

// AdvocatePageURL is the link to the page of customerID in programID on the stack, signed with
// the secret the stack serves ("" when the template has none).
func (s *Stack) AdvocatePageURL(programID, customerID string) string {
	return advocatePageURL(s.APIURL, s.secrets.Value(AdvocatePageSecret), programID, customerID)
}

// AdvocatePageURLFrom is AdvocatePageURL for a tool that runs beside `make dev` (make
// screenshots): the stack signs with the public sample secret unless started with -secret.
func AdvocatePageURLFrom(apiURL, programID, customerID string) string {
	return advocatePageURL(apiURL, samplesecrets.ByLogicalID[AdvocatePageSecret], programID, customerID)
}

func advocatePageURL(apiURL, secret, programID, customerID string) string {
	signer, err := advocatelink.New(secret)
	if err != nil {
		return ""
	}
	return signer.URL(apiURL, programID, customerID, time.Now())
}

// tryItSteps are the printed curl sequence: the whole referral loop on the demo program.
var tryItSteps = []apiStep{
	{"Register Ana's friend Bo", http.MethodPut, "/customers/bo",
		`{"email":"bo@example.com","name":"Bo Chen","locale":"en","segment":"current","purchaseCount":0,"marketingOptOut":false}`},
	{"Get Ana's referral code (a vanity code, so the next steps can use it)", http.MethodPost, "/programs/demo/codes",
		`{"customerId":"ana","code":"ANAFRIEND"}`},
	{"Bo arrives with Ana's code", http.MethodPost, "/referrals",
		`{"code":"ANAFRIEND","referee":{"id":"bo","email":"bo@example.com","name":"Bo Chen","locale":"en"},"channel":"email"}`},
	{"Bo makes a purchase", http.MethodPost, "/conversions",
		`{"eventId":"order-1001","programId":"demo","refereeId":"bo","milestone":"purchase","amount":{"amount":5000,"currency":"USD"}}`},
	{"Ana's rewards", http.MethodGet, "/customers/ana/rewards", ""},
}

// do runs one step against the API with the dev admin key.
func (st apiStep) do(apiURL string) (int, []byte, error) {
	var body io.Reader
	if st.Body != "" {
		body = strings.NewReader(st.Body)
	}
	req, err := http.NewRequest(st.Method, apiURL+st.Path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+DevAdminKey)
	if st.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// curl renders the step as a command a person can paste.
func (st apiStep) curl(apiURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "curl -s")
	if st.Method != http.MethodGet {
		fmt.Fprintf(&b, " -X %s", st.Method)
	}
	fmt.Fprintf(&b, " %s%s -H 'Authorization: Bearer %s'", apiURL, st.Path, DevAdminKey)
	if st.Body != "" {
		var compact bytes.Buffer
		compact.WriteString(strings.Join(strings.Fields(st.Body), " "))
		fmt.Fprintf(&b, " -H 'Content-Type: application/json' -d '%s'", compact.String())
	}
	return b.String()
}

// Seed creates the demo data through the API, as a user would.
func (s *Stack) Seed() {
	for _, st := range seedSteps {
		status, body, err := st.do(s.APIURL)
		switch {
		case err != nil:
			s.sink.Printf("seed", "%s: %v", st.Title, err)
		case status >= 300:
			s.sink.Printf("seed", "%s: %s %s answered %d %s — skipped", st.Title, st.Method, st.Path, status, devlog.Truncate(bytes.TrimSpace(body), 300))
		default:
			s.sink.Printf("seed", "%s: %s %s → %d", st.Title, st.Method, st.Path, status)
		}
	}
	s.seedReceiver()
}

// Dummy credentials and region for the AWS CLI and SDKs against the local endpoints: any
// non-empty values work, the banner prints these.
const (
	DummyAccessKeyID     = "local"
	DummySecretAccessKey = "local"
)

// Banner is what `make dev` prints once ready.
func (s *Stack) Banner() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	table := samtemplate.LocalTableName
	line("")
	line("  Referral backend, local stack")
	line("  API       %s   admin key: %s", s.APIURL, DevAdminKey)
	line("  Lambda    %s   Invoke API: aws lambda invoke --endpoint-url %s --function-name ConversionsFunction --payload fileb://events/conversions-record.json out.json", s.LambdaURL, s.LambdaURL)
	line("  DynamoDB  %s   %s", s.DynamoURL, s.Engine)
	if s.SESURL != "" {
		line("  Emails    %s   every email sent (JSON: %s/store)", s.SESURL, s.SESURL)
	}
	if s.WebhookURL != "" {
		if s.SQSURL != "" {
			line("  Webhooks  %s   every event, signed and checked (endpoint %s/hooks; add ?fail=3 to an endpoint's URL to watch retries)", s.WebhookURL, s.WebhookURL)
		} else {
			line("  Webhooks  %s   the receiver; no SQS emulator (moto_server), so nothing is delivered", s.WebhookURL)
		}
	}
	if s.StripeURL != "" {
		line("  Stripe    %s   stripe-mock, Stripe's own API mock (key %s); each request is logged as [stripe]", s.StripeURL, stripemock.TestKey)
	}
	if s.schedules.Len() > 0 {
		every := "never on their own"
		switch d := s.cfg.TickEvery; {
		case d == time.Minute:
			every = "every minute"
		case d > 0 && d%time.Minute == 0:
			every = fmt.Sprintf("every %d minutes", d/time.Minute)
		case d > 0:
			every = "every " + d.String()
		}
		line("  Schedule  %s, %s; run now: make tick (curl -X POST %s%s)", strings.Join(s.schedules.Names(), ", "), every, s.APIURL, schedules.TickPath)
	}
	if s.embedded != nil {
		line("  State     %s/state.json, saved on Ctrl-C; `make dev-reset` clears it", s.cfg.StateDir)
	} else {
		line("  State     %s: the table (every write kept as it is acknowledged) and the streams' positions; `make dev-reset` clears it", s.cfg.StateDir)
	}
	line("")
	line("  The AWS CLI against the local endpoints needs any credentials and the region:")
	line("    export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s AWS_DEFAULT_REGION=%s", DummyAccessKeyID, DummySecretAccessKey, samtemplate.LocalRegion, samtemplate.LocalRegion)
	line("    aws dynamodb describe-table --table-name %s --endpoint-url %s", table, s.DynamoURL)
	line("    aws dynamodb scan --table-name %s --select COUNT --endpoint-url %s", table, s.DynamoURL)
	line("    aws dynamodbstreams list-streams --endpoint-url %s", s.DynamoURL)
	line("")
	line("  Try the whole loop:")
	for _, st := range tryItSteps {
		line("    # %s", st.Title)
		line("    %s", st.curl(s.APIURL))
	}
	if s.SESURL != "" {
		line("    # Then open %s to read the emails it sent.", s.SESURL)
	}
	if s.WebhookURL != "" && s.SQSURL != "" {
		line("    # And %s for the events your systems would get.", s.WebhookURL)
	}
	line("    # The page Ana's friends see (each visit counts in GET /programs/demo/stats, per ?ch=):")
	line("    #   %s/r/ANAFRIEND?page=1&ch=whatsapp", s.APIURL)
	if u := s.AdvocatePageURL("demo", "ana"); u != "" {
		line("    # Ana's own page, the link in every email she gets (code, share links, QR code, friends, rewards):")
		line("    #   %s", u)
	}
	line("")
	ses := s.SESURL
	if ses == "" {
		ses = "off"
	}
	stripe := s.StripeURL
	if stripe == "" {
		stripe = "off"
	}
	line("ready: api=%s lambda=%s dynamodb=%s ses=%s stripe=%s", s.APIURL, s.LambdaURL, s.DynamoURL, ses, stripe)
	return b.String()
}
