package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/unsubscribe"
)

// Stream is the email function: it reads the table's stream and sends the email an item
// calls for, each (item, template) once; docs/EMAILS.md says which items send what and how
// the marker items make a redelivered record send nothing more.
type Stream struct {
	Store       *store.Store
	Programs    *store.ProgramCache
	Sender      Sender
	Unsubscribe *unsubscribe.Signer // signs the List-Unsubscribe links of ask emails
	PublicURL   string              // the API's public base URL, which serves /unsubscribe
	Log         *slog.Logger
	Lease       time.Duration // how long a claim to send is exclusive; 0 means DefaultLease
}

// DefaultLease is how long a claim to send one email stays exclusive.
const DefaultLease = 30 * time.Second

// confirmAttempts bounds the retries of the write that records a sent email.
const confirmAttempts = 4

// Handle processes a batch and reports the records to retry by their sequence numbers.
// Once a record has to be retried, the records after it are reported too without being
// tried: Lambda redelivers from the first failed record anyway, and when SES is down there
// is no point in waiting for it once per record.
func (h *Stream) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	failed := false
	for _, rec := range ev.Records {
		if !failed {
			if err := h.process(ctx, rec); err != nil {
				failed = true
				h.Log.WarnContext(ctx, "email record will be retried", "sequenceNumber", rec.Change.SequenceNumber,
					"eventId", rec.EventID, "error", describeErr(err))
			}
		}
		if failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
		}
	}
	return resp, nil
}

// plan is one email a record calls for.
type plan struct {
	job      store.EmailJob
	program  referral.Program
	code     string           // the code to show, when the item names one
	reward   *referral.Reward // thanks emails
	isThanks bool
}

// process handles one record. A non-nil error means "retry this record"; anything that a
// retry cannot change (an item this function does not email about, a customer who opted
// out, a record that does not decode) is logged and answered nil.
func (h *Stream) process(ctx context.Context, rec events.DynamoDBEventRecord) error {
	if rec.EventName != string(events.DynamoDBOperationTypeInsert) {
		return nil
	}
	img, err := store.FromStream(rec.Change.NewImage)
	if err != nil {
		h.Log.ErrorContext(ctx, "stream record does not decode; skipped", "sequenceNumber", rec.Change.SequenceNumber, "error", err.Error())
		return nil
	}
	log := h.Log.With("sequenceNumber", rec.Change.SequenceNumber, "item", img.Key())
	p, skip, err := h.plan(ctx, img)
	switch {
	case err != nil:
		return err
	case skip != "":
		log.DebugContext(ctx, "no email for this item", "reason", skip)
		return nil
	}
	refereeID := ""
	if p.reward != nil {
		refereeID = p.reward.RefereeID
	}
	r, err := h.Store.Recipient(ctx, p.job.CustomerID, p.job.ProgramID, refereeID)
	if errors.Is(err, referral.ErrCustomerNotFound) {
		log.InfoContext(ctx, "no email: the customer is gone")
		return nil
	}
	if err != nil {
		return err
	}
	if p.reward != nil && loyal(r.Customer, p.program.Emails, h.Store.Now()) {
		p.job.Template = ThanksLoyal
	}
	log = log.With("template", p.job.Template, "programId", p.job.ProgramID)
	out, skip := h.compose(p, r)
	if skip != "" {
		log.InfoContext(ctx, "no email", "reason", skip)
		return nil
	}
	if out.Message, err = Render(p.job.Template, r.Customer.Locale, out.data); err != nil {
		log.ErrorContext(ctx, "email does not render; skipped", "error", err.Error())
		return nil
	}
	return h.send(ctx, log, p.job, out.Outgoing)
}

