package email_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/sestest"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/shared/email"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// scenario writes, through the API, what makes the stream function send three emails: ana's
// new code (ask-promo-code), a thank-you to ana for bo's purchase (ana has 3 purchases:
// thanks-loyal), and an ask to cy, a past client who reads Thai (ask-past-client). It also
// writes items that send nothing: customers, referrals, conversions, bo's own reward, and
// the changes (MODIFY) to codes and counters.
func scenario(e *env) {
	e.t.Helper()
	e.putProgram(demoProgram())
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza", "purchaseCount": 3})
	e.putCustomer("cy", map[string]any{"email": "cy.park@example.com", "name": "Cy Park", "segment": "past", "locale": "th-TH"})
	code := e.createCode("ana", "ANA-DEMO")
	e.refer(code, "bo")
	e.convert("order-1", "bo", "signup")   // bo's $10 discount: a referee reward, no email
	e.convert("order-2", "bo", "purchase") // ana's $10 gift card: thanks-loyal
	if st, b := e.ask("cy", ""); st != 202 || b["template"] != email.AskPastClient {
		e.t.Fatalf("ask cy: %d %v", st, b)
	}
}

// byRecipient indexes the emulator's emails by recipient and subject.
func byRecipient(emails []sestest.Email) map[string][]sestest.Email {
	out := map[string][]sestest.Email{}
	for _, m := range emails {
		out[strings.Join(m.Destination.To, ",")] = append(out[strings.Join(m.Destination.To, ",")], m)
	}
	return out
}

func TestEachEmailIsSentOnceWhenTheStreamDeliversABatchThreeTimes(t *testing.T) {
	e := newEnv(t)
	scenario(e)
	all := e.records()
	batches, err := streamtest.Batches(all, e.batchSize, e.filters)
	if err != nil {
		t.Fatal(err)
	}
	var delivered []events.DynamoDBEventRecord
	for _, b := range batches {
		delivered = append(delivered, b...)
	}
	if len(delivered) != 3 {
		t.Fatalf("the template's FilterCriteria let %d records through, want 3 (code, advocate reward, ask): %v", len(delivered), keysOf(delivered))
	}

	h := e.handler(e.ses.Client)
	// Three deliveries of the same batches at once (a replay racing a retry), then three more
	// one after the other, then every record of the stream unfiltered.
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range batches {
				if resp := deliver(t, h, b); len(resp.BatchItemFailures) != 0 {
					t.Errorf("concurrent delivery failed %v", resp.BatchItemFailures)
				}
			}
		}()
	}
	wg.Wait()
	for range 3 {
		for _, b := range batches {
			if resp := deliver(t, h, b); len(resp.BatchItemFailures) != 0 {
				t.Fatalf("redelivery failed %v", resp.BatchItemFailures)
			}
		}
	}
	if resp := deliver(t, h, all); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("unfiltered delivery failed %v", resp.BatchItemFailures)
	}

	sent := e.sent()
	if len(sent) != 3 {
		t.Fatalf("SES received %d emails, want 3:\n%s", len(sent), subjects(sent))
	}
	got := byRecipient(sent)
	ana, cy := got["ana.souza@example.com"], got["cy.park@example.com"]
	if len(ana) != 2 || len(cy) != 1 {
		t.Fatalf("emails by recipient: %s", subjects(sent))
	}
	want := map[string]bool{ // the customer's language, names from the customers, the program's sender
		"Ana, here's your personal referral code": true,
		"Ana, thank you for referring Bo!":        true,
		"คุณCy ขอรบกวนสักนิดได้ไหม":               true,
	}
	for _, m := range sent {
		if !want[m.Subject] {
			t.Errorf("unexpected email %q to %v", m.Subject, m.Destination.To)
		}
		if m.From != `"Sam at Acme Coffee" <referrals@example.com>` {
			t.Errorf("From %q", m.From)
		}
		if m.Body.Text == "" || !strings.Contains(m.Body.HTML, "<html") {
			t.Errorf("%q: want a text and an HTML part", m.Subject)
		}
	}
	// Each email's marker holds the message id SES returned.
	ids := map[string]bool{}
	for _, m := range sent {
		ids[m.MessageID] = true
	}
	for _, r := range delivered {
		img, _ := store.FromStream(r.Change.NewImage)
		tmpl := map[string]string{store.TypeCode: email.AskPromoCode, store.TypeReward: email.ThanksLoyal, store.TypeAsk: email.AskPastClient}[img.Type()]
		m, found, err := e.store.EmailMarker(context.Background(), img.Key(), tmpl)
		if err != nil || !found || m.Status != store.EmailSent || !ids[m.MessageID] {
			t.Errorf("marker of %s/%s: %+v found=%v %v", img.Key(), tmpl, m, found, err)
		}
	}
}

