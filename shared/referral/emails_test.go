package referral

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValuePropositionMustCompleteTheSentenceInItsLanguage(t *testing.T) {
	for _, c := range []struct {
		lang, text string
		ok         bool
		why        string // a word the error must say
	}{
		{"en", "grow your blog's conversions", true, ""},
		{"en", "enjoy fresh beans every week", true, ""},
		{"en", "bring your team together", true, ""},
		{"en", "fresh beans delivered every week", false, "verb phrase"},
		{"en", "delivering fresh beans", false, "base form"},
		{"en", "Our beans are the best", false, "lower-case"},
		{"en", "the best coffee in town", false, "verb phrase"},
		{"en", "save time.", false, "punctuation"},
		{"en", "grow {firstName}'s blog", false, "placeholders"},
		{"ms", "menikmati kopi segar setiap pagi", true, ""},
		{"ms", "enjoy fresh coffee every morning", false, "Malay"},
		{"id", "tampil percaya diri setiap hari", true, ""},
		{"id", "look your best every day", false, "Indonesian"},
		{"th", "ดูแลสุขภาพกายและใจ", true, ""},
		{"th", "single-origin coffee ทุกวัน", false, "Thai"},
		{"zh", "每天喝到一杯好咖啡", true, ""},
		{"zh", "single-origin coffee", false, "Chinese"},
	} {
		err := ValidValueProposition("emails.valueProposition."+c.lang, c.lang, c.text)
		if c.ok != (err == nil) {
			t.Errorf("%s %q: err = %v, want ok=%v", c.lang, c.text, err, c.ok)
			continue
		}
		if err != nil && (!strings.Contains(err.Error(), c.why) || !strings.Contains(err.Error(), "verb phrase")) {
			t.Errorf("%s %q: %v should say %q and that it wants a verb phrase", c.lang, c.text, err, c.why)
		}
	}
}

func TestEmailCopyChecksPlaceholdersAndFields(t *testing.T) {
	for _, c := range []struct {
		name, template string
		copy           EmailCopy
		field          string // "" = valid
	}{
		{"subject with placeholders", EmailThanksLoyal, EmailCopy{Subject: "{firstName}, thank you for introducing {friendName}!"}, ""},
		{"everything", EmailAskCurrent, EmailCopy{Subject: "Hi {firstName}", Intro: "Thanks for being with {businessName}.", CTA: "Invite a friend", ValueProposition: "grow your blog"}, ""},
		{"nothing", EmailAskCurrent, EmailCopy{}, ""},
		{"unknown placeholder", EmailAskCurrent, EmailCopy{Subject: "Hi {first_name}"}, "subject"},
		{"friendName in an ask", EmailAskCurrent, EmailCopy{Intro: "Thanks to {friendName}"}, "intro"},
		{"stray brace", EmailAskCurrent, EmailCopy{Intro: "Thanks {firstName"}, "intro"},
		{"subject of placeholders only", EmailAskCurrent, EmailCopy{Subject: "{firstName}"}, "subject"},
		{"subject too long", EmailAskCurrent, EmailCopy{Subject: strings.Repeat("a", 101)}, "subject"},
		{"cta too long", EmailAskCurrent, EmailCopy{CTA: strings.Repeat("a", 41)}, "cta"},
		{"intro with a line break", EmailAskCurrent, EmailCopy{Intro: "one\ntwo"}, "intro"},
		{"cta of a template without a button", EmailThanksOneTime, EmailCopy{CTA: "Shop"}, "cta"},
		{"value proposition in a thank-you", EmailThanksLoyal, EmailCopy{ValueProposition: "grow"}, "valueProposition"},
		{"noun phrase", EmailAskCurrent, EmailCopy{ValueProposition: "fresh beans delivered every week"}, "valueProposition"},
	} {
		err := c.copy.Validate(c.template, "en")
		var e *Error
		switch {
		case c.name == "nothing":
			if !errors.As(err, &e) {
				t.Errorf("%s: err = %v, want invalid_request", c.name, err)
			}
		case c.field == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.field != "" && (!errors.As(err, &e) || e.Field != c.field):
			t.Errorf("%s: err = %v, want invalid_request on %s", c.name, err, c.field)
		}
	}
	if err := (EmailCopy{Subject: "x"}).Validate("thanks-everyone", "en"); err == nil {
		t.Error("unknown template accepted")
	}
	if err := (EmailCopy{Subject: "x"}).Validate(EmailAskCurrent, "fr"); err == nil {
		t.Error("unknown language accepted")
	}
}

func TestValuePropositionReadsTheOldStringAsEnglish(t *testing.T) {
	var e Emails
	if err := json.Unmarshal([]byte(`{"valueProposition": "grow your blog"}`), &e); err != nil || e.ValueProposition["en"] != "grow your blog" || len(e.ValueProposition) != 1 {
		t.Fatalf("string: %v %v", e.ValueProposition, err)
	}
	if err := json.Unmarshal([]byte(`{"valueProposition": {"th": "ดูแลสุขภาพ", "en": "stay healthy"}}`), &e); err != nil || e.ValueProposition["th"] != "ดูแลสุขภาพ" {
		t.Fatalf("object: %v %v", e.ValueProposition, err)
	}
	if err := json.Unmarshal([]byte(`{"valueProposition": 3}`), &e); err == nil {
		t.Fatal("a number was accepted")
	}
}