// plan decides which email, if any, an inserted item calls for. skip says why there is none.
func (h *Stream) plan(ctx context.Context, img store.StreamItem) (p plan, skip string, err error) {
	p.job = store.EmailJob{SourceKey: img.Key(), SourceType: img.Type()}
	switch img.Type() {
	case store.TypeCode:
		c, err := store.DecodeCode(img)
		if err != nil {
			return p, "undecodable code: " + err.Error(), nil
		}
		p.job.Template, p.job.CustomerID, p.job.ProgramID, p.code = AskPromoCode, c.CustomerID, c.ProgramID, c.Code
	case store.TypeAsk:
		a, err := store.DecodeAsk(img)
		if err != nil {
			return p, "undecodable ask: " + err.Error(), nil
		}
		if a.ViaCode {
			return p, "the ask's new code sends the email", nil
		}
		if !IsAsk(a.Template) {
			return p, fmt.Sprintf("ask template %q is not an ask", a.Template), nil
		}
		p.job.Template, p.job.CustomerID, p.job.ProgramID, p.code = a.Template, a.CustomerID, a.ProgramID, a.Code
	case store.TypeReward:
		r, err := store.DecodeReward(img)
		if err != nil {
			return p, "undecodable reward: " + err.Error(), nil
		}
		if r.Role != referral.RoleAdvocate {
			return p, "a referee's reward", nil
		}
		p.job.Template, p.job.CustomerID, p.job.ProgramID, p.reward, p.isThanks = ThanksOneTime, r.CustomerID, r.ProgramID, &r, true
	default:
		return p, "item type " + img.Type(), nil
	}
	prog, err := h.Programs.Get(ctx, p.job.ProgramID)
	if errors.Is(err, referral.ErrProgramNotFound) {
		return p, "the program is gone", nil
	}
	if err != nil {
		return p, "", err
	}
	p.program = prog
	switch {
	case img.Type() == store.TypeCode && !prog.Emails.SendOnCodeCreated:
		return p, "the program does not email new codes", nil
	case p.isThanks && !prog.Emails.ThankAdvocates:
		return p, "the program does not thank advocates", nil
	}
	return p, "", nil
}

type composed struct {
	Outgoing
	data Data
}

// compose fills the template data for r; skip says why the email must not go out.
func (h *Stream) compose(p plan, r store.Recipient) (out composed, skip string) {
	c, prog := r.Customer, p.program
	if c.Email == "" {
		return out, "the customer has no email address"
	}
	if IsAsk(p.job.Template) && c.MarketingOptOut {
		return out, "the customer opted out of marketing email"
	}
	lang := Lang(c.Locale)
	code := r.Code
	if code == "" {
		code = p.code
	}
	d := Data{
		CustomerFirstName: referral.FirstName(c.Name),
		SenderName:        prog.Emails.SenderName,
		ProgramName:       prog.Name,
		ValueProposition:  prog.Emails.ValueProposition,
		Code:              code,
		ShareURL:          referral.ShareURL(prog.LandingURL, code),
		FriendOffer:       headlineReward(prog.RefereeRewards, prog.Currency, lang),
		AdvocateReward:    headlineReward(prog.AdvocateRewards, prog.Currency, lang),
	}
	if code == "" {
		d.ShareURL = ""
	}
	if p.reward != nil {
		rw := p.reward
		lr := locale.Reward{Kind: rw.Kind, Currency: prog.Currency, Description: rw.Description, Charity: rw.Charity}
		if rw.Value != nil {
			lr.Value, lr.Currency = &rw.Value.Amount, rw.Value.Currency
		}
		d.RewardEarned = locale.Describe(lr, lang)
		if r.Referee != nil {
			d.RefereeFirstName = referral.FirstName(r.Referee.Name)
		}
		d.ContestPrize = rw.RefereeID == "" // a prize for the month's referrals, not for one friend
	}
	out.data = d
	out.To = c.Email
	out.SenderName = d.SenderName
	if out.SenderName == "" {
		out.SenderName = prog.Name
	}
	out.Tags = map[string]string{"template": p.job.Template, "program": prog.ProgramID}
	if IsAsk(p.job.Template) {
		if h.Unsubscribe == nil || h.PublicURL == "" {
			return out, "no unsubscribe link can be made (UNSUBSCRIBE_SECRET_ARN or PUBLIC_API_URL missing)"
		}
		out.Unsubscribe = h.Unsubscribe.URL(h.PublicURL, c.CustomerID)
		out.data.UnsubscribeURL = out.Unsubscribe
	}
	return out, ""
}

// loyal reports whether an advocate is a long-time client by the program's settings; a zero
// setting is not a criterion.
func loyal(c referral.Customer, e referral.Emails, now time.Time) bool {
	if e.LoyalAfterPurchases > 0 && c.PurchaseCount >= e.LoyalAfterPurchases {
		return true
	}
	return e.LoyalAfterDays > 0 && c.FirstPurchaseAt != nil && !c.FirstPurchaseAt.After(now.AddDate(0, 0, -e.LoyalAfterDays))
}