func subjects(ms []sestest.Email) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "  %v: %s\n", m.Destination.To, m.Subject)
	}
	return b.String()
}

func keysOf(recs []events.DynamoDBEventRecord) []string {
	var out []string
	for _, r := range recs {
		img, _ := store.FromStream(r.Change.NewImage)
		out = append(out, r.EventName+" "+img.Key())
	}
	return out
}

func seqs(recs []events.DynamoDBEventRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Change.SequenceNumber)
	}
	return out
}

func failed(resp events.DynamoDBEventResponse) []string {
	out := []string{}
	for _, f := range resp.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	return out
}

// flakySES fails the calls whose numbers (1-based) are in fail with SES throttling, and
// passes the others to the real emulator.
type flakySES struct {
	email.SESAPI
	mu   sync.Mutex
	n    int
	fail map[int]bool
}

func (f *flakySES) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, o ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	f.mu.Lock()
	f.n++
	fail := f.fail[f.n]
	f.mu.Unlock()
	if fail {
		return nil, &types.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")}
	}
	return f.SESAPI.SendEmail(ctx, in, o...)
}

func TestSESOutageIsRetriedAndRecoverySendsEachEmailOnce(t *testing.T) {
	e := newEnv(t)
	scenario(e)
	var batch []events.DynamoDBEventRecord
	for _, b := range e.batches() {
		batch = append(batch, b...)
	}

	// SES unreachable: the first email fails, and it and every record after it are reported.
	resp := deliver(t, e.handler(sestest.Unreachable(t)), batch)
	if got, want := failed(resp), seqs(batch); !slices.Equal(got, want) {
		t.Fatalf("with SES down, batchItemFailures = %v, want every record %v", got, want)
	}
	if n := len(e.sent()); n != 0 {
		t.Fatalf("%d emails went out with SES down", n)
	}

	// SES throttles the second email: the first goes out, the rest is reported.
	flaky := &flakySES{SESAPI: e.ses.Client, fail: map[int]bool{2: true}}
	resp = deliver(t, e.handler(flaky), batch)
	if got, want := failed(resp), seqs(batch[1:]); !slices.Equal(got, want) {
		t.Fatalf("with the 2nd send throttled, batchItemFailures = %v, want %v", got, want)
	}
	if n := len(e.sent()); n != 1 {
		t.Fatalf("%d emails sent before the throttled one, want 1", n)
	}

	// Lambda retries from the first failed record, then the whole batch is replayed for good
	// measure: every email has gone out exactly once.
	h := e.handler(e.ses.Client)
	for _, recs := range [][]events.DynamoDBEventRecord{batch[1:], batch, batch} {
		if resp := deliver(t, h, recs); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("after recovery: %v", resp.BatchItemFailures)
		}
	}
	sent := e.sent()
	if len(sent) != 3 {
		t.Fatalf("after recovery SES has %d emails, want 3:\n%s", len(sent), subjects(sent))
	}
	seen := map[string]bool{}
	for _, m := range sent {
		k := m.Subject + "→" + strings.Join(m.Destination.To, ",")
		if seen[k] {
			t.Errorf("sent twice: %s", k)
		}
		seen[k] = true
	}
}

