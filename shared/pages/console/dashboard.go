package console

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
)

// dashboardMonths is how many months the per-month charts show (this one and those before).
const dashboardMonths = 6

// dashboard is a program's figures, drawn as SVG on the server from the API's stats (all
// time, and one month at a time for the per-month charts) and leaderboard.
func (c *Console) dashboard(ctx context.Context, req api.Request, v *visit) (api.Response, error) {
	id := req.PathParameters["programId"]
	params := map[string]string{"programId": id}
	var p referral.Program
	ae, err := c.callJSON(ctx, v, "GET /programs/{programId}", params, nil, nil, &p)
	if err == nil && ae == nil {
		var all stats
		if ae, err = c.callJSON(ctx, v, "GET /programs/{programId}/stats", params, nil, nil, &all); err == nil && ae == nil {
			return c.drawDashboard(ctx, v, p, all)
		}
	}
	if err != nil {
		return api.Response{}, err
	}
	return c.notice(ae.Status, v.root, v, "The dashboard could not be shown", fieldMessage(ae))
}

// stats are the API's stats with the share links' visits per channel (clicksByChannel) where
// the stats count them.
type stats struct {
	insights.Stats
	ClicksByChannel map[string]int64 `json:"clicksByChannel"`
}

func (c *Console) drawDashboard(ctx context.Context, v *visit, p referral.Program, all stats) (api.Response, error) {
	params := map[string]string{"programId": p.ProgramID}
	money := func(n int64) string { return locale.FormatMoney(n, p.Currency, "en") }
	count := func(n int64) string { return locale.FormatNumber(n, "en") }
	last := ""
	if len(p.Milestones) > 0 {
		last = p.Milestones[len(p.Milestones)-1]
	}
	now := c.now().UTC()
	var labels []string
	var refs, convs, revenue []int64
	for i := dashboardMonths - 1; i >= 0; i-- {
		m := time.Date(now.Year(), now.Month()-time.Month(i), 1, 0, 0, 0, 0, time.UTC)
		period := m.Format("2006-01")
		var st insights.Stats
		ae, err := c.callJSON(ctx, v, "GET /programs/{programId}/stats", params, map[string]string{"from": period, "to": period}, nil, &st)
		if err != nil {
			return api.Response{}, err
		}
		if ae != nil {
			return c.notice(ae.Status, v.root, v, "The dashboard could not be shown", fieldMessage(ae))
		}
		labels = append(labels, m.Format("Jan ’06"))
		refs, convs, revenue = append(refs, st.Referrals), append(convs, st.Conversions[last]), append(revenue, st.ReferredRevenue.Amount)
	}
	var board insights.Leaderboard
	ae, err := c.callJSON(ctx, v, "GET /programs/{programId}/leaderboard", params, nil, nil, &board)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The dashboard could not be shown", fieldMessage(ae))
	}

	funnelLabels, funnel := []string{"Referrals"}, []int64{all.Referrals}
	for _, m := range p.Milestones {
		funnelLabels, funnel = append(funnelLabels, milestoneName(m)), append(funnel, all.Conversions[m])
	}
	var statusLabels []string
	var statusCounts []int64
	for _, s := range []string{referral.RewardPending, referral.RewardReview, referral.RewardApproved, "fulfilled", "expired", "reversed"} {
		if t, ok := all.Rewards[s]; ok || s == referral.RewardReview {
			statusLabels, statusCounts = append(statusLabels, s), append(statusCounts, t.Count)
		}
	}
	var leaders []string
	var leaderCounts []int64
	for _, e := range board.Entries {
		leaders, leaderCounts = append(leaders, fmt.Sprintf("%d. %s", e.Rank, e.DisplayName)), append(leaderCounts, int64(e.Conversions))
	}

	channels := slices.SortedFunc(maps.Keys(all.ClicksByChannel), func(a, b string) int {
		return cmp.Or(cmp.Compare(all.ClicksByChannel[b], all.ClicksByChannel[a]), cmp.Compare(a, b))
	})
	clicks := make([]int64, 0, len(channels))
	for _, ch := range channels {
		clicks = append(clicks, all.ClicksByChannel[ch])
	}

	charts := []any{
		columns("Referrals per month", labels, refs, count),
		columns("Conversions per month ("+milestoneName(last)+")", labels, convs, count),
		columns("Referred revenue per month", labels, revenue, money),
		bars("Funnel", funnelLabels, funnel, count),
		bars("Rewards by status", statusLabels, statusCounts, count),
		bars("Top advocates this month ("+board.Period+")", leaders, leaderCounts, count),
		bars("Clicks per channel", channels, clicks, count),
	}
	figures := []any{
		map[string]any{"Label": "Referrals", "Value": count(all.Referrals)},
		map[string]any{"Label": "Conversions", "Value": count(all.Conversions[last])},
		map[string]any{"Label": "Referred revenue", "Value": money(all.ReferredRevenue.Amount)},
		map[string]any{"Label": "Active advocates", "Value": count(all.ActiveAdvocates)},
	}
	return c.page(http.StatusOK, "dashboard", v, v.root, map[string]any{"ID": p.ProgramID, "Name": p.Name, "Status": p.Status,
		"Figures": figures, "Charts": charts}, p.Name+" — dashboard")
}

// milestoneName is a milestone as a heading says it ("first_purchase" → "first purchase").
func milestoneName(m string) string { return strings.ReplaceAll(m, "_", " ") }
