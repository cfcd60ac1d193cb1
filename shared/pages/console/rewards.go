package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
)

// queues are the reward queues the console works: status → the page's heading.
var queues = []struct{ Status, Title string }{
	{referral.RewardReview, "Review queue"},
	{referral.RewardApproved, "Payout queue"},
	{"failed", "Failed deliveries"},
}

// queueFilter reads ?status= (review by default) and ?programId=.
func queueFilter(req api.Request) (status, title string, query map[string]string) {
	status, title = queues[0].Status, queues[0].Title
	for _, q := range queues {
		if q.Status == req.QueryStringParameters["status"] {
			status, title = q.Status, q.Title
		}
	}
	query = map[string]string{"status": status}
	if p := req.QueryStringParameters["programId"]; p != "" {
		query["programId"] = p
	}
	return status, title, query
}

// rewards is a reward queue (GET /rewards?status=), a page at a time, with each reward's
// actions: approve or reverse one held for review, fulfil an approved one.
func (c *Console) rewards(ctx context.Context, req api.Request, v *visit) (api.Response, error) {
	status, title, q := queueFilter(req)
	back := url.Values{}
	for k, x := range q {
		back.Set(k, x)
	}
	q["limit"] = "25"
	if cur := req.QueryStringParameters["cursor"]; cur != "" {
		q["cursor"] = cur
	}
	var list api.RewardPage
	ae, err := c.callJSON(ctx, v, "GET /rewards", nil, q, nil, &list)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The rewards could not be listed", fieldMessage(ae))
	}
	rows := make([]any, 0, len(list.Rewards))
	for _, r := range list.Rewards {
		value := r.Description
		if r.Value != nil {
			value = locale.FormatMoney(r.Value.Amount, r.Value.Currency, "en")
		}
		rows = append(rows, map[string]any{"ID": r.RewardID, "Program": r.ProgramID, "Customer": r.CustomerID, "Role": r.Role,
			"Kind": r.Kind, "Value": value, "Milestone": r.Milestone, "EventID": r.EventID,
			"Created": r.CreatedAt.UTC().Format("2006-01-02 15:04"),
			"Review":  r.Status == referral.RewardReview, "Payout": r.Status == referral.RewardApproved || r.Status == "failed"})
	}
	tabs := make([]any, 0, len(queues))
	for _, t := range queues {
		tabs = append(tabs, map[string]any{"Title": t.Title, "URL": "?status=" + t.Status, "Current": t.Status == status})
	}
	next := ""
	if list.NextCursor != nil {
		nq := url.Values{"cursor": {*list.NextCursor}}
		for k, x := range back {
			nq[k] = x
		}
		next = "?" + nq.Encode()
	}
	return c.page(http.StatusOK, "rewards", v, v.root, map[string]any{"Rewards": rows, "Tabs": tabs, "Heading": title,
		"Status": status, "Back": back.Encode(), "Export": "rewards/export?" + back.Encode(), "Next": next,
		"Done": doneMessages[req.QueryStringParameters["done"]]}, title)
}

// export is the queue as the API's CSV (every page of it, one header), as a download.
func (c *Console) export(ctx context.Context, req api.Request, v *visit) (api.Response, error) {
	status, _, q := queueFilter(req)
	q["limit"] = "100"
	var out strings.Builder
	for page := 0; page < 100; page++ { // 10 000 rewards at most in one file
		resp, ae, err := c.call(ctx, v, "GET /rewards", nil, q, nil, "text/csv")
		if err != nil {
			return api.Response{}, err
		}
		if ae != nil {
			return c.notice(ae.Status, v.root, v, "The rewards could not be exported", fieldMessage(ae))
		}
		body := resp.Body
		if page > 0 {
			_, body, _ = strings.Cut(body, "\r\n") // the header once
		}
		out.WriteString(body)
		cursor := nextCursor(resp.Headers["Link"])
		if cursor == "" {
			break
		}
		q["cursor"] = cursor
	}
	name := "rewards-" + status
	if p := q["programId"]; p != "" {
		name += "-" + p
	}
	return api.Response{StatusCode: http.StatusOK, Body: out.String(), Headers: map[string]string{
		"Content-Type":           "text/csv; charset=utf-8",
		"Content-Disposition":    `attachment; filename="` + name + `.csv"`,
		"Cache-Control":          "no-store, private",
		"X-Content-Type-Options": "nosniff",
	}}, nil
}

// nextCursor is the cursor of a Link header's rel="next" URL ("" when there is none).
func nextCursor(link string) string {
	for part := range strings.SplitSeq(link, ",") {
		target, params, _ := strings.Cut(part, ";")
		if !strings.Contains(params, `rel="next"`) {
			continue
		}
		u, err := url.Parse(strings.Trim(strings.TrimSpace(target), "<>"))
		if err == nil {
			return u.Query().Get("cursor")
		}
	}
	return ""
}

// queueAction runs one reward action through the API and goes back to the queue.
func (c *Console) queueAction(ctx context.Context, v *visit, form url.Values, routeKey string, params map[string]string, body any, done string) (api.Response, error) {
	ae, err := c.callJSON(ctx, v, routeKey, params, nil, body, nil)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "Nothing was changed", fieldMessage(ae))
	}
	back, err := url.ParseQuery(form.Get("back"))
	if err != nil {
		back = url.Values{}
	}
	back.Set("done", done)
	return redirect(v.root + "console/rewards?" + back.Encode()), nil
}

func (c *Console) approve(ctx context.Context, req api.Request, v *visit, form url.Values) (api.Response, error) {
	return c.queueAction(ctx, v, form, "POST /rewards/{rewardId}/approve", map[string]string{"rewardId": req.PathParameters["rewardId"]}, nil, "approved")
}

func (c *Console) fulfil(ctx context.Context, req api.Request, v *visit, form url.Values) (api.Response, error) {
	var body any
	if ref := strings.TrimSpace(form.Get("reference")); ref != "" {
		body = map[string]string{"reference": ref}
	}
	return c.queueAction(ctx, v, form, "POST /rewards/{rewardId}/fulfill", map[string]string{"rewardId": req.PathParameters["rewardId"]}, body, "fulfilled")
}

func (c *Console) reverse(ctx context.Context, req api.Request, v *visit, form url.Values) (api.Response, error) {
	var body any
	if reason := strings.TrimSpace(form.Get("reason")); reason != "" {
		body = map[string]string{"reason": reason}
	}
	return c.queueAction(ctx, v, form, "POST /conversions/{eventId}/reverse", map[string]string{"eventId": req.PathParameters["eventId"]}, body, "reversed")
}
