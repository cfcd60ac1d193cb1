// Package scheduler is the work done on a schedule (every 5 minutes in AWS, every minute and
// on demand under make dev): rewards whose hold ended are approved, unfulfilled rewards past
// their expiry expire, approved rewards of programs that fulfil automatically are delivered,
// reversed Stripe credits are taken back, asks scheduled for now are sent, advocates who have
// not shared their code are reminded, and each month's contest is closed
// contest.closeAfterHours after the month ends.
//
// Work is found by Query, never by scanning: each program's reward queues, scheduled asks and
// unshared codes are indexed by when the scheduler next has work on them (GSI4), so a run
// reads only what is due. Each unit of work is one conditional write (or one transaction, or
// a claim, a provider call and its record), so a run that stops anywhere leaves nothing
// half-done, and a second run finds nothing more to do. A run does at most Limit units and
// stops in time for its deadline; what is left is still due for the next run.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/asks"
	"github.com/referral/referrals/shared/fulfil"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/metrics"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// DefaultLimit is how many units of work a run does at most.
const DefaultLimit = 500

// margin is how long before its deadline a run stops taking new work.
const margin = 15 * time.Second

// queues are the reward queues a run reads, in the order it works them: approvals first, so a
// reward approved now is delivered in the same run.
var queues = []string{referral.RewardPending, referral.RewardReview, referral.RewardApproved, store.QueueFailed, referral.RewardReversed}

// Scheduler runs the scheduled work. Build it once per container.
type Scheduler struct {
	Store    *store.Store
	Fulfil   *fulfil.Service
	Asks     *asks.Service
	Contests *insights.Service
	Log      *slog.Logger
	Limit    int // units of work per run; 0 = DefaultLimit
}

// Report is what a run did, by kind of work. A second run right after a complete one reports
// zeros.
type Report struct {
	Programs       int  `json:"programs"`
	Approved       int  `json:"approved"`
	Expired        int  `json:"expired"`
	Delivered      int  `json:"delivered"`
	DeliveryFailed int  `json:"deliveryFailed"`
	TakenBack      int  `json:"takenBack"`
	Settled        int  `json:"settled"` // reversed rewards that had nothing to take back, off the queue
	ContestsClosed int  `json:"contestsClosed"`
	AsksSent       int  `json:"asksSent"`          // scheduled asks sent
	AsksSkipped    int  `json:"asksSkipped"`       // scheduled asks not sent (opted out, suppressed, in the cooldown...), recorded with why
	Reminders      int  `json:"reminders"`         // reminders to share recorded (their emails go out from the stream)
	RemindersLater int  `json:"remindersDeferred"` // reminders put off (a paused or blocked code) or ended (an expired one)
	Skipped        int  `json:"skipped"`           // due work another worker held or changed first
	Errors         int  `json:"errors"`            // units that failed on our side (retried next run)
	More           bool `json:"more"`              // the run stopped at its bounds with work left
}

// Work is the number of changes the run made.
func (r Report) Work() int {
	return r.Approved + r.Expired + r.Delivered + r.DeliveryFailed + r.TakenBack + r.Settled + r.ContestsClosed +
		r.AsksSent + r.AsksSkipped + r.Reminders + r.RemindersLater
}

// Handle is the Lambda entry point for the Schedule (EventBridge) event.
func (s *Scheduler) Handle(ctx context.Context, _ events.EventBridgeEvent) (Report, error) {
	rep, err := s.Run(ctx)
	if rep.More {
		metrics.Add(ctx, metrics.SchedulerBacklog, 1)
	}
	s.Log.InfoContext(ctx, "scheduled run", "report", rep)
	if err == nil && rep.Errors > 0 {
		err = fmt.Errorf("scheduled run: %d units of work failed; they stay due for the next run", rep.Errors)
	}
	return rep, err
}

