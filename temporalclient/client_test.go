package temporalclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/talkturo/phonenumbers/devserver/tlstest"
	"github.com/talkturo/phonenumbers/testkit"
)

// fakeFrontend is a TLS gRPC server answering what a client's first calls
// ask (system info, health), that records each call's authorization header
// and transport, and refuses any key but its own.
type fakeFrontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
	addr string
	key  string

	mu    sync.Mutex
	calls []recordedCall
	// firstBytes is the first byte each connection sent: 0x16 opens a TLS
	// handshake, 'P' a plaintext HTTP/2 preface.
	firstBytes []byte
}

type recordedCall struct {
	method        string
	authorization []string
	tls           bool
}

func (f *fakeFrontend) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{}, nil
}

func (f *fakeFrontend) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	p, _ := peer.FromContext(ctx)
	_, isTLS := p.AuthInfo.(credentials.TLSInfo)
	auth := md.Get("authorization")
	f.mu.Lock()
	f.calls = append(f.calls, recordedCall{method: info.FullMethod, authorization: auth, tls: isTLS})
	f.mu.Unlock()
	if len(auth) != 1 || auth[0] != "Bearer "+f.key {
		return nil, status.Error(codes.Unauthenticated, "request unauthorized")
	}
	return handler(ctx, req)
}

func (f *fakeFrontend) recorded() ([]recordedCall, []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedCall(nil), f.calls...), append([]byte(nil), f.firstBytes...)
}

// sniffListener records the first byte of every connection it accepts.
type sniffListener struct {
	net.Listener
	f *fakeFrontend
}

func (l sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, f: l.f}, nil
}

type sniffConn struct {
	net.Conn
	f    *fakeFrontend
	once sync.Once
}

func (c *sniffConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.once.Do(func() {
			c.f.mu.Lock()
			c.f.firstBytes = append(c.f.firstBytes, b[0])
			c.f.mu.Unlock()
		})
	}
	return n, err
}

func startFakeFrontend(t *testing.T, pki *tlstest.PKI, key string) *fakeFrontend {
	t.Helper()
	ln := testkit.Listen(t)
	f := &fakeFrontend{addr: ln.Addr().String(), key: key}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(pki.ServerTLS(t, false))), grpc.UnaryInterceptor(f.intercept))
	workflowservice.RegisterWorkflowServiceServer(srv, f)
	hs := health.NewServer()
	hs.SetServingStatus("temporal.api.workflowservice.v1.WorkflowService", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(sniffListener{Listener: ln, f: f}) }()
	t.Cleanup(srv.Stop)
	return f
}

// TestAPIKeyTravelsAsBearerOverTLS: a client with an API key sends
// "authorization: Bearer <key>" on every call, over TLS; with no TLS
// configured it still speaks TLS (the SDK's default for a key), so the key
// never travels in the clear; and neither its logs nor its errors show the
// key, right or wrong.
func TestAPIKeyTravelsAsBearerOverTLS(t *testing.T) {
	t.Parallel()
	pki := tlstest.New(t)
	const key = "tmprl_test-api-key.0123456789abcdef"
	const wrongKey = "tmprl_wrong-api-key.fedcba9876543210"
	var logs testkit.LogBuffer
	log := logs.TextLogger(slog.LevelDebug)
	check := func(f *fakeFrontend, cfg Config) error {
		t.Helper()
		cfg.HostPort, cfg.Namespace = f.addr, "talkturo.a1b2c"
		c, err := New(cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return CheckHealth(ctx, c)
	}

	f := startFakeFrontend(t, pki, key)
	if err := check(f, Config{TLS: &tls.Config{RootCAs: pki.Pool(), MinVersion: tls.VersionTLS12}, APIKey: key}); err != nil {
		t.Fatalf("health check with the API key over TLS: %v", err)
	}
	calls, _ := f.recorded()
	if !hasMethod(calls, "/grpc.health.v1.Health/Check") {
		t.Fatalf("the server saw %+v, no health check", calls)
	}
	for _, c := range calls {
		if !c.tls || len(c.authorization) != 1 || c.authorization[0] != "Bearer "+key {
			t.Errorf("%s: TLS %v, authorization %q; want TLS and Bearer <key>", c.method, c.tls, c.authorization)
		}
	}

	wrong := startFakeFrontend(t, pki, key)
	err := check(wrong, Config{TLS: &tls.Config{RootCAs: pki.Pool(), MinVersion: tls.VersionTLS12}, APIKey: wrongKey})
	if err == nil {
		t.Fatal("the server refused the wrong key, the client saw no error")
	}
	if strings.Contains(err.Error(), wrongKey) {
		t.Errorf("the error shows the key: %v", err)
	}

	// No TLS configured: the client still opens a TLS handshake, and
	// fails it (the test CA is not among the system's roots) before any
	// call, so the key is never sent.
	bare := startFakeFrontend(t, pki, key)
	if err := check(bare, Config{APIKey: key}); err == nil {
		t.Fatal("a client with the system's roots accepted the test CA's certificate")
	}
	calls, first := bare.recorded()
	if len(calls) != 0 {
		t.Errorf("calls reached the server without a TLS handshake: %+v", calls)
	}
	if len(first) == 0 || bytes.ContainsFunc(first, func(r rune) bool { return r != 0x16 }) {
		t.Errorf("first bytes of the connections: %q, want only 0x16 (a TLS handshake)", first)
	}

	for _, k := range []string{key, wrongKey} {
		if strings.Contains(logs.String(), k) {
			t.Errorf("the client's logs show an API key:\n%s", logs.String())
		}
	}
}

func hasMethod(calls []recordedCall, method string) bool {
	for _, c := range calls {
		if c.method == method {
			return true
		}
	}
	return false
}
