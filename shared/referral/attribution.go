package referral

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// CodeStatus is a code's status at now: inactive while it or its program is paused (or the
// program is not running), expired past its expiry, exhausted at its maximum uses, else active.
func CodeStatus(p *Program, c Code, paused bool, now time.Time) string {
	switch {
	case paused || !p.ActiveAt(now):
		return CodeInactive
	case c.ExpiresAt != nil && !now.Before(*c.ExpiresAt):
		return CodeExpired
	case c.MaxUses > 0 && c.Uses >= c.MaxUses:
		return CodeExhausted
	default:
		return CodeActive
	}
}

// Attribution is what deciding one attribution needs: the program, the code used (with its
// paused flag), both customers as stored, and what the table holds about the referee in the
// program.
type Attribution struct {
	Program    *Program
	Code       Code
	CodePaused bool
	Advocate   *Customer // the code's owner as stored; nil if the customer item is gone
	Referee    Customer  // the referee as given, its empty fields filled from the stored customer
	// RefereeStored is the referee's customer item, nil for a new customer.
	RefereeStored *Customer
	// Existing is the referee's referral in the program, nil if none.
	Existing *Referral
	// EmailOwner is the referral of another referee in the program with the same normalized
	// email, nil if none.
	EmailOwner *Referral
	Channel    string
	// Checkout is an attribution made by a conversion (code + referee): a referee already
	// attributed to the same advocate proceeds with that referral.
	Checkout bool
	Now      time.Time
}

// Attribute decides an attribution and returns the new referral (ReferralID left for the
// caller), or the existing one with reused = true at checkout. Errors, checked in this order:
// program not running → ErrProgramInactive; referee attributed already → ErrAlreadyReferred
// (carrying that referral); code paused, expired or used up → ErrCodeInactive; a blocked
// advocate or referee → ErrCustomerBlocked; self-referral by id or normalized email →
// ErrSelfReferral; an email domain the program blocks → ErrEmailDomainBlocked; a referee with
// purchases in a new-customers-only program → ErrNotNewCustomer; another referee with the same
// normalized email → ErrAlreadyReferred.
func Attribute(in Attribution) (r Referral, reused bool, err error) {
	p, now := in.Program, in.Now
	if e := in.Existing; e != nil && in.Checkout && e.AdvocateID == in.Code.CustomerID {
		return *e, true, nil // the conversion decides whether the program still pays
	}
	if !p.ActiveAt(now) {
		return r, false, ErrProgramInactive.With(fmt.Sprintf("the program %s is not running: new referrals are not accepted", p.ProgramID), nil)
	}
	if e := in.Existing; e != nil {
		msg := ""
		if in.Checkout {
			msg = "the referee is already attributed to another advocate in this program"
		}
		return r, false, ErrAlreadyReferred.With(msg, *e)
	}
	if st := CodeStatus(p, in.Code, in.CodePaused, now); st != CodeActive {
		return r, false, ErrCodeInactive.With("the code is "+st, nil)
	}
	if in.Advocate != nil && in.Advocate.Blocked {
		return r, false, ErrCustomerBlocked.With("the code's advocate is blocked from the referral programs", nil)
	}
	if in.RefereeStored != nil && in.RefereeStored.Blocked {
		return r, false, ErrCustomerBlocked.With("the referee is blocked from the referral programs", nil)
	}
	if in.Referee.CustomerID == in.Code.CustomerID {
		return r, false, ErrSelfReferral
	}
	email := NormalizeEmail(in.Referee.Email)
	if in.Advocate != nil && email != "" && NormalizeEmail(in.Advocate.Email) == email {
		return r, false, ErrSelfReferral
	}
	if d := BlockedDomain(p, in.Referee.Email); d != "" {
		return r, false, ErrEmailDomainBlocked.With(fmt.Sprintf("this program does not accept referees with %s addresses", d), nil)
	}
	if p.NewCustomersOnly && in.RefereeStored != nil && in.RefereeStored.PurchaseCount > 0 {
		return r, false, ErrNotNewCustomer
	}
	if o := in.EmailOwner; o != nil && o.RefereeID != in.Referee.CustomerID {
		return r, false, ErrAlreadyReferred.With("another referee in this program has the same email address", *o)
	}
	r = Referral{ProgramID: p.ProgramID, Code: in.Code.Code, AdvocateID: in.Code.CustomerID,
		RefereeID: in.Referee.CustomerID, Channel: in.Channel, CreatedAt: now}
	if p.AttributionWindowDays > 0 {
		t := now.AddDate(0, 0, p.AttributionWindowDays)
		r.AttributionExpiresAt = &t
	}
	return r, false, nil
}

// BlockedDomain is the program's blocked domain that email belongs to (the domain itself or a
// subdomain of it), or "".
func BlockedDomain(p *Program, email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	domain := strings.ToLower(strings.TrimSpace(email[at+1:]))
	for _, d := range p.BlockedEmailDomains {
		d = strings.ToLower(d)
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return d
		}
	}
	return ""
}

