package email

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/referral/referrals/shared/referral"
)

// WriteSamples renders every template in every language with realistic sample data into
// dir/<lang>/<template>.html and .txt (the .txt starts with the subject), for people to read.
func WriteSamples(dir string) error {
	for _, lang := range Languages {
		if err := os.MkdirAll(filepath.Join(dir, lang), 0o755); err != nil {
			return fmt.Errorf("write samples: %w", err)
		}
		for _, name := range Templates {
			m, err := Render(name, lang, sampleData(lang, name))
			if err != nil {
				return fmt.Errorf("write samples: %w", err)
			}
			base := filepath.Join(dir, lang, name)
			if err := os.WriteFile(base+".html", []byte(m.HTML), 0o644); err != nil {
				return fmt.Errorf("write samples: %w", err)
			}
			if err := os.WriteFile(base+".txt", []byte("Subject: "+m.Subject+"\n\n"+m.Text), 0o644); err != nil {
				return fmt.Errorf("write samples: %w", err)
			}
		}
	}
	return nil
}

// sample is a business in one of our markets: its program (amounts in minor units of its
// currency), the advocate, the friend they referred, and what the friend's conversion earned.
type sample struct {
	program          referral.Program
	advocate, friend referral.Customer
	code             string
	earned           []referral.Reward // the thank-you's rewards
	ready            referral.Reward   // reward-ready's reward, fulfilled
	readyToFriend    bool              // reward-ready goes to the friend (their reward), not the advocate
	coupon           string            // the friend's coupon in friend-welcome
}

func fixed(milestone, kind string, amount int64) referral.Rule {
	return referral.Rule{Milestone: milestone, Type: referral.RuleFixed, Kind: kind, Amount: amount}
}

func money(amount int64, currency string) *referral.Money {
	return &referral.Money{Amount: amount, Currency: currency}
}

// samples: en is a B2B analytics tool paying at three milestones, the others shops and
// studios in their own markets, one of them donating in the advocate's name.
var samples = map[string]sample{
	"en": {
		program: referral.Program{Name: "Partner referral: demo, training, purchase", Currency: "USD",
			LandingURL: "https://acme.example.com/invite", Milestones: []string{"demo", "training", "purchase"},
			AdvocateRewards: []referral.Rule{fixed("demo", "gift_card", 1000), fixed("purchase", "gift_card", 2500),
				{Milestone: "purchase", Type: referral.RuleThreshold, AtCount: 3, Kind: "upgrade", Description: "VIP support for a year"}},
			RefereeRewards: []referral.Rule{{Milestone: "purchase", Type: referral.RulePercent, Percent: 20, Kind: "discount"}},
			Emails: referral.Emails{SenderName: "Ana at Acme", Tone: referral.ToneBusiness,
				ValueProposition: referral.Localized{"en": "grow your blog's conversions"}},
			Business: referral.Business{Name: "Acme Analytics", Address: "100 Market Street, Suite 300\nSan Francisco, CA 94105", ReplyTo: "ana@acme.example.com"}},
		advocate: referral.Customer{Name: "Maya Patel", Locale: "en-US"},
		friend:   referral.Customer{Name: "Jordan Lee", Locale: "en"},
		code:     "ACME-7K2QX9",
		earned: []referral.Reward{{Milestone: "purchase", Kind: "gift_card", Value: money(2500, "USD")},
			{Milestone: "purchase", Kind: "upgrade", Description: "VIP support for a year"}},
		ready: referral.Reward{Kind: "gift_card", Value: money(2500, "USD"), Reference: "GC-4417-9021"},
	},
	"ms": {
		program: referral.Program{Name: "Beri RM10, Dapat RM10", Currency: "MYR",
			LandingURL: "https://kopipagi.example.my/jemput", Milestones: []string{"purchase"},
			AdvocateRewards: []referral.Rule{fixed("purchase", "store_credit", 1000)},
			RefereeRewards:  []referral.Rule{{Milestone: "purchase", Type: referral.RuleFixed, Kind: "discount", Amount: 1000, MinAmount: 3000}},
			Emails: referral.Emails{SenderName: "Farah dari Kopi Pagi",
				ValueProposition: referral.Localized{"ms": "menikmati kopi segar setiap pagi", "en": "enjoy fresh coffee every morning"}},
			Business: referral.Business{Name: "Kopi Pagi", Address: "12 Jalan Telawi 3, Bangsar\n59100 Kuala Lumpur"}},
		advocate: referral.Customer{Name: "Aisyah Rahman", Locale: "ms-MY"},
		friend:   referral.Customer{Name: "Hafiz Ismail", Locale: "ms"},
		code:     "KOPI-4M8R2T",
		earned:   []referral.Reward{{Milestone: "purchase", Kind: "store_credit", Value: money(2000, "MYR")}},
		ready:    referral.Reward{Kind: "store_credit", Value: money(2000, "MYR")},
	},
	"id": {
		program: referral.Program{Name: "Ajak Teman, Dapat Voucher", Currency: "IDR",
			LandingURL: "https://tokobaju.example.co.id/ajak", Milestones: []string{"signup", "purchase"},
			AdvocateRewards: []referral.Rule{{Milestone: "purchase", Type: referral.RuleFixed, Kind: "donation", Amount: 2500000, Charity: "Dompet Dhuafa"}},
			RefereeRewards:  []referral.Rule{fixed("signup", "discount", 5000000)},
			Emails: referral.Emails{SenderName: "Dimas dari Tokobaju",
				ValueProposition: referral.Localized{"id": "tampil percaya diri setiap hari"}},
			Business: referral.Business{Name: "Tokobaju", Address: "Jl. Kemang Raya No. 8, Jakarta Selatan 12730"}},
		advocate:      referral.Customer{Name: "Putri Lestari", Locale: "id-ID"},
		friend:        referral.Customer{Name: "Budi Santoso", Locale: "id"},
		code:          "BAJU-9QW3LP",
		earned:        []referral.Reward{{Milestone: "purchase", Kind: "donation", Value: money(2500000, "IDR"), Charity: "Dompet Dhuafa"}},
		ready:         referral.Reward{Role: referral.RoleReferee, Kind: "discount", Value: money(5000000, "IDR"), Reference: "SELAMATDATANG-50"},
		readyToFriend: true,
		coupon:        "TEMAN-BUDI-50K",
	},
	"th": {
		program: referral.Program{Name: "ชวนเพื่อนมาโยคะ", Currency: "THB",
			LandingURL: "https://siamyoga.example.co.th/invite", Milestones: []string{"purchase"},
			AdvocateRewards: []referral.Rule{fixed("purchase", "gift_card", 50000),
				{Milestone: "purchase", Type: referral.RuleFixed, Kind: "donation", Amount: 10000, Charity: "สภากาชาดไทย"}},
			RefereeRewards: []referral.Rule{fixed("purchase", "discount", 30000)},
			Emails: referral.Emails{SenderName: "แอน จากสยามโยคะ", ThaiParticle: "ค่ะ",
				ValueProposition: referral.Localized{"th": "ดูแลสุขภาพกายและใจ"}},
			Business: referral.Business{Name: "สยามโยคะ", Address: "99 ถนนสุขุมวิท ซอย 31 แขวงคลองเตยเหนือ เขตวัฒนา กรุงเทพฯ 10110"}},
		advocate: referral.Customer{Name: "Ana Souza", Locale: "th-TH"},
		friend:   referral.Customer{Name: "ต้น วงศ์ใหญ่", Locale: "th"},
		code:     "YOGA-5T7HZK",
		earned: []referral.Reward{{Milestone: "purchase", Kind: "gift_card", Value: money(50000, "THB")},
			{Milestone: "purchase", Kind: "donation", Value: money(10000, "THB"), Charity: "สภากาชาดไทย"}},
		ready: referral.Reward{Kind: "gift_card", Value: money(50000, "THB"), Reference: "SY-GIFT-88213"},
	},
	"zh": {
		program: referral.Program{Name: "邀请好友，各得 ¥20", Currency: "CNY",
			LandingURL: "https://yunduo.example.cn/invite", Milestones: []string{"purchase"},
			AdvocateRewards: []referral.Rule{fixed("purchase", "store_credit", 2000)},
			RefereeRewards:  []referral.Rule{fixed("purchase", "discount", 2000)},
			Emails: referral.Emails{SenderName: "云朵咖啡 李娜",
				ValueProposition: referral.Localized{"zh": "每天喝到一杯好咖啡"}},
			Business: referral.Business{Name: "云朵咖啡", Address: "上海市徐汇区武康路 100 号"}},
		advocate: referral.Customer{Name: "晓雯", Locale: "zh-CN"},
		friend:   referral.Customer{Name: "子涵", Locale: "zh"},
		code:     "YUN-8XJ4QD",
		earned:   []referral.Reward{{Milestone: "purchase", Kind: "store_credit", Value: money(2000, "CNY")}},
		ready:    referral.Reward{Kind: "store_credit", Value: money(2000, "CNY")},
	},
}

