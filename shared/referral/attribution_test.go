package referral

import (
	"errors"
	"testing"
	"time"
)

var attrNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func ptime(t time.Time) *time.Time { return &t }

// attribution is a valid attribution of bo to ana's code; each case breaks one thing.
func attribution() Attribution {
	p := testProgram(nil, nil)
	p.AttributionWindowDays = 60
	return Attribution{
		Program:  p,
		Code:     Code{Code: "ANA-DEMO", ProgramID: "p1", CustomerID: "ana"},
		Advocate: &Customer{CustomerID: "ana", Email: "Ana.Lima@gmail.com", Name: "Ana Lima"},
		Referee:  Customer{CustomerID: "bo", Email: "bo@example.com", Name: "Bo"},
		Channel:  "email",
		Now:      attrNow,
	}
}

func TestAttributeDecidesEveryRuleOfAttribution(t *testing.T) {
	existing := &Referral{ReferralID: "r0", ProgramID: "p1", AdvocateID: "ana", RefereeID: "bo"}
	byOther := &Referral{ReferralID: "r1", ProgramID: "p1", AdvocateID: "eve", RefereeID: "bo"}
	cases := []struct {
		name   string
		change func(*Attribution)
		want   *Error
		reused bool
	}{
		{"a new referee is attributed", func(*Attribution) {}, nil, false},
		{"a paused program takes no referrals", func(a *Attribution) { a.Program.Status = ProgramPaused }, ErrProgramInactive, false},
		{"an archived program takes no referrals", func(a *Attribution) { a.Program.Status = ProgramArchived }, ErrProgramInactive, false},
		{"an ended program takes no referrals", func(a *Attribution) { a.Program.EndsAt = ptime(attrNow.Add(-time.Hour)) }, ErrProgramInactive, false},
		{"a program not started takes no referrals", func(a *Attribution) { a.Program.StartsAt = ptime(attrNow.Add(time.Hour)) }, ErrProgramInactive, false},
		{"a paused code is inactive", func(a *Attribution) { a.CodePaused = true }, ErrCodeInactive, false},
		{"an expired code is inactive", func(a *Attribution) { a.Code.ExpiresAt = ptime(attrNow) }, ErrCodeInactive, false},
		{"a used-up code is inactive", func(a *Attribution) { a.Code.MaxUses, a.Code.Uses = 2, 2 }, ErrCodeInactive, false},
		{"self-referral by id", func(a *Attribution) { a.Referee.CustomerID = "ana" }, ErrSelfReferral, false},
		{"self-referral by gmail dots and +tag", func(a *Attribution) { a.Referee.Email = "ana.lima+x@googlemail.com" }, ErrSelfReferral, false},
		{"self-referral by case and space", func(a *Attribution) { a.Referee.Email = " ANA.LIMA@GMAIL.COM " }, ErrSelfReferral, false},
		{"an already attributed referee", func(a *Attribution) { a.Existing = existing }, ErrAlreadyReferred, false},
		{"checkout with the same advocate proceeds", func(a *Attribution) { a.Existing, a.Checkout = existing, true }, nil, true},
		{"checkout with another advocate's referee", func(a *Attribution) { a.Existing, a.Checkout = byOther, true }, ErrAlreadyReferred, false},
		{"checkout with the same advocate whose code is now used up", func(a *Attribution) {
			a.Existing, a.Checkout, a.Code.MaxUses, a.Code.Uses = existing, true, 1, 1
		}, nil, true},
		{"a duplicate referee by normalized email", func(a *Attribution) {
			a.EmailOwner = &Referral{ReferralID: "r2", ProgramID: "p1", AdvocateID: "ana", RefereeID: "carol"}
		}, ErrAlreadyReferred, false},
		{"a blocked email domain", func(a *Attribution) { a.Program.BlockedEmailDomains = []string{"example.com"} }, ErrEmailDomainBlocked, false},
		{"a blocked email subdomain", func(a *Attribution) {
			a.Program.BlockedEmailDomains = []string{"example.com"}
			a.Referee.Email = "bo@mail.example.com"
		}, ErrEmailDomainBlocked, false},
		{"a blocked advocate", func(a *Attribution) { a.Advocate.Blocked = true }, ErrCustomerBlocked, false},
		{"a blocked referee", func(a *Attribution) { a.RefereeStored = &Customer{CustomerID: "bo", Blocked: true} }, ErrCustomerBlocked, false},
		{"new customers only: a referee who bought", func(a *Attribution) {
			a.Program.NewCustomersOnly = true
			a.RefereeStored = &Customer{CustomerID: "bo", PurchaseCount: 1}
		}, ErrNotNewCustomer, false},
		{"new customers only: a referee who never bought", func(a *Attribution) {
			a.Program.NewCustomersOnly = true
			a.RefereeStored = &Customer{CustomerID: "bo"}
		}, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := attribution()
			c.change(&in)
			r, reused, err := Attribute(in)
			if c.want == nil {
				if err != nil || reused != c.reused {
					t.Fatalf("got %v (reused %v), want no error (reused %v)", err, reused, c.reused)
				}
				if !reused && (r.AdvocateID != "ana" || r.RefereeID != in.Referee.CustomerID || r.CreatedAt != attrNow ||
					r.AttributionExpiresAt == nil || !r.AttributionExpiresAt.Equal(attrNow.AddDate(0, 0, 60))) {
					t.Fatalf("referral %+v", r)
				}
				return
			}
			var de *Error
			if !errors.As(err, &de) || de.Code != c.want.Code {
				t.Fatalf("got %v, want %s", err, c.want.Code)
			}
		})
	}
}

