// Package locale says things the way readers of each of the product's languages expect:
// which language a customer locale selects, money amounts, reward phrases, milestones, lists.
// The email templates, the public code check and the pages share it, so that a reward reads
// the same everywhere and nothing needs the email renderer to format a price.
package locale

import "strings"

// Languages lists the languages the product writes in; the first is the fallback.
var Languages = []string{"en", "ms", "id", "th", "zh"}

// Lang is the language a customer locale selects: its primary subtag ("zh-CN", "ZH", "ms_MY"),
// matched case-insensitively against Languages, with English for anything else.
func Lang(locale string) string {
	primary, _, _ := strings.Cut(strings.TrimSpace(locale), "-")
	primary, _, _ = strings.Cut(primary, "_")
	primary = strings.ToLower(primary)
	if alias, ok := langAliases[primary]; ok {
		primary = alias
	}
	for _, l := range Languages {
		if primary == l {
			return l
		}
	}
	return Languages[0]
}

// Supported reports whether lang is exactly one of Languages (not a locale to match).
func Supported(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// langAliases maps other codes for our languages: the ISO 639-2/3 codes and the legacy "in"
// that older Java and Android systems still send for Indonesian.
var langAliases = map[string]string{
	"eng": "en",
	"msa": "ms", "may": "ms", "zsm": "ms",
	"ind": "id", "in": "id",
	"tha": "th",
	"zho": "zh", "chi": "zh", "cmn": "zh",
}
