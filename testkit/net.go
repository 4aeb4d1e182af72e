package testkit

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Listen returns a TCP listener on a free port of 127.0.0.1, closed when
// the test ends.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// FreeAddr returns host:port of a port of 127.0.0.1 that was free when it
// was asked, for a server the test starts in another process or that
// takes an address rather than a listener. Another process may take the
// port in between, which is why Listen is the better choice where the
// code under test accepts a listener.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Serve starts an HTTP server on 127.0.0.1 for h and closes it when the
// test ends.
func Serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
