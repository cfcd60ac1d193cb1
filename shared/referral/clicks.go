package referral

import (
	"slices"
	"strings"
)

// Share channels: where a visit to a share link came from, as its ?ch= says. The advocate's
// page puts one on every share button; links without one are "direct". Stats count visits per
// channel, so the channels are a fixed set: anything else counts as "other" (an open set would
// let anyone grow a program's stats item with made-up names).
const (
	ChannelDirect = "direct"
	ChannelOther  = "other"
)

// Channels are the share channels counted by name.
var Channels = []string{"whatsapp", "line", "telegram", "facebook", "x", "email", "sms", "messenger", "instagram", "copy", "qr",
	ChannelDirect, ChannelOther}

// ClickChannel is the channel a visit counts under for the ?ch= value raw: a known channel
// (any case), "direct" without one, "other" for anything else.
func ClickChannel(raw string) string {
	ch := strings.ToLower(strings.TrimSpace(raw))
	switch {
	case ch == "":
		return ChannelDirect
	case slices.Contains(Channels, ch):
		return ch
	default:
		return ChannelOther
	}
}

// linkPreviewers are the user-agent marks of the robots that fetch a link when it is pasted
// into a chat or a post, to show its preview (WhatsApp, Facebook and LINE, Telegram, X, ...),
// and of search crawlers. Their fetches are not people visiting.
var linkPreviewers = []string{"whatsapp/", "facebookexternalhit", "facebot", "telegrambot", "twitterbot", "linkedinbot",
	"slackbot", "slack-imgproxy", "discordbot", "skypeuripreview", "redditbot", "pinterest", "embedly", "vkshare",
	"googlebot", "bingbot", "applebot", "yandexbot", "duckduckbot", "baiduspider", "petalbot", "iframely",
	"google-inspectiontool", "headlesschrome/", "crawler", "spider"}

// IsVisit reports whether a request to a share link, by its User-Agent, is a person's visit
// rather than a link preview or a crawler (the user agent decides only this; it is not kept).
func IsVisit(userAgent string) bool {
	ua := strings.ToLower(userAgent)
	for _, m := range linkPreviewers {
		if strings.Contains(ua, m) {
			return false
		}
	}
	return true
}