// headlineReward is the reward a side of the program is known by, in lang: its first fixed
// rule, else the first tier of its first tiered rule ("a $10.00 gift card"). Percent and
// threshold rules have no short phrase, so a program made only of them mentions none.
func headlineReward(rules []referral.Rule, currency, lang string) string {
	for _, want := range []string{referral.RuleFixed, referral.RuleTiered} {
		for _, r := range rules {
			if r.Type != want {
				continue
			}
			amount := r.Amount
			if r.Type == referral.RuleTiered && len(r.Tiers) > 0 {
				amount = r.Tiers[0].Amount
			}
			lr := locale.Reward{Kind: r.Kind, Currency: currency, Description: r.Description, Charity: r.Charity}
			if amount > 0 {
				lr.Value = &amount
			}
			return locale.Describe(lr, lang)
		}
	}
	return ""
}

// send claims the email, sends it and records the outcome (see the type's comment).
func (h *Stream) send(ctx context.Context, log *slog.Logger, job store.EmailJob, o Outgoing) error {
	lease := h.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	claim, done, err := h.Store.ClaimEmail(ctx, job, lease)
	var busy *store.EmailBusyError
	if errors.As(err, &busy) && h.canWait(ctx, busy.Until) {
		// Another delivery of this record holds the claim (or its sender died holding it).
		// Watching it until it is done or its lease ends beats a retry that could come back
		// before then.
		log.InfoContext(ctx, "email claimed by another delivery; waiting for it", "until", busy.Until)
		until := busy.Until
		for errors.As(err, &busy) && !h.Store.Now().After(until) {
			if err := sleep(ctx, min(max(lease/8, 10*time.Millisecond), until.Sub(h.Store.Now())+10*time.Millisecond)); err != nil {
				return err
			}
			claim, done, err = h.Store.ClaimEmail(ctx, job, lease)
		}
	}
	if err != nil {
		return err
	}
	if done != nil {
		log.InfoContext(ctx, "email already handled", "status", done.Status, "messageId", done.MessageID)
		return nil
	}
	id, err := h.Sender.Send(ctx, o)
	var rejected *Rejected
	switch {
	case errors.As(err, &rejected):
		log.WarnContext(ctx, "email rejected by SES; not retried", "code", rejected.Code, "error", describeErr(err))
		if _, err := h.Store.RejectEmail(ctx, claim, rejected.Code); err != nil {
			log.ErrorContext(ctx, "rejection not recorded; the lease will end and a retry may try again", "error", describeErr(err))
		}
		return nil
	case err != nil:
		if rerr := h.Store.ReleaseEmail(context.WithoutCancel(ctx), claim, "send failed"); rerr != nil {
			log.WarnContext(ctx, "claim not released; a retry waits for the lease", "error", describeErr(rerr))
		}
		return fmt.Errorf("send %s: %w", job.Template, err)
	}
	for attempt := 1; ; attempt++ {
		lost, err := h.Store.ConfirmEmail(context.WithoutCancel(ctx), claim, id)
		switch {
		case err == nil && lost:
			log.WarnContext(ctx, "email sent after its claim expired; another delivery may have sent it too", "messageId", id)
			return nil
		case err == nil:
			log.InfoContext(ctx, "email sent", "messageId", id)
			return nil
		case attempt >= confirmAttempts:
			// Reporting the record would make a retry resend as soon as the lease ends;
			// succeeding leaves only replays of this record able to duplicate it.
			log.ErrorContext(ctx, "email sent but not recorded; a replay after the lease may send it again", "messageId", id, "error", describeErr(err))
			return nil
		}
		time.Sleep(time.Duration(attempt*attempt) * 50 * time.Millisecond)
	}
}

// canWait reports whether the invocation has time to wait until t and still send.
func (h *Stream) canWait(ctx context.Context, t time.Time) bool {
	wait := t.Sub(h.Store.Now())
	if wait > DefaultLease {
		return false // a lease longer than ours: another configuration; let the retry handle it
	}
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > wait+15*time.Second
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
