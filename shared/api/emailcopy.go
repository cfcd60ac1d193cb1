package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
)

// EmailCopy serves the merchant's wording of each email template in each language, its
// preview with the program's data, and a test send.
type EmailCopy struct {
	Store     *store.Store
	Emails    EmailPreviewer
	PublicURL string // the API's public base URL; empty: the domain a request came to
}

// EmailPreviewer renders an email of a program for a preview, and sends one to a test
// address; the email package has it, so that the API does not link the renderer. baseURL is
// the API's public URL, for the email's sample unsubscribe link.
type EmailPreviewer interface {
	Preview(p referral.Program, template, lang string, c referral.EmailCopy, baseURL string) (subject, text, html string, err error)
	TestSend(ctx context.Context, p referral.Program, template, lang string, c referral.EmailCopy, baseURL, to string) (messageID string, err error)
}

// EmailPreview is a rendered email.
type EmailPreview struct {
	Template string `json:"template"`
	Lang     string `json:"lang"`
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	HTML     string `json:"html"`
}

// NewEmailCopy returns the email copy function's router.
func NewEmailCopy(s *store.Store, emails EmailPreviewer, publicURL string, log *slog.Logger) *Router {
	h := &EmailCopy{Store: s, Emails: emails, PublicURL: strings.TrimRight(publicURL, "/")}
	return NewRouter(log,
		Route{"PUT /programs/{programId}/emails/{template}/{lang}", auth.ScopeAdmin, h.put},
		Route{"GET /programs/{programId}/emails/{template}/{lang}", auth.ScopeAdmin, h.get},
		Route{"DELETE /programs/{programId}/emails/{template}/{lang}", auth.ScopeAdmin, h.delete},
		Route{"GET /programs/{programId}/emails/{template}/{lang}/preview", auth.ScopeAdmin, h.preview},
		Route{"POST /programs/{programId}/emails/{template}/{lang}/test-send", auth.ScopeAdmin, h.testSend},
	)
}

// EmailCopyOutput is the copy of one template in one language, with the placeholders its
// texts may use.
type EmailCopyOutput struct {
	ProgramID    string     `json:"programId"`
	Template     string     `json:"template"`
	Lang         string     `json:"lang"`
	Subject      string     `json:"subject"`
	Intro        string     `json:"intro"`
	CTA          string     `json:"cta"`
	ValueProp    string     `json:"valueProposition"`
	Placeholders []string   `json:"placeholders"`
	UpdatedAt    *time.Time `json:"updatedAt"`
}

// TestSendInput is the body of POST …/test-send.
type TestSendInput struct {
	To string `json:"to"`
}

// TestSendOutput is the answer of POST …/test-send.
type TestSendOutput struct {
	To        string `json:"to"`
	MessageID string `json:"messageId"`
}

// copyPath reads and checks the program, template and language of the path.
func copyPath(req Request) (programID, template, lang string, err error) {
	if programID, err = pathID(req, "programId"); err != nil {
		return
	}
	template, lang = req.PathParameters["template"], req.PathParameters["lang"]
	if err = referral.ValidEmailTemplate("template", template); err != nil {
		return
	}
	err = referral.ValidEmailLanguage("lang", lang)
	return
}

func output(programID, template, lang string, c store.StoredEmailCopy, found bool) EmailCopyOutput {
	out := EmailCopyOutput{ProgramID: programID, Template: template, Lang: lang, Subject: c.Subject, Intro: c.Intro,
		CTA: c.CTA, ValueProp: c.ValueProposition, Placeholders: placeholders(template)}
	if found {
		t := c.UpdatedAt
		out.UpdatedAt = &t
	}
	return out
}

func placeholders(template string) []string {
	out := []string{}
	for _, p := range referral.EmailPlaceholders(template) {
		out = append(out, "{"+p+"}")
	}
	return out
}

