package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
)

const seedSearch = `{"filters": {"countryCode": "US", "areaCode": "415", "numberType": "local", "limit": 10}}`

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("auth@example.com")
	other, _ := domain.NewAPIToken() // well-formed, never issued

	var first map[string]any
	for _, tc := range []struct{ name, authorization string }{
		{"no header", ""},
		{"basic scheme", "Basic " + acct.Token},
		{"token scheme", "Token " + acct.Token},
		{"bearer without token", "Bearer"},
		{"bearer with blank token", "Bearer    "},
		{"bare token", acct.Token},
		{"wrong token", "Bearer " + other},
		{"token with a suffix", "Bearer " + acct.Token + "x"},
		{"oversized token", "Bearer " + strings.Repeat("t", 1000)},
	} {
		for _, target := range []struct{ method, path, body string }{
			{http.MethodPost, searchPath, seedSearch},
			{http.MethodGet, listPath(acct.TeamID), ""},
			{http.MethodPost, assistantsPath, createAssistantBody(acct.TeamID, "Nope")},
			{http.MethodGet, "/api/no-such-endpoint", ""},
		} {
			r := e.do(request{method: target.method, path: target.path, authorization: tc.authorization, body: target.body})
			er := wantError(t, r, http.StatusUnauthorized, "unauthorized", "")
			if first == nil {
				first = er
			} else if !reflect.DeepEqual(er, first) {
				t.Errorf("%s: 401 body %v differs from %v", tc.name, er, first)
			}
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: 401 without a WWW-Authenticate: Bearer challenge", tc.name)
			}
		}
	}
	if n := len(e.searches.all()); n != 0 {
		t.Errorf("unauthenticated searches reached Telnyx %d times", n)
	}

	// The scheme is case-insensitive, as RFC 9110 says.
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		r := e.do(request{method: http.MethodPost, path: searchPath, authorization: scheme + " " + acct.Token, body: seedSearch})
		numbersOf(t, r)
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("routing@example.com")

	for _, path := range []string{"/nope", "/api/nope", "/api/phone-numbers/search/extra", "/api"} {
		r := e.do(request{method: http.MethodGet, path: path, token: acct.Token})
		wantError(t, r, http.StatusNotFound, "not_found", "")
	}
	// Outside /api no token is needed to learn that nothing is there.
	wantError(t, e.do(request{method: http.MethodGet, path: "/nope"}), http.StatusNotFound, "not_found", "")

	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodGet, searchPath, "POST"},
		{http.MethodPut, searchPath, "POST"},
		{http.MethodDelete, assistantsPath, "GET"},
		{http.MethodPost, "/healthz", "GET"},
		{http.MethodDelete, "/readyz", "GET"},
	} {
		r := e.do(request{method: tc.method, path: tc.path, token: acct.Token})
		wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed", "")
		if allow := r.header.Values("Allow"); !strings.Contains(strings.Join(allow, ","), tc.allow) {
			t.Errorf("%s %s: Allow %v, want it to list %s", tc.method, tc.path, allow, tc.allow)
		}
	}

	// A method HTTP has no name for still gets a JSON answer.
	r := e.do(request{method: "BREW", path: searchPath, token: acct.Token})
	wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed", "")
	t.Logf("BREW: %d %s", r.status, r.raw)
}