func TestARecordThatKeepsFailingStopsAfterTheConfiguredRetries(t *testing.T) {
	// The event source mapping retries, not the handler: template.yaml must bound it and send
	// what it gives up on somewhere an alarm watches.
	props := emailStreamEvent(t)
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	retries, _ := props["MaximumRetryAttempts"].(int64)
	age, _ := props["MaximumRecordAgeInSeconds"].(int64)
	if retries < 1 || retries > 10 {
		t.Errorf("MaximumRetryAttempts = %v, want a small bound (1–10)", props["MaximumRetryAttempts"])
	}
	if age < 60 || age > 86400 {
		t.Errorf("MaximumRecordAgeInSeconds = %v, want 60 s to a day", props["MaximumRecordAgeInSeconds"])
	}
	if props["BisectBatchOnFunctionError"] != true || !slices.Contains(props["FunctionResponseTypes"].([]any), any("ReportBatchItemFailures")) ||
		props["StartingPosition"] != "TRIM_HORIZON" || props["MaximumBatchingWindowInSeconds"] == nil {
		t.Errorf("stream event properties: %v", props)
	}
	dest, _ := props["DestinationConfig"].(map[string]any)["OnFailure"].(map[string]any)
	queue := getAttTarget(dest["Destination"])
	if tpl.Resources[queue].Type != "AWS::SQS::Queue" || dest["Type"] != "SQS" {
		t.Fatalf("OnFailure destination %v is not an SQS queue of the template", dest)
	}
	alarmed := false
	for _, r := range tpl.Resources {
		if r.Type == "AWS::CloudWatch::Alarm" && r.Properties["Namespace"] == "AWS/SQS" && strings.Contains(fmt.Sprint(r.Properties["Dimensions"]), queue) {
			alarmed = true
		}
	}
	if !alarmed {
		t.Errorf("no CloudWatch alarm watches %s", queue)
	}

	// The handler's side: it reports the record every time, so Lambda's retry count runs out.
	e := newEnv(t)
	scenario(e)
	batch := e.batches()[0][:1]
	h := e.handler(sestest.Unreachable(t))
	invocations, dlq := 0, []events.DynamoDBEventRecord(nil)
	for attempt := int64(0); ; attempt++ { // what the event source mapping does
		invocations++
		resp := deliver(t, h, batch)
		if len(resp.BatchItemFailures) == 0 {
			t.Fatal("the handler reported success with SES unreachable")
		}
		if attempt >= retries {
			dlq = append(dlq, batch...)
			break
		}
	}
	if invocations != int(retries)+1 || len(dlq) != 1 || len(e.sent()) != 0 {
		t.Fatalf("%d invocations, %d records given up, %d emails", invocations, len(dlq), len(e.sent()))
	}
	// The claim was released each time, so replaying the record from the stream (a redrive
	// from the on-failure queue's description) sends it at once, and once.
	good := e.handler(e.ses.Client)
	for range 2 {
		if resp := deliver(t, good, dlq); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("redrive: %v", resp.BatchItemFailures)
		}
	}
	if n := len(e.sent()); n != 1 {
		t.Fatalf("redrive sent %d emails, want 1", n)
	}
}

// tagString is an SES request's message tags as "name=value name=value".
func tagString(in *sesv2.SendEmailInput) string {
	var kv []string
	for _, tg := range in.EmailTags {
		kv = append(kv, aws.ToString(tg.Name)+"="+aws.ToString(tg.Value))
	}
	return strings.Join(kv, " ")
}

func getAttTarget(v any) string {
	m, _ := v.(map[string]any)
	l, _ := m["Fn::GetAtt"].([]any)
	if len(l) == 2 {
		s, _ := l[0].(string)
		return s
	}
	return ""
}

// rejectingSES refuses every email for good, naming the recipient in its message as SES does.
type rejectingSES struct {
	mu    sync.Mutex
	calls int
}

func (r *rejectingSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	r.mu.Lock()
	r.calls++
	r.mu.Unlock()
	return nil, &smithy.GenericAPIError{Code: "MessageRejected",
		Message: "Email address is not verified. The following identities failed the check in region US-EAST-1: " + in.Destination.ToAddresses[0]}
}

