// Package console is the owner's console: HTML pages under /console, served by a Lambda
// function behind the HTTP API's public routes, that sign in with an admin API key and then
// list, create and edit programs, show a program's dashboard (SVG charts drawn here), and work
// the reward queues.
//
// Every action is the API's own: the console builds the API request a client would send and
// hands it to the same routers in-process (api.NewPrograms(...).Handle and the others) with
// the session's admin scope, so a form shows the API's validation messages, next to the input
// of the field they name, and no rule is written twice. The routes whose handlers need a
// provider's client (Stripe for fulfilments, SES for email previews and test sends) go, as the
// same request, to the API function that serves them (Remote): the console function does not
// link those clients, which keeps its binary within the size goal.
//
// The console is written in English; its words are in its page templates.
package console

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/auth"
	"github.com/referral/referrals/shared/pages"
	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/store"
	"github.com/referral/referrals/shared/webhook"
)

//go:embed compiled templates/*.txt
var files embed.FS

// Set is the console's page set.
var Set = pages.NewSet("console", files).Only("en")

// Pages are the console's page templates (templates/<page>.html).
var Pages = []string{"signin", "programs", "program", "dashboard", "rewards", "contests", "keys", "emails", "webhooks", "deliveries", "notice"}

// Config is what the console needs.
type Config struct {
	// Auth decides about the admin key of a sign-in and, on every request, of a session.
	Auth *auth.Authorizer
	// SessionKey signs the session cookies and CSRF tokens (at least 32 bytes).
	SessionKey []byte
	// API are the API's routers whose routes the console calls in-process.
	API []*api.Router
	// Remote are the API routes the console sends to the API function that serves them, by
	// route key; they take precedence over API's.
	Remote map[string]Remote
	Log    *slog.Logger
	Now    func() time.Time // nil: time.Now
}

// Console serves the console's pages.
type Console struct {
	auth     *auth.Authorizer
	sessions sessions
	api      map[string]handler // by route key
	log      *slog.Logger
	now      func() time.Time
}

