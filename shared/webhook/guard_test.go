package webhook_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/referral/referrals/shared/referral"
	"github.com/referral/referrals/shared/webhook"
)

// staticDNS resolves the names it lists, and nothing else.
type staticDNS map[string][]string

func (r staticDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range r[host] {
		out = append(out, netip.MustParseAddr(a))
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

var testDNS = staticDNS{
	"hooks.example.com":     {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
	"internal.example.com":  {"127.0.0.1"},
	"mixed.example.com":     {"93.184.215.14", "10.1.2.3"},
	"metadata.example.com":  {"169.254.169.254"},
	"cgnat.example.com":     {"100.64.3.4"},
	"ula.example.com":       {"fd12:3456::1"},
	"mapped.example.com":    {"::ffff:192.168.0.10"},
	"nat64.example.com":     {"64:ff9b::a00:1"},
	"benchmark.example.com": {"198.18.0.1"},
}

func TestDeployedStacksRefuseInternalTargets(t *testing.T) {
	deployed := &webhook.Guard{Resolver: testDNS}
	cases := []struct {
		url  string
		code string // "" = allowed
		msg  string
	}{
		{url: "https://hooks.example.com/referrals"},
		{url: "https://8.8.8.8/hooks"},
		{url: "https://[2606:4700::1111]/hooks"},
		{url: "http://169.254.169.254/latest/meta-data/", code: "invalid_request", msg: "https"},
		{url: "https://169.254.169.254/latest/meta-data/", code: "webhook_url_not_allowed", msg: "cloud metadata"},
		{url: "https://metadata.example.com/", code: "webhook_url_not_allowed", msg: "resolves to 169.254.169.254, a cloud metadata address"},
		{url: "https://[fd00:ec2::254]/", code: "webhook_url_not_allowed", msg: "cloud metadata"},
		{url: "https://10.0.0.1", code: "webhook_url_not_allowed", msg: "10.0.0.1 is a private address"},
		{url: "https://172.16.5.4/", code: "webhook_url_not_allowed", msg: "private"},
		{url: "https://192.168.1.1/", code: "webhook_url_not_allowed", msg: "private"},
		{url: "https://localhost", code: "webhook_url_not_allowed", msg: "loopback"},
		{url: "https://api.localhost:8443/", code: "webhook_url_not_allowed", msg: "loopback"},
		{url: "https://internal.example.com/hooks", code: "webhook_url_not_allowed", msg: "resolves to 127.0.0.1, a loopback address"},
		{url: "https://127.0.0.2/", code: "webhook_url_not_allowed", msg: "loopback"},
		{url: "https://[::1]/", code: "webhook_url_not_allowed", msg: "loopback"},
		{url: "https://[::ffff:127.0.0.1]/", code: "webhook_url_not_allowed", msg: "loopback"},
		{url: "https://mapped.example.com/", code: "webhook_url_not_allowed", msg: "192.168.0.10, a private"},
		{url: "https://mixed.example.com/", code: "webhook_url_not_allowed", msg: "10.1.2.3, a private"},
		{url: "https://cgnat.example.com/", code: "webhook_url_not_allowed", msg: "carrier-grade NAT"},
		{url: "https://ula.example.com/", code: "webhook_url_not_allowed", msg: "private"},
		{url: "https://nat64.example.com/", code: "webhook_url_not_allowed", msg: "reserved"},
		{url: "https://benchmark.example.com/", code: "webhook_url_not_allowed", msg: "reserved"},
		{url: "https://0.0.0.0/", code: "webhook_url_not_allowed", msg: "unspecified"},
		{url: "https://224.0.0.251/", code: "webhook_url_not_allowed", msg: "multicast"},
		{url: "https://169.254.10.10/", code: "webhook_url_not_allowed", msg: "link-local"},
		{url: "https://nowhere.example.com/", code: "webhook_url_not_allowed", msg: "does not resolve"},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			err := deployed.CheckURL(context.Background(), c.url)
			checkRefusal(t, err, c.code, c.msg)
		})
	}
}

func checkRefusal(t *testing.T, err error, code, msg string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var e *referral.Error
	if !errors.As(err, &e) || e.Code != code || e.Field != "url" || !strings.Contains(e.Msg, msg) {
		t.Fatalf("got %v, want %s on url saying %q", err, code, msg)
	}
}

// devNetworks are the private networks of the tests' receivers (loopback), as make dev lists
// them for its own.
var devNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// TestListedPrivateNetworksMayBeUsed: the stack's private networks (WebhookPrivateTargets) open
// those addresses, over http too, and nothing else: other private addresses stay refused, http
// to public hosts too, and metadata or link-local addresses even when a listed block holds them.
func TestListedPrivateNetworksMayBeUsed(t *testing.T) {
	g, err := webhook.NewGuard(" 127.0.0.0/8, 10.0.0.0/8 ")
	if err != nil {
		t.Fatal(err)
	}
	g.Resolver = testDNS
	everything, err := webhook.NewGuard("0.0.0.0/0,::/0")
	if err != nil {
		t.Fatal(err)
	}
	everything.Resolver = testDNS
	for _, c := range []struct {
		guard          *webhook.Guard
		url, code, msg string
	}{
		{guard: g, url: "http://127.0.0.1:8620/hooks"},
		{guard: g, url: "http://internal.example.com:8620/"},
		{guard: g, url: "https://10.0.0.1/"},
		{guard: g, url: "https://hooks.example.com/referrals"},
		{guard: g, url: "http://hooks.example.com/referrals", code: "webhook_url_not_allowed", msg: "not in the stack's private networks; events to it go only over https"},
		{guard: g, url: "https://192.168.0.10/", code: "webhook_url_not_allowed", msg: "192.168.0.10 is a private address"},
		{guard: g, url: "https://ula.example.com/", code: "webhook_url_not_allowed", msg: "resolves to fd12:3456::1, a private address"},
		{guard: everything, url: "http://169.254.169.254/latest/meta-data/", code: "webhook_url_not_allowed", msg: "cloud metadata"},
		{guard: everything, url: "http://169.254.10.10/", code: "webhook_url_not_allowed", msg: "link-local"},
		{guard: everything, url: "http://0.0.0.0:8620/", code: "webhook_url_not_allowed", msg: "unspecified"},
	} {
		t.Run(c.url, func(t *testing.T) { checkRefusal(t, c.guard.CheckURL(context.Background(), c.url), c.code, c.msg) })
	}
	deployed, err := webhook.NewGuard("")
	if err != nil || deployed.AllowsHTTP() || len(deployed.Private) != 0 {
		t.Fatalf("no private networks: %+v %v", deployed, err)
	}
	deployed.Resolver = testDNS
	checkRefusal(t, deployed.CheckURL(context.Background(), "http://127.0.0.1:8620/hooks"), "invalid_request", "https")
}

func TestPrivateTargetsAreValidatedCIDRBlocks(t *testing.T) {
	if p, err := webhook.ParsePrivateTargets("10.20.0.0/16, fd00:1::/64,,"); err != nil || len(p) != 2 {
		t.Errorf("two blocks: %v %v", p, err)
	}
	for in, msg := range map[string]string{
		"10.20.0.1/16":  `"10.20.0.1/16" has bits set past its length; write 10.20.0.0/16`,
		"10.20.0.0":     `"10.20.0.0" is not a CIDR block`,
		"intranet.corp": `"intranet.corp" is not a CIDR block`,
	} {
		if _, err := webhook.ParsePrivateTargets(in); err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "WebhookPrivateTargets") {
			t.Errorf("%q: %v, want an error saying %s", in, err, msg)
		}
	}
}

