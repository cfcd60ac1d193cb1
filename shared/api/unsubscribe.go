package api

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/referral/referrals/shared/locale"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/unsubscribe"
)

// Unsubscribe serves the public opt-out links of ask emails: GET /unsubscribe shows a page
// with a button (so that link scanners, which follow GETs, opt nobody out), and POST
// /unsubscribe opts out — the button's form, or a mail client's RFC 8058 one-click POST.
type Unsubscribe struct {
	Store  *store.Store
	Signer *unsubscribe.Signer
}

// NewUnsubscribe returns the unsubscribe function's router.
func NewUnsubscribe(s *store.Store, signer *unsubscribe.Signer, log *slog.Logger) *Router {
	h := &Unsubscribe{Store: s, Signer: signer}
	return NewRouter(log,
		Route{"GET /unsubscribe", ScopePublic, h.page},
		Route{"POST /unsubscribe", ScopePublic, h.optOut},
	)
}

var (
	errBadLink    = referral.Invalid("c", "the unsubscribe link is incomplete")
	errForgedLink = referral.ErrForbidden.With("the unsubscribe link's signature does not match", nil)
)

// link reads and checks the c (customer) and t (token) query parameters.
func (h *Unsubscribe) link(req Request) (string, error) {
	c, t := req.QueryStringParameters["c"], req.QueryStringParameters["t"]
	if c == "" || t == "" || len(c) > 512 || len(t) > 512 {
		return "", errBadLink
	}
	if referral.ValidID("c", c) != nil || !h.Signer.Valid(c, t) {
		return "", errForgedLink
	}
	return c, nil
}

// page answers GET with an HTML page in the customer's language: a confirmation button for a
// valid link, an explanation otherwise. 1 GetItem (the customer's locale) for a valid link.
func (h *Unsubscribe) page(ctx context.Context, req Request) (Response, error) {
	lang := locale.Lang(firstLanguage(req.Headers["accept-language"]))
	c, err := h.link(req)
	if err != nil {
		status := http.StatusForbidden
		if errors.Is(err, referral.ErrInvalid) {
			status = http.StatusBadRequest
		}
		return htmlPage(status, lang, pageInvalid, ""), nil
	}
	cust, err := h.Store.GetCustomer(ctx, c)
	switch {
	case errors.Is(err, referral.ErrCustomerNotFound):
		return htmlPage(http.StatusOK, lang, pageDone, ""), nil
	case err != nil:
		return Response{}, err
	}
	lang = locale.Lang(cust.Locale)
	if cust.MarketingOptOut {
		return htmlPage(http.StatusOK, lang, pageDone, ""), nil
	}
	q := url.Values{"c": {c}, "t": {req.QueryStringParameters["t"]}}
	return htmlPage(http.StatusOK, lang, pageConfirm, "?"+q.Encode()), nil
}

// optOut answers POST: 1 UpdateItem. Errors are JSON, as for any API client; success is the
// confirmation page, which the form's user sees and a mail client ignores.
func (h *Unsubscribe) optOut(ctx context.Context, req Request) (Response, error) {
	if _, err := body(req); err != nil {
		return Response{}, err
	}
	c, err := h.link(req)
	if err != nil {
		return Response{}, err
	}
	cust, found, err := h.Store.OptOut(ctx, c)
	if err != nil {
		return Response{}, err
	}
	lang := locale.Lang(firstLanguage(req.Headers["accept-language"]))
	if found {
		lang = locale.Lang(cust.Locale)
	}
	return htmlPage(http.StatusOK, lang, pageDone, ""), nil
}

func firstLanguage(accept string) string {
	first, _, _ := strings.Cut(accept, ",")
	first, _, _ = strings.Cut(first, ";")
	return strings.TrimSpace(first)
}

// Page kinds.
const (
	pageConfirm = "confirm"
	pageDone    = "done"
	pageInvalid = "invalid"
)

type pageText struct {
	Title, Confirm, Button, Done, Invalid string
}