// New returns the console function's router: every route is public at the gateway; the
// console checks the session itself.
func New(cfg Config) (*api.Router, error) {
	if len(cfg.SessionKey) < 32 {
		return nil, fmt.Errorf("console: the session key has %d bytes; it needs at least 32", len(cfg.SessionKey))
	}
	c := &Console{auth: cfg.Auth, sessions: sessions{key: cfg.SessionKey}, api: map[string]handler{}, log: cfg.Log, now: cfg.Now}
	if c.now == nil {
		c.now = time.Now
	}
	for _, r := range cfg.API {
		for _, rt := range r.Routes() {
			c.api[rt.Key] = r.Handle
		}
	}
	for key, r := range cfg.Remote {
		c.api[key] = r.Handle
	}
	for _, key := range calledRoutes {
		if c.api[key] == nil {
			return nil, fmt.Errorf("console: no router serves %s", key)
		}
	}
	pub := api.ScopePublic
	r := api.NewRouter(cfg.Log,
		api.Route{Key: "GET /console", Scope: pub, Serve: c.home},
		api.Route{Key: "POST /console/sign-in", Scope: pub, Serve: c.signIn},
		api.Route{Key: "POST /console/sign-out", Scope: pub, Serve: c.post(c.signOut)},
		api.Route{Key: "GET /console/programs/new", Scope: pub, Serve: c.get(c.newProgram)},
		api.Route{Key: "POST /console/programs", Scope: pub, Serve: c.post(c.createProgram)},
		api.Route{Key: "GET /console/programs/{programId}", Scope: pub, Serve: c.get(c.dashboard)},
		api.Route{Key: "GET /console/programs/{programId}/edit", Scope: pub, Serve: c.get(c.editProgram)},
		api.Route{Key: "POST /console/programs/{programId}", Scope: pub, Serve: c.post(c.saveProgram)},
		api.Route{Key: "POST /console/programs/{programId}/status", Scope: pub, Serve: c.post(c.setStatus)},
		api.Route{Key: "GET /console/rewards", Scope: pub, Serve: c.get(c.rewards)},
		api.Route{Key: "GET /console/rewards/export", Scope: pub, Serve: c.get(c.export)},
		api.Route{Key: "POST /console/rewards/{rewardId}/approve", Scope: pub, Serve: c.post(c.approve)},
		api.Route{Key: "POST /console/rewards/{rewardId}/fulfil", Scope: pub, Serve: c.post(c.fulfil)},
		api.Route{Key: "POST /console/conversions/{eventId}/reverse", Scope: pub, Serve: c.post(c.reverse)},
		api.Route{Key: "GET /console/programs/{programId}/contests", Scope: pub, Serve: c.get(c.contests)},
		api.Route{Key: "POST /console/programs/{programId}/contests/{period}/close", Scope: pub, Serve: c.post(c.closeContest)},
		api.Route{Key: "GET /console/keys", Scope: pub, Serve: c.get(c.keys)},
		api.Route{Key: "POST /console/keys", Scope: pub, Serve: c.post(c.issueKey)},
		api.Route{Key: "POST /console/keys/revoke", Scope: pub, Serve: c.post(c.revokeKey)},
		api.Route{Key: "GET /console/programs/{programId}/emails", Scope: pub, Serve: c.get(c.emails)},
		api.Route{Key: "GET /console/programs/{programId}/emails/preview", Scope: pub, Serve: c.get(c.emailPreview)},
		api.Route{Key: "POST /console/programs/{programId}/emails/test-send", Scope: pub, Serve: c.post(c.testSend)},
		api.Route{Key: "GET /console/webhooks", Scope: pub, Serve: c.get(c.webhooks)},
		api.Route{Key: "POST /console/webhooks", Scope: pub, Serve: c.post(c.createWebhook)},
		api.Route{Key: "POST /console/webhooks/{endpointId}/rotate", Scope: pub, Serve: c.post(c.rotateWebhook)},
		api.Route{Key: "POST /console/webhooks/{endpointId}/delete", Scope: pub, Serve: c.post(c.deleteWebhook)},
		api.Route{Key: "GET /console/webhooks/{endpointId}/deliveries", Scope: pub, Serve: c.get(c.deliveries)},
		api.Route{Key: "POST /console/webhook-deliveries/{deliveryId}/redeliver", Scope: pub, Serve: c.post(c.redeliver)},
	)
	r.ErrorPage = pages.ErrorPage
	return r, nil
}

// Handlers is what the API's routers that the console calls are built over: the function's
// store and programs cache, the fulfilment service the rewards handler delivers through, the
// email previewer (previews and test sends), the API's public URL ("" for the domain a
// request came to), and the webhooks' parts.
type Handlers struct {
	Store     *store.Store
	Programs  *store.ProgramCache
	Fulfil    api.Fulfiller
	Emails    api.EmailPreviewer
	PublicURL string
	// Sealer, Guard and Queue are the webhook endpoints' (sealing their secrets, checking
	// their URLs, queueing redeliveries).
	Sealer *webhook.Sealer
	Guard  *webhook.Guard
	Queue  webhook.Queue
	Log    *slog.Logger
}

// Routers are the API's routers the console calls, all in-process.
func (h Handlers) Routers() []*api.Router {
	return []*api.Router{api.NewPrograms(h.Store, h.Log), api.NewInsights(h.Store, h.Programs, h.Log),
		api.NewRewards(h.Store, h.Fulfil, h.Log), api.NewConversions(h.Store, h.Programs, h.Log), api.NewKeys(h.Store, h.Log),
		api.NewEmailCopy(h.Store, h.Emails, h.PublicURL, h.Log), api.NewWebhooks(h.Store, h.Sealer, h.Guard, h.Queue, h.Log)}
}

// Local are the routers of the API routes the console function serves in-process: those whose
// handlers need only the table. Remotes serves the others.
func Local(s *store.Store, programs *store.ProgramCache, log *slog.Logger) []*api.Router {
	return []*api.Router{api.NewPrograms(s, log), api.NewInsights(s, programs, log),
		api.NewConversions(s, programs, log), api.NewKeys(s, log),
		api.NewRewards(s, nil, log).Without(remoteRoutes[RewardsFunction]...)}
}

