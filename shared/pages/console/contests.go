package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// contests is a program's contest for one month (?period=, this month by default): the
// leaderboard as the API ranks it, the prizes, and closing the period (the API awards the
// prizes once, and refuses a month that has not ended).
func (c *Console) contests(ctx context.Context, req api.Request, v *visit) (api.Response, error) {
	id := req.PathParameters["programId"]
	params := map[string]string{"programId": id}
	period := req.QueryStringParameters["period"]
	if period == "" {
		period = insights.MonthOf(c.now())
	}
	start, err := insights.ParsePeriod("period", period)
	if err != nil {
		return c.notice(http.StatusBadRequest, v.root, v, "No such month", messageOf(err))
	}
	var p referral.Program
	ae, err := c.callJSON(ctx, v, "GET /programs/{programId}", params, nil, nil, &p)
	var board insights.Leaderboard
	if err == nil && ae == nil {
		ae, err = c.callJSON(ctx, v, "GET /programs/{programId}/leaderboard", params, map[string]string{"period": period, "limit": "25"}, nil, &board)
	}
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The contest could not be shown", fieldMessage(ae))
	}
	entries := make([]any, 0, len(board.Entries))
	for _, e := range board.Entries {
		entries = append(entries, map[string]any{"Rank": e.Rank, "Name": e.DisplayName, "Customer": e.CustomerID, "Conversions": e.Conversions})
	}
	prizes := make([]any, 0, len(p.Contest.Prizes))
	for _, pr := range p.Contest.Prizes {
		what := pr.Description
		if pr.Amount > 0 {
			what = locale.FormatMoney(pr.Amount, p.Currency, "en") + " " + pr.Kind
		}
		prizes = append(prizes, map[string]any{"Rank": pr.Rank, "What": what})
	}
	month := func(t time.Time) string { return "?" + url.Values{"period": {t.Format("2006-01")}}.Encode() }
	return c.page(http.StatusOK, "contests", v, v.root, map[string]any{"ID": id, "Name": p.Name, "Period": period,
		"Month": start.Format("January 2006"), "Entries": entries, "Prizes": prizes,
		"Previous": month(start.AddDate(0, -1, 0)), "Following": month(start.AddDate(0, 1, 0)),
		"Done": req.QueryStringParameters["done"] == "closed"}, p.Name+" — contest "+period)
}

// closeContest closes a month's contest through the API and shows the prizes it awarded.
func (c *Console) closeContest(ctx context.Context, req api.Request, v *visit, _ url.Values) (api.Response, error) {
	id, period := req.PathParameters["programId"], req.PathParameters["period"]
	var closed store.Contest
	ae, err := c.callJSON(ctx, v, "POST /programs/{programId}/contests/{period}/close", map[string]string{"programId": id, "period": period}, nil, nil, &closed)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The contest was not closed", fieldMessage(ae))
	}
	text := fmt.Sprintf("The contest of %s is closed: %d prizes awarded.", period, len(closed.Awards))
	for _, a := range closed.Awards {
		text += fmt.Sprintf(" Rank %d: %s (%d conversions), reward %s.", a.Rank, a.CustomerID, a.Conversions, a.RewardID)
	}
	return c.notice(http.StatusOK, v.root, v, "Contest closed", text)
}
