package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/referral"
)

// webhooks lists the webhook endpoints (a page at a time) with a form to register one.
func (c *Console) webhooks(ctx context.Context, req api.Request, v *visit) (api.Response, error) {
	return c.webhooksPage(ctx, req.QueryStringParameters["cursor"], v, http.StatusOK, map[string]any{
		"Done": doneMessages[req.QueryStringParameters["done"]]})
}

func (c *Console) webhooksPage(ctx context.Context, cursor string, v *visit, status int, data map[string]any) (api.Response, error) {
	q := map[string]string{"limit": "25"}
	if cursor != "" {
		q["cursor"] = cursor
	}
	var list api.WebhookEndpointList
	ae, err := c.callJSON(ctx, v, "GET /webhook-endpoints", nil, q, nil, &list)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The webhook endpoints could not be listed", fieldMessage(ae))
	}
	eps := make([]any, 0, len(list.Endpoints))
	for _, ep := range list.Endpoints {
		eps = append(eps, map[string]any{"ID": ep.EndpointID, "URL": ep.URL, "Description": ep.Description,
			"Events": strings.Join(ep.Events, ", "), "Rotating": ep.PreviousSecretExpiresAt != nil})
	}
	next := ""
	if list.NextCursor != nil {
		next = "?" + url.Values{"cursor": {*list.NextCursor}}.Encode()
	}
	chosen, _ := data["Chosen"].([]string)
	events := make([]any, 0, len(referral.WebhookEventTypes))
	for _, e := range referral.WebhookEventTypes {
		events = append(events, map[string]any{"Value": e, "Checked": slices.Contains(chosen, e)})
	}
	d := map[string]any{"Endpoints": eps, "Next": next, "Events": events, "Done": "", "Secret": "", "SecretFor": "",
		"URL": "", "Description": "", "URLError": "", "EventsError": "", "DescriptionError": ""}
	for k, x := range data {
		if k != "Chosen" {
			d[k] = x
		}
	}
	return c.page(status, "webhooks", v, v.root, d, "Webhooks")
}

// createWebhook registers an endpoint through the API; its signing secret is shown once.
func (c *Console) createWebhook(ctx context.Context, _ api.Request, v *visit, form url.Values) (api.Response, error) {
	in := api.WebhookEndpointBody{URL: strings.TrimSpace(form.Get("url")), Events: form["events"], Description: strings.TrimSpace(form.Get("description"))}
	if in.Events == nil {
		in.Events = []string{}
	}
	var out api.EndpointWithSecret
	ae, err := c.callJSON(ctx, v, "POST /webhook-endpoints", nil, nil, in, &out)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		top := strings.SplitN(strings.SplitN(ae.Field, "[", 2)[0], ".", 2)[0]
		field := map[string]string{"url": "URLError", "events": "EventsError", "description": "DescriptionError"}[top]
		if field == "" {
			field = "URLError"
		}
		return c.webhooksPage(ctx, "", v, ae.Status, map[string]any{field: fieldMessage(ae), "URL": in.URL,
			"Description": in.Description, "Chosen": in.Events})
	}
	return c.webhooksPage(ctx, "", v, http.StatusCreated, map[string]any{"Secret": out.Secret,
		"SecretFor": out.URL + " (" + out.EndpointID + ")"})
}

// rotateWebhook gives an endpoint a new signing secret (shown once); the old one keeps
// signing for the API's default grace period.
func (c *Console) rotateWebhook(ctx context.Context, req api.Request, v *visit, _ url.Values) (api.Response, error) {
	var out api.EndpointWithSecret
	ae, err := c.callJSON(ctx, v, "POST /webhook-endpoints/{endpointId}/rotate-secret", map[string]string{"endpointId": req.PathParameters["endpointId"]}, nil, nil, &out)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The secret was not rotated", fieldMessage(ae))
	}
	return c.webhooksPage(ctx, "", v, http.StatusOK, map[string]any{"Secret": out.Secret,
		"SecretFor": out.URL + " (" + out.EndpointID + "); the previous secret keeps signing for 24 hours"})
}

func (c *Console) deleteWebhook(ctx context.Context, req api.Request, v *visit, _ url.Values) (api.Response, error) {
	ae, err := c.callJSON(ctx, v, "DELETE /webhook-endpoints/{endpointId}", map[string]string{"endpointId": req.PathParameters["endpointId"]}, nil, nil, nil)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The endpoint was not deleted", fieldMessage(ae))
	}
	return redirect(v.root + "console/webhooks?done=deleted"), nil
}

// deliveries is an endpoint's delivery log, newest first, a page at a time, with redelivery.
func (c *Console) deliveries(ctx context.Context, req api.Request, v *visit) (api.Response, error) {
	id := req.PathParameters["endpointId"]
	q := map[string]string{"limit": "25"}
	if cur := req.QueryStringParameters["cursor"]; cur != "" {
		q["cursor"] = cur
	}
	var list api.DeliveryList
	ae, err := c.callJSON(ctx, v, "GET /webhook-endpoints/{endpointId}/deliveries", map[string]string{"endpointId": id}, q, nil, &list)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The deliveries could not be listed", fieldMessage(ae))
	}
	rows := make([]any, 0, len(list.Deliveries))
	for _, d := range list.Deliveries {
		last := "not tried yet"
		if n := len(d.Attempts); n > 0 {
			a := d.Attempts[n-1]
			last = fmt.Sprintf("%s: HTTP %d in %d ms", a.At.UTC().Format("2006-01-02 15:04:05"), a.StatusCode, a.DurationMs)
			if a.Error != "" {
				last += " (" + a.Error + ")"
			}
		}
		rows = append(rows, map[string]any{"ID": d.DeliveryID, "Event": d.EventType, "EventID": d.EventID, "Status": d.Status,
			"Attempts": d.AttemptCount, "Last": last, "Created": d.CreatedAt.UTC().Format("2006-01-02 15:04"),
			"Good": d.Status == referral.DeliveryDelivered, "Bad": d.Status == referral.DeliveryFailed})
	}
	next := ""
	if list.NextCursor != nil {
		next = "?" + url.Values{"cursor": {*list.NextCursor}}.Encode()
	}
	return c.page(http.StatusOK, "deliveries", v, v.root, map[string]any{"ID": id, "Deliveries": rows, "Next": next,
		"Done": doneMessages[req.QueryStringParameters["done"]]}, "Deliveries of "+id)
}

func (c *Console) redeliver(ctx context.Context, req api.Request, v *visit, form url.Values) (api.Response, error) {
	var d referral.WebhookDelivery
	ae, err := c.callJSON(ctx, v, "POST /webhook-deliveries/{deliveryId}/redeliver", map[string]string{"deliveryId": req.PathParameters["deliveryId"]}, nil, nil, &d)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "Nothing was redelivered", fieldMessage(ae))
	}
	return redirect(v.root + "console/webhooks/" + url.PathEscape(d.EndpointID) + "/deliveries?done=redelivered"), nil
}
