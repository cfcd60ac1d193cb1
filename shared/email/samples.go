package email

import (
	"fmt"
	"github.com/referral/referrals/shared/locale"
	"os"
	"path/filepath"
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

// sample is a business in one of our markets, with amounts in minor units of its currency.
type sample struct {
	customer, sender, program, valueProp, code, landing, referee, currency string
	friend, advocate, earned                                               rewardSample
}

type rewardSample struct {
	kind   string
	amount int64
}

var samples = map[string]sample{
	"en": {"Maya", "Ana at Acme", "Give $10, get $10", "grow your blog's conversions", "ACME-7K2QX9",
		"https://shop.example.com/invite", "Jordan", "USD",
		rewardSample{"discount", 1000}, rewardSample{"gift_card", 1000}, rewardSample{"gift_card", 2500}},
	"ms": {"Aisyah", "Farah dari Kopi Pagi", "Beri RM10, Dapat RM10", "menikmati kopi segar setiap pagi", "KOPI-4M8R2T",
		"https://kopipagi.example.my/jemput", "Hafiz", "MYR",
		rewardSample{"discount", 1000}, rewardSample{"store_credit", 1000}, rewardSample{"store_credit", 2000}},
	"id": {"Putri", "Dimas dari Tokobaju", "Ajak Teman, Dapat Voucher", "tampil percaya diri setiap hari", "BAJU-9QW3LP",
		"https://tokobaju.example.co.id/ajak", "Budi", "IDR",
		rewardSample{"discount", 5000000}, rewardSample{"gift_card", 5000000}, rewardSample{"gift_card", 10000000}},
	"th": {"นภัส", "แอน จากสยามโยคะ", "ชวนเพื่อนมาโยคะ", "ดูแลสุขภาพกายและใจ", "YOGA-5T7HZK",
		"https://siamyoga.example.co.th/invite", "ต้น", "THB",
		rewardSample{"discount", 30000}, rewardSample{"points", 500}, rewardSample{"gift_card", 50000}},
	"zh": {"晓雯", "云朵咖啡 李娜", "邀请好友，各得 ¥20", "每天喝到一杯好咖啡", "YUN-8XJ4QD",
		"https://yunduo.example.cn/invite", "子涵", "CNY",
		rewardSample{"discount", 2000}, rewardSample{"store_credit", 2000}, rewardSample{"gift_card", 5000}},
}

// sampleData is what the stream function would pass for template name to a customer of the
// sample business in lang: thanks emails carry no unsubscribe link, asks no referee.
func sampleData(lang, name string) Data {
	s := samples[lang]
	describe := func(r rewardSample) string {
		return locale.Describe(locale.Reward{Kind: r.kind, Value: &r.amount, Currency: s.currency}, lang)
	}
	d := Data{
		CustomerFirstName: s.customer,
		SenderName:        s.sender,
		ProgramName:       s.program,
		ValueProposition:  s.valueProp,
		Code:              s.code,
		ShareURL:          s.landing + "?ref=" + s.code,
		FriendOffer:       describe(s.friend),
		AdvocateReward:    describe(s.advocate),
	}
	if IsAsk(name) {
		d.UnsubscribeURL = "https://api.example.com/unsubscribe?c=cus_8f2k1&t=q7Zp3xLm"
	} else {
		d.RefereeFirstName = s.referee
		d.RewardEarned = describe(s.earned)
	}
	return d
}