// Run does the due work of every program, within the run's bounds.
func (s *Scheduler) Run(ctx context.Context) (Report, error) {
	var rep Report
	r := &run{s: s, rep: &rep, left: s.Limit}
	if r.left <= 0 {
		r.left = DefaultLimit
	}
	if dl, ok := ctx.Deadline(); ok {
		r.stopAt = dl.Add(-margin)
	}
	for cursor := ""; ; {
		programs, next, err := s.Store.ListPrograms(ctx, store.Page{Limit: 100, Cursor: cursor})
		if err != nil {
			return rep, err
		}
		for i := range programs {
			if r.full() {
				rep.More = true
				return rep, nil
			}
			rep.Programs++
			if err := r.program(ctx, &programs[i]); err != nil {
				return rep, err
			}
		}
		if next == nil {
			break
		}
		cursor = *next
	}
	return rep, nil
}

type run struct {
	s      *Scheduler
	rep    *Report
	left   int
	stopAt time.Time
}

// full reports whether the run reached its bounds.
func (r *run) full() bool {
	return r.left <= 0 || (!r.stopAt.IsZero() && time.Now().After(r.stopAt))
}

func (r *run) program(ctx context.Context, p *referral.Program) error {
	for _, q := range queues {
		if r.full() {
			r.rep.More = true
			return nil
		}
		now := r.s.Store.Now()
		due, err := r.s.Store.RewardsDue(ctx, p.ProgramID, q, now, int32(min(r.left, 100)))
		if err != nil {
			return err
		}
		if len(due) == min(r.left, 100) {
			r.rep.More = true // a full page: more may be due
		}
		for _, rw := range due {
			if r.full() {
				r.rep.More = true
				return nil
			}
			r.left--
			r.reward(ctx, p, rw, now)
		}
	}
	if r.asks(ctx, p) || r.reminders(ctx, p) {
		return nil
	}
	for _, period := range p.ContestPeriodsToClose(r.s.Store.Now()) {
		if r.full() {
			r.rep.More = true
			return nil
		}
		_, closed, err := r.s.Contests.CloseContest(ctx, p, period)
		switch {
		case err != nil:
			r.fail(ctx, "close contest", p.ProgramID, err)
		case closed:
			r.left--
			r.rep.ContestsClosed++
			metrics.Add(ctx, metrics.ContestsClosed, 1)
		}
	}
	return nil
}

// page is how many due items a run reads at once.
func (r *run) page() int32 { return int32(min(r.left, 100)) }

// asks sends the program's asks scheduled for now or earlier. full is true when the run
// reached its bounds.
func (r *run) asks(ctx context.Context, p *referral.Program) (full bool) {
	if r.full() {
		r.rep.More = true
		return true
	}
	due, err := r.s.Store.AsksDue(ctx, p.ProgramID, r.s.Store.Now(), r.page())
	if err != nil {
		r.fail(ctx, "scheduled asks", p.ProgramID, err)
		return false
	}
	if int32(len(due)) == r.page() {
		r.rep.More = true
	}
	for _, a := range due {
		if r.full() {
			r.rep.More = true
			return true
		}
		r.left--
		out, err := r.s.Asks.SendDue(ctx, a)
		switch {
		case err != nil:
			r.fail(ctx, "scheduled ask "+a.AskID, p.ProgramID, err)
		case out.Status == referral.AskSent:
			r.rep.AsksSent++
			metrics.Add(ctx, metrics.ScheduledAsks, 1)
		case out.Status == referral.AskSkipped:
			r.rep.AsksSkipped++
			r.s.Log.InfoContext(ctx, "scheduled ask not sent", "askId", a.AskID, "programId", p.ProgramID, "reason", out.Reason)
		default:
			r.rep.Skipped++
		}
	}
	return false
}

