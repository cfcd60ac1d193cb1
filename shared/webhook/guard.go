package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/referral/referrals/shared/referral"
)

// Guard decides which hosts events may be sent to, and holds every connection to that (SSRF).
// A deployed stack sends only to https URLs whose host resolves to public unicast addresses:
// never loopback, private (RFC 1918, IPv6 ULA), link-local (and so no instance metadata
// service), carrier-grade NAT, multicast, documentation, benchmark or reserved ranges. A
// hostname is checked when the endpoint is registered, and the address actually dialled is
// checked again at connect time (net.Dialer.Control), so a name that resolves to something
// else later (DNS rebinding) gets nowhere.
type Guard struct {
	// Private are the networks besides public addresses that events may go to: a business's
	// receivers on private addresses (the template's WebhookPrivateTargets, none by default;
	// make dev lists loopback for its receiver). Addresses in them are allowed, and URLs whose
	// host is in them may use http. Metadata, link-local, multicast and unspecified addresses
	// stay refused even when listed.
	Private []netip.Prefix
	// Resolver resolves hostnames at registration; nil is the system resolver.
	Resolver Resolver
}

// Resolver is the part of *net.Resolver the guard uses.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// NewGuard is the guard of a function, with the private networks of privateTargets (the
// template's WebhookPrivateTargets: comma-separated CIDR blocks, "" for none).
func NewGuard(privateTargets string) (*Guard, error) {
	p, err := ParsePrivateTargets(privateTargets)
	if err != nil {
		return nil, err
	}
	return &Guard{Private: p}, nil
}

// ParsePrivateTargets reads a comma-separated list of CIDR blocks (10.20.0.0/16, fd00:1::/64).
func ParsePrivateTargets(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("WebhookPrivateTargets: %q is not a CIDR block like 10.20.0.0/16", s)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("WebhookPrivateTargets: %q has bits set past its length; write %s", s, p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}

// AllowsHTTP says whether an endpoint URL may use http: only to the private networks.
func (g *Guard) AllowsHTTP() bool { return len(g.Private) > 0 }

// private says whether addr is in one of the private networks.
func (g *Guard) private(addr netip.Addr) bool {
	for _, p := range g.Private {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

// resolveTimeout bounds the DNS lookup of a registration.
const resolveTimeout = 5 * time.Second

// CheckURL checks an endpoint URL before it is registered: its form (referral.ValidWebhookURL)
// and, after resolving its host, every address it resolves to. A refusal is a
// webhook_url_not_allowed error on the field "url" that says why.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	if err := referral.ValidWebhookURL("url", raw, g.AllowsHTTP()); err != nil {
		return err
	}
	u, _ := url.Parse(raw) // parsed by ValidWebhookURL
	host := u.Hostname()
	refuse := func(format string, args ...any) error {
		e := referral.ErrWebhookTarget.With(fmt.Sprintf(format, args...), nil)
		e.Field = "url"
		return e
	}
	overHTTP := func(a netip.Addr) error {
		if u.Scheme == "http" && !g.private(a) {
			return refuse("%s is not in the stack's private networks; events to it go only over https", a.Unmap())
		}
		return nil
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if reason := g.blocked(addr); reason != "" {
			return refuse("%s is %s address; events go only to public addresses", addr, reason)
		}
		return overHTTP(addr)
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if !g.private(netip.MustParseAddr("127.0.0.1")) && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return refuse("%s is this machine (a loopback name); events go only to public hosts", host)
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return refuse("the host %s does not resolve; register a URL whose host has a public DNS record", host)
	}
	for _, a := range addrs {
		if reason := g.blocked(a); reason != "" {
			return refuse("%s resolves to %s, %s address; events go only to public addresses", host, a.Unmap(), reason)
		}
		if err := overHTTP(a); err != nil {
			return err
		}
	}
	return nil
}

// BlockedError is a connection the guard refused.
type BlockedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("refused to connect to %s: %s address", e.Addr, e.Reason)
}

// control is the dialer's check of every address it is about to connect to.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused to connect to %q: not an IP address and port", address)
	}
	if reason := g.blocked(ap.Addr()); reason != "" {
		return &BlockedError{Addr: ap.Addr().Unmap(), Reason: reason}
	}
	return nil
}

// NewClient is the HTTP client that sends events: every connection checked by the guard, no
// proxy (a proxy would be the address checked), redirects not followed (a 3xx is a failed
// attempt: the receiver should register its final URL), and timeout for the whole request.
// tlsConfig may be nil (the system roots).
func (g *Guard) NewClient(timeout time.Duration, tlsConfig *tls.Config) *http.Client {
	d := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second, Control: g.control}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   min(timeout, 10*time.Second),
		ResponseHeaderTimeout: timeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		IdleConnTimeout:       60 * time.Second,
	}
	return &http.Client{
		Timeout:       timeout,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Address ranges events are never sent to (besides what netip classifies: loopback, private,
// link-local, multicast, unspecified).
var (
	// Never, not even locally: cloud metadata and DNS endpoints (most are link-local already;
	// AWS's IPv6 ones sit in a unique local range).
	metadataPrefixes = prefixes("169.254.169.254/32", "169.254.169.253/32", "169.254.170.2/32", "fd00:ec2::254/128", "fd00:ec2::253/128")
	// Not from a deployed stack: shared, special-purpose and reserved space (RFC 6890 and
	// friends), plus the IPv6 forms that embed an IPv4 address (NAT64, 6to4, Teredo).
	specialPrefixes = prefixes(
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
		"::/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32", "2002::/16", "fec0::/10")
	cgnat = netip.MustParsePrefix("100.64.0.0/10")
)

func prefixes(ps ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// blocked says why addr may not be connected to ("a loopback", "a private"...), or "".
func (g *Guard) blocked(addr netip.Addr) string {
	addr = addr.Unmap()
	for _, p := range metadataPrefixes {
		if p.Contains(addr) {
			return "a cloud metadata"
		}
	}
	switch {
	case !addr.IsValid():
		return "an invalid"
	case addr.IsUnspecified():
		return "an unspecified"
	case addr.IsLinkLocalUnicast():
		return "a link-local"
	case addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return "a multicast"
	}
	if g.private(addr) {
		return ""
	}
	switch {
	case addr.IsLoopback():
		return "a loopback"
	case addr.IsPrivate():
		return "a private"
	case cgnat.Contains(addr):
		return "a carrier-grade NAT (shared)"
	}
	for _, p := range specialPrefixes {
		if p.Contains(addr) {
			return "a reserved or special-purpose"
		}
	}
	return ""
}

// errorText describes a failed attempt for the delivery log: short, and without anything the
// receiver controls beyond its status code.
func errorText(err error, timeout time.Duration) string {
	var blocked *BlockedError
	var netErr net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &blocked):
		return blocked.Error()
	case errors.As(err, &dnsErr):
		return "the host does not resolve: " + dnsErr.Name
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no answer within %s", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return "TLS certificate not valid for the host"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}
