package email_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamotypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/referral/referrals/devkit/samtemplate"
	"github.com/referral/referrals/devkit/sestest"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/shared/email"
	"github.com/referral/referrals/shared/feedback"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// hold is the demo program's hold: a reward is approved once it has passed.
const hold = 15 * 24 * time.Hour

// approveAll approves every reward of customer that is not approved yet (after its hold, or
// from review), as the scheduler and the admin do, and returns their ids.
func (e *env) approveAll(customer string) []string {
	e.t.Helper()
	var ids []string
	for _, r := range e.rewardsOf(customer) {
		if st := r["status"]; st == "pending" || st == "review" || st == "approved" {
			e.approve(r["rewardId"].(string))
			ids = append(ids, r["rewardId"].(string))
		}
	}
	return ids
}

// scenario writes, through the API, what makes the stream function send three emails: ana's
// new code (ask-promo-code), the thank-you to ana for bo's purchase once her reward is approved
// (ana has 3 purchases: thanks-loyal), and an ask to cy, a past client who reads Thai and has
// no code yet (ask-past-client, with the code the ask created). It also writes items that send
// nothing: customers, the referral (the program does not welcome friends), the conversions,
// the rewards while held, bo's own reward, cy's code, and the counters.
func scenario(e *env) {
	e.t.Helper()
	e.putProgram(demoProgram())
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza", "purchaseCount": 3})
	e.putCustomer("cy", map[string]any{"email": "cy.park@example.com", "name": "Cy Park", "segment": "past", "locale": "th-TH"})
	code := e.createCode("ana", "ANA-DEMO")
	e.refer(code, "bo")
	e.convert("order-1", "bo", "signup")   // bo's $10 discount: a referee reward, no email
	e.convert("order-2", "bo", "purchase") // ana's $10 gift card, held 14 days
	e.clock.advance(hold)
	e.approveAll("ana") // thanks-loyal
	if st, b := e.ask("cy", ""); st != 202 || b["template"] != referral.EmailAskPastClient {
		e.t.Fatalf("ask cy: %d %v", st, b)
	}
}