func TestPermanentRejectionsAreRecordedAndNotRetried(t *testing.T) {
	e := newEnv(t)
	scenario(e)
	batch := e.batches()[0]
	ses := &rejectingSES{}
	h := e.handler(ses)
	for range 2 {
		if resp := deliver(t, h, batch); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("a rejection was reported for retry: %v", resp.BatchItemFailures)
		}
	}
	if ses.calls != 3 {
		t.Errorf("SES was called %d times for 3 emails delivered twice, want 3", ses.calls)
	}
	img, _ := store.FromStream(batch[0].Change.NewImage)
	m, _, err := e.store.EmailMarker(context.Background(), img.Key(), email.AskPromoCode)
	if err != nil || m.Status != store.EmailRejected || m.Reason != "MessageRejected" {
		t.Errorf("marker after rejection: %+v %v", m, err)
	}
	if !strings.Contains(e.log.String(), "<address>") {
		t.Errorf("the rejection was not logged (with the address redacted):\n%s", e.log.String())
	}
	// checkLogsHaveNoAddresses (at cleanup) holds the logs to having no address at all.
}

func TestOptedOutCustomersGetNoAskEmail(t *testing.T) {
	e := newEnv(t)
	e.putProgram(demoProgram())
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza", "purchaseCount": 3})
	e.putCustomer("di", map[string]any{"email": "di@example.com", "name": "Di", "marketingOptOut": true})

	// The API refuses to ask an opted-out customer.
	if st, b := e.ask("di", ""); st != 422 || b["error"].(map[string]any)["code"] != "opted_out" {
		t.Fatalf("ask di: %d %v", st, b)
	}
	// ana is asked, then unsubscribes (from an earlier email) before the stream delivers.
	if st, b := e.ask("ana", ""); st != 202 {
		t.Fatalf("ask ana: %d %v", st, b)
	}
	link := e.signer.URL(publicURL, "ana")
	u, _ := url.Parse(link)
	if st, _ := e.call("POST /unsubscribe", nil, u.RequestURI(), nil); st != 200 {
		t.Fatalf("unsubscribe: %d", st)
	}
	// An opted-out customer's new code sends no ask-promo-code either.
	e.createCode("di", "")

	h := e.handler(e.ses.Client)
	for _, b := range e.batches() {
		if resp := deliver(t, h, b); len(resp.BatchItemFailures) != 0 {
			t.Fatal(resp.BatchItemFailures)
		}
	}
	if sent := e.sent(); len(sent) != 0 {
		t.Fatalf("opted-out customers were sent:\n%s", subjects(sent))
	}

	// A thank-you is not marketing: ana still hears that she earned her reward.
	code := e.createCode("ana", "ANA-DEMO")
	e.refer(code, "bo")
	e.convert("order-1", "bo", "purchase")
	for _, b := range e.batches() {
		deliver(t, h, b)
	}
	sent := e.sent()
	if len(sent) != 1 || sent[0].Header("List-Unsubscribe") != "" || !strings.Contains(sent[0].Body.Text, "Bo") {
		t.Fatalf("after opting out, want just the thank-you:\n%s", subjects(sent))
	}
}