// TestRequestIDs checks that every answer carries an X-Request-Id and that
// a caller's sane one is echoed.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("ids@example.com")

	seen := map[string]bool{}
	for _, req := range []request{
		{method: http.MethodGet, path: "/healthz"},
		{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch},
		{method: http.MethodPost, path: searchPath, token: acct.Token, body: `{}`},
		{method: http.MethodPost, path: searchPath, body: seedSearch},
		{method: http.MethodGet, path: "/nope"},
	} {
		r := e.do(req)
		id := r.header.Get("X-Request-Id")
		if seen[id] {
			t.Errorf("request id %s given twice", id)
		}
		seen[id] = true
	}

	for _, id := range []string{"abc-123", "trace:01HX.7_b", strings.Repeat("z", 64)} {
		r := e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: `{}`, header: map[string]string{"X-Request-Id": id}})
		if got := r.header.Get("X-Request-Id"); got != id {
			t.Errorf("X-Request-Id %q echoed as %q", id, got)
		}
	}
	for _, id := range []string{strings.Repeat("z", 65), "has space", "<script>", "semi;colon"} {
		r := e.do(request{method: http.MethodGet, path: "/healthz", header: map[string]string{"X-Request-Id": id}})
		if got := r.header.Get("X-Request-Id"); got == id || got == "" {
			t.Errorf("unsafe X-Request-Id %q answered with %q, want a new one", id, got)
		}
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withChecks(func(*env) []api.Check {
		return []api.Check{{Name: "broken", Check: func(context.Context) error { return errors.New("down") }}}
	}))
	// The process is up even when a dependency is down.
	r := e.do(request{method: http.MethodGet, path: "/healthz"})
	if r.status != http.StatusOK || r.body["success"] != true {
		t.Fatalf("healthz: %d %s", r.status, r.raw)
	}
	r = e.do(request{method: http.MethodHead, path: "/healthz"})
	if r.status != http.StatusOK {
		t.Errorf("HEAD healthz: %d", r.status)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	r := e.do(request{method: http.MethodGet, path: "/readyz"})
	if r.status != http.StatusOK || r.body["success"] != true {
		t.Fatalf("readyz with everything up: %d %s", r.status, r.raw)
	}
	checks, _ := r.body["checks"].(map[string]any)
	wantKeys(t, "readyz checks", checks, "database")
	if c, _ := checks["database"].(map[string]any); c["status"] != "ok" {
		t.Errorf("check database = %v, want ok: %s", checks["database"], r.raw)
	}
}

func wantNotReady(t *testing.T, r response, failing string, ok ...string) {
	t.Helper()
	if r.status != http.StatusServiceUnavailable || r.body["success"] != false {
		t.Fatalf("readyz with %s down: %d %s", failing, r.status, r.raw)
	}
	checks, _ := r.body["checks"].(map[string]any)
	c, _ := checks[failing].(map[string]any)
	if c["status"] == "ok" || c["status"] == nil {
		t.Errorf("check %s = %v, want it reported down: %s", failing, checks[failing], r.raw)
	}
	for _, name := range ok {
		c, _ := checks[name].(map[string]any)
		if c["status"] != "ok" {
			t.Errorf("check %s = %v, want ok: %s", name, checks[name], r.raw)
		}
	}
	er := errorOf(t, r)
	if er["code"] != "service_unavailable" || !strings.Contains(fmt.Sprint(er["message"]), failing) {
		t.Errorf("error %v does not name the failing check %s", er, failing)
	}
}

func TestReadyzFailingChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(api.Config{ReadyTimeout: 200 * time.Millisecond}), withChecks(func(e *env) []api.Check {
		return []api.Check{
			{Name: "database", Check: e.accounts.Ping},
			{Name: "temporal", Check: func(context.Context) error {
				return errors.New("dial tcp 10.0.0.1:7233: secret connection string postgres://u:pw@db")
			}},
		}
	}))
	r := e.do(request{method: http.MethodGet, path: "/readyz"})
	wantNotReady(t, r, "temporal", "database")
	if strings.Contains(string(r.raw), "10.0.0.1") || strings.Contains(string(r.raw), "pw@") {
		t.Errorf("readyz shows a check's error text: %s", r.raw)
	}
	if !strings.Contains(e.logs.String(), "10.0.0.1") {
		t.Error("the check's error is not logged")
	}

	// A check that hangs is cut off by ReadyTimeout.
	hang := newEnv(t, withConfig(api.Config{ReadyTimeout: 200 * time.Millisecond}), withChecks(func(e *env) []api.Check {
		return []api.Check{
			{Name: "database", Check: e.accounts.Ping},
			{Name: "slow", Check: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		}
	}))
	start := time.Now()
	r = hang.do(request{method: http.MethodGet, path: "/readyz"})
	wantNotReady(t, r, "slow", "database")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("readyz took %v with a hanging check", d)
	}

	// A check that panics is a failed check, not a dead process.
	crash := newEnv(t, withChecks(func(e *env) []api.Check {
		return []api.Check{
			{Name: "database", Check: e.accounts.Ping},
			{Name: "crashy", Check: func(context.Context) error { panic("boom") }},
		}
	}))
	r = crash.do(request{method: http.MethodGet, path: "/readyz"})
	wantNotReady(t, r, "crashy", "database")
	// And the server still serves.
	crash.do(request{method: http.MethodGet, path: "/healthz"})
}

// panickingProvider is the real Telnyx client except that searches panic,
// to prove a handler's panic is a clean 500.
type panickingProvider struct{ domain.NumberProvider }