// The API functions whose routes the console sends to them (Remotes).
const (
	RewardsFunction   = "rewards"   // Stripe and coupon deliveries
	EmailCopyFunction = "emailcopy" // SES test sends, and previews with the sender's settings
	WebhooksFunction  = "webhooks"  // the key sealing the endpoints' secrets, the delivery queue
)

// remoteRoutes are the API routes the console calls whose handlers need a provider's client
// or a secret beyond the table, by the function that serves them.
var remoteRoutes = map[string][]string{
	RewardsFunction: {"POST /rewards/{rewardId}/fulfill"},
	EmailCopyFunction: {"GET /programs/{programId}/emails/{template}/{lang}/preview",
		"POST /programs/{programId}/emails/{template}/{lang}/test-send"},
	WebhooksFunction: {"GET /webhook-endpoints", "POST /webhook-endpoints", "DELETE /webhook-endpoints/{endpointId}",
		"POST /webhook-endpoints/{endpointId}/rotate-secret", "GET /webhook-endpoints/{endpointId}/deliveries",
		"POST /webhook-deliveries/{deliveryId}/redeliver"},
}

// Remotes are the routes of remoteRoutes, each sent to its API function: functions names
// them (their names or ARNs) by RewardsFunction, EmailCopyFunction and WebhooksFunction.
func Remotes(inv Invoker, functions map[string]string) (map[string]Remote, error) {
	out := map[string]Remote{}
	for fn, keys := range remoteRoutes {
		if functions[fn] == "" {
			return nil, fmt.Errorf("console: no function named for the %s routes", fn)
		}
		for _, k := range keys {
			out[k] = Remote{Invoker: inv, Function: functions[fn]}
		}
	}
	return out, nil
}

// calledRoutes are the API routes the console calls (the function's IAM policy grants what
// their handlers need).
var calledRoutes = []string{
	"GET /programs", "GET /programs/{programId}", "PUT /programs/{programId}",
	"GET /programs/{programId}/stats", "GET /programs/{programId}/leaderboard",
	"GET /rewards", "POST /rewards/{rewardId}/approve", "POST /rewards/{rewardId}/fulfill",
	"POST /conversions/{eventId}/reverse", "POST /programs/{programId}/contests/{period}/close",
	"GET /keys", "POST /keys", "DELETE /keys/{keyId}",
	"GET /programs/{programId}/emails/{template}/{lang}/preview", "POST /programs/{programId}/emails/{template}/{lang}/test-send",
	"GET /webhook-endpoints", "POST /webhook-endpoints", "DELETE /webhook-endpoints/{endpointId}",
	"POST /webhook-endpoints/{endpointId}/rotate-secret", "GET /webhook-endpoints/{endpointId}/deliveries",
	"POST /webhook-deliveries/{deliveryId}/redeliver",
}

// visit is a signed-in request.
type visit struct {
	session session
	keyID   string
	csrf    string
	root    string // the API's root relative to the page
}

type (
	handler     func(ctx context.Context, req api.Request) (api.Response, error)
	getHandler  func(ctx context.Context, req api.Request, v *visit) (api.Response, error)
	postHandler func(ctx context.Context, req api.Request, v *visit, form url.Values) (api.Response, error)
)

// signedIn finds the request's session: a cookie this console signed, not expired, of an
// admin key that is still valid.
func (c *Console) signedIn(ctx context.Context, req api.Request) (*visit, error) {
	ss, ok := c.sessions.read(cookieValue(req.Cookies, req.Headers["cookie"]), c.now())
	if !ok {
		return nil, nil
	}
	d, err := c.auth.DecideHash(ctx, ss.keyHash)
	if err != nil {
		return nil, err
	}
	if d.Scope != auth.ScopeAdmin {
		return nil, nil
	}
	return &visit{session: ss, keyID: d.KeyID, csrf: c.sessions.csrf(ss), root: pages.RootOf(req.RawPath)}, nil
}

