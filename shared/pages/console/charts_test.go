package console

import (
	"strconv"
	"testing"
)

// The charts' bars are to scale: the largest fills the plot, zero draws nothing, a small
// value still shows, and the text alternative says every value.
func TestChartsAreToScale(t *testing.T) {
	count := func(n int64) string { return strconv.FormatInt(n, 10) }
	b := bars("Funnel", []string{"Referrals", "signup", "purchase"}, []int64{1000, 0, 3}, count)
	items := b["Items"].([]any)
	width := func(i int) string { return items[i].(map[string]any)["W"].(string) }
	if width(0) != "200" || width(1) != "0" || width(2) != "2" {
		t.Errorf("bar widths %s %s %s, want 200 0 2", width(0), width(1), width(2))
	}
	if b["Alt"] != "Funnel. Referrals: 1000; signup: 0; purchase: 3." {
		t.Errorf("alt %q", b["Alt"])
	}
	c := columns("Per month", []string{"Nov", "Dec"}, []int64{2, 4}, count)
	cols := c["Items"].([]any)
	if h := cols[1].(map[string]any)["H"]; h != "128" {
		t.Errorf("the tallest column is %v high, want the plot's 128", h)
	}
	if h := cols[0].(map[string]any)["H"]; h != "64" {
		t.Errorf("half the tallest is %v high, want 64", h)
	}
	if e := bars("Empty", nil, nil, count); e["Empty"] != true {
		t.Error("a chart without values is not marked empty")
	}
}