func TestAskEmailsCarryOneClickUnsubscribe(t *testing.T) {
	e := newEnv(t)
	scenario(e)
	rec := &recordingSES{SESAPI: e.ses.Client}
	h := e.handler(rec)
	h.Sender.(*email.SES).ConfigurationSet = "referrals"
	for _, b := range e.batches() {
		deliver(t, h, b)
	}
	sent := e.sent()
	if len(sent) != 3 {
		t.Fatalf("%d emails:\n%s", len(sent), subjects(sent))
	}
	for _, m := range sent {
		lu := m.Header("List-Unsubscribe")
		if strings.Contains(m.Body.Text, "Thank you for introducing") { // the thank-you
			if lu != "" || m.Header("List-Unsubscribe-Post") != "" || strings.Contains(m.Body.Text, "/unsubscribe") {
				t.Errorf("the thank-you %q carries unsubscribe headers or link", m.Subject)
			}
			continue
		}
		if !strings.HasPrefix(lu, "<"+publicURL+"/unsubscribe?") || !strings.HasSuffix(lu, ">") {
			t.Errorf("%q: List-Unsubscribe %q", m.Subject, lu)
			continue
		}
		if got := m.Header("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
			t.Errorf("List-Unsubscribe-Post %q", got)
		}
		link := strings.Trim(lu, "<>")
		htmlLink := strings.ReplaceAll(link, "&", "&amp;")
		if !strings.Contains(m.Body.Text, link) || !strings.Contains(m.Body.HTML, `href="`+htmlLink+`"`) {
			t.Errorf("%q: the unsubscribe link is not visible in both parts", m.Subject)
		}
		// The link works: a mail client's one-click POST opts the recipient out.
		u, _ := url.Parse(link)
		if st, _ := e.call("POST /unsubscribe", nil, u.RequestURI(), nil); st != 200 {
			t.Errorf("one-click POST %s: %d", u.RequestURI(), st)
		}
		c := u.Query().Get("c")
		_, out := e.call("GET /customers/{customerId}", map[string]string{"customerId": c}, "/customers/"+c, nil)
		if out["marketingOptOut"] != true {
			t.Errorf("%s is not opted out after the one-click POST", c)
		}
	}
	// Exactly the two asks carry the headers; the thank-you does not.
	withHeader := 0
	for _, m := range sent {
		if m.Header("List-Unsubscribe") != "" {
			withHeader++
		}
	}
	if withHeader != 2 {
		t.Errorf("%d emails carry List-Unsubscribe, want the 2 asks", withHeader)
	}
	// What the emulator does not keep: tags and the configuration set.
	var tags []string
	for _, in := range rec.inputs() {
		if aws.ToString(in.ConfigurationSetName) != "referrals" {
			t.Errorf("configuration set %q", aws.ToString(in.ConfigurationSetName))
		}
		tags = append(tags, tagString(in))
	}
	sort.Strings(tags)
	want := []string{"program=demo template=ask-past-client", "program=demo template=ask-promo-code", "program=demo template=thanks-loyal"}
	if !slices.Equal(tags, want) {
		t.Errorf("message tags %v, want %v", tags, want)
	}
}

func TestThankYouTemplateFollowsTheAdvocatesHistory(t *testing.T) {
	e := newEnv(t)
	e.putProgram(demoProgram()) // loyal: 2 purchases, or a customer for 365 days
	now := e.clock.now()
	advocates := []struct {
		id   string
		body map[string]any
		want string
	}{
		{"many", map[string]any{"purchaseCount": 2}, email.ThanksLoyal},
		{"longago", map[string]any{"purchaseCount": 1, "firstPurchaseAt": now.AddDate(-1, 0, -1).Format("2006-01-02T15:04:05Z")}, email.ThanksLoyal},
		{"recent", map[string]any{"purchaseCount": 1, "firstPurchaseAt": now.AddDate(0, -1, 0).Format("2006-01-02T15:04:05Z")}, email.ThanksOneTime},
		{"new", map[string]any{}, email.ThanksOneTime},
	}
	for i, a := range advocates {
		body := map[string]any{"email": a.id + "@example.org", "name": strings.ToUpper(a.id[:1]) + a.id[1:], "locale": "ms"}
		for k, v := range a.body {
			body[k] = v
		}
		e.putCustomer(a.id, body)
		code := e.createCode(a.id, "")
		referee := fmt.Sprintf("friend%d", i)
		e.refer(code, referee)
		e.convert("order-"+referee, referee, "purchase")
	}
	rec := &recordingSES{SESAPI: e.ses.Client}
	h := e.handler(rec)
	for _, b := range e.batches() {
		if resp := deliver(t, h, b); len(resp.BatchItemFailures) != 0 {
			t.Fatal(resp.BatchItemFailures)
		}
	}
	got := map[string]string{}
	for _, in := range rec.inputs() {
		tmpl := ""
		for _, tg := range in.EmailTags {
			if aws.ToString(tg.Name) == "template" {
				tmpl = aws.ToString(tg.Value)
			}
		}
		if strings.HasPrefix(tmpl, "thanks-") {
			got[strings.TrimSuffix(in.Destination.ToAddresses[0], "@example.org")] = tmpl
			text := aws.ToString(in.Content.Simple.Body.Text.Data)
			if !strings.Contains(text, "kad hadiah bernilai US$10") || !strings.Contains(text, "Friend") {
				t.Errorf("%s: the Malay thank-you does not name the reward and the friend:\n%s", tmpl, text)
			}
		}
	}
	for _, a := range advocates {
		if got[a.id] != a.want {
			t.Errorf("%s: %q, want %s", a.id, got[a.id], a.want)
		}
	}
}