func TestLoyalClientUsesDefaultsForZeroSettings(t *testing.T) {
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	longAgo, recent := now.AddDate(-2, 0, 0), now.AddDate(0, -1, 0)
	for _, c := range []struct {
		name     string
		customer Customer
		emails   Emails
		want     bool
	}{
		{"six purchases since 2024, settings left at 0", Customer{PurchaseCount: 6, FirstPurchaseAt: &longAgo}, Emails{}, true},
		{"two purchases, defaults", Customer{PurchaseCount: 2}, Emails{}, true},
		{"one recent purchase, defaults", Customer{PurchaseCount: 1, FirstPurchaseAt: &recent}, Emails{}, false},
		{"one purchase two years ago, defaults", Customer{PurchaseCount: 1, FirstPurchaseAt: &longAgo}, Emails{}, true},
		{"new customer", Customer{}, Emails{}, false},
		{"program wants 10 purchases", Customer{PurchaseCount: 6}, Emails{LoyalAfterPurchases: 10, LoyalAfterDays: 3650}, false},
		{"program counts 30 days", Customer{PurchaseCount: 1, FirstPurchaseAt: &recent}, Emails{LoyalAfterPurchases: 10, LoyalAfterDays: 30}, true},
	} {
		if got := LoyalClient(c.customer, c.emails, now); got != c.want {
			t.Errorf("%s: LoyalClient = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRewardEmailFollowsTheWrittenStatus(t *testing.T) {
	for _, c := range []struct {
		role, from, to string
		thanks, ready  bool
	}{
		{RoleAdvocate, "", RewardPending, false, false},
		{RoleAdvocate, "", RewardReview, false, false},
		{RoleAdvocate, "", RewardApproved, true, false},
		{RoleAdvocate, RewardPending, RewardApproved, true, false},
		{RoleAdvocate, RewardReview, RewardApproved, true, false},
		{RoleAdvocate, RewardApproved, RewardApproved, false, false},
		{RoleAdvocate, RewardReview, RewardReversed, true, false},
		{RoleAdvocate, RewardApproved, RewardReversed, false, false},
		{RoleAdvocate, RewardApproved, RewardFulfilled, false, true},
		{RoleAdvocate, RewardFulfilled, RewardFulfilled, false, false},
		{RoleReferee, "", RewardApproved, false, false},
		{RoleReferee, RewardApproved, RewardFulfilled, false, true},
		{RoleAdvocate, RewardPending, RewardExpired, false, false},
	} {
		thanks, ready := RewardEmail(c.role, c.from, c.to)
		if thanks != c.thanks || ready != c.ready {
			t.Errorf("%s %q → %q: thanks %v ready %v, want %v %v", c.role, c.from, c.to, thanks, ready, c.thanks, c.ready)
		}
	}
}

func TestThanksWaitForEveryRewardOfTheConversion(t *testing.T) {
	adv := func(status string) Reward { return Reward{Role: RoleAdvocate, CustomerID: "ana", Status: status} }
	friend := Reward{Role: RoleReferee, CustomerID: "bo", Status: RewardPending}
	for _, c := range []struct {
		name    string
		rewards []Reward
		n       int
		ready   bool
	}{
		{"tier reward and bonus approved", []Reward{adv(RewardApproved), adv(RewardApproved), friend}, 2, true},
		{"bonus still in review", []Reward{adv(RewardApproved), adv(RewardReview)}, 0, false},
		{"one pending", []Reward{adv(RewardPending)}, 0, false},
		{"one approved, one reversed", []Reward{adv(RewardApproved), adv(RewardReversed)}, 1, true},
		{"all reversed", []Reward{adv(RewardReversed)}, 0, false},
		{"fulfilled counts as approved", []Reward{adv(RewardFulfilled)}, 1, true},
		{"another advocate's reward", []Reward{{Role: RoleAdvocate, CustomerID: "cy", Status: RewardPending}, adv(RewardApproved)}, 1, true},
	} {
		got, ready := ThanksFor(c.rewards, "ana")
		if len(got) != c.n || ready != c.ready {
			t.Errorf("%s: %d rewards, ready %v; want %d, %v", c.name, len(got), ready, c.n, c.ready)
		}
	}
}

func TestReminderDue(t *testing.T) {
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	on := Emails{ReminderAfterDays: 7, MaxReminders: 2}
	at := func(days int) time.Time { return created.AddDate(0, 0, days) }
	last := at(8)
	for _, c := range []struct {
		name      string
		e         Emails
		referrals int
		sent      int
		last      *time.Time
		now       time.Time
		next      int
		due       bool
	}{
		{"reminders off", Emails{}, 0, 0, nil, at(30), 0, false},
		{"too early", on, 0, 0, nil, at(6), 1, false},
		{"first due", on, 0, 0, nil, at(7), 1, true},
		{"second too early", on, 0, 1, &last, at(14), 2, false},
		{"second due", on, 0, 1, &last, at(15), 2, true},
		{"all sent", on, 0, 2, &last, at(60), 0, false},
		{"already referred someone", on, 1, 0, nil, at(30), 0, false},
	} {
		next, due := ReminderDue(c.e, created, c.referrals, c.sent, c.last, c.now)
		if next != c.next || due != c.due {
			t.Errorf("%s: ReminderDue = %d, %v; want %d, %v", c.name, next, due, c.next, c.due)
		}
	}
}
