package console

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/referral"
)

// programs is the programs list (GET /programs, a page at a time).
func (c *Console) programs(ctx context.Context, req api.Request, v *visit) (api.Response, error) {
	q := map[string]string{"limit": "25"}
	if cur := req.QueryStringParameters["cursor"]; cur != "" {
		q["cursor"] = cur
	}
	var list api.ProgramList
	ae, err := c.callJSON(ctx, v, "GET /programs", nil, q, nil, &list)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The programs could not be listed", ae.Message)
	}
	rows := make([]any, 0, len(list.Programs))
	for _, p := range list.Programs {
		next, action := referral.ProgramPaused, "Pause"
		if p.Status != referral.ProgramActive {
			next, action = referral.ProgramActive, "Resume"
		}
		rows = append(rows, map[string]any{"ID": p.ProgramID, "Name": p.Name, "Status": p.Status, "Currency": p.Currency,
			"Next": next, "Action": action, "Archived": p.Status == referral.ProgramArchived})
	}
	next := ""
	if list.NextCursor != nil {
		next = "?" + url.Values{"cursor": {*list.NextCursor}}.Encode()
	}
	return c.page(http.StatusOK, "programs", v, v.root, map[string]any{"Programs": rows, "Next": next,
		"Done": doneMessages[req.QueryStringParameters["done"]]}, "Programs")
}

// doneMessages are what a page says after an action redirected to it (?done=).
var doneMessages = map[string]string{
	"saved": "The program was saved.", "paused": "The program was paused.", "active": "The program was resumed.",
	"approved": "The reward was approved.", "reversed": "The conversion was reversed; its rewards were withdrawn.",
	"fulfilled": "The reward was marked fulfilled.", "deleted": "The endpoint was deleted: it receives no more events.",
	"redelivered": "The delivery was queued again (same event, same webhook-id).", "revoked": "The key was revoked: requests with it fail from now on (within five minutes where the gateway cached it).",
}

// formFields are the program fields the form has inputs for, in its order; the others are in
// the settings JSON. Numbers are sent as numbers when they are whole numbers, else as typed,
// for the API to say what is wrong.
var formFields = []struct {
	Name, Label, Type, Hint string
	Number                  bool
}{
	{Name: "name", Label: "Name", Type: "text"},
	{Name: "currency", Label: "Currency", Type: "text", Hint: "ISO 4217 code, e.g. USD, MYR, THB"},
	{Name: "landingUrl", Label: "Landing page URL", Type: "url", Hint: "Where a friend's link leads (https); empty: our hosted friend page, which needs the shop URL"},
	{Name: "shopUrl", Label: "Shop URL", Type: "url", Hint: "Where the hosted friend page's button leads (https); required without a landing page"},
	{Name: "attributionWindowDays", Label: "Attribution window (days)", Type: "text", Number: true},
	{Name: "holdDays", Label: "Hold rewards for (days)", Type: "text", Number: true},
	{Name: "startsAt", Label: "Starts at", Type: "text", Hint: "RFC 3339, e.g. 2026-12-01T00:00:00Z; empty: at once"},
	{Name: "endsAt", Label: "Ends at", Type: "text", Hint: "RFC 3339; empty: no end"},
}

// readOnly are a program's fields the API sets (a PUT may not send them).
var readOnly = []string{"programId", "createdAt", "updatedAt", "endedAt"}

// programForm is what the program form shows: the values, and the API's messages by input.
type programForm struct {
	ID       string
	Values   map[string]string // by field name, and "settings", "status"
	Errors   map[string]string // by input name; "" is the form's own
	Creating bool
}

func (f programForm) data(v *visit) map[string]any {
	fields := make([]any, 0, len(formFields))
	for _, ff := range formFields {
		fields = append(fields, map[string]any{"Name": ff.Name, "Label": ff.Label, "Type": ff.Type, "Hint": ff.Hint,
			"Value": f.Values[ff.Name], "Error": f.Errors[ff.Name]})
	}
	statuses := make([]any, 0, 3)
	for _, s := range []string{referral.ProgramActive, referral.ProgramPaused, referral.ProgramArchived} {
		statuses = append(statuses, map[string]any{"Value": s, "Selected": f.Values["status"] == s})
	}
	action := v.root + "console/programs"
	if !f.Creating {
		action += "/" + url.PathEscape(f.ID)
	}
	return map[string]any{"ID": f.ID, "Creating": f.Creating, "Fields": fields, "Statuses": statuses, "Action": action,
		"Settings": f.Values["settings"], "SettingsError": f.Errors["settings"], "IDError": f.Errors["programId"],
		"StatusError": f.Errors["status"], "FormError": f.Errors[""], "HasErrors": len(f.Errors) > 0}
}

// newSettings is the settings a new program's form starts with: a milestone and one rule per
// side, for the owner to change.
const newSettings = `{
  "milestones": ["first_purchase"],
  "advocateRewards": [{"milestone": "first_purchase", "type": "fixed", "amount": 1000, "kind": "store_credit"}],
  "refereeRewards": [{"milestone": "first_purchase", "type": "fixed", "amount": 1000, "kind": "discount"}]
}`

func (c *Console) newProgram(_ context.Context, _ api.Request, v *visit) (api.Response, error) {
	f := programForm{Creating: true, Values: map[string]string{"currency": "USD", "status": referral.ProgramActive,
		"attributionWindowDays": "30", "settings": newSettings}}
	return c.page(http.StatusOK, "program", v, v.root, f.data(v), "New program")
}

