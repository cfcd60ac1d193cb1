// Package asks sends the emails that ask customers for referrals: at once (POST /asks), or at
// a time the merchant chose (POST /asks with sendAt), which the scheduler sends when it comes
// due by the rules of an ask sent then. Either way an ask is recorded in the table, and its
// insert sends the email through the stream.
package asks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// Service records asks. Build it once per container.
type Service struct {
	Store    *store.Store
	Programs *store.ProgramCache
}

// Request is an ask for referrals: whom, in which program, with which template
// (referral.AskTemplateAuto or one of the three ask templates).
type Request struct {
	CustomerID string
	ProgramID  string
	Template   string
}

// Send records an ask now, if the customer may be asked (referral.CheckAsk) in an active
// program: their code is created when they have none, and the ask's insert sends the email.
// It costs 1 BatchGetItem (customer, code, last ask), 1 GetItem (the suppression list) and 1
// TransactWriteItems, plus the code's own read and transaction when the customer has no code
// in the program yet.
func (s *Service) Send(ctx context.Context, req Request) (store.Ask, error) {
	return s.send(ctx, req, "")
}

// Schedule records an ask to send at sendAt (1 PutItem), after checking what can be known now:
// the program is active at sendAt, and the customer exists and may be asked then (opted out,
// suppressed or asked within the cooldown of sendAt are refused now, as an ask now would be).
// The same rules are checked again when it is sent.
func (s *Service) Schedule(ctx context.Context, req Request, sendAt time.Time) (store.ScheduledAsk, error) {
	sendAt = sendAt.UTC()
	p, err := s.Programs.Get(ctx, req.ProgramID)
	if err != nil {
		return store.ScheduledAsk{}, err
	}
	if !p.ActiveAt(sendAt) {
		return store.ScheduledAsk{}, referral.ErrProgramInactive.With("the program is not active at sendAt", nil)
	}
	if _, err := s.check(ctx, &p, req, sendAt); err != nil {
		return store.ScheduledAsk{}, err
	}
	now := s.Store.Now()
	a := store.ScheduledAsk{AskID: referral.NewID(now), CustomerID: req.CustomerID, ProgramID: req.ProgramID, Template: req.Template,
		SendAt: sendAt, CreatedAt: now}
	if err := s.Store.ScheduleAsk(ctx, a); err != nil {
		return store.ScheduledAsk{}, err
	}
	a.Status = referral.AskScheduled
	return a, nil
}

// Outcome is what became of a scheduled ask that came due.
type Outcome struct {
	Status string // referral.AskSent, referral.AskSkipped, or "" when it was done before
	Reason string // why it was skipped: the error code an ask sent now gets
}

// SendDue sends a scheduled ask that came due, as Send would now, under its own id: sent, or
// skipped with the reason an ask now would be refused for (the customer opted out, their
// address is suppressed, they were asked within the cooldown, the program is not active...).
// An ask that was sent or skipped before is left as it is. An error is a failure to retry
// later: the ask stays due.
func (s *Service) SendDue(ctx context.Context, a store.ScheduledAsk) (Outcome, error) {
	_, err := s.send(ctx, Request{CustomerID: a.CustomerID, ProgramID: a.ProgramID, Template: a.Template}, a.AskID)
	var refused *referral.Error
	switch {
	case err == nil:
		return Outcome{Status: referral.AskSent}, nil
	case errors.Is(err, store.ErrAskDone):
		return Outcome{}, nil
	case errors.As(err, &refused) && refused.Status < 500:
		changed, serr := s.Store.SkipScheduledAsk(ctx, a.AskID, refused.Code)
		if serr != nil || !changed {
			return Outcome{}, serr
		}
		return Outcome{Status: referral.AskSkipped, Reason: refused.Code}, nil
	default:
		return Outcome{}, fmt.Errorf("send scheduled ask %s: %w", a.AskID, err)
	}
}

// send records the ask now; scheduledID names the scheduled ask it is, if any.
func (s *Service) send(ctx context.Context, req Request, scheduledID string) (store.Ask, error) {
	p, err := s.Programs.Get(ctx, req.ProgramID)
	if err != nil {
		return store.Ask{}, err
	}
	now := s.Store.Now()
	if !p.ActiveAt(now) {
		return store.Ask{}, referral.ErrProgramInactive
	}
	st, err := s.check(ctx, &p, req, now)
	if err != nil {
		return store.Ask{}, err
	}
	a := store.Ask{AskID: scheduledID, CustomerID: req.CustomerID, ProgramID: req.ProgramID, Template: req.Template, Code: st.Code, CreatedAt: now}
	if a.AskID == "" {
		a.AskID = referral.NewID(now)
	}
	if a.Template == "" || a.Template == referral.AskTemplateAuto {
		a.Template = referral.AutoAskTemplate(st.Customer, st.Code)
	}
	if a.Code == "" {
		// Every ask carries the advocate's code and link: one is made now, by the usual code
		// rules, and marked as the ask's, so that the ask's email alone announces it.
		rec, created, err := s.Store.CreateAskCode(ctx, &p, req.CustomerID)
		if err != nil {
			return store.Ask{}, fmt.Errorf("code for ask: %w", err)
		}
		a.Code, a.CodeCreated = rec.Code.Code, created
	}
	cooldown := referral.AskCooldown(p.Emails)
	record := s.Store.RecordAsk
	if scheduledID != "" {
		record = s.Store.RecordScheduledAsk
	}
	if err := record(ctx, a, cooldown); err != nil {
		if errors.Is(err, referral.ErrRateLimited) { // another ask won the race
			return store.Ask{}, referral.AskRateLimited(now.Add(cooldown), now)
		}
		return store.Ask{}, err
	}
	return a, nil
}

// check reads what an ask to the customer depends on and decides whether it may go at at.
func (s *Service) check(ctx context.Context, p *referral.Program, req Request, at time.Time) (store.AskState, error) {
	st, err := s.Store.AskState(ctx, req.CustomerID, req.ProgramID)
	if err != nil {
		return st, err
	}
	suppressed := false
	if c := st.Customer; c.Email != "" && !c.MarketingOptOut {
		if _, suppressed, err = s.Store.Suppressed(ctx, c.Email); err != nil {
			return st, err
		}
	}
	return st, referral.CheckAsk(st.Customer, suppressed, st.LastAskAt, p.Emails, at)
}
