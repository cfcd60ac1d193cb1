package referral

import "testing"

func TestClickChannelCountsKnownChannelsByName(t *testing.T) {
	for raw, want := range map[string]string{
		"whatsapp": "whatsapp", "WhatsApp": "whatsapp", " line ": "line", "x": "x", "qr": "qr",
		"": "direct", "direct": "direct", "tiktok": "other", "whatsapp\x00": "other",
		"a-very-long-made-up-channel-name": "other", "other": "other",
	} {
		if got := ClickChannel(raw); got != want {
			t.Errorf("ClickChannel(%q) = %q, want %q", raw, got, want)
		}
	}
}
