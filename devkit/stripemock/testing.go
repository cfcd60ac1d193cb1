package stripemock

import "testing"

// ForTest starts stripe-mock behind a recording proxy on free loopback ports for t; both stop
// when t ends. stripe-mock is built from go.mod's tool directive, so it is never missing.
func ForTest(t testing.TB) *Mock {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Start(root, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}