func (panickingProvider) SearchAvailable(context.Context, domain.SearchFilter) ([]domain.AvailableNumber, error) {
	panic("search exploded at /src/api/search.go:42")
}

func TestPanicIsACleanInternalError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withProvider(func(p domain.NumberProvider) domain.NumberProvider { return panickingProvider{p} }))
	acct := e.newAccount("panic@example.com")
	r := e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch})
	wantError(t, r, http.StatusInternalServerError, "internal_error", "")
	if !strings.Contains(e.logs.String(), "search exploded") {
		t.Error("the panic is not logged")
	}
	// The server goes on serving.
	e.do(request{method: http.MethodGet, path: "/healthz"})
}

// TestDatabaseDownShowsNoSQL closes the pool under the API: the caller
// gets a 5xx with no SQL in it.
func TestDatabaseDownShowsNoSQL(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewSchema(t)
	db, err := persistence.Open(t.Context(), dsn, persistence.WithMaxOpenConns(2),
		persistence.WithLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError + 1}))))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	e := newEnv(t, withDB(db))
	acct := e.newAccount("dbdown@example.com")
	numbersOf(t, e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch}))

	if err := persistence.Close(db); err != nil {
		t.Fatalf("Close: %v", err)
	}
	r := e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch})
	if r.status < 500 {
		t.Fatalf("with the database closed: %d %s", r.status, r.raw)
	}
	errorOf(t, r)
	t.Logf("with the database closed: %d %s", r.status, r.raw)
	r = e.do(request{method: http.MethodGet, path: "/readyz"})
	wantNotReady(t, r, "database")
}

// TestOversizedRequests sends a body over the limit and headers over the
// read buffer: Fiber refuses both before any middleware runs, and the
// answers must still be JSON with a request id and the precise status.
func TestOversizedRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("large@example.com")

	// The server answers as soon as it reads the Content-Length, so the
	// body is not sent at all: a client still writing it would be reset.
	conn, err := net.DialTimeout("tcp", e.srv.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{",
		searchPath, acct.Token, 2<<20)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to a large body: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	e.checkInvariants(request{method: http.MethodPost, path: searchPath}, r)
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("answer is not JSON: %s", raw)
	}
	wantError(t, r, http.StatusRequestEntityTooLarge, "invalid_request", "")

	r = e.do(request{method: http.MethodGet, path: "/healthz", header: map[string]string{"X-Padding": strings.Repeat("p", 10000)}})
	wantError(t, r, http.StatusRequestHeaderFieldsTooLarge, "invalid_request", "")
}

// TestAccessLogHasNoSecrets sends requests with good and bad tokens,
// failing and succeeding, and reads the log: one line per request with its
// id, and never a bearer token or the provider's key.
func TestAccessLogHasNoSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(api.Config{SearchTimeout: 300 * time.Millisecond}), withTelnyxClient(200*time.Millisecond, 1))
	acct := e.newAccount("logs@example.com")
	wrong, _ := domain.NewAPIToken()

	e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch})
	e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: `{"filters": {"countryCode": "` + acct.Token + `"}}`})
	e.do(request{method: http.MethodPost, path: searchPath, token: wrong, body: seedSearch})
	e.do(request{method: http.MethodGet, path: listPath(acct.TeamID) + "&token=" + acct.Token, token: acct.Token})
	e.do(request{method: http.MethodGet, path: "/nope?access_token=" + acct.Token})
	e.sim.SetFaults(telnyxsim.Faults{ErrorRate: 1})
	e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch, header: map[string]string{"X-Request-Id": "log-test-1"}})
	e.sim.SetFaults(telnyxsim.Faults{TimeoutRate: 1, HangFor: time.Minute})
	e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch})

	logs := e.logs.String()
	for _, secret := range []string{acct.Token, wrong, domain.HashAPIToken(acct.Token), telnyxAPIKey} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds a secret %q…:\n%s", secret[:8], logs)
		}
	}

	var access []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if line["msg"] == "http request" {
			access = append(access, line)
		}
	}
	if len(access) != 7 {
		t.Errorf("%d access log lines for 7 requests:\n%s", len(access), logs)
	}
	var failed map[string]any
	for _, line := range access {
		if line["request_id"] == nil || line["status"] == nil || line["method"] == nil {
			t.Errorf("access log line lacks request_id, status or method: %v", line)
		}
		if line["request_id"] == "log-test-1" {
			failed = line
		}
	}
	if failed == nil || fmt.Sprint(failed["status"]) != "502" {
		t.Errorf("the access log line of request log-test-1 is %v, want status 502", failed)
	}
}

