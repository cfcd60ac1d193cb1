package pagetest

import (
	"net/http/httptest"
	"testing"

	"github.com/referral/referrals/devkit/httpapi"
)

// Serve serves handlers by route key ("GET /a/{token}") over HTTP on a loopback port, with
// the local stack's translation of requests and responses (payload format 2.0). The server
// stops when the test ends.
func Serve(t testing.TB, handlers map[string]httpapi.Handler) *httptest.Server {
	t.Helper()
	h, err := httpapi.InProcess(handlers)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