// put replaces the copy: 1 GetItem (the program) and 1 PutItem.
func (h *EmailCopy) put(ctx context.Context, req Request) (Response, error) {
	programID, template, lang, err := copyPath(req)
	if err != nil {
		return Response{}, err
	}
	var in referral.EmailCopy
	if err := decode(req, &in); err != nil {
		return Response{}, err
	}
	in = referral.EmailCopy{Subject: strings.TrimSpace(in.Subject), Intro: strings.TrimSpace(in.Intro),
		CTA: strings.TrimSpace(in.CTA), ValueProposition: strings.TrimSpace(in.ValueProposition)}
	if err := in.Validate(template, lang); err != nil {
		return Response{}, err
	}
	saved, err := h.Store.PutEmailCopy(ctx, programID, template, lang, in)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, output(programID, template, lang, saved, true)), nil
}

// get reads the copy (1 GetItem); without one, every field is empty and updatedAt null.
func (h *EmailCopy) get(ctx context.Context, req Request) (Response, error) {
	programID, template, lang, err := copyPath(req)
	if err != nil {
		return Response{}, err
	}
	if _, err := h.Store.GetProgram(ctx, programID); err != nil {
		return Response{}, err
	}
	c, found, err := h.Store.GetEmailCopy(ctx, programID, template, lang)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, output(programID, template, lang, c, found)), nil
}

// delete removes the copy, so the template's own words apply again (1 DeleteItem).
func (h *EmailCopy) delete(ctx context.Context, req Request) (Response, error) {
	programID, template, lang, err := copyPath(req)
	if err != nil {
		return Response{}, err
	}
	if _, err := h.Store.DeleteEmailCopy(ctx, programID, template, lang); err != nil {
		return Response{}, err
	}
	return Response{StatusCode: http.StatusNoContent}, nil
}

// baseURL is the API's public URL: the configured one, else the domain the request came to.
func (h *EmailCopy) baseURL(req Request) string {
	if h.PublicURL != "" || req.RequestContext.DomainName == "" {
		return h.PublicURL
	}
	return "https://" + req.RequestContext.DomainName
}

// program reads the program and its copy for template in lang (2 GetItem).
func (h *EmailCopy) program(ctx context.Context, programID, template, lang string) (referral.Program, referral.EmailCopy, error) {
	p, err := h.Store.GetProgram(ctx, programID)
	if err != nil {
		return p, referral.EmailCopy{}, err
	}
	c, _, err := h.Store.GetEmailCopy(ctx, programID, template, lang)
	return p, c.EmailCopy, err
}

// preview renders the email with the program's data and sample customers; with Accept:
// text/html it answers the HTML part itself, to open in a browser.
func (h *EmailCopy) preview(ctx context.Context, req Request) (Response, error) {
	programID, template, lang, err := copyPath(req)
	if err != nil {
		return Response{}, err
	}
	p, c, err := h.program(ctx, programID, template, lang)
	if err != nil {
		return Response{}, err
	}
	subject, text, html, err := h.Emails.Preview(p, template, lang, c, h.baseURL(req))
	if err != nil {
		return Response{}, err
	}
	m := EmailPreview{Template: template, Lang: lang, Subject: subject, Text: text, HTML: html}
	if accept := strings.ToLower(req.Headers["accept"]); strings.Contains(accept, "text/html") && !strings.Contains(accept, "application/json") {
		return Response{StatusCode: http.StatusOK, Body: m.HTML, Headers: map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Cache-Control":           "no-store",
			"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'none'",
		}}, nil
	}
	return JSON(http.StatusOK, m), nil
}

// testSend sends the preview to one address, the subject marked as a test.
func (h *EmailCopy) testSend(ctx context.Context, req Request) (Response, error) {
	programID, template, lang, err := copyPath(req)
	if err != nil {
		return Response{}, err
	}
	var in TestSendInput
	if err := decode(req, &in); err != nil {
		return Response{}, err
	}
	if err := referral.ValidEmail("to", in.To); err != nil {
		return Response{}, err
	}
	p, c, err := h.program(ctx, programID, template, lang)
	if err != nil {
		return Response{}, err
	}
	id, err := h.Emails.TestSend(ctx, p, template, lang, c, h.baseURL(req), in.To)
	var rejected interface{ Rejected() string }
	if errors.As(err, &rejected) {
		return Response{}, referral.ErrEmailRejected.With("SES refused the test email ("+rejected.Rejected()+"); check that the address can receive mail from this sender", nil)
	}
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, TestSendOutput{To: in.To, MessageID: id}), nil
}
