package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/referral"
)

// emailChoice reads ?template= and ?lang= (or the form's), defaulting to the first of each.
func emailChoice(q map[string]string) (template, lang string) {
	template, lang = q["template"], q["lang"]
	if !slices.Contains(referral.EmailTemplates, template) {
		template = referral.EmailTemplates[0]
	}
	if !slices.Contains(referral.EmailLanguages, lang) {
		lang = referral.EmailLanguages[0]
	}
	return template, lang
}

// emails previews a program's email (template × language) as the API's preview route
// renders it, with a form to send it to a test address.
func (c *Console) emails(ctx context.Context, req api.Request, v *visit) (api.Response, error) {
	template, lang := emailChoice(req.QueryStringParameters)
	return c.emailsPage(ctx, v, req.PathParameters["programId"], template, lang, http.StatusOK, map[string]any{})
}

func (c *Console) emailsPage(ctx context.Context, v *visit, id, template, lang string, status int, data map[string]any) (api.Response, error) {
	var m api.EmailPreview
	ae, err := c.callJSON(ctx, v, "GET /programs/{programId}/emails/{template}/{lang}/preview",
		map[string]string{"programId": id, "template": template, "lang": lang}, nil, nil, &m)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The email could not be previewed", fieldMessage(ae))
	}
	templates := make([]any, 0, len(referral.EmailTemplates))
	for _, t := range referral.EmailTemplates {
		templates = append(templates, map[string]any{"Value": t, "Selected": t == template})
	}
	langs := make([]any, 0, len(referral.EmailLanguages))
	for _, l := range referral.EmailLanguages {
		langs = append(langs, map[string]any{"Value": l, "Name": languageNames[l], "Selected": l == lang})
	}
	d := map[string]any{"ID": id, "Template": template, "EmailLang": lang, "Templates": templates, "Languages": langs,
		"Subject": m.Subject, "Text": m.Text, "To": "", "ToError": "", "Sent": "",
		"HTMLURL": "emails/preview?" + url.Values{"template": {template}, "lang": {lang}}.Encode()}
	for k, x := range data {
		d[k] = x
	}
	return c.page(status, "emails", v, v.root, d, "Emails: "+template+" ("+lang+")")
}

// languageNames are the email languages as the console names them.
var languageNames = map[string]string{"en": "English", "ms": "Malay", "id": "Indonesian", "th": "Thai", "zh": "Chinese (Simplified)"}

// emailPreview is the HTML email itself, as the API's preview route answers it (with that
// route's own policy: its inline styles, no script, no framing).
func (c *Console) emailPreview(ctx context.Context, req api.Request, v *visit) (api.Response, error) {
	template, lang := emailChoice(req.QueryStringParameters)
	resp, ae, err := c.call(ctx, v, "GET /programs/{programId}/emails/{template}/{lang}/preview",
		map[string]string{"programId": req.PathParameters["programId"], "template": template, "lang": lang}, nil, nil, "text/html")
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.notice(ae.Status, v.root, v, "The email could not be previewed", fieldMessage(ae))
	}
	resp.Headers["X-Content-Type-Options"], resp.Headers["X-Frame-Options"], resp.Headers["Referrer-Policy"] = "nosniff", "DENY", "no-referrer"
	return resp, nil
}

// testSend sends the previewed email to a test address through the API's test-send route.
func (c *Console) testSend(ctx context.Context, req api.Request, v *visit, form url.Values) (api.Response, error) {
	id := req.PathParameters["programId"]
	template, lang := emailChoice(map[string]string{"template": form.Get("template"), "lang": form.Get("lang")})
	to := strings.TrimSpace(form.Get("to"))
	var out api.TestSendOutput
	ae, err := c.callJSON(ctx, v, "POST /programs/{programId}/emails/{template}/{lang}/test-send",
		map[string]string{"programId": id, "template": template, "lang": lang}, nil, map[string]string{"to": to}, &out)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.emailsPage(ctx, v, id, template, lang, ae.Status, map[string]any{"To": to, "ToError": fieldMessage(ae)})
	}
	return c.emailsPage(ctx, v, id, template, lang, http.StatusOK, map[string]any{"To": to,
		"Sent": "The test email was sent to " + out.To + " (message " + out.MessageID + ")."})
}