// get serves a page to a signed-in visitor; anyone else is sent to the sign-in page.
func (c *Console) get(h getHandler) func(context.Context, api.Request) (api.Response, error) {
	return func(ctx context.Context, req api.Request) (api.Response, error) {
		v, err := c.signedIn(ctx, req)
		if err != nil {
			return api.Response{}, err
		}
		if v == nil {
			return redirect(pages.RootOf(req.RawPath) + "console"), nil
		}
		return h(ctx, req, v)
	}
}

// post runs a form's action for a signed-in visitor, only when the form came from a page of
// this session: its CSRF token is the session's, and the browser says it was sent from this
// origin. Anything else is refused with a page saying nothing changed.
func (c *Console) post(h postHandler) func(context.Context, api.Request) (api.Response, error) {
	return func(ctx context.Context, req api.Request) (api.Response, error) {
		root := pages.RootOf(req.RawPath)
		v, err := c.signedIn(ctx, req)
		if err != nil {
			return api.Response{}, err
		}
		if v == nil {
			return c.notice(http.StatusForbidden, root, nil, "Your session has ended",
				"Nothing was changed. Sign in again, then repeat what you were doing.")
		}
		form, err := readForm(req)
		if err != nil || !sameOrigin(req) || !c.sessions.validCSRF(v.session, form.Get("csrf")) {
			c.log.WarnContext(ctx, "console form refused", "route", req.RouteKey, "requestId", req.RequestContext.RequestID)
			return c.notice(http.StatusForbidden, root, v, "This form was refused",
				"It did not come from a page of your console session, so nothing was changed. Go back, reload the page and try again.")
		}
		return h(ctx, req, v, form)
	}
}

// readForm reads an application/x-www-form-urlencoded body.
func readForm(req api.Request) (url.Values, error) {
	b := req.Body
	if req.IsBase64Encoded {
		raw, err := base64.StdEncoding.DecodeString(b)
		if err != nil {
			return nil, err
		}
		b = string(raw)
	}
	if len(b) > api.MaxBody {
		return nil, referral.ErrPayloadTooLarge
	}
	if ct := req.Headers["content-type"]; !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		return nil, fmt.Errorf("form sent as %q", ct)
	}
	return url.ParseQuery(b)
}

// sameOrigin reports whether the browser says the request came from a page of this origin
// (Sec-Fetch-Site, else Origin); a request saying neither (not a browser) is let through to
// the token check.
func sameOrigin(req api.Request) bool {
	if site := req.Headers["sec-fetch-site"]; site != "" {
		return site == "same-origin"
	}
	if origin := req.Headers["origin"]; origin != "" {
		u, err := url.Parse(origin)
		return err == nil && u.Host == req.Headers["host"]
	}
	return true
}

// home is the programs list, or the sign-in page without a session.
func (c *Console) home(ctx context.Context, req api.Request) (api.Response, error) {
	v, err := c.signedIn(ctx, req)
	if err != nil {
		return api.Response{}, err
	}
	if v == nil {
		return c.page(http.StatusOK, "signin", nil, pages.RootOf(req.RawPath), map[string]any{"Error": ""}, "")
	}
	return c.programs(ctx, req, v)
}

// signIn checks an admin key through the authorizer's own decision and starts a session. The
// gateway throttles this route.
func (c *Console) signIn(ctx context.Context, req api.Request) (api.Response, error) {
	root := pages.RootOf(req.RawPath)
	form, err := readForm(req)
	if err != nil || !sameOrigin(req) {
		return c.notice(http.StatusForbidden, root, nil, "This form was refused", "It did not come from the console's sign-in page.")
	}
	key := strings.TrimSpace(form.Get("key"))
	d, err := c.auth.Decide(ctx, "Bearer "+key)
	if err != nil {
		return api.Response{}, err
	}
	if key == "" || d.Scope != auth.ScopeAdmin {
		c.log.InfoContext(ctx, "console sign-in refused", "reason", d.Reason, "scope", d.Scope)
		msg := "That key is not a valid admin key. Check that it was copied in full."
		if d.Scope == auth.ScopeServer {
			msg = "That is a server key. The console needs an admin key."
		}
		return c.page(http.StatusUnauthorized, "signin", nil, root, map[string]any{"Error": msg}, "")
	}
	_, value, err := c.sessions.issue(auth.Hash(key), c.now())
	if err != nil {
		return api.Response{}, err
	}
	c.log.InfoContext(ctx, "console sign-in", "keyId", d.KeyID)
	resp := redirect(root + "console")
	resp.Cookies = []string{cookie(value, int(SessionTTL.Seconds()))}
	return resp, nil
}