// TestStopWaitsForInFlightRequests stops the server during a slow search:
// the search still gets its answer, and the port is closed afterwards.
func TestStopWaitsForInFlightRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("stop@example.com")
	e.sim.SetFaults(telnyxsim.Faults{Latency: 300 * time.Millisecond})

	type answer struct {
		status int
		body   string
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, e.base+searchPath, strings.NewReader(seedSearch))
		req.Header.Set("Authorization", "Bearer "+acct.Token)
		resp, err := e.http.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- answer{status: resp.StatusCode, body: string(b), err: err}
	}()
	// Stop once the search is at the provider, so it is surely in flight.
	for deadline := time.Now().Add(5 * time.Second); len(e.searches.all()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the search never reached the provider")
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := e.srv.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	a := <-done
	if a.err != nil || a.status != http.StatusOK || !strings.Contains(a.body, `"success":true`) {
		t.Errorf("the in-flight search got %d %q (%v), want its 200", a.status, a.body, a.err)
	}
	// Stopping again is harmless.
	if err := e.srv.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	conn, err := net.DialTimeout("tcp", e.srv.Addr(), time.Second)
	if err == nil {
		_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := conn.Read(make([]byte, 1))
		_ = conn.Close()
		if n > 0 {
			t.Error("the server still answers after Stop")
		}
	}
}

// TestReadyzSharesOneRunOfTheChecks: a flood of concurrent /readyz (the
// endpoint needs no token) runs the checks once, not once per request;
// after the cached second a new request runs them again.
func TestReadyzSharesOneRunOfTheChecks(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	e := newEnv(t, withChecks(func(e *env) []api.Check {
		return []api.Check{{Name: "database", Check: func(ctx context.Context) error {
			runs.Add(1)
			time.Sleep(100 * time.Millisecond) // a slow database: the flood arrives during the run
			return e.accounts.Ping(ctx)
		}}}
	}))
	const n = 50
	burst := make([]request, n)
	for i := range burst {
		burst[i] = request{method: http.MethodGet, path: "/readyz"}
	}
	for _, r := range e.doAll(burst) {
		if r.status != http.StatusOK || r.body["success"] != true {
			t.Errorf("readyz: %d %s", r.status, r.raw)
		}
	}
	if got := runs.Load(); got != 1 {
		t.Errorf("%d concurrent /readyz ran the checks %d times, want once", n, got)
	}
	time.Sleep(1500 * time.Millisecond) // past the cached second
	if r := e.do(request{method: http.MethodGet, path: "/readyz"}); r.status != http.StatusOK {
		t.Errorf("readyz: %d %s", r.status, r.raw)
	}
	if got := runs.Load(); got != 2 {
		t.Errorf("the checks ran %d times after the cache expired, want 2", got)
	}
}

// TestNewRefusesUnsetDurations: the durations the app configures are
// required, each refusal naming its variable; no second default fills
// one in here.
func TestNewRefusesUnsetDurations(t *testing.T) {
	t.Parallel()
	full := api.Config{ShutdownTimeout: time.Second, PurchaseWait: time.Second, RequestTimeout: 10 * time.Second}
	if _, err := api.New(full, api.Deps{}); err != nil {
		t.Fatalf("New with every duration: %v", err)
	}
	for variable, unset := range map[string]func(*api.Config){
		"SHUTDOWN_TIMEOUT": func(c *api.Config) { c.ShutdownTimeout = 0 },
		"PURCHASE_WAIT":    func(c *api.Config) { c.PurchaseWait = 0 },
		"REQUEST_TIMEOUT":  func(c *api.Config) { c.RequestTimeout = 0 },
	} {
		cfg := full
		unset(&cfg)
		if _, err := api.New(cfg, api.Deps{}); err == nil || !strings.Contains(err.Error(), variable) {
			t.Errorf("New without %s: %v, want an error naming it", variable, err)
		}
	}
	if _, err := api.NewProviderProbe(api.ProbeConfig{}); err == nil || !strings.Contains(err.Error(), "TELNYX_PROBE_INTERVAL") {
		t.Errorf("NewProviderProbe without an interval: %v, want an error naming TELNYX_PROBE_INTERVAL", err)
	}
}