// reminders records the reminders due in the program (referral.ReminderDue): to advocates
// whose code has had no referral since it was created, emails.reminderAfterDays after the
// code or their last reminder, at most emails.maxReminders times. full is true when the run
// reached its bounds.
func (r *run) reminders(ctx context.Context, p *referral.Program) (full bool) {
	now := r.s.Store.Now()
	e := p.Emails
	if e.ReminderAfterDays <= 0 || e.MaxReminders <= 0 || !p.ActiveAt(now) {
		return false
	}
	if r.full() {
		r.rep.More = true
		return true
	}
	due, err := r.s.Store.RemindersDue(ctx, p, now.AddDate(0, 0, -e.ReminderAfterDays), r.page())
	if err != nil {
		r.fail(ctx, "reminders", p.ProgramID, err)
		return false
	}
	if int32(len(due)) == r.page() {
		r.rep.More = true
	}
	for _, c := range due {
		if r.full() {
			r.rep.More = true
			return true
		}
		r.left--
		var changed bool
		switch c.Code.Status {
		case referral.CodeActive:
			n, ok := referral.ReminderDue(e, c.Code.CreatedAt, c.Code.Uses, c.RemindersSent, c.LastReminderAt, now)
			if !ok {
				// Reminded enough (maxReminders was lowered), or not due after all.
				changed, err = r.s.Store.DeferReminder(ctx, c, c.RemindersSent >= e.MaxReminders)
				if changed {
					r.rep.RemindersLater++
				}
				break
			}
			if _, changed, err = r.s.Store.RecordReminder(ctx, c, n >= e.MaxReminders); changed {
				r.rep.Reminders++
				metrics.Add(ctx, metrics.RemindersSent, 1)
			}
		case referral.CodeExpired, referral.CodeExhausted:
			if changed, err = r.s.Store.DeferReminder(ctx, c, true); changed { // never to be shared again
				r.rep.RemindersLater++
			}
		default: // paused, blocked: perhaps later
			if changed, err = r.s.Store.DeferReminder(ctx, c, false); changed {
				r.rep.RemindersLater++
			}
		}
		switch {
		case err != nil:
			r.fail(ctx, "reminder of "+c.Code.CustomerID, p.ProgramID, err)
		case !changed:
			r.rep.Skipped++
		}
	}
	return false
}

// reward does the scheduler's work on one due reward.
func (r *run) reward(ctx context.Context, p *referral.Program, rw referral.Reward, now time.Time) {
	var changed bool
	var err error
	switch rw.NextAction(now) {
	case referral.ActionApprove:
		if _, changed, err = r.s.Store.ApproveHeld(ctx, rw, p); changed {
			r.rep.Approved++
			metrics.Add(ctx, metrics.RewardsApproved, 1)
		}
	case referral.ActionExpire:
		if _, changed, err = r.s.Store.Expire(ctx, rw); changed {
			r.rep.Expired++
			metrics.Add(ctx, metrics.RewardsExpired, 1)
		}
	case referral.ActionFulfil:
		var out referral.Reward
		out, err = r.s.Fulfil.Deliver(ctx, rw)
		changed = true
		var de *referral.Error
		switch {
		case err == nil && out.Status == referral.RewardFulfilled:
			r.rep.Delivered++
		case err == nil:
			changed = false // reversed or expired while it was being delivered
		case errors.As(err, &de) && de.Code == referral.ErrRewardState.Code:
			changed, err = false, nil // another worker is on it, or it moved
		case errors.As(err, &de) && de.Status != 503:
			r.rep.DeliveryFailed++ // recorded on the reward; POST /rewards/{id}/fulfill retries it
			err = nil
		}
	case referral.ActionTakeBack:
		var out referral.Reward
		out, changed, err = r.s.Fulfil.TakeBack(ctx, rw)
		if changed && out.Fulfilment != nil && out.Fulfilment.Reversal != nil {
			switch out.Fulfilment.Reversal.Status {
			case referral.ReversalDone:
				r.rep.TakenBack++
			case referral.ReversalSkipped:
				r.rep.Settled++
			case referral.ReversalFailed:
				r.rep.DeliveryFailed++
			}
		}
	default:
		return // not due after all (the index lags): nothing to do
	}
	switch {
	case err != nil:
		r.fail(ctx, "reward "+rw.RewardID, p.ProgramID, err)
	case !changed:
		r.rep.Skipped++
	}
}

func (r *run) fail(ctx context.Context, what, programID string, err error) {
	r.rep.Errors++
	r.s.Log.ErrorContext(ctx, "scheduled work failed", "work", what, "programId", programID, "error", err.Error())
}
