package api_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
	"github.com/talkturo/phonenumbers/testkit"
)

// deadlineTimeout is the request deadline of these tests: short, so that
// they are quick, and long enough for a loaded machine to serve a request
// that does get its connection.
const deadlineTimeout = 2 * time.Second

// want503InTime sends r and checks it is a 503 service_unavailable with
// Retry-After, answered before twice the request deadline (a hang check,
// not a timing assertion); it returns how long the answer took.
func want503InTime(t *testing.T, e *env, r request) time.Duration {
	t.Helper()
	start := time.Now()
	resp := e.do(r)
	took := time.Since(start)
	wantError(t, resp, http.StatusServiceUnavailable, "service_unavailable", "")
	if resp.header.Get("Retry-After") == "" {
		t.Errorf("%s %s: a 503 without Retry-After", r.method, r.path)
	}
	if took > 2*deadlineTimeout {
		t.Errorf("%s %s answered after %v, more than twice the request deadline %v", r.method, r.path, took, deadlineTimeout)
	}
	return took
}

// deadlineRequests are requests that need the database (authentication
// first of all), one per kind of handler.
func deadlineRequests(acct account) []request {
	return []request{
		{method: http.MethodGet, path: "/api/phone-numbers/purchase?teamId=" + acct.TeamID, token: acct.Token},
		{method: http.MethodPost, path: "/api/phone-numbers/purchase", token: acct.Token,
			body: `{"phoneNumber": "+14155550101", "teamId": "` + acct.TeamID + `"}`, header: map[string]string{"Idempotency-Key": "deadline-1"}},
		{method: http.MethodPost, path: "/api/assistants", token: acct.Token, body: `{"teamId": "` + acct.TeamID + `", "name": "A"}`},
	}
}

func quietPoolLogger(t *testing.T) persistence.Option {
	return persistence.WithLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError + 1})))
}

// TestPoolExhaustedAnswers503 holds every connection of the API's pool in
// open transactions: requests wait for a connection until their deadline,
// then answer 503, and serve again once the connections are back.
func TestPoolExhaustedAnswers503(t *testing.T) {
	t.Parallel()
	const conns = 2
	db, err := persistence.Open(t.Context(), pgtest.NewSchema(t), persistence.WithMaxOpenConns(conns), quietPoolLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = persistence.Close(db) })
	e := newEnv(t, withDB(db), withWorkflows(scriptedWorkflows{}), withConfig(api.Config{RequestTimeout: deadlineTimeout, PurchaseWait: time.Second}))
	acct := e.newAccount("pool@example.com")
	list := deadlineRequests(acct)[0]
	if r := e.do(list); r.status != http.StatusOK {
		t.Fatalf("before: %d %s", r.status, r.raw)
	}

	held := make([]*gorm.DB, conns)
	for i := range held {
		held[i] = db.Begin()
		if err := held[i].Exec("SELECT 1").Error; err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range deadlineRequests(acct) {
		took := want503InTime(t, e, r)
		t.Logf("pool exhausted: %s %s answered 503 after %v (deadline %v)", r.method, r.path, took.Round(time.Millisecond), deadlineTimeout)
	}
	for _, tx := range held {
		tx.Rollback()
	}
	if r := e.do(list); r.status != http.StatusOK {
		t.Fatalf("with the connections given back: %d %s", r.status, r.raw)
	}
}

// TestDatabaseUnreachableAnswers503 puts a proxy between the API's pool and
// PostgreSQL, then makes the database unreachable: a closed port (new
// connections refused, open ones reset) or a black hole (connections
// accepted, nothing ever answered, open ones silent). Either way requests
// answer 503 within their deadline, the pool's connect timeout bounding
// new connections.
func TestDatabaseUnreachableAnswers503(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"closed", "blackhole"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dsn := pgtest.NewSchema(t)
			proxy := newPGProxy(t, dsn)
			db, err := persistence.Open(t.Context(), proxy.dsn, persistence.WithMaxOpenConns(4),
				persistence.WithConnectTimeout(time.Second), persistence.WithStatementTimeout(time.Second), quietPoolLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = persistence.Close(db) })
			e := newEnv(t, withDB(db), withWorkflows(scriptedWorkflows{}), withConfig(api.Config{RequestTimeout: deadlineTimeout, PurchaseWait: time.Second}))
			acct := e.newAccount(mode + "@example.com")
			list := deadlineRequests(acct)[0]
			if r := e.do(list); r.status != http.StatusOK {
				t.Fatalf("before: %d %s", r.status, r.raw)
			}

			proxy.breakDown(mode)
			// Twice each: the first meets the pool's open connections, the
			// second new ones.
			for _, r := range append(deadlineRequests(acct), deadlineRequests(acct)...) {
				took := want503InTime(t, e, r)
				t.Logf("database %s: %s %s answered 503 after %v (deadline %v, connect timeout 1s)", mode, r.method, r.path, took.Round(time.Millisecond), deadlineTimeout)
			}
			if r := e.do(request{method: http.MethodGet, path: "/healthz"}); r.status != http.StatusOK {
				t.Errorf("/healthz with the database %s: %d", mode, r.status)
			}
		})
	}
}

// pgProxy forwards TCP connections to PostgreSQL until breakDown.
type pgProxy struct {
	t        *testing.T
	ln       net.Listener
	upstream string
	dsn      string

	mu      sync.Mutex
	mode    string // "" forwards, "closed", "blackhole"
	clients []net.Conn
	servers []net.Conn
}

// newPGProxy listens on a port of its own and returns a proxy whose dsn is
// dsn with the host replaced by the proxy's.
func newPGProxy(t *testing.T, dsn string) *pgProxy {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ln := testkit.Listen(t)
	p := &pgProxy{t: t, ln: ln, upstream: u.Host}
	u.Host = ln.Addr().String()
	p.dsn = u.String()
	go p.serve()
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range append(p.clients, p.servers...) {
			_ = c.Close()
		}
	})
	return p
}

func (p *pgProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.clients = append(p.clients, c)
		mode := p.mode
		p.mu.Unlock()
		if mode == "blackhole" {
			go func() { _, _ = io.Copy(io.Discard, c) }()
			continue
		}
		s, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.servers = append(p.servers, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c) }()
		go func() { _, _ = io.Copy(c, s) }()
	}
}

// breakDown makes the database unreachable. "closed": the port refuses
// connections and open ones are closed. "blackhole": new connections are
// accepted and never answered, and open ones go silent (their server side
// is cut, the client side stays open).
func (p *pgProxy) breakDown(mode string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
	for _, s := range p.servers {
		_ = s.Close()
	}
	if mode == "closed" {
		_ = p.ln.Close()
		for _, c := range p.clients {
			_ = c.Close()
		}
	}
}