func TestNormalizeEmailStripsTagsForEveryDomainAndDotsForGmail(t *testing.T) {
	for in, want := range map[string]string{
		"Carol.Jones@gmail.com":        "caroljones@gmail.com",
		"carol.jones+3@googlemail.com": "caroljones@gmail.com",
		"carol+shop@example.com":       "carol@example.com",
		"Carol.Jones+a+b@Example.COM":  "carol.jones@example.com",
		" bo@example.com ":             "bo@example.com",
		"not-an-address":               "not-an-address",
	} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFillCustomerNeverOverwritesStoredFields(t *testing.T) {
	stored := &Customer{CustomerID: "bo", Email: "bo@example.com", Name: "", Locale: "th"}
	got := FillCustomer(stored, Customer{Email: "other@example.com", Name: "Bo Chen", Locale: "en"})
	if len(got) != 1 || got["name"] != "Bo Chen" {
		t.Fatalf("fill %v, want only the empty name", got)
	}
	if got := FillCustomer(nil, Customer{Email: "a@b.co"}); got["email"] != "a@b.co" {
		t.Fatalf("a new customer gets what was given: %v", got)
	}
}

func TestCheckConversionDecidesProgramTimeAndWindow(t *testing.T) {
	referred := attrNow.Add(-10 * 24 * time.Hour)
	base := func() ConversionCheck {
		p := testProgram(nil, nil)
		return ConversionCheck{Program: p, Referral: Referral{CreatedAt: referred, AttributionExpiresAt: ptime(referred.AddDate(0, 0, 30))},
			OccurredAt: attrNow, Now: attrNow}
	}
	paused := func(daysAgo, honor int) func(*ConversionCheck) {
		return func(c *ConversionCheck) {
			c.Program.Status, c.Program.HonorReferralsDays = ProgramPaused, honor
			c.Program.EndedAt = ptime(attrNow.AddDate(0, 0, -daysAgo))
		}
	}
	cases := []struct {
		name   string
		change func(*ConversionCheck)
		want   *Error
	}{
		{"a running program pays", func(*ConversionCheck) {}, nil},
		{"a paused program does not pay", paused(0, 0), ErrProgramInactive},
		{"an archived program does not pay", func(c *ConversionCheck) { c.Program.Status = ProgramArchived }, ErrProgramInactive},
		{"an ended program does not pay", func(c *ConversionCheck) { c.Program.EndsAt = ptime(attrNow.Add(-time.Minute)) }, ErrProgramInactive},
		{"a paused program honours earlier referrals for honorReferralsDays", paused(3, 7), nil},
		{"the honour period runs out", paused(8, 7), ErrProgramInactive},
		{"an ended program honours earlier referrals", func(c *ConversionCheck) {
			c.Program.EndsAt, c.Program.HonorReferralsDays = ptime(attrNow.Add(-time.Hour)), 1
		}, nil},
		{"a referral made after the program ended is not honoured", func(c *ConversionCheck) {
			c.Program.EndsAt, c.Program.HonorReferralsDays = ptime(referred.Add(-time.Hour)), 30
		}, ErrProgramInactive},
		{"a blocked advocate", func(c *ConversionCheck) { c.AdvocateBlocked = true }, ErrCustomerBlocked},
		{"a blocked referee", func(c *ConversionCheck) { c.RefereeBlocked = true }, ErrCustomerBlocked},
		{"occurredAt in the future", func(c *ConversionCheck) { c.OccurredAt = attrNow.Add(6 * time.Minute) }, ErrInvalidField},
		{"occurredAt a little ahead (clock skew)", func(c *ConversionCheck) { c.OccurredAt = attrNow.Add(4 * time.Minute) }, nil},
		{"occurredAt in 2001, before the referral", func(c *ConversionCheck) { c.OccurredAt = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) }, ErrConversionBeforeReferral},
		{"occurredAt before the program started", func(c *ConversionCheck) {
			c.Program.StartsAt = ptime(referred.Add(-time.Hour))
			c.OccurredAt, c.NewReferral = referred.Add(-2*time.Hour), true
		}, ErrConversionBeforeReferral},
		{"a checkout's purchase may precede its own referral", func(c *ConversionCheck) {
			c.Referral.CreatedAt, c.OccurredAt, c.NewReferral = attrNow, attrNow.Add(-time.Hour), true
		}, nil},
		{"after the attribution window", func(c *ConversionCheck) { c.Referral.AttributionExpiresAt = ptime(attrNow.Add(-time.Second)) }, ErrAttributionExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := base()
			c.change(&in)
			err := CheckConversion(in)
			if c.want == nil {
				if err != nil {
					t.Fatalf("got %v, want none", err)
				}
				return
			}
			var de *Error
			if !errors.As(err, &de) || de.Code != c.want.Code {
				t.Fatalf("got %v, want %s", err, c.want.Code)
			}
			if c.want == ErrInvalidField && de.Field != "occurredAt" {
				t.Fatalf("field %q, want occurredAt", de.Field)
			}
		})
	}
}