// sampleUnsubscribeURL is the unsubscribe link of the samples.
const sampleUnsubscribeURL = "https://api.example.com/unsubscribe?c=cus_8f2k1&t=q7Zp3xLm"

// samplePageURL is the advocate page link of the samples.
const samplePageURL = "https://api.example.com/a/AYCumaQPBGRlbW9hbmED95YL-fAfyF6cepePF0Ke"

// sampleFacts is what the stream function would know for template name to a customer of the
// sample business in lang.
func sampleFacts(lang, name string) Facts {
	s := samples[lang]
	p := s.program
	p.ProgramID, p.Status, p.CreatedAt = "sample", referral.ProgramActive, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	p.Normalize()
	friend := s.friend
	f := Facts{Template: name, Program: p, Recipient: s.advocate, Code: s.code, CodeIsNew: true}
	if IsMarketing(name) {
		f.UnsubscribeURL = sampleUnsubscribeURL
	}
	if name != referral.EmailFriendWelcome && !(name == referral.EmailRewardReady && s.readyToFriend) {
		f.PageURL = samplePageURL
	}
	switch name {
	case referral.EmailThanksLoyal, referral.EmailThanksOneTime:
		for _, rw := range s.earned {
			rw.RefereeID = "friend"
			f.Rewards = append(f.Rewards, rw)
		}
		f.Referee = &friend
	case referral.EmailFriendWelcome:
		advocate := s.advocate
		f.Recipient, f.Advocate, f.Coupon = friend, &advocate, s.coupon
	case referral.EmailRewardReady:
		f.Rewards = []referral.Reward{s.ready}
		if s.readyToFriend {
			f.Recipient = friend
		}
	}
	return f
}

// sampleData is the data of sampleFacts.
func sampleData(lang, name string) Data {
	d, _ := Compose(sampleFacts(lang, name))
	return d
}
