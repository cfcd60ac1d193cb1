package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/advocatelink"
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
	Copies      *store.CopyCache // the programs' email copy; nil sends the templates' own words
	Sender      Sender
	Unsubscribe *unsubscribe.Signer // signs the List-Unsubscribe links of marketing emails
	PublicURL   string              // the API's public base URL, which serves /unsubscribe and /a/{token}
	// Pages signs the links to advocates' pages that every email to an advocate carries; nil:
	// emails carry none.
	Pages *advocatelink.Signer
	Log   *slog.Logger
	Lease time.Duration // how long a claim to send is exclusive; 0 means DefaultLease
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

// job is one email a record calls for.
type job struct {
	marker    store.EmailJob // the marker that makes it go out once (its Template is the marker's name)
	template  string         // "" for a thank-you: loyal or one-time is decided on the recipient
	program   referral.Program
	otherID   string // the referee a thank-you names; the advocate who referred a welcomed friend
	code      string // the code the email shows, when the item names one
	codeIsNew bool
	rewards   []referral.Reward
	coupon    string
	last      bool // the last reminder
}

// markerThanks names the one thank-you of a conversion in its marker, whichever of the two
// thank-you templates goes out.
const markerThanks = "thanks"

// process handles one record. A non-nil error means "retry this record"; anything that a
// retry cannot change (an item this function does not email about, a customer who opted
// out, a record that does not decode) is logged and answered nil.
func (h *Stream) process(ctx context.Context, rec events.DynamoDBEventRecord) error {
	var old store.StreamItem
	switch rec.EventName {
	case string(events.DynamoDBOperationTypeInsert):
	case string(events.DynamoDBOperationTypeModify):
		var err error
		if old, err = store.FromStream(rec.Change.OldImage); err != nil {
			h.Log.ErrorContext(ctx, "stream record does not decode; skipped", "sequenceNumber", rec.Change.SequenceNumber, "error", err.Error())
			return nil
		}
	default:
		return nil
	}
	img, err := store.FromStream(rec.Change.NewImage)
	if err != nil {
		h.Log.ErrorContext(ctx, "stream record does not decode; skipped", "sequenceNumber", rec.Change.SequenceNumber, "error", err.Error())
		return nil
	}
	log := h.Log.With("sequenceNumber", rec.Change.SequenceNumber, "item", img.Key())
	jobs, skip, err := h.plan(ctx, img, old)
	switch {
	case err != nil:
		return err
	case skip != "":
		log.DebugContext(ctx, "no email for this item", "reason", skip)
		return nil
	}
	for _, j := range jobs {
		if err := h.deliver(ctx, log, j); err != nil {
			return err
		}
	}
	return nil
}

