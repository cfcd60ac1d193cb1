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

func TestLinkPreviewsAreNotVisits(t *testing.T) {
	for ua, want := range map[string]bool{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1": true,
		"Mozilla/5.0 (Linux; Android 14; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36":                     true,
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.20.0":       true, // LINE's in-app browser: a person
		"":                                       true,
		"WhatsApp/2.23.20.0 A":                   false,
		"facebookexternalhit/1.1;line-poker/1.0": false, // LINE's preview
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)": false,
		"TelegramBot (like TwitterBot)":                                             false,
		"Twitterbot/1.0":                                                            false,
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":  false,
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)":                false,
	} {
		if got := IsVisit(ua); got != want {
			t.Errorf("IsVisit(%q) = %v, want %v", ua, got, want)
		}
	}
}
