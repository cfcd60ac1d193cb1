package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DevAdminKey is the admin API key of `make dev`: the local Secrets Manager serves it as the
// template's bootstrap admin key secret, which the authorizer reads as it does when deployed.
const DevAdminKey = "dev-admin-key"

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

// seedSteps create the demo program and its demo advocate on a fresh start.
var seedSteps = []apiStep{
	{"demo program", http.MethodPut, "/programs/demo", seedProgram},
	{"demo advocate ana", http.MethodPut, "/customers/ana", seedAna},
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

// seed creates the demo data through the API, as a user would. Routes that are not there
// yet (404, 502) are reported and skipped.
func (s *Stack) seed() {
	for _, st := range seedSteps {
		status, body, err := st.do(s.APIURL)
		switch {
		case err != nil:
			s.sink.printf("seed", "%s: %v", st.Title, err)
		case status >= 300:
			s.sink.printf("seed", "%s: %s %s answered %d %s — skipped", st.Title, st.Method, st.Path, status, truncate(bytes.TrimSpace(body), 300))
		default:
			s.sink.printf("seed", "%s: %s %s → %d", st.Title, st.Method, st.Path, status)
		}
	}
}

// banner is what `make dev` prints once ready.
func (s *Stack) banner() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("")
	line("  Referral backend, local stack")
	line("  API       %s   admin key: %s", s.APIURL, DevAdminKey)
	line("  DynamoDB  %s   aws dynamodb scan --table-name %s --endpoint-url %s", s.DynamoURL, localTableName, s.DynamoURL)
	if s.SESURL != "" {
		line("  Emails    %s   every email sent (JSON: %s/store)", s.SESURL, s.SESURL)
	}
	line("  State     %s/state.json, saved on Ctrl-C; `make dev-reset` clears it", s.cfg.StateDir)
	line("")
	line("  Try the whole loop:")
	for _, st := range tryItSteps {
		line("    # %s", st.Title)
		line("    %s", st.curl(s.APIURL))
	}
	if s.SESURL != "" {
		line("    # Then open %s to read the emails it sent.", s.SESURL)
	}
	line("")
	ses := s.SESURL
	if ses == "" {
		ses = "off"
	}
	line("ready: api=%s dynamodb=%s ses=%s", s.APIURL, s.DynamoURL, ses)
	return b.String()
}
