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
	stripe := &Fulfilment{Provider: ProviderStripe, Status: FulfilmentDone, Reference: "FRIEND-20"}
	for _, c := range []struct {
		role, from, to string
		kind           string
		fulfilment     *Fulfilment
		thanks, ready  bool
	}{
		{RoleAdvocate, "", RewardPending, "", nil, false, false},
		{RoleAdvocate, "", RewardReview, "", nil, false, false},
		{RoleAdvocate, "", RewardApproved, "", nil, true, false},
		{RoleAdvocate, RewardPending, RewardApproved, "", nil, true, false},
		{RoleAdvocate, RewardReview, RewardApproved, "", nil, true, false},
		{RoleAdvocate, RewardApproved, RewardApproved, "", nil, false, false},
		{RoleAdvocate, RewardReview, RewardReversed, "", nil, true, false},
		{RoleAdvocate, RewardApproved, RewardReversed, "", nil, false, false},
		{RoleAdvocate, RewardApproved, RewardFulfilled, "", nil, false, true},
		{RoleAdvocate, RewardPending, RewardFulfilled, "", nil, false, true}, // fulfilled by hand once its hold ended
		{RoleAdvocate, RewardApproved, RewardFulfilled, "store_credit", stripe, false, true},
		{RoleAdvocate, RewardApproved, RewardFulfilled, "donation", nil, false, false},
		{RoleAdvocate, RewardFulfilled, RewardFulfilled, "", nil, false, false},
		{RoleReferee, "", RewardApproved, "", nil, false, false},
		{RoleReferee, RewardApproved, RewardFulfilled, "", nil, false, true},
		{RoleReferee, RewardApproved, RewardFulfilled, "discount", &Fulfilment{Provider: ProviderCouponPool, Status: FulfilmentDone}, false, true},
		{RoleReferee, RewardApproved, RewardFulfilled, "discount", stripe, false, false},
		{RoleAdvocate, RewardPending, RewardExpired, "", nil, false, false},
	} {
		r := Reward{Role: c.role, Status: c.to, Kind: c.kind, Fulfilment: c.fulfilment}
		thanks, ready := RewardEmail(r, c.from)
		if thanks != c.thanks || ready != c.ready {
			t.Errorf("%s %s %q → %q (%+v): thanks %v ready %v, want %v %v", c.role, c.kind, c.from, c.to, c.fulfilment, thanks, ready, c.thanks, c.ready)
		}
	}
}

func TestAReadyRewardShowsItsCodeOrTheCredit(t *testing.T) {
	done := func(provider, ref string) *Fulfilment {
		return &Fulfilment{Provider: provider, Status: FulfilmentDone, Reference: ref}
	}
	for _, c := range []struct {
		name   string
		r      Reward
		coupon string
		credit bool
	}{
		{"a code drawn from a pool", Reward{Role: RoleAdvocate, Kind: "gift_card", Reference: "GC-1", Fulfilment: done(ProviderCouponPool, "GC-1")}, "GC-1", false},
		{"a pool code for store credit is still a code", Reward{Role: RoleAdvocate, Kind: "store_credit", Fulfilment: done(ProviderCouponPool, "SC-9")}, "SC-9", false},
		{"a Stripe balance credit", Reward{Role: RoleAdvocate, Kind: "discount", Reference: "cbtxn_1", Fulfilment: done(ProviderStripe, "cbtxn_1")}, "", true},
		{"the friend's Stripe promotion code", Reward{Role: RoleReferee, Kind: "discount", Fulfilment: done(ProviderStripe, "FRIEND-20")}, "FRIEND-20", false},
		{"a delivery not done shows nothing", Reward{Role: RoleAdvocate, Kind: "discount", Fulfilment: &Fulfilment{Provider: ProviderCouponPool, Status: FulfilmentFailed}}, "", false},
		{"a discount fulfilled by hand: its reference", Reward{Role: RoleAdvocate, Kind: "discount", Reference: "THANKS10"}, "THANKS10", false},
		{"store credit by hand", Reward{Role: RoleAdvocate, Kind: "store_credit", Reference: "ledger 42"}, "", true},
		{"points by hand", Reward{Role: RoleAdvocate, Kind: "points"}, "", true},
		{"a free product by hand: named only", Reward{Role: RoleAdvocate, Kind: "free_product", Reference: "order 7"}, "", false},
	} {
		coupon, credit := c.r.ReadyAs()
		if coupon != c.coupon || credit != c.credit {
			t.Errorf("%s: coupon %q credit %v, want %q %v", c.name, coupon, credit, c.coupon, c.credit)
		}
	}
}

func TestTheFriendIsWelcomedOnceTheirCodeIsKnown(t *testing.T) {
	coupon := func(status string) *FriendCoupon {
		return &FriendCoupon{RewardID: "r1", Provider: ProviderStripe, Status: status}
	}
	ref := func(fc *FriendCoupon, stage string) Referral {
		return Referral{RefereeID: "bo", FriendCoupon: fc, Stage: stage}
	}
	for _, c := range []struct {
		name   string
		before *Referral
		after  Referral
		due    bool
	}{
		{"insert without a Stripe offer", nil, ref(nil, ""), true},
		{"insert while the code is being made", nil, ref(coupon(FulfilmentPending), ""), false},
		{"insert with the code already made", nil, ref(coupon(FulfilmentDone), ""), true},
		{"the code recorded", &Referral{FriendCoupon: coupon(FulfilmentPending)}, ref(coupon(FulfilmentDone), ""), true},
		{"the code failed: welcome without it", &Referral{FriendCoupon: coupon(FulfilmentPending)}, ref(coupon(FulfilmentFailed), ""), true},
		{"a conversion while the code is being made", &Referral{FriendCoupon: coupon(FulfilmentPending)}, ref(coupon(FulfilmentPending), "purchase"), false},
		{"the code recorded after the friend bought", &Referral{FriendCoupon: coupon(FulfilmentPending)}, ref(coupon(FulfilmentDone), "purchase"), false},
		{"a later change to a welcomed referral", &Referral{FriendCoupon: coupon(FulfilmentDone)}, ref(coupon(FulfilmentDone), "purchase"), false},
		{"a change without a coupon", &Referral{}, ref(nil, "signup"), false},
	} {
		if got := FriendWelcomeDue(c.before, c.after); got != c.due {
			t.Errorf("%s: due %v, want %v", c.name, got, c.due)
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