func TestCodeStatusFollowsPauseProgramExpiryAndUses(t *testing.T) {
	p := testProgram(nil, nil)
	for _, c := range []struct {
		code   Code
		paused bool
		want   string
	}{
		{Code{}, false, CodeActive},
		{Code{}, true, CodeInactive},
		{Code{ExpiresAt: ptime(attrNow)}, false, CodeExpired},
		{Code{MaxUses: 3, Uses: 3}, false, CodeExhausted},
		{Code{MaxUses: 3, Uses: 2}, false, CodeActive},
	} {
		if got := CodeStatus(p, c.code, c.paused, attrNow); got != c.want {
			t.Errorf("%+v paused=%v: %s, want %s", c.code, c.paused, got, c.want)
		}
	}
	p.Status = ProgramPaused
	if got := CodeStatus(p, Code{}, false, attrNow); got != CodeInactive {
		t.Errorf("a code of a paused program is %s", got)
	}
}

func TestShareURLKeepsTheFragmentAfterTheQuery(t *testing.T) {
	for landing, want := range map[string]string{
		"https://shop.example.com/invite":         "https://shop.example.com/invite?ref=ANA",
		"https://shop.example.com/invite?utm=x":   "https://shop.example.com/invite?utm=x&ref=ANA",
		"https://shop.example.com/invite#top":     "https://shop.example.com/invite?ref=ANA#top",
		"https://shop.example.com/i?utm=x#top":    "https://shop.example.com/i?utm=x&ref=ANA#top",
		"https://shop.example.com/i#/route?tab=1": "https://shop.example.com/i?ref=ANA#/route?tab=1",
		"": "",
	} {
		if got := ShareURL(landing, "ANA"); got != want {
			t.Errorf("ShareURL(%q) = %q, want %q", landing, got, want)
		}
	}
}

// A program without a landing page shares its hosted friend page, and a friend shops at its
// shop; with one, both go through the landing page (unless the shop is set for shopping).
func TestShareAndShopLinksWithoutALandingPage(t *testing.T) {
	hosted := Program{ShopURL: "https://shop.example.com/store"}
	if got := hosted.ShareLink("ANA", "https://api.example.com/"); got != "https://api.example.com/r/ANA" {
		t.Errorf("share link = %q", got)
	}
	if got := hosted.ShareLink("ANA", ""); got != "" {
		t.Errorf("share link without the API's URL = %q", got)
	}
	if got := hosted.ShopLink("ANA"); got != "https://shop.example.com/store?ref=ANA" {
		t.Errorf("shop link = %q", got)
	}
	landing := Program{LandingURL: "https://shop.example.com/invite"}
	if got := landing.ShareLink("ANA", "https://api.example.com"); got != "https://shop.example.com/invite?ref=ANA" {
		t.Errorf("share link with a landing page = %q", got)
	}
	if got := landing.ShopLink("ANA"); got != "https://shop.example.com/invite?ref=ANA" {
		t.Errorf("shop link with a landing page only = %q", got)
	}
}