func (c *Console) signOut(_ context.Context, req api.Request, _ *visit, _ url.Values) (api.Response, error) {
	resp := redirect(pages.RootOf(req.RawPath) + "console")
	resp.Cookies = []string{cookie("", -1)}
	return resp, nil
}

// page renders a console page: data and the layout's values, the session's CSRF token and
// navigation. title is the page's title ("" for the set's default).
func (c *Console) page(status int, name string, v *visit, root string, data map[string]any, title string) (api.Response, error) {
	d := map[string]any{"CSRF": "", "SignedIn": false, "Title": title, "Nav": name}
	if v != nil {
		d["CSRF"], d["SignedIn"] = v.csrf, true
	}
	for k, x := range data {
		d[k] = x
	}
	body, err := Set.HTML(name, pages.View{Lang: "en", Root: root}, d)
	if err != nil {
		return api.Response{}, err
	}
	resp := pages.HTML(status, "en", body)
	resp.Headers["Cache-Control"] = "no-store, private"
	return resp, nil
}

// notice is a page with a heading and a paragraph (a refusal, an API error).
func (c *Console) notice(status int, root string, v *visit, heading, text string) (api.Response, error) {
	return c.page(status, "notice", v, root, map[string]any{"Heading": heading, "Text": text}, heading)
}

// redirect answers 303 See Other to a URL relative to the page.
func redirect(location string) api.Response {
	return api.Response{StatusCode: http.StatusSeeOther, Headers: map[string]string{
		"Location": location, "Cache-Control": "no-store", "Content-Security-Policy": pages.CSP,
		"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}}
}

// apiError is an error the API answered (4xx): its message shown where its field is.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// call sends one API request in-process, with the session's admin scope, to the router that
// serves routeKey. A 4xx answer is returned as *apiError for the page to show; a 5xx one as
// the error the API would have answered.
func (c *Console) call(ctx context.Context, v *visit, routeKey string, params, query map[string]string, body any, accept string) (api.Response, *apiError, error) {
	handle := c.api[routeKey]
	method, path, _ := strings.Cut(routeKey, " ")
	for k, x := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(x))
	}
	req := api.Request{RouteKey: routeKey, RawPath: path, PathParameters: params, QueryStringParameters: query,
		Headers: map[string]string{"accept": "application/json"}}
	if accept != "" {
		req.Headers["accept"] = accept
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return api.Response{}, nil, err
		}
		req.Body, req.Headers["content-type"] = string(b), "application/json"
	}
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = method, path
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		Lambda: map[string]any{auth.ContextScope: auth.ScopeAdmin, auth.ContextKeyID: v.keyID}}
	resp, err := handle(ctx, req)
	if err != nil {
		return api.Response{}, nil, err
	}
	if resp.StatusCode < 400 {
		return resp, nil, nil
	}
	var e struct {
		Error apiError `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || e.Error.Code == "" {
		return api.Response{}, nil, fmt.Errorf("%s answered %d: %s", routeKey, resp.StatusCode, resp.Body)
	}
	e.Error.Status = resp.StatusCode
	if resp.StatusCode >= 500 {
		return api.Response{}, nil, referral.ErrUnavailable.With(e.Error.Message, nil)
	}
	return resp, &e.Error, nil
}

// callJSON is call with the answer decoded into out.
func (c *Console) callJSON(ctx context.Context, v *visit, routeKey string, params, query map[string]string, body, out any) (*apiError, error) {
	resp, ae, err := c.call(ctx, v, routeKey, params, query, body, "")
	if err != nil || ae != nil {
		return ae, err
	}
	if out != nil {
		if err := json.Unmarshal([]byte(resp.Body), out); err != nil {
			return nil, fmt.Errorf("%s: %w", routeKey, err)
		}
	}
	return nil, nil
}