func (c *Console) editProgram(ctx context.Context, req api.Request, v *visit) (api.Response, error) {
	id := req.PathParameters["programId"]
	var p map[string]any
	ae, err := c.callJSON(ctx, v, "GET /programs/{programId}", map[string]string{"programId": id}, nil, nil, &p)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The program could not be shown", ae.Message)
	}
	f := programForm{ID: id, Values: map[string]string{}}
	for _, k := range readOnly {
		delete(p, k)
	}
	for _, ff := range formFields {
		if x, ok := p[ff.Name]; ok && x != nil {
			if s, ok := x.(string); ok {
				f.Values[ff.Name] = s
			} else {
				f.Values[ff.Name] = jsonText(x)
			}
		}
		delete(p, ff.Name)
	}
	f.Values["status"], _ = p["status"].(string)
	delete(p, "status")
	f.Values["settings"] = indent(p)
	return c.page(http.StatusOK, "program", v, v.root, f.data(v), "Edit "+id)
}

func (c *Console) createProgram(ctx context.Context, _ api.Request, v *visit, form url.Values) (api.Response, error) {
	id := strings.TrimSpace(form.Get("programId"))
	f := formOf(form, id, true)
	if err := referral.ValidID("programId", id); err != nil {
		f.Errors = map[string]string{"programId": messageOf(err)}
		return c.page(http.StatusBadRequest, "program", v, v.root, f.data(v), "New program")
	}
	// PUT creates or replaces: a new program must not replace one with its id.
	ae, err := c.callJSON(ctx, v, "GET /programs/{programId}", map[string]string{"programId": id}, nil, nil, nil)
	if err != nil {
		return api.Response{}, err
	}
	if ae == nil {
		f.Errors = map[string]string{"programId": "A program with this id exists already; choose another id, or edit that program."}
		return c.page(http.StatusConflict, "program", v, v.root, f.data(v), "New program")
	}
	return c.putProgram(ctx, v, f)
}

func (c *Console) saveProgram(ctx context.Context, req api.Request, v *visit, form url.Values) (api.Response, error) {
	return c.putProgram(ctx, v, formOf(form, req.PathParameters["programId"], false))
}

// formOf reads the program form's values.
func formOf(form url.Values, id string, creating bool) programForm {
	f := programForm{ID: id, Creating: creating, Values: map[string]string{}}
	for _, ff := range formFields {
		f.Values[ff.Name] = form.Get(ff.Name)
	}
	f.Values["status"], f.Values["settings"] = form.Get("status"), form.Get("settings")
	return f
}

// putProgram sends the form as PUT /programs/{programId}: the settings JSON with the inputs'
// values over it. The API's answer to a bad program is shown next to the input it names.
func (c *Console) putProgram(ctx context.Context, v *visit, f programForm) (api.Response, error) {
	title := "Edit " + f.ID
	if f.Creating {
		title = "New program"
	}
	body := map[string]any{}
	if s := strings.TrimSpace(f.Values["settings"]); s != "" {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			f.Errors = map[string]string{"settings": "The settings must be one JSON object: " + err.Error()}
			return c.page(http.StatusBadRequest, "program", v, v.root, f.data(v), title)
		}
	}
	for _, ff := range formFields {
		val := strings.TrimSpace(f.Values[ff.Name])
		switch {
		case val == "":
			delete(body, ff.Name)
		case ff.Number:
			if n, err := strconv.ParseInt(val, 10, 64); err == nil {
				body[ff.Name] = n
			} else {
				body[ff.Name] = val
			}
		default:
			body[ff.Name] = val
		}
	}
	if s := f.Values["status"]; s != "" {
		body["status"] = s
	}
	ae, err := c.callJSON(ctx, v, "PUT /programs/{programId}", map[string]string{"programId": f.ID}, nil, body, nil)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		f.Errors = map[string]string{inputOf(ae.Field): fieldMessage(ae)}
		return c.page(ae.Status, "program", v, v.root, f.data(v), title)
	}
	return redirect(v.root + "console?done=saved"), nil
}

// inputOf is the form input that shows the API's message about field (a JSON path such as
// "advocateRewards[0].amount"): the field's own input, else the settings JSON.
func inputOf(field string) string {
	if field == "" {
		return ""
	}
	top := field
	if i := strings.IndexAny(top, ".["); i >= 0 {
		top = top[:i]
	}
	for _, ff := range formFields {
		if ff.Name == top {
			return top
		}
	}
	if top == "status" || top == "programId" {
		return top
	}
	return "settings"
}

// fieldMessage is the API's message, naming the field when the message does not.
func fieldMessage(ae *apiError) string {
	if ae.Field != "" && !strings.Contains(ae.Message, ae.Field) {
		return ae.Field + ": " + ae.Message
	}
	return ae.Message
}

func messageOf(err error) string {
	if de, ok := err.(*referral.Error); ok {
		return de.Msg
	}
	return err.Error()
}

// setStatus pauses or resumes a program: the program as it is, with the new status, PUT back
// (so the API's rules about status changes apply).
func (c *Console) setStatus(ctx context.Context, req api.Request, v *visit, form url.Values) (api.Response, error) {
	id := req.PathParameters["programId"]
	status := form.Get("status")
	var p map[string]any
	ae, err := c.callJSON(ctx, v, "GET /programs/{programId}", map[string]string{"programId": id}, nil, nil, &p)
	if err == nil && ae == nil {
		for _, k := range readOnly {
			delete(p, k)
		}
		p["status"] = status
		ae, err = c.callJSON(ctx, v, "PUT /programs/{programId}", map[string]string{"programId": id}, nil, p, nil)
	}
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The program's status was not changed", fieldMessage(ae))
	}
	return redirect(v.root + "console?done=" + url.QueryEscape(status)), nil
}

// jsonText is a JSON value as its JSON text (numbers stay as written).
func jsonText(x any) string {
	b, _ := json.Marshal(x)
	return string(b)
}

func indent(x any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(x)
	return strings.TrimSpace(b.String())
}