func TestProgramsThatDoNotEmailSendNothing(t *testing.T) {
	e := newEnv(t)
	p := demoProgram()
	p["emails"] = map[string]any{"sendOnCodeCreated": false, "thankAdvocates": false}
	e.putProgram(p)
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza"})
	code := e.createCode("ana", "")
	e.refer(code, "bo")
	e.convert("order-1", "bo", "purchase")
	for _, b := range e.batches() {
		deliver(t, e.handler(e.ses.Client), b)
	}
	if sent := e.sent(); len(sent) != 0 {
		t.Fatalf("sent:\n%s", subjects(sent))
	}
}

func TestAPromoCodeAskThatCreatesTheCodeSendsOneEmail(t *testing.T) {
	e := newEnv(t)
	e.putProgram(demoProgram()) // sendOnCodeCreated: the new code's insert sends ask-promo-code
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza"})
	if st, b := e.ask("ana", email.AskPromoCode); st != 202 {
		t.Fatalf("ask: %d %v", st, b)
	}
	h := e.handler(e.ses.Client)
	for _, b := range e.batches() {
		deliver(t, h, b)
	}
	sent := e.sent()
	if len(sent) != 1 || !strings.Contains(sent[0].Body.Text, "https://shop.example.com/invite?ref=") {
		t.Fatalf("want one ask-promo-code with the share link:\n%s", subjects(sent))
	}
}

// TestSampleStreamEvents runs the stream samples of events/ (the ones `sam local invoke
// EmailFunction -e events/<file>` uses) through the handler, in the state they describe:
// program demo (events/programs-put.json), customers ana (events/customers-put.json) and bo.
func TestSampleStreamEvents(t *testing.T) {
	tests := []struct {
		file     string
		filtered bool   // passes the template's FilterCriteria
		to       string // "" = no email
		template string
	}{
		{"email-code-insert.json", true, "ana.souza@gmail.com", email.AskPromoCode},
		{"email-ask-insert.json", true, "bo.chen@example.com", email.AskCurrent},
		{"email-reward-insert.json", true, "ana.souza@gmail.com", email.ThanksLoyal},
		{"email-modify.json", false, "", ""},
		{"email-remove.json", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".json"), func(t *testing.T) {
			e := newEnv(t)
			e.putProgram(apiSampleBody(t, "programs-put.json"))
			e.putCustomer("ana", apiSampleBody(t, "customers-put.json"))
			e.putCustomer("bo", map[string]any{"email": "bo.chen@example.com", "name": "Bo Chen", "locale": "en"})
			ev := streamSample(t, tt.file)
			for _, r := range ev.Records {
				ok, err := streamtest.Match(e.filters, r)
				if err != nil || ok != tt.filtered {
					t.Errorf("FilterCriteria match = %v (%v), want %v", ok, err, tt.filtered)
				}
			}
			rec := &recordingSES{SESAPI: e.ses.Client}
			for range 2 {
				if resp := deliver(t, e.handler(rec), ev.Records); len(resp.BatchItemFailures) != 0 {
					t.Fatal(resp.BatchItemFailures)
				}
			}
			sent := e.sent()
			if tt.to == "" {
				if len(sent) != 0 {
					t.Fatalf("sent:\n%s", subjects(sent))
				}
				return
			}
			if len(sent) != 1 || sent[0].Destination.To[0] != tt.to {
				t.Fatalf("want one email to %s:\n%s", tt.to, subjects(sent))
			}
			if tags := tagString(rec.inputs()[0]); !strings.Contains(tags, "template="+tt.template) {
				t.Errorf("template tag %s, want %s", tags, tt.template)
			}
		})
	}
}

func streamSample(t *testing.T, name string) events.DynamoDBEvent {
	t.Helper()
	var ev events.DynamoDBEvent
	if err := samtemplate.DecodeEvent(name, &ev); err != nil {
		t.Fatalf("not a DynamoDB stream event: %v", err)
	}
	return ev
}