// pageTexts are the unsubscribe page's words in the languages of the emails.
var pageTexts = map[string]pageText{
	"en": {"Unsubscribe", "Do you want to stop receiving emails that invite you to recommend us to friends?", "Unsubscribe",
		"You're unsubscribed. We won't send you any more invitations to refer friends.",
		"This unsubscribe link isn't valid. Please use the link in our most recent email."},
	"ms": {"Berhenti melanggan", "Adakah anda mahu berhenti menerima e-mel yang menjemput anda mencadangkan kami kepada rakan?", "Berhenti melanggan",
		"Anda telah berhenti melanggan. Kami tidak akan menghantar jemputan untuk merujuk rakan lagi.",
		"Pautan ini tidak sah. Sila gunakan pautan dalam e-mel terbaharu kami."},
	"id": {"Berhenti berlangganan", "Apakah Anda ingin berhenti menerima email yang mengajak Anda merekomendasikan kami kepada teman?", "Berhenti berlangganan",
		"Anda telah berhenti berlangganan. Kami tidak akan mengirimkan ajakan untuk mereferensikan teman lagi.",
		"Tautan ini tidak valid. Silakan gunakan tautan di email terbaru kami."},
	"th": {"ยกเลิกการรับอีเมล", "คุณต้องการหยุดรับอีเมลที่ชวนให้แนะนำเราให้เพื่อนใช่ไหม", "ยกเลิกการรับอีเมล",
		"ยกเลิกเรียบร้อยแล้ว เราจะไม่ส่งอีเมลชวนแนะนำเพื่อนถึงคุณอีก",
		"ลิงก์นี้ไม่ถูกต้อง โปรดใช้ลิงก์ในอีเมลฉบับล่าสุดของเรา"},
	"zh": {"退订", "您是否不再希望收到邀请您向好友推荐我们的邮件？", "确认退订",
		"您已成功退订，我们不会再向您发送推荐好友的邀请。",
		"此退订链接无效，请使用我们最新一封邮件中的链接。"},
}

// pageHead and pageFoot frame the unsubscribe page. It is built with plain escaping rather than
// html/template: the page has two values of ours to escape, and html/template's reflection
// would keep every exported method of the SDK clients in the binary (+3.5 MB).
const pageHead = `<!DOCTYPE html>
<html lang="%s">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>%s</title>
</head>
<body style="margin:0;padding:48px 16px;background:#f3f4f6;font-family:-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans Thai','PingFang SC','Microsoft YaHei',sans-serif;color:#1f2937;">
<main style="max-width:480px;margin:0 auto;padding:32px;background:#fff;border-radius:8px;line-height:1.6;">
<h1 style="margin:0 0 16px;font-size:22px;">%s</h1>
`

const pageForm = `<p>%s</p>
<form method="post" action="%s">
<button type="submit" style="padding:12px 24px;font-size:16px;font-weight:600;color:#fff;background:#2563eb;border:0;border-radius:6px;cursor:pointer;">%s</button>
</form>
`

const pageFoot = `</main>
</body>
</html>
`

// htmlPage renders the unsubscribe page. The link's token is in the URL, so the page is
// neither cached nor sent on as a referrer.
func htmlPage(status int, lang, kind, action string) Response {
	t, ok := pageTexts[lang]
	if !ok {
		lang, t = "en", pageTexts["en"]
	}
	esc := html.EscapeString
	var b strings.Builder
	fmt.Fprintf(&b, pageHead, esc(lang), esc(t.Title), esc(t.Title))
	switch kind {
	case pageConfirm:
		fmt.Fprintf(&b, pageForm, esc(t.Confirm), esc(action), esc(t.Button))
	case pageDone:
		fmt.Fprintf(&b, "<p>%s</p>\n", esc(t.Done))
	default:
		fmt.Fprintf(&b, "<p>%s</p>\n", esc(t.Invalid))
	}
	b.WriteString(pageFoot)
	return Response{StatusCode: status, Body: b.String(), Headers: map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"X-Robots-Tag":            "noindex",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
	}}
}
