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