// apiSampleBody is the JSON body of an HTTP API sample event of events/.
func apiSampleBody(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samtemplate.EventsDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(ev.Body), &body); err != nil {
		t.Fatal(err)
	}
	return body
}

// TestEmailFunctionMaySendOnlyAsTheSender holds the email function's policy to least privilege:
// ses:SendEmail alone, on the sender's identity (and configuration set), never on "*".
func TestEmailFunctionMaySendOnlyAsTheSender(t *testing.T) {
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	fn := tpl.Functions()["EmailFunction"]
	var ses []map[string]any
	for _, p := range fn.Properties["Policies"].([]any) {
		pm, ok := p.(map[string]any)
		if !ok {
			t.Errorf("policy %v: want inline statements only", p)
			continue
		}
		for _, st := range pm["Statement"].([]any) {
			sm := st.(map[string]any)
			actions := fmt.Sprint(sm["Action"])
			if strings.Contains(actions, "*") || fmt.Sprint(sm["Resource"]) == "*" {
				t.Errorf("statement %v uses a wildcard", sm)
			}
			if strings.Contains(actions, "ses:") {
				ses = append(ses, sm)
			}
		}
	}
	if len(ses) != 1 || fmt.Sprint(ses[0]["Action"]) != "[ses:SendEmail]" {
		t.Fatalf("SES statements %v, want one allowing ses:SendEmail", ses)
	}
	res := fmt.Sprint(ses[0]["Resource"])
	for _, want := range []string{":identity/${SenderEmail}", ":identity/${Domain}", ":configuration-set/${ConfigurationSetName}"} {
		if !strings.Contains(res, want) {
			t.Errorf("ses:SendEmail resources %s lack %s", res, want)
		}
	}
	env, _ := fn.Properties["Environment"].(map[string]any)["Variables"].(map[string]any)
	for _, name := range []string{"SENDER_EMAIL", "CONFIGURATION_SET_NAME", "PUBLIC_API_URL", "UNSUBSCRIBE_SECRET_ARN"} {
		if _, ok := env[name]; !ok {
			t.Errorf("EmailFunction does not set %s", name)
		}
	}
}

// TestContestPrizesAreThankedLikeReferralRewards: a contest prize goes through the ledger,
// and its reward insert sends the advocate a thank-you that names the prize and thanks them
// for their friends (there is no one referee to name).
func TestContestPrizesAreThankedLikeReferralRewards(t *testing.T) {
	e := newEnv(t)
	e.putProgram(demoProgram())
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza", "locale": "en"})
	e.records() // the program and customer writes send nothing
	prize := referral.Reward{RewardID: referral.NewID(e.clock.now()), ProgramID: "demo", CustomerID: "ana",
		Role: referral.RoleAdvocate, Milestone: "contest", Rule: "contest", Kind: "gift_card",
		Value: &referral.Money{Amount: 10000, Currency: "USD"}, Description: "Top referrer of the month",
		Status: referral.RewardPending, CreatedAt: e.clock.now(), AvailableAt: e.clock.now()}
	if _, closed, err := e.store.SaveContest(context.Background(), store.Contest{ProgramID: "demo", Period: "2026-10",
		ClosedAt: e.clock.now(), Awards: []store.ContestAward{{Rank: 1, CustomerID: "ana", Conversions: 7, RewardID: prize.RewardID}},
		Rewards: []referral.Reward{prize}}); err != nil || !closed {
		t.Fatalf("close contest: %v %v", closed, err)
	}
	h := e.handler(e.ses.Client)
	for _, b := range e.batches() {
		if resp := deliver(t, h, b); len(resp.BatchItemFailures) != 0 {
			t.Fatal(resp.BatchItemFailures)
		}
	}
	sent := e.ses.Emails(t)
	if len(sent) != 1 {
		t.Fatalf("want one thank-you for the prize, got %d: %s", len(sent), subjects(sent))
	}
	text := sent[0].Body.Text
	if !strings.Contains(text, "your friends") || !strings.Contains(text, "$100") {
		t.Fatalf("the prize thank-you should thank for the friends and name the prize:\n%s", text)
	}
}