// plan decides which emails, if any, an inserted or modified item calls for (old is the image
// before a modification, nil for an insert). skip says why there is none.
func (h *Stream) plan(ctx context.Context, img, old store.StreamItem) (jobs []job, skip string, err error) {
	src := store.EmailJob{SourceKey: img.Key(), SourceType: img.Type()}
	one := func(j job) []job { return []job{j} }
	var programID string
	var wants func(p referral.Program) ([]job, string, error)
	if old != nil && img.Type() != store.TypeReward && img.Type() != store.TypeReferral {
		return nil, "a change to a " + img.Type(), nil
	}
	switch img.Type() {
	case store.TypeCode:
		c, err := store.DecodeCode(img)
		if err != nil {
			return nil, "undecodable code: " + err.Error(), nil
		}
		if store.CodeOrigin(img) == store.CodeForAsk {
			return nil, "the ask that created the code sends the email", nil
		}
		programID = c.ProgramID
		wants = func(p referral.Program) ([]job, string, error) {
			if !p.Emails.SendOnCodeCreated {
				return nil, "the program does not email new codes", nil
			}
			src.Template, src.CustomerID = referral.EmailAskPromoCode, c.CustomerID
			return one(job{template: referral.EmailAskPromoCode, code: c.Code, codeIsNew: true}), "", nil
		}
	case store.TypeAsk:
		a, err := store.DecodeAsk(img)
		if err != nil {
			return nil, "undecodable ask: " + err.Error(), nil
		}
		if a.ViaCode {
			return nil, "the ask's new code sends the email", nil
		}
		if !referral.IsAskTemplate(a.Template) {
			return nil, fmt.Sprintf("ask template %q is not an ask", a.Template), nil
		}
		programID = a.ProgramID
		wants = func(referral.Program) ([]job, string, error) {
			src.Template, src.CustomerID = a.Template, a.CustomerID
			return one(job{template: a.Template, code: a.Code, codeIsNew: a.CodeCreated}), "", nil
		}
	case store.TypeReferral:
		r, err := store.DecodeReferral(img)
		if err != nil {
			return nil, "undecodable referral: " + err.Error(), nil
		}
		var before *referral.Referral
		if old != nil {
			b, err := store.DecodeReferral(old)
			if err != nil {
				return nil, "undecodable referral: " + err.Error(), nil
			}
			before = &b
		}
		if !referral.FriendWelcomeDue(before, r) {
			return nil, "not a write that welcomes the friend", nil
		}
		programID = r.ProgramID
		wants = func(p referral.Program) ([]job, string, error) {
			if !p.Emails.WelcomeFriends {
				return nil, "the program does not welcome friends", nil
			}
			src.Template, src.CustomerID = referral.EmailFriendWelcome, r.RefereeID
			j := job{template: referral.EmailFriendWelcome, otherID: r.AdvocateID, code: r.Code}
			if fc := r.FriendCoupon; fc != nil && fc.Status == referral.FulfilmentDone {
				j.coupon = fc.Code
			}
			return one(j), "", nil
		}
	case store.TypeReminder:
		r, err := store.DecodeReminder(img)
		if err != nil {
			return nil, "undecodable reminder: " + err.Error(), nil
		}
		programID = r.ProgramID
		wants = func(p referral.Program) ([]job, string, error) {
			if e := p.Emails; e.ReminderAfterDays <= 0 || e.MaxReminders <= 0 || r.Number > e.MaxReminders {
				return nil, fmt.Sprintf("the program sends no reminder %d", r.Number), nil
			}
			src.Template, src.CustomerID = referral.EmailReminder, r.CustomerID
			return one(job{template: referral.EmailReminder, last: r.Number >= p.Emails.MaxReminders}), "", nil
		}
	case store.TypeReward:
		r, err := store.DecodeReward(img)
		if err != nil {
			return nil, "undecodable reward: " + err.Error(), nil
		}
		from := ""
		if old != nil {
			from = old.Str("status")
		}
		thanks, ready := referral.RewardEmail(r, from)
		if !thanks && !ready {
			return nil, fmt.Sprintf("a %s reward %q → %q", r.Role, from, r.Status), nil
		}
		programID = r.ProgramID
		wants = func(p referral.Program) ([]job, string, error) {
			return h.rewardJobs(ctx, p, src, img, r, thanks, ready)
		}
	default:
		return nil, "item type " + img.Type(), nil
	}
	p, err := h.Programs.Get(ctx, programID)
	if errors.Is(err, referral.ErrProgramNotFound) {
		return nil, "the program is gone", nil
	}
	if err != nil {
		return nil, "", err
	}
	jobs, skip, err = wants(p)
	for i := range jobs {
		if jobs[i].marker.SourceKey == "" {
			jobs[i].marker = src
		}
		jobs[i].marker.ProgramID, jobs[i].program = p.ProgramID, p
	}
	return jobs, skip, err
}

// rewardJobs are the emails a reward's status change calls for: the thank-you of its
// conversion (once every advocate reward of it is settled) and its reward-ready.
func (h *Stream) rewardJobs(ctx context.Context, p referral.Program, src store.EmailJob, img store.StreamItem, r referral.Reward, thanks, ready bool) ([]job, string, error) {
	var jobs []job
	var why []string
	if thanks && !p.Emails.ThankAdvocates {
		thanks = false
		why = append(why, "the program does not thank advocates")
	}
	if thanks {
		j := job{marker: store.EmailJob{SourceKey: src.SourceKey, SourceType: src.SourceType, Template: markerThanks, CustomerID: r.CustomerID},
			otherID: r.RefereeID}
		rewards := []referral.Reward{r}
		if r.EventID != "" { // a conversion's rewards are thanked for together; a contest prize alone
			all, err := h.Store.RewardsOfConversion(ctx, img)
			if err != nil && !errors.Is(err, referral.ErrConversionNotFound) {
				return nil, "", err
			}
			rewards = all
			j.marker.SourceKey, j.marker.SourceType = store.ConversionKey(r.EventID), store.TypeEvent
		}
		if j.rewards, thanks = referral.ThanksFor(rewards, r.CustomerID); thanks {
			jobs = append(jobs, j)
		} else {
			why = append(why, "the conversion's rewards are not all approved yet")
		}
	}
	if ready {
		src.Template, src.CustomerID = referral.EmailRewardReady, r.CustomerID
		jobs = append(jobs, job{marker: src, template: referral.EmailRewardReady, rewards: []referral.Reward{r}})
	}
	if len(jobs) == 0 {
		return nil, strings.Join(why, "; "), nil
	}
	return jobs, "", nil
}