// byRecipient indexes the emulator's emails by recipient.
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
	// ana's code, bo's referral, ana's reward approved, cy's ask: the filter keeps out the rest
	// (held rewards, cy's code made by the ask, every change that is not an approval).
	if len(delivered) != 4 {
		t.Fatalf("the template's FilterCriteria let %d records through, want 4: %v", len(delivered), keysOf(delivered))
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
		"Ana, thank you for introducing Bo!":      true,
		"คุณ Cy ขอรบกวนสักนิดได้ไหม":              true,
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
	// Each email's marker holds the message id SES returned: per code, per ask, and per
	// conversion for the thank-you.
	ids := map[string]bool{}
	for _, m := range sent {
		ids[m.MessageID] = true
	}
	askKey := ""
	for _, r := range delivered {
		if img, _ := store.FromStream(r.Change.NewImage); img.Type() == store.TypeAsk {
			askKey = img.Key()
		}
	}
	for _, mk := range [][2]string{{"CODE#ANA-DEMO|CODE", referral.EmailAskPromoCode}, {store.ConversionKey("order-2"), "thanks"}, {askKey, referral.EmailAskPastClient}} {
		m, found, err := e.store.EmailMarker(context.Background(), mk[0], mk[1])
		if err != nil || !found || m.Status != store.EmailSent || !ids[m.MessageID] {
			t.Errorf("marker of %s/%s: %+v found=%v %v", mk[0], mk[1], m, found, err)
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

// emailing keeps the records that send an email, so that failures line up with them.
func (e *env) emailing() []events.DynamoDBEventRecord {
	e.t.Helper()
	var out []events.DynamoDBEventRecord
	for _, b := range e.batches() {
		for _, r := range b {
			img, _ := store.FromStream(r.Change.NewImage)
			if img.Type() != store.TypeReferral {
				out = append(out, r)
			}
		}
	}
	return out
}

func TestSESOutageIsRetriedAndRecoverySendsEachEmailOnce(t *testing.T) {
	e := newEnv(t)
	scenario(e)
	batch := e.emailing()

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
	batch := e.emailing()[:1]
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

func templateOf(in *sesv2.SendEmailInput) string {
	for _, tg := range in.EmailTags {
		if aws.ToString(tg.Name) == "template" {
			return aws.ToString(tg.Value)
		}
	}
	return ""
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
	batch := e.emailing()
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
	m, _, err := e.store.EmailMarker(context.Background(), img.Key(), referral.EmailAskPromoCode)
	if err != nil || m.Status != store.EmailRejected || m.Reason != "MessageRejected" {
		t.Errorf("marker after rejection: %+v %v", m, err)
	}
	if !strings.Contains(e.log.String(), "<address>") {
		t.Errorf("the rejection was not logged (with the address redacted):\n%s", e.log.String())
	}
	// checkLogsHaveNoAddresses (at cleanup) holds the logs to having no address at all.
}

// TestAHeldRewardSendsNothingUntilApprovedThenOneEmail: a reward in its hold, or held for
// review, is not thanked for; the write that approves it sends one thank-you, and replays send
// no second one.
func TestAHeldRewardSendsNothingUntilApprovedThenOneEmail(t *testing.T) {
	e := newEnv(t)
	p := demoProgram()
	p["emails"].(map[string]any)["sendOnCodeCreated"] = false
	p["limits"] = map[string]any{"maxConversionsPerAdvocatePerDay": 1} // a second conversion today goes to review
	e.putProgram(p)
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza", "purchaseCount": 3})
	code := e.createCode("ana", "")
	e.refer(code, "bo")
	e.refer(code, "di")
	e.convert("order-bo", "bo", "purchase") // pending for 14 days
	e.convert("order-di", "di", "purchase") // over the velocity limit: review
	h := e.handler(e.ses.Client)
	var seen []events.DynamoDBEventRecord
	deliverAndKeep := func() {
		for _, b := range e.batches() {
			seen = append(seen, b...)
			if resp := deliver(t, h, b); len(resp.BatchItemFailures) != 0 {
				t.Fatal(resp.BatchItemFailures)
			}
		}
	}
	deliverAndKeep()
	statuses := map[string]string{}
	for _, r := range e.rewardsOf("ana") {
		statuses[r["eventId"].(string)] = r["status"].(string)
	}
	if statuses["order-bo"] != "pending" || statuses["order-di"] != "review" {
		t.Fatalf("reward statuses %v, want pending and review", statuses)
	}
	if sent := e.sent(); len(sent) != 0 {
		t.Fatalf("held rewards were thanked for:\n%s", subjects(sent))
	}

	// The admin approves the one in review: one thank-you, for di.
	for _, r := range e.rewardsOf("ana") {
		if r["status"] == "review" {
			e.approve(r["rewardId"].(string))
		}
	}
	deliverAndKeep()
	sent := e.sent()
	if len(sent) != 1 || !strings.Contains(sent[0].Subject, "Di") {
		t.Fatalf("after approving the reward in review, want one thank-you for Di:\n%s", subjects(sent))
	}

	// The hold ends: nothing until a write approves it; then one thank-you, for bo.
	e.clock.advance(hold)
	deliverAndKeep()
	if n := len(e.sent()); n != 1 {
		t.Fatalf("the end of a hold, unwritten, sent %d emails", n)
	}
	e.approveAll("ana")
	deliverAndKeep()
	sent = e.sent()
	if len(sent) != 2 || !strings.Contains(sent[1].Subject, "Bo") {
		t.Fatalf("after the hold and its approval, want a second thank-you for Bo:\n%s", subjects(sent))
	}
	// Replays of everything the stream delivered send nothing more.
	for range 2 {
		deliver(t, h, seen)
	}
	if n := len(e.sent()); n != 2 {
		t.Fatalf("replays sent %d emails, want still 2", n)
	}
}

// TestAConversionWithTwoRewardsSendsOneEmail: a tier reward and a threshold bonus of the same
// conversion are thanked for in one email that names both, once both are approved.
func TestAConversionWithTwoRewardsSendsOneEmail(t *testing.T) {
	e := newEnv(t)
	p := demoProgram()
	p["holdDays"] = 0
	p["emails"].(map[string]any)["sendOnCodeCreated"] = false
	p["advocateRewards"] = []any{
		map[string]any{"milestone": "purchase", "type": "tiered", "tiers": []any{map[string]any{"upTo": 5, "amount": 1000}, map[string]any{"amount": 2500}}, "kind": "gift_card"},
		map[string]any{"milestone": "purchase", "type": "threshold", "atCount": 1, "kind": "upgrade", "description": "VIP for a year"},
	}
	e.putProgram(p)
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza", "purchaseCount": 3})
	e.refer(e.createCode("ana", ""), "bo")
	out := e.convert("order-1", "bo", "purchase")
	if n := len(out["rewards"].([]any)); n != 2 {
		t.Fatalf("the conversion created %d rewards, want 2", n)
	}
	h := e.handler(e.ses.Client)
	ids := e.approveAll("ana")
	if len(ids) != 2 {
		t.Fatalf("approved %d rewards, want 2", len(ids))
	}
	e.deliverAll(h)
	sent := e.sent()
	if len(sent) != 1 {
		t.Fatalf("two rewards of one conversion sent %d emails, want 1:\n%s", len(sent), subjects(sent))
	}
	if !strings.Contains(sent[0].Body.Text, "you've earned a $10 gift card and VIP for a year.") {
		t.Errorf("the thank-you does not name both rewards:\n%s", sent[0].Body.Text)
	}
}

// TestThankYousWaitForTheConversionsOtherReward: when one reward of a conversion is approved
// and the other still held, nothing goes out; the second approval sends the one email.
func TestThankYousWaitForTheConversionsOtherReward(t *testing.T) {
	e := newEnv(t)
	p := demoProgram() // held 14 days
	p["emails"].(map[string]any)["sendOnCodeCreated"] = false
	p["advocateRewards"] = []any{
		map[string]any{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "gift_card"},
		map[string]any{"milestone": "purchase", "type": "threshold", "atCount": 1, "kind": "donation", "amount": 500, "charity": "Red Cross"},
	}
	e.putProgram(p)
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza"})
	e.refer(e.createCode("ana", ""), "bo")
	e.convert("order-1", "bo", "purchase")
	h := e.handler(e.ses.Client)
	e.clock.advance(hold)
	rewards := e.rewardsOf("ana")
	e.approve(rewards[0]["rewardId"].(string))
	e.deliverAll(h)
	if sent := e.sent(); len(sent) != 0 {
		t.Fatalf("sent before the second reward was approved:\n%s", subjects(sent))
	}
	e.approve(rewards[1]["rewardId"].(string))
	e.deliverAll(h)
	sent := e.sent()
	if len(sent) != 1 || !strings.Contains(sent[0].Body.Text, "you've earned a $10 gift card, and we've donated $5 to Red Cross in your name.") {
		t.Fatalf("want one thank-you naming the gift card and the donation:\n%s\n%v", subjects(sent), sent)
	}
}

// TestMultiStepProgramsThankForEachMilestoneByName: three milestones, three thank-yous, each
// saying which step the friend took.
func TestMultiStepProgramsThankForEachMilestoneByName(t *testing.T) {
	e := newEnv(t)
	p := demoProgram()
	p["holdDays"] = 0
	p["milestones"] = []string{"demo", "training", "purchase"}
	p["advocateRewards"] = []any{
		map[string]any{"milestone": "demo", "type": "fixed", "amount": 1000, "kind": "gift_card"},
		map[string]any{"milestone": "training", "type": "fixed", "amount": 1000, "kind": "gift_card"},
		map[string]any{"milestone": "purchase", "type": "fixed", "amount": 2500, "kind": "gift_card"},
	}
	p["refereeRewards"] = []any{}
	p["emails"].(map[string]any)["sendOnCodeCreated"] = false
	e.putProgram(p)
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza", "purchaseCount": 3})
	e.refer(e.createCode("ana", ""), "bo")
	for _, m := range []string{"demo", "training", "purchase"} {
		e.convert("bo-"+m, "bo", m)
	}
	e.approveAll("ana")
	e.deliverAll(e.handler(e.ses.Client))
	sent := e.sent()
	if len(sent) != 3 {
		t.Fatalf("%d emails, want 3:\n%s", len(sent), subjects(sent))
	}
	var texts []string
	for _, m := range sent {
		texts = append(texts, m.Body.Text)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"Bo has just booked a demo. As a thank-you, you've earned a $10 gift card.",
		"Bo has just completed their training. As a thank-you, you've earned a $10 gift card.",
		"Bo has just made their first purchase. As a thank-you, you've earned a $25 gift card."} {
		if !strings.Contains(all, want) {
			t.Errorf("no thank-you says %q:\n%s", want, all)
		}
	}
}

// TestAnAskToACustomerWithoutACodeCarriesANewCodeAndLink: every ask template gives the
// customer a code (created by the ask, with the code rules) and its share link, and the
// friend's offer; the new code sends no second email of its own.
func TestAnAskToACustomerWithoutACodeCarriesANewCodeAndLink(t *testing.T) {
	for _, tmpl := range []string{referral.EmailAskCurrent, referral.EmailAskPastClient, referral.EmailAskPromoCode} {
		t.Run(tmpl, func(t *testing.T) {
			e := newEnv(t)
			e.putProgram(demoProgram()) // sendOnCodeCreated: a code made by hand would email too
			e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza"})
			if st, b := e.ask("ana", tmpl); st != 202 {
				t.Fatalf("ask: %d %v", st, b)
			}
			code := e.createCode("ana", "") // the code the ask made, as the API returns it now
			e.deliverAll(e.handler(e.ses.Client))
			sent := e.sent()
			if len(sent) != 1 {
				t.Fatalf("want one email, got:\n%s", subjects(sent))
			}
			text := sent[0].Body.Text
			for _, want := range []string{code, "https://shop.example.com/invite?ref=" + code, "They'll get a $10 discount when they sign up",
				"you'll get a $10 gift card when they make their first purchase"} {
				if !strings.Contains(text, want) {
					t.Errorf("the ask lacks %q:\n%s", want, text)
				}
			}
			if tmpl == referral.EmailAskPromoCode && !strings.Contains(sent[0].Subject, "here's your personal referral code") {
				t.Errorf("a new code is not announced as new: %q", sent[0].Subject)
			}
		})
	}
}

// TestAskPromoCodeToAnAdvocateWhoHasACode reads as a reminder of the code, not a new one.
func TestAskPromoCodeToAnAdvocateWhoHasACode(t *testing.T) {
	e := newEnv(t)
	p := demoProgram()
	p["emails"].(map[string]any)["sendOnCodeCreated"] = false
	e.putProgram(p)
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza"})
	code := e.createCode("ana", "ANA-DEMO")
	if st, b := e.ask("ana", ""); st != 202 || b["template"] != referral.EmailAskPromoCode {
		t.Fatalf("ask: %d %v", st, b)
	}
	e.deliverAll(e.handler(e.ses.Client))
	sent := e.sent()
	if len(sent) != 1 || sent[0].Subject != "Ana, your referral code is ready to share" || strings.Contains(sent[0].Body.Text, "Here's your personal referral code") ||
		!strings.Contains(sent[0].Body.Text, code) {
		t.Fatalf("want a reminder of the code:\n%s\n%v", subjects(sent), sent)
	}
}

func TestOptedOutCustomersGetNothingButRewardReady(t *testing.T) {
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
	e.deliverAll(h)
	if sent := e.sent(); len(sent) != 0 {
		t.Fatalf("opted-out customers were sent:\n%s", subjects(sent))
	}

	// A thank-you carries a share link: it is marketing, and ana opted out.
	code := e.createCode("ana", "")
	e.refer(code, "bo")
	e.convert("order-1", "bo", "purchase")
	e.clock.advance(hold)
	ids := e.approveAll("ana")
	e.deliverAll(h)
	if sent := e.sent(); len(sent) != 0 {
		t.Fatalf("an opted-out advocate was thanked:\n%s", subjects(sent))
	}
	// Delivering her reward is not marketing: reward-ready reaches her, with the gift card's code.
	e.must("POST /rewards/{rewardId}/fulfill", map[string]string{"rewardId": ids[0]}, "/rewards/"+ids[0]+"/fulfill", map[string]any{"reference": "GC-1234-5678"})
	e.deliverAll(h)
	sent := e.sent()
	if len(sent) != 1 || sent[0].Subject != "Ana, your reward is ready" || sent[0].Header("List-Unsubscribe") != "" ||
		!strings.Contains(sent[0].Body.Text, "GC-1234-5678") || !strings.Contains(sent[0].Body.Text, "a $10 gift card is ready for you") {
		t.Fatalf("after opting out, want just reward-ready:\n%s", subjects(sent))
	}
}

// TestMarketingEmailsCarryOneClickUnsubscribeAndReplyTo: every marketing email (asks and
// thank-yous) has List-Unsubscribe with One-Click and a visible link that works; every email
// has the business's Reply-To and names the business and its address in the footer.
func TestMarketingEmailsCarryOneClickUnsubscribeAndReplyTo(t *testing.T) {
	e := newEnv(t)
	scenario(e)
	rec := &recordingSES{SESAPI: e.ses.Client}
	h := e.handler(rec)
	h.Sender.(*email.SES).ConfigurationSet = "referrals"
	e.deliverAll(h)
	sent := e.sent()
	if len(sent) != 3 {
		t.Fatalf("%d emails:\n%s", len(sent), subjects(sent))
	}
	for _, m := range sent {
		if !slices.Equal(m.ReplyTo, []string{"hello@acme.example.com"}) {
			t.Errorf("%q: Reply-To %v", m.Subject, m.ReplyTo)
		}
		if !strings.Contains(m.Body.Text, "Acme Coffee · 1 Main Street, Springfield") || !strings.Contains(m.Body.HTML, "Acme Coffee · 1 Main Street, Springfield") {
			t.Errorf("%q: the footer does not name the business and its address:\n%s", m.Subject, m.Body.Text)
		}
		lu := m.Header("List-Unsubscribe")
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
	p := demoProgram()
	p["holdDays"] = 0
	p["emails"].(map[string]any)["loyalAfterPurchases"] = 0 // the defaults: 2 purchases or a year
	p["emails"].(map[string]any)["loyalAfterDays"] = 0
	e.putProgram(p)
	now := e.clock.now()
	advocates := []struct {
		id   string
		body map[string]any
		want string
	}{
		{"many", map[string]any{"purchaseCount": 6, "firstPurchaseAt": "2024-02-01T00:00:00Z"}, referral.EmailThanksLoyal},
		{"two", map[string]any{"purchaseCount": 2}, referral.EmailThanksLoyal},
		{"longago", map[string]any{"purchaseCount": 1, "firstPurchaseAt": now.AddDate(-1, 0, -1).Format("2006-01-02T15:04:05Z")}, referral.EmailThanksLoyal},
		{"recent", map[string]any{"purchaseCount": 1, "firstPurchaseAt": now.AddDate(0, -1, 0).Format("2006-01-02T15:04:05Z")}, referral.EmailThanksOneTime},
		{"new", map[string]any{}, referral.EmailThanksOneTime},
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
		e.approveAll(a.id)
	}
	rec := &recordingSES{SESAPI: e.ses.Client}
	e.deliverAll(e.handler(rec))
	got := map[string]string{}
	for _, in := range rec.inputs() {
		tmpl := templateOf(in)
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
	p["holdDays"] = 0
	p["emails"] = map[string]any{"sendOnCodeCreated": false, "thankAdvocates": false, "welcomeFriends": false}
	e.putProgram(p)
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza"})
	code := e.createCode("ana", "")
	e.refer(code, "bo")
	e.convert("order-1", "bo", "purchase")
	e.approveAll("ana")
	e.deliverAll(e.handler(e.ses.Client))
	if sent := e.sent(); len(sent) != 0 {
		t.Fatalf("sent:\n%s", subjects(sent))
	}
}

// TestFriendWelcomeGreetsTheReferee: with emails.welcomeFriends, the referee hears who
// referred them and what they get, in their language, with the advocate's link.
func TestFriendWelcomeGreetsTheReferee(t *testing.T) {
	e := newEnv(t)
	p := demoProgram()
	p["emails"].(map[string]any)["welcomeFriends"] = true
	p["emails"].(map[string]any)["sendOnCodeCreated"] = false
	e.putProgram(p)
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza"})
	code := e.createCode("ana", "ANA-DEMO")
	e.must("POST /referrals", nil, "/referrals", map[string]any{"code": code, "channel": "email",
		"referee": map[string]any{"id": "bo", "email": "bo.friend@example.net", "name": "Bo Chen", "locale": "zh-CN"}})
	h := e.handler(e.ses.Client)
	e.deliverAll(h)
	e.deliverAll(h)
	sent := e.sent()
	if len(sent) != 1 || sent[0].Destination.To[0] != "bo.friend@example.net" {
		t.Fatalf("want one welcome to bo:\n%s", subjects(sent))
	}
	if sent[0].Subject != "Bo，Ana送您一份见面礼" || !strings.Contains(sent[0].Body.Text, "您注册后下单可立减 US$10。") ||
		!strings.Contains(sent[0].Body.Text, "https://shop.example.com/invite?ref=ANA-DEMO") || sent[0].Header("List-Unsubscribe") == "" {
		t.Errorf("friend-welcome:\n%s\n%s", sent[0].Subject, sent[0].Body.Text)
	}
}

// TestRewardReadyWhenTheRewardIsFulfilled: fulfilling a reward tells its owner, once.
func TestRewardReadyWhenTheRewardIsFulfilled(t *testing.T) {
	e := newEnv(t)
	p := demoProgram()
	p["holdDays"] = 0
	p["emails"].(map[string]any)["sendOnCodeCreated"] = false
	p["emails"].(map[string]any)["thankAdvocates"] = false
	e.putProgram(p)
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza", "locale": "id"})
	e.refer(e.createCode("ana", ""), "bo")
	e.convert("order-1", "bo", "signup") // bo's $10 discount
	var id string
	for _, r := range e.rewardsOf("bo") {
		id = r["rewardId"].(string)
	}
	e.approve(id)
	h := e.handler(e.ses.Client)
	e.deliverAll(h)
	if n := len(e.sent()); n != 0 {
		t.Fatalf("approval alone sent %d emails", n)
	}
	e.must("POST /rewards/{rewardId}/fulfill", map[string]string{"rewardId": id}, "/rewards/"+id+"/fulfill", map[string]any{"reference": "WELCOME-10"})
	e.deliverAll(h)
	e.must("POST /rewards/{rewardId}/fulfill", map[string]string{"rewardId": id}, "/rewards/"+id+"/fulfill", map[string]any{"reference": "WELCOME-10"})
	e.deliverAll(h)
	sent := e.sent()
	if len(sent) != 1 || sent[0].Destination.To[0] != "bo.friend@example.net" || !strings.Contains(sent[0].Body.Text, "a $10 discount is ready for you") ||
		!strings.Contains(sent[0].Body.Text, "WELCOME-10") || !strings.Contains(sent[0].Body.Text, "https://shop.example.com/") {
		t.Fatalf("want one reward-ready to bo with the code:\n%s\n%v", subjects(sent), sent)
	}
}

// stripeProgram gives the friend $5 off an order of $20 or more through a Stripe promotion
// code made when they are referred, and credits the advocate $10 on their Stripe balance;
// no hold, friends welcomed.
func stripeProgram() map[string]any {
	p := demoProgram()
	p["holdDays"] = 0
	p["milestones"] = []string{"purchase"}
	p["advocateRewards"] = []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "store_credit",
		"fulfilment": map[string]any{"provider": "stripe"}}}
	p["refereeRewards"] = []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 500, "kind": "discount",
		"minAmount": 2000, "fulfilment": map[string]any{"provider": "stripe"}}}
	emails := p["emails"].(map[string]any)
	emails["welcomeFriends"], emails["sendOnCodeCreated"], emails["thankAdvocates"] = true, false, false
	return p
}

// TestTheFriendsWelcomeCarriesTheirStripeCode: the referral is written while its promotion
// code is being made; the welcome waits for the write that records the code, and shows it.
// At the purchase the advocate's credit is announced as credit added; the friend gets no
// reward-ready for the discount they have just used.
func TestTheFriendsWelcomeCarriesTheirStripeCode(t *testing.T) {
	e := newEnv(t)
	m := e.withStripe()
	e.putProgram(stripeProgram())
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza", "stripeCustomerId": "cus_Ana123"})
	ref := e.must("POST /referrals", nil, "/referrals", map[string]any{"code": e.createCode("ana", "ANA-DEMO"), "channel": "email",
		"referee": map[string]any{"id": "bo", "email": "bo.friend@example.net", "name": "Bo Chen"}})
	fc, _ := ref["friendCoupon"].(map[string]any)
	coupon, _ := fc["code"].(string)
	if fc["status"] != "done" || coupon == "" || len(m.Requests("POST /v1/promotion_codes")) != 1 {
		t.Fatalf("the friend's promotion code: %v", ref)
	}
	h := e.handler(e.ses.Client)
	e.deliverAll(h)
	sent := e.sent()
	if len(sent) != 1 || sent[0].Destination.To[0] != "bo.friend@example.net" {
		t.Fatalf("want one welcome to bo:\n%s", subjects(sent))
	}
	if !strings.Contains(sent[0].Body.Text, "Use this code at checkout:\n\n    "+coupon) ||
		!strings.Contains(sent[0].Body.Text, "You'll get a $5 discount on your first order of $20 or more.") {
		t.Errorf("the welcome does not give bo the code %s and the offer:\n%s", coupon, sent[0].Body.Text)
	}

	e.convert("order-1", "bo", "purchase")
	for _, who := range []string{"ana", "bo"} {
		for _, r := range e.rewardsOf(who) {
			id := r["rewardId"].(string)
			e.must("POST /rewards/{rewardId}/fulfill", map[string]string{"rewardId": id}, "/rewards/"+id+"/fulfill", map[string]any{})
		}
	}
	e.deliverAll(h)
	sent = e.sent()[1:]
	if len(sent) != 1 || sent[0].Destination.To[0] != "ana.souza@example.com" {
		t.Fatalf("want one reward-ready, to ana:\n%s", subjects(sent))
	}
	if text := sent[0].Body.Text; !strings.Contains(text, "$10 store credit is ready for you") ||
		!strings.Contains(text, "We've added it to your account") || strings.Contains(text, "Here's your code") {
		t.Errorf("ana's reward-ready does not say the credit was added:\n%s", text)
	}
}

// TestTheFriendIsWelcomedWhenTheirCodeCannotBeMade: Stripe is not configured, so the code
// fails; the friend is welcomed all the same, once, with the offer and without a code.
func TestTheFriendIsWelcomedWhenTheirCodeCannotBeMade(t *testing.T) {
	e := newEnv(t)
	e.putProgram(stripeProgram())
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza"})
	ref := e.must("POST /referrals", nil, "/referrals", map[string]any{"code": e.createCode("ana", "ANA-DEMO"), "channel": "email",
		"referee": map[string]any{"id": "bo", "email": "bo.friend@example.net", "name": "Bo Chen"}})
	if fc, _ := ref["friendCoupon"].(map[string]any); fc["status"] != "failed" {
		t.Fatalf("friendCoupon: %v", ref)
	}
	h := e.handler(e.ses.Client)
	e.deliverAll(h)
	sent := e.sent()
	if len(sent) != 1 || sent[0].Destination.To[0] != "bo.friend@example.net" ||
		strings.Contains(sent[0].Body.Text, "Use this code") || !strings.Contains(sent[0].Body.Text, "You'll get a $5 discount on your first order of $20 or more.") {
		t.Fatalf("want one welcome to bo, with the offer and no code:\n%s\n%v", subjects(sent), sent)
	}
}

// TestRewardReadyShowsTheCodeDrawnFromThePool: a gift card drawn from a coupon pool is the
// code the reward-ready email hands over.
func TestRewardReadyShowsTheCodeDrawnFromThePool(t *testing.T) {
	e := newEnv(t)
	p := demoProgram()
	p["holdDays"] = 0
	p["advocateRewards"] = []any{map[string]any{"milestone": "purchase", "type": "fixed", "amount": 1000, "kind": "gift_card",
		"fulfilment": map[string]any{"provider": "coupon_pool", "pool": "gift-cards"}}}
	p["emails"].(map[string]any)["sendOnCodeCreated"] = false
	p["emails"].(map[string]any)["thankAdvocates"] = false
	e.putProgram(p)
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza", "locale": "ms"})
	e.refer(e.createCode("ana", ""), "bo")
	e.convert("order-1", "bo", "purchase")
	if _, _, err := e.store.AddCouponCodes(context.Background(), "gift-cards", []string{"GC-7731-0042"}); err != nil {
		t.Fatal(err)
	}
	id := e.rewardsOf("ana")[0]["rewardId"].(string)
	e.must("POST /rewards/{rewardId}/fulfill", map[string]string{"rewardId": id}, "/rewards/"+id+"/fulfill", map[string]any{})
	e.deliverAll(e.handler(e.ses.Client))
	sent := e.sent()
	if len(sent) != 1 || sent[0].Destination.To[0] != "ana.souza@example.com" || !strings.Contains(sent[0].Body.Text, "GC-7731-0042") {
		t.Fatalf("want one reward-ready to ana with the pool's code:\n%s\n%v", subjects(sent), sent)
	}
}

// TestReminderTriggersSendTheReminderOnce: the item the scheduler records sends the reminder
// with the code and both offers; recording it again sends nothing more.
func TestReminderTriggersSendTheReminderOnce(t *testing.T) {
	e := newEnv(t)
	p := demoProgram()
	p["emails"].(map[string]any)["sendOnCodeCreated"] = false
	p["emails"].(map[string]any)["reminderAfterDays"] = 7
	p["emails"].(map[string]any)["maxReminders"] = 2
	e.putProgram(p)
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza"})
	code := e.createCode("ana", "")
	ctx := context.Background()
	prog, err := e.store.GetProgram(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	// Reminders 1, 1 again, 2 and 3, as a scheduler that ignored maxReminders would record them.
	var due store.CodeToRemind
	for i, again := range []bool{false, true, false, false} {
		if !again {
			got, err := e.store.RemindersDue(ctx, &prog, e.clock.now(), 10)
			if err != nil || len(got) != 1 {
				t.Fatalf("reminders due: %v %v", got, err)
			}
			due = got[0]
		}
		if r, created, err := e.store.RecordReminder(ctx, due, false); err != nil || created == again || created && r.Number != []int{1, 0, 2, 3}[i] {
			t.Fatalf("record %d: %+v created=%v %v", i, r, created, err)
		}
	}
	e.deliverAll(e.handler(e.ses.Client))
	sent := e.sent()
	if len(sent) != 2 {
		t.Fatalf("want reminders 1 and 2 (not 3, over maxReminders):\n%s", subjects(sent))
	}
	for i, m := range sent {
		if m.Subject != "Ana, your referral link is waiting for you" || !strings.Contains(m.Body.Text, code) ||
			!strings.Contains(m.Body.Text, "They'll get a $10 discount when they sign up") {
			t.Errorf("reminder:\n%s", m.Body.Text)
		}
		if last := strings.Contains(m.Body.Text, "last reminder"); last != (i == 1) {
			t.Errorf("reminder %d says last=%v:\n%s", i+1, last, m.Body.Text)
		}
	}
}

// TestMerchantCopyReachesTheEmail: copy written through the API is what the next email says.
func TestMerchantCopyReachesTheEmail(t *testing.T) {
	e := newEnv(t)
	e.putProgram(demoProgram())
	if _, err := e.store.PutEmailCopy(context.Background(), "demo", referral.EmailAskPromoCode, "en",
		referral.EmailCopy{Subject: "{firstName}, your Acme code", Intro: "Coffee tastes better with friends."}); err != nil {
		t.Fatal(err)
	}
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza"})
	e.createCode("ana", "")
	e.deliverAll(e.handler(e.ses.Client))
	sent := e.sent()
	if len(sent) != 1 || sent[0].Subject != "Ana, your Acme code" || !strings.Contains(sent[0].Body.Text, "Coffee tastes better with friends.") {
		t.Fatalf("the merchant's copy is not in the email:\n%s\n%v", subjects(sent), sent)
	}
}

// TestSampleStreamEvents runs the stream samples of events/ (the ones `sam local invoke
// EmailFunction -e events/<file>` uses) through the handler, in the state they describe:
// program demo (events/programs-put.json), customers ana (events/customers-put.json) and bo,
// and for the reward samples the reward and its conversion as the samples show them.
func TestSampleStreamEvents(t *testing.T) {
	tests := []struct {
		file     string
		filtered bool   // passes the template's FilterCriteria
		to       string // "" = no email
		template string
		says     string
	}{
		{"email-code-insert.json", true, "ana.souza@gmail.com", referral.EmailAskPromoCode, "ANA-DEMO"},
		{"email-ask-insert.json", true, "bo.chen@example.com", referral.EmailAskCurrent, "https://shop.example.com/invite?ref=BO-7Q2M4K9X"},
		{"email-reward-insert.json", false, "", "", ""}, // pending: nothing until approved
		{"email-reward-approved.json", true, "ana.souza@gmail.com", referral.EmailThanksLoyal, "you've earned a $10 gift card"},
		{"email-reward-fulfilled.json", true, "ana.souza@gmail.com", referral.EmailRewardReady, "GC-1234-5678"},
		{"email-referral-insert.json", true, "bo.chen@example.com", referral.EmailFriendWelcome, "Ana thought you'd enjoy Acme Coffee"},
		{"email-referral-coupon.json", true, "bo.chen@example.com", referral.EmailFriendWelcome, "Use this code at checkout:\n\n    FRIEND-5OFF"},
		{"email-reminder-insert.json", true, "ana.souza@gmail.com", referral.EmailReminder, "A quick reminder"},
		{"email-modify.json", false, "", "", ""},
		{"email-remove.json", false, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".json"), func(t *testing.T) {
			e := newEnv(t)
			e.putProgram(apiSampleBody(t, "programs-put.json"))
			e.putCustomer("ana", apiSampleBody(t, "customers-put.json"))
			e.putCustomer("bo", map[string]any{"email": "bo.chen@example.com", "name": "Bo Chen", "locale": "en"})
			e.createCode("ana", "ANA-DEMO")
			e.records() // the state's own records are not the sample's
			ev := streamSample(t, tt.file)
			for _, r := range ev.Records {
				ok, err := streamtest.Match(e.filters, r)
				if err != nil || ok != tt.filtered {
					t.Errorf("FilterCriteria match = %v (%v), want %v", ok, err, tt.filtered)
				}
				if img, _ := store.FromStream(r.Change.NewImage); img.Type() == store.TypeReward {
					e.putItem(img)
					// The conversion's event item, its stored answer naming the reward (as JSON, the
					// form items written before the compression hold; the store reads both).
					answer := fmt.Sprintf(`{"conversion":{"eventId":%q},"rewards":[{"rewardId":%q}]}`, img.Str("eventId"), img.Str("rewardId"))
					e.putItem(store.StreamItem{"PK": s("EVENT#" + img.Str("eventId")), "SK": s("EVENT"), "type": s("event"),
						"eventId": s(img.Str("eventId")), "result": s(answer)})
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
			if got := templateOf(rec.inputs()[0]); got != tt.template {
				t.Errorf("template %s, want %s", got, tt.template)
			}
			if !strings.Contains(sent[0].Body.Text, tt.says) {
				t.Errorf("the email does not say %q:\n%s", tt.says, sent[0].Body.Text)
			}
		})
	}
}

func s(v string) *dynamotypes.AttributeValueMemberS {
	return &dynamotypes.AttributeValueMemberS{Value: v}
}

// putItem writes an item as it is, for a state no API call makes.
func (e *env) putItem(item store.StreamItem) {
	e.t.Helper()
	if _, err := e.table.Client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(e.table.Table), Item: item}); err != nil {
		e.t.Fatal(err)
	}
	e.records() // what the test writes is not part of what it delivers
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
// ses:SendEmail alone, on the sender's identity and the configuration set, never on "*".
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
	for _, want := range []string{":identity/${SenderEmail}", ":identity/${Domain}", ":configuration-set/"} {
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

// TestContestPrizesAreThankedOnceApproved: a contest prize goes through the ledger like any
// reward; once approved its advocate is thanked for their friends and told the prize.
func TestContestPrizesAreThankedOnceApproved(t *testing.T) {
	e := newEnv(t)
	e.putProgram(demoProgram())
	e.putCustomer("ana", map[string]any{"email": "ana.souza@example.com", "name": "Ana Souza", "locale": "zh", "purchaseCount": 3})
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
	e.deliverAll(h)
	if sent := e.sent(); len(sent) != 0 {
		t.Fatalf("a pending prize was thanked for:\n%s", subjects(sent))
	}
	e.approve(prize.RewardID)
	e.deliverAll(h)
	sent := e.sent()
	if len(sent) != 1 {
		t.Fatalf("want one thank-you for the prize, got %d: %s", len(sent), subjects(sent))
	}
	if text := sent[0].Body.Text; sent[0].Subject != "Ana，感谢您把朋友们介绍给我们！" || !strings.Contains(text, "作为感谢，您已获得价值 US$100 的礼品卡。") {
		t.Fatalf("the prize thank-you should thank for the friends and name the prize:\n%s\n%s", sent[0].Subject, text)
	}
}

// TestABounceSuppressesTheNextAsk: SES reports the ask's address as bounced for good (the
// configuration set's notification, through the feedback function); the next ask is refused,
// and an ask recorded before the bounce arrived sends nothing. A reward's delivery still goes.
func TestABounceSuppressesTheNextAsk(t *testing.T) {
	e := newEnv(t)
	p := demoProgram()
	p["holdDays"] = 0
	p["emails"].(map[string]any)["askCooldownDays"] = 0
	e.putProgram(p)
	e.putCustomer("bo", map[string]any{"email": "bo.chen@example.com", "name": "Bo Chen"})
	if st, b := e.ask("bo", referral.EmailAskCurrent); st != 202 {
		t.Fatalf("first ask: %d %v", st, b)
	}
	h := e.handler(e.ses.Client)
	e.deliverAll(h)
	sent := e.sent()
	if len(sent) != 1 {
		t.Fatalf("want the first ask sent:\n%s", subjects(sent))
	}

	// SES: that email bounced for good (the sample notification, about this very email).
	var ev events.SNSEvent
	if err := samtemplate.DecodeEvent("emailfeedback-bounce.json", &ev); err != nil {
		t.Fatal(err)
	}
	var n map[string]any
	if err := json.Unmarshal([]byte(ev.Records[0].SNS.Message), &n); err != nil {
		t.Fatal(err)
	}
	n["mail"].(map[string]any)["messageId"] = sent[0].MessageID
	b, _ := json.Marshal(n)
	ev.Records[0].SNS.Message = string(b)
	fb := &feedback.Handler{Store: e.store, Log: e.log.logger()}
	if err := fb.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}

	// An ask recorded before the bounce arrived sends nothing now…
	if err := e.store.RecordAsk(context.Background(), store.Ask{AskID: referral.NewID(e.clock.now()), CustomerID: "bo", ProgramID: "demo",
		Template: referral.EmailAskCurrent, CreatedAt: e.clock.now()}, 0); err != nil {
		t.Fatal(err)
	}
	e.deliverAll(h)
	// …and the next ask is refused with a reason the merchant can act on.
	if st, b := e.ask("bo", ""); st != 422 || b["error"].(map[string]any)["code"] != "email_suppressed" {
		t.Fatalf("ask after the bounce: %d %v", st, b)
	}
	if sent := e.sent(); len(sent) != 1 {
		t.Fatalf("a suppressed address was emailed again:\n%s", subjects(sent))
	}
}

// TestAdvocateEmailsLinkTheirPage: every email to an advocate (asks, thank-yous) carries the
// signed link to their referral page in both parts, and the link opens that page.
func TestAdvocateEmailsLinkTheirPage(t *testing.T) {
	e := newEnv(t)
	scenario(e)
	e.deliverAll(e.handler(e.ses.Client))
	sent := e.sent()
	if len(sent) != 3 {
		t.Fatalf("%d emails:\n%s", len(sent), subjects(sent))
	}
	link := regexp.MustCompile(regexp.QuoteMeta(publicURL) + `/a/[A-Za-z0-9_-]+`)
	for _, m := range sent {
		page := link.FindString(m.Body.Text)
		if page == "" || !strings.Contains(m.Body.HTML, `href="`+page+`"`) {
			t.Errorf("%q: no advocate page link in both parts:\n%s", m.Subject, m.Body.Text)
			continue
		}
		u, _ := url.Parse(page)
		token := strings.TrimPrefix(u.Path, "/a/")
		st, _ := e.call("GET /a/{token}", map[string]string{"token": token}, u.Path, nil)
		if st != 200 {
			t.Errorf("%q: its page link answers %d", m.Subject, st)
		}
		claims, err := e.pages.Check(token, e.clock.now())
		if err != nil || claims.ProgramID != "demo" {
			t.Errorf("%q: link %+v, %v", m.Subject, claims, err)
		}
		to := strings.Join(m.Destination.To, ",")
		if (to == "ana.souza@example.com") != (claims.CustomerID == "ana") {
			t.Errorf("%q to %s links the page of %s", m.Subject, to, claims.CustomerID)
		}
	}
}

func TestFriendsEmailsDoNotLinkAnAdvocatePage(t *testing.T) {
	for _, c := range []struct {
		name    string
		rewards []referral.Reward
		want    bool
	}{
		{referral.EmailFriendWelcome, nil, false},
		{referral.EmailRewardReady, []referral.Reward{{Role: referral.RoleReferee}}, false},
		{referral.EmailRewardReady, []referral.Reward{{Role: referral.RoleAdvocate}}, true},
		{referral.EmailAskCurrent, nil, true},
		{referral.EmailReminder, nil, true},
		{referral.EmailThanksLoyal, nil, true},
	} {
		if got := email.ToAdvocate(c.name, c.rewards); got != c.want {
			t.Errorf("ToAdvocate(%s, %v) = %v", c.name, c.rewards, got)
		}
	}
}