// tlsReceiver is an https server on 127.0.0.1 that counts requests and answers with status.
func tlsReceiver(t *testing.T, h http.HandlerFunc) (*httptest.Server, *tls.Config, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, srv.Client().Transport.(*http.Transport).TLSClientConfig, &hits
}

// TestConnectionsAreCheckedWhenTheyAreMade: whatever a name resolved to at registration, the
// address dialled is checked again. "localhost" resolving to 127.0.0.1 at connect time is what a
// DNS-rebinding name does after passing registration: the connection is refused, and the
// receiver sees nothing.
func TestConnectionsAreCheckedWhenTheyAreMade(t *testing.T) {
	srv, tlsConfig, hits := tlsReceiver(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	deployed := (&webhook.Guard{}).NewClient(2*time.Second, tlsConfig)
	for _, u := range []string{srv.URL + "/hooks", "https://localhost:" + port + "/hooks"} {
		res := webhook.Post(context.Background(), deployed, u, webhook.Headers{ID: "msg_x", Timestamp: "1", Signature: "v1,x"}, []byte(`{}`))
		if res.StatusCode != 0 || !strings.Contains(res.Error, "refused to connect to 127.0.0.1") {
			t.Errorf("%s: deployed client got %d %q, want the connection refused", u, res.StatusCode, res.Error)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the receiver on loopback was reached %d times", hits.Load())
	}
	local := (&webhook.Guard{Private: devNetworks}).NewClient(2*time.Second, tlsConfig)
	if res := webhook.Post(context.Background(), local, srv.URL+"/hooks", webhook.Headers{ID: "msg_x", Timestamp: "1", Signature: "v1,x"}, []byte(`{}`)); res.StatusCode != 204 || res.Error != "" {
		t.Errorf("local client: %d %q, want 204", res.StatusCode, res.Error)
	}
}

func TestRedirectsAreNotFollowedAndSlowReceiversTimeOut(t *testing.T) {
	var target atomic.Int32
	srv, tlsConfig, _ := tlsReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/target", http.StatusFound)
		case "/target":
			target.Add(1)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
		case "/busy":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	client := (&webhook.Guard{Private: devNetworks}).NewClient(300*time.Millisecond, tlsConfig)
	h := webhook.Headers{ID: "msg_x", Timestamp: "1", Signature: "v1,x"}
	res := webhook.Post(context.Background(), client, srv.URL+"/moved", h, []byte(`{}`))
	if res.StatusCode != 302 || !strings.Contains(res.Error, "redirects are not followed") || target.Load() != 0 {
		t.Errorf("redirect: %d %q, target hit %d times", res.StatusCode, res.Error, target.Load())
	}
	res = webhook.Post(context.Background(), client, srv.URL+"/slow", h, []byte(`{}`))
	if res.StatusCode != 0 || !strings.Contains(res.Error, "no answer within 300ms") {
		t.Errorf("slow receiver: %d %q", res.StatusCode, res.Error)
	}
	res = webhook.Post(context.Background(), client, srv.URL+"/busy", h, []byte(`{}`))
	if res.StatusCode != 503 || res.Error != "HTTP 503" || res.RetryAfter != 2*time.Minute {
		t.Errorf("busy receiver: %d %q retry after %v", res.StatusCode, res.Error, res.RetryAfter)
	}
}
