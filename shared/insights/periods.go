// Package insights turns the table's stream into program KPIs and monthly leaderboards, serves
// them, and closes contests on the leaderboards (a gamified program awards its prizes to the
// month's top ranks).
//
// Nothing here runs on the request path. A second consumer of the table's stream (functions/insightsstream)
// derives a Fact from each relevant item change (Facts, pure) and the store applies a whole
// batch of them exactly once, with one ADD update per program×month aggregate touched, so no
// program-wide item is written per conversion. The conversions count each advocate's month on
// their standing; the same batch takes those counts (absolute, so a record seen twice changes
// nothing) onto one board item per program and month touched (store.ApplyBoards). Reads sum
// the monthly aggregates (Summarize, pure) or read the month's board once.
//
// Definitions (the API reports them as such):
//   - a converted referee is one who reached the program's last milestone; a conversion counts
//     in the month it was recorded, and a reversal takes it back from that month;
//   - an advocate counts in the month their code was created, an active advocate in the month
//     of their first referral, a repeat referrer in the month their second referee converted;
//   - customers are every customer record of the business (advocates and referees included):
//     the referral rate is active advocates ÷ customers;
//   - referred revenue is the sum of the amounts of all recorded, unreversed conversions;
//   - a click is a visit to a share link (redirect or friend page), counted in the month of the
//     visit and per channel (?ch=, a fixed set, else "other"; "direct" without one); referrals
//     per click is referrals ÷ clicks;
//   - rewards are counted in the month they were created, by their effective status now.
package insights

import (
	"time"

	"github.com/referral/referrals/shared/referral"
)

// monthLayout is how periods and months are written: 2026-11.
const monthLayout = "2006-01"

// MonthOf is the UTC month of t, as a period.
func MonthOf(t time.Time) string { return t.UTC().Format(monthLayout) }

// ParsePeriod reads a month like 2026-11 and returns its first instant (UTC).
func ParsePeriod(field, s string) (time.Time, error) {
	t, err := time.Parse(monthLayout, s)
	if err != nil || len(s) != len(monthLayout) {
		return time.Time{}, referral.Invalid(field, "must be a month like 2026-11")
	}
	if t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, referral.Invalid(field, "must be a month between 2000-01 and 2200-12")
	}
	return t, nil
}

// PeriodEnd is the first instant after the month that starts at start.
func PeriodEnd(start time.Time) time.Time { return start.AddDate(0, 1, 0) }