// deliver reads who the email goes to, decides whether it may go, renders it and sends it.
func (h *Stream) deliver(ctx context.Context, log *slog.Logger, j job) error {
	p := j.program
	r, err := h.Store.Recipient(ctx, j.marker.CustomerID, p.ProgramID, j.otherID)
	if errors.Is(err, referral.ErrCustomerNotFound) {
		log.InfoContext(ctx, "no email: the customer is gone")
		return nil
	}
	if err != nil {
		return err
	}
	c := r.Customer
	name := j.template
	if name == "" {
		name = referral.EmailThanksOneTime
		if referral.LoyalClient(c, p.Emails, h.Store.Now()) {
			name = referral.EmailThanksLoyal
		}
	}
	log = log.With("template", name, "programId", p.ProgramID)
	skip := ""
	switch {
	case c.Email == "":
		skip = "the customer has no email address"
	case IsMarketing(name) && c.MarketingOptOut:
		skip = "the customer opted out of marketing email"
	case IsMarketing(name) && (h.Unsubscribe == nil || h.PublicURL == ""):
		skip = "no unsubscribe link can be made (UNSUBSCRIBE_SECRET_ARN or PUBLIC_API_URL missing)"
	}
	if skip == "" && IsMarketing(name) {
		sup, found, err := h.Store.Suppressed(ctx, c.Email)
		if err != nil {
			return err
		}
		if found {
			skip = "the address is suppressed after a " + sup.Reason
		}
	}
	if skip != "" {
		log.InfoContext(ctx, "no email", "reason", skip)
		return nil
	}
	f := Facts{Template: name, Program: p, Recipient: c, Code: j.code, CodeIsNew: j.codeIsNew, Rewards: j.rewards,
		Coupon: j.coupon, LastReminder: j.last, PublicURL: h.PublicURL}
	switch name {
	case referral.EmailFriendWelcome:
		f.Advocate = r.Other
	case referral.EmailThanksLoyal, referral.EmailThanksOneTime:
		f.Referee, f.Code = r.Other, r.Code
	default:
		if f.Code == "" {
			f.Code = r.Code
		}
		if f.Code == "" && name != referral.EmailRewardReady {
			log.InfoContext(ctx, "no email", "reason", "the customer has no code in the program")
			return nil
		}
	}
	out := Outgoing{To: c.Email, SenderName: SenderName(&p), ReplyTo: p.Business.ReplyTo,
		Tags: map[string]string{"template": name, "program": p.ProgramID}}
	if IsMarketing(name) {
		out.Unsubscribe = h.Unsubscribe.URL(h.PublicURL, c.CustomerID)
		f.UnsubscribeURL = out.Unsubscribe
	}
	if h.Pages != nil && h.PublicURL != "" && ToAdvocate(name, j.rewards) {
		f.PageURL = h.Pages.URL(h.PublicURL, p.ProgramID, c.CustomerID, h.Store.Now())
	}
	if h.Copies != nil {
		if f.Copy, err = h.Copies.Get(ctx, p.ProgramID, name, locale.Lang(c.Locale)); err != nil {
			return err
		}
	}
	d, lang := Compose(f)
	if out.Message, err = Render(name, lang, d); err != nil {
		log.ErrorContext(ctx, "email does not render; skipped", "error", err.Error())
		return nil
	}
	return h.send(ctx, log, j.marker, out)
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

// ToAdvocate reports whether email template name (with its rewards, for reward-ready) goes to
// an advocate, whose emails link their referral page: every email but the friend's welcome and
// a friend's reward-ready.
func ToAdvocate(name string, rewards []referral.Reward) bool {
	switch name {
	case referral.EmailFriendWelcome:
		return false
	case referral.EmailRewardReady:
		return len(rewards) > 0 && rewards[0].Role == referral.RoleAdvocate
	}
	return true
}