// FillCustomer is what a referral may write to a referee's customer record: the given name,
// email and locale only where the stored record has none, so a referral never overwrites
// what the merchant stored.
func FillCustomer(stored *Customer, given Customer) (fill map[string]string) {
	fill = map[string]string{}
	for _, f := range []struct{ name, have, give string }{
		{"email", field(stored, func(c *Customer) string { return c.Email }), given.Email},
		{"name", field(stored, func(c *Customer) string { return c.Name }), given.Name},
		{"locale", field(stored, func(c *Customer) string { return c.Locale }), given.Locale},
	} {
		if f.have == "" && f.give != "" {
			fill[f.name] = f.give
		}
	}
	return fill
}

func field(c *Customer, get func(*Customer) string) string {
	if c == nil {
		return ""
	}
	return get(c)
}

// MergeReferee is the referee as an attribution sees it: what the request gave, with what the
// stored record has taking precedence (a referral never changes stored data).
func MergeReferee(stored *Customer, given Customer) Customer {
	if stored == nil {
		return given
	}
	c := *stored
	c.CustomerID = given.CustomerID
	for name, v := range FillCustomer(stored, given) {
		switch name {
		case "email":
			c.Email = v
		case "name":
			c.Name = v
		case "locale":
			c.Locale = v
		}
	}
	return c
}

// conversionSkew is how far a conversion's occurredAt may lie before its referral, or after
// now, without being refused: clocks of two systems disagree by that much.
const conversionSkew = 5 * time.Minute

// ConversionCheck is what deciding whether a conversion may be priced needs.
type ConversionCheck struct {
	Program    *Program
	Referral   Referral
	OccurredAt time.Time
	Now        time.Time
	// NewReferral is set when this conversion's own call made the referral (checkout): the
	// purchase it reports happened as the referee arrived, so it cannot come before it.
	NewReferral bool
	// AdvocateBlocked and RefereeBlocked say whether either side is on the blocklist.
	AdvocateBlocked, RefereeBlocked bool
}

// CheckConversion decides whether a conversion may be priced: the program must be running, or
// have ended less than honorReferralsDays ago for a referee referred while it ran
// (ErrProgramInactive); neither customer may be blocked (ErrCustomerBlocked); occurredAt may not
// be in the future (ErrInvalidField), before the referral or before the program started
// (ErrConversionBeforeReferral), or after the attribution window (ErrAttributionExpired).
func CheckConversion(in ConversionCheck) error {
	p, r, at := in.Program, in.Referral, in.OccurredAt
	if !p.ActiveAt(in.Now) {
		end, ran := p.endAt(in.Now)
		honored := ran && p.HonorReferralsDays > 0 && r.CreatedAt.Before(end) &&
			in.Now.Before(end.AddDate(0, 0, p.HonorReferralsDays))
		if !honored {
			msg := fmt.Sprintf("the program %s is not running: conversions are not rewarded", p.ProgramID)
			if ran && p.HonorReferralsDays > 0 {
				msg = fmt.Sprintf("the program %s ended at %s and honours referrals made before that for %d days only",
					p.ProgramID, end.Format(time.RFC3339), p.HonorReferralsDays)
			}
			return ErrProgramInactive.With(msg, nil)
		}
	}
	if in.AdvocateBlocked {
		return ErrCustomerBlocked.With("the referee's advocate is blocked from the referral programs", nil)
	}
	if in.RefereeBlocked {
		return ErrCustomerBlocked.With("the referee is blocked from the referral programs", nil)
	}
	if at.After(in.Now.Add(conversionSkew)) {
		return ErrInvalidField.With("occurredAt is in the future", nil).At("occurredAt")
	}
	if p.StartsAt != nil && at.Before(*p.StartsAt) {
		return ErrConversionBeforeReferral.With(fmt.Sprintf("the conversion occurred at %s, before the program started at %s",
			at.Format(time.RFC3339), p.StartsAt.Format(time.RFC3339)), nil)
	}
	if !in.NewReferral && at.Before(r.CreatedAt.Add(-conversionSkew)) {
		return ErrConversionBeforeReferral.With(fmt.Sprintf("the conversion occurred at %s, before the referee was referred at %s",
			at.Format(time.RFC3339), r.CreatedAt.Format(time.RFC3339)), nil)
	}
	if r.AttributionExpiresAt != nil && at.After(*r.AttributionExpiresAt) {
		return ErrAttributionExpired.With(fmt.Sprintf("the conversion occurred at %s, after the attribution window closed at %s",
			at.Format(time.RFC3339), r.AttributionExpiresAt.Format(time.RFC3339)), nil)
	}
	return nil
}

// Reached is the referral's reached milestones with m added (each at most once).
func Reached(reached []string, m string) []string {
	if slices.Contains(reached, m) {
		return slices.Clone(reached)
	}
	return append(slices.Clone(reached), m)
}

// Unreached is the referral's reached milestones without m: a reversed conversion no longer
// counts as reaching it, so a later conversion of that milestone is priced again.
func Unreached(reached []string, m string) []string {
	return slices.DeleteFunc(slices.Clone(reached), func(x string) bool { return x == m })
}
