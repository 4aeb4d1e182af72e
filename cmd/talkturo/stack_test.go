package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/api/openapitest"
	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
	"github.com/talkturo/phonenumbers/devserver"
	"github.com/talkturo/phonenumbers/devserver/tlstest"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/testkit"
	"github.com/talkturo/phonenumbers/testkit/backend"
)

// stack is the whole system for an integration test: a real embedded
// Temporal server, a PostgreSQL schema of its own, the Telnyx simulator
// over HTTP, and API and worker apps composed exactly as `talkturo serve`
// composes them.
type stack struct {
	t            testing.TB
	temporal     *devserver.Server
	temporalPort int
	temporalFile string
	sim          *telnyxsim.Simulator
	// pki and tlsFiles are the certificates of a stack whose Temporal
	// frontend requires mTLS (stackOptions.temporalTLS).
	pki      *tlstest.PKI
	tlsFiles tlstest.Files
	cfg      config.Config
	accounts *persistence.AccountStore
	numbers  *persistence.PhoneNumberStore
	// metricsAddr is the apps' METRICS_ADDR (stackOptions.metrics).
	metricsAddr string
}

type stackOptions struct {
	temporalFile string
	env          map[string]string
	// databaseURL replaces the pgtest schema with a database of the
	// test's own, migrated here.
	databaseURL string
	// sim adjusts the simulator's options (webhooks, deadlines).
	sim func(*telnyxsim.Options)
	// temporalTLS serves Temporal's frontend over TLS with client
	// certificates required, and gives the apps the client certificate,
	// its key and the CA through TEMPORAL_TLS_*.
	temporalTLS bool
	// metrics serves the apps' metrics on a free local port, METRICS_ADDR,
	// that scrapeMetrics reads.
	metrics bool
}

func newStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	s := &stack{t: t, temporalFile: o.temporalFile}
	if o.temporalTLS {
		s.pki = tlstest.New(t)
		s.tlsFiles = s.pki.WriteFiles(t, t.TempDir())
	}
	s.startTemporal()
	dsn := o.databaseURL
	if dsn == "" {
		dsn = pgtest.NewSchema(t)
	}
	simOpts := telnyxsim.Options{OrderLatency: 50 * time.Millisecond}
	if o.sim != nil {
		o.sim(&simOpts)
	}
	tx := backend.NewTelnyx(t, backend.Options{Sim: simOpts})
	s.sim = tx.Sim
	env := map[string]string{
		"HTTP_ADDR":           "127.0.0.1:0",
		"DATABASE_URL":        dsn,
		"TEMPORAL_ADDRESS":    s.temporal.HostPort(),
		"TEMPORAL_TASK_QUEUE": "q-" + strings.ToLower(domain.NewID("t")),
		"TELNYX_BASE_URL":     tx.URL,
		"TELNYX_API_KEY":      "test-key",
		"PURCHASE_WAIT":       "20s",
		"SHUTDOWN_TIMEOUT":    "5s",
		// Reconciliation is tested on its own; elsewhere a run that
		// happens to fall due would only add Telnyx calls.
		"RECONCILE_INTERVAL": "0",
		// Stacks drive purchases by the dozen per team and key, which the
		// rate limits would refuse; the API tests prove the limits.
		"RATE_LIMIT_SEARCH_PER_SECOND":   "0",
		"RATE_LIMIT_PURCHASE_PER_SECOND": "0",
	}
	if s.pki != nil {
		env["TEMPORAL_TLS_CERT"], env["TEMPORAL_TLS_KEY"], env["TEMPORAL_TLS_CA"] = s.tlsFiles.ClientCert, s.tlsFiles.ClientKey, s.tlsFiles.CA
	}
	if o.metrics {
		s.metricsAddr = testkit.FreeAddr(t)
		env["METRICS_ADDR"] = s.metricsAddr
	}
	for k, v := range o.env {
		env[k] = v
	}
	cfg, err := config.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	s.cfg = cfg
	if o.databaseURL != "" {
		if err := runMigrate(context.Background(), cfg, nil); err != nil {
			t.Fatal(err)
		}
	}
	db, err := persistence.Open(context.Background(), dsn, persistence.WithMaxOpenConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = persistence.Close(db) })
	s.accounts, s.numbers = persistence.NewAccountStore(db), persistence.NewPhoneNumberStore(db)
	return s
}

// startTemporal starts the embedded Temporal server on free ports (or,
// after stopTemporal, restarts it on the same file and port).
func (s *stack) startTemporal() {
	s.t.Helper()
	cfg := devserver.Config{DBFile: s.temporalFile, FrontendPort: s.temporalPort, LogLevel: "error"}
	if s.pki != nil {
		// One CA signs all: the frontend's certificate, the apps' and the
		// server's own client certificate.
		f := s.tlsFiles
		cfg.TLS = &devserver.TLS{CertFile: f.ServerCert, KeyFile: f.ServerKey, ClientCAFile: f.CA,
			ClientCertFile: f.ClientCert, ClientKeyFile: f.ClientKey, RootCAFile: f.CA}
	}
	start := devserver.Start
	if s.temporalPort == 0 {
		start = devserver.StartOnFreePort
	}
	ts, err := start(context.Background(), cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	s.temporal, s.temporalPort = ts, ts.FrontendPort()
	s.t.Cleanup(func() { _ = ts.Stop() })
}

// app starts one process's worth of the system: the API, a worker, or both.
func (s *stack) app(roles role, extra ...fx.Option) (*fx.App, string) {
	s.t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var srv *api.Server
	opts := appOptions(s.cfg, log, roles)
	if roles&roleAPI != 0 {
		opts = append(opts, fx.Populate(&srv))
	}
	app := fx.New(append(opts, extra...)...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = app.Stop(context.Background()) })
	addr := ""
	if srv != nil {
		host := srv.Addr()
		addr = "http://" + host
		apiHosts.Store(host, true)
		s.t.Cleanup(func() { apiHosts.Delete(host) })
	}
	return app, addr
}

// offer runs, for each number, the search a customer would have run before
// buying it: the simulator, like Telnyx, orders only numbers a recent search
// offered (for telnyxsim.Options.SearchTTL), so a test that picks its own
// numbers offers them before their first purchase. It fails the test when
// no search would offer one (owned or sold already).
func (s *stack) offer(numbers ...string) {
	s.t.Helper()
	backend.Offer(s.t, s.sim, numbers...)
}

// offerSeries offers n numbers in a row, +1415555<first> and the next
// ones (first+n below 10000), and returns them: the numbers of a test
// that buys many at once.
func (s *stack) offerSeries(first, n int) []string {
	s.t.Helper()
	numbers := make([]string, n)
	for i := range n {
		numbers[i] = fmt.Sprintf("+1415555%04d", first+i)
	}
	s.offer(numbers...)
	return numbers
}

// serving starts one process running the API and a worker, and a team on
// plan: what most tests call.
func (s *stack) serving(plan domain.PlanName) (base, teamID, token string) {
	s.t.Helper()
	_, base = s.app(roleAPI | roleWorker)
	teamID, token = s.team(plan)
	return base, teamID, token
}

func (s *stack) team(plan domain.PlanName) (teamID, token string) {
	s.t.Helper()
	out, err := bootstrap(context.Background(), s.accounts, domain.BootstrapInput{TeamName: "Team", Plan: plan, UserEmail: strings.ToLower(domain.NewID("u")) + "@example.com", UserName: "Ada Lovelace"})
	if err != nil {
		s.t.Fatal(err)
	}
	return out.TeamID, out.Token
}

// buyActive searches for e164 (s.offer), buys it for the team through the
// API and returns its id.
func buyActive(t *testing.T, s *stack, base, token, team, e164 string) string {
	t.Helper()
	s.offer(e164)
	status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": e164, "teamId": team})
	if status != 200 {
		t.Fatalf("purchase of %s: %d %v", e164, status, body)
	}
	return body["phoneNumber"].(map[string]any)["id"].(string)
}

// call sends a JSON request and decodes the JSON answer.
func call(t testing.TB, method, url, token string, body any, headers ...string) (int, map[string]any) {
	t.Helper()
	status, out, err := tryCall(method, url, token, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return status, out
}

// tryCall is call for a caller that expects failures (a killed server):
// a lost connection or a body that is not JSON is its error.
func tryCall(method, url, token string, body any, headers ...string) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: time.Minute, Transport: checkedTransport}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("status %d, body is not JSON: %w", resp.StatusCode, err)
	}
	return resp.StatusCode, out, nil
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// mustClient is a Temporal client of the stack's server, for queries,
// connected as the apps are.
func mustClient(t *testing.T, s *stack) client.Client {
	t.Helper()
	tlsCfg, _, err := s.cfg.TemporalTLS(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := temporalclient.New(temporalclient.Config{HostPort: s.temporal.HostPort(), Namespace: s.cfg.TemporalNamespace, TLS: tlsCfg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// numberService is a NumberService on c for the stack's task queue.
func numberService(t *testing.T, s *stack, c client.Client) *temporalclient.NumberService {
	t.Helper()
	svc, err := temporalclient.NewNumberService(c, temporalclient.ServiceConfig{TaskQueue: s.cfg.TemporalTaskQueue})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// apiHosts are the host:port of the APIs the stacks run. Every exchange
// with them through checkedTransport is checked against api/openapi.json.
var apiHosts sync.Map

// checkedTransport checks every request to an API of a stack, and its
// answer, against the OpenAPI document (openapitest.Validate); a mismatch
// is the request's error, so the helper that sent it fails its test.
// Requests elsewhere (the Temporal UI, the simulator) pass unchecked.
var checkedTransport http.RoundTripper = openAPITransport{next: http.DefaultTransport}

// The billing webhook helper sends with http.DefaultClient: it is checked
// too.
func init() { http.DefaultClient.Transport = checkedTransport }

type openAPITransport struct{ next http.RoundTripper }

func (tr openAPITransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if _, ok := apiHosts.Load(req.URL.Host); !ok {
		return tr.next.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := tr.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if err := openapitest.Validate(req, reqBody, resp.StatusCode, resp.Header, respBody); err != nil {
		return nil, fmt.Errorf("the exchange does not match api/openapi.json: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	return resp, nil
}

// TestEveryEndpointAnswersAsDocumented drives, through the checked
// helpers, the endpoints the other integration tests do not, so every
// operation of api/openapi.json meets the real system at least once; then
// it scrapes the metrics the requests left.
func TestEveryEndpointAnswersAsDocumented(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{metrics: true})
	base, team, token := s.serving(domain.PlanStarter)

	for _, path := range []string{"/healthz", "/readyz", "/api/openapi.json"} {
		if status, body := call(t, "GET", base+path, "", nil); status != 200 {
			t.Fatalf("GET %s: %d %v", path, status, body)
		}
	}
	status, found := call(t, "POST", base+"/api/phone-numbers/search", token, map[string]any{"filters": map[string]any{"countryCode": "us", "numberType": "local", "limit": 2}})
	if status != 200 || found["count"].(float64) != 2 {
		t.Fatalf("search: %d %v", status, found)
	}
	var ids []string
	for i, n := range found["numbers"].([]any) {
		body := map[string]any{"phoneNumber": n.(map[string]any)["phoneNumber"], "teamId": team}
		status, bought := call(t, "POST", base+"/api/phone-numbers/purchase", token, body, "Idempotency-Key", fmt.Sprintf("every-%d", i), "X-Request-Id", fmt.Sprintf("every-%d", i))
		if status != 200 {
			t.Fatalf("purchase: %d %v", status, bought)
		}
		ids = append(ids, bought["phoneNumber"].(map[string]any)["id"].(string))
		if i == 0 { // a replay, with its header
			if status, again := call(t, "POST", base+"/api/phone-numbers/purchase", token, body, "Idempotency-Key", "every-0"); status != 200 {
				t.Fatalf("replay: %d %v", status, again)
			}
		}
	}

	status, first := call(t, "GET", base+"/api/phone-numbers/purchase?limit=1&teamId="+team, token, nil)
	cursor, _ := first["nextCursor"].(string)
	if status != 200 || len(first["numbers"].([]any)) != 1 || cursor == "" {
		t.Fatalf("first page: %d %v", status, first)
	}
	status, last := call(t, "GET", base+"/api/phone-numbers/purchase?limit=1&teamId="+team+"&cursor="+cursor, token, nil)
	if status != 200 || len(last["numbers"].([]any)) != 1 || last["nextCursor"] != "" {
		t.Fatalf("last page: %d %v", status, last)
	}

	status, created := call(t, "POST", base+"/api/assistants", token, map[string]any{"teamId": team, "name": "Support"})
	if status != 201 {
		t.Fatalf("create assistant: %d %v", status, created)
	}
	asst := created["assistant"].(map[string]any)["id"].(string)
	if status, list := call(t, "GET", base+"/api/assistants?teamId="+team, token, nil); status != 200 || list["count"].(float64) != 1 {
		t.Fatalf("list assistants: %d %v", status, list)
	}
	assistantOf := base + "/api/phone-numbers/purchase/" + ids[0] + "/assistant"
	for _, to := range []any{asst, nil, asst} {
		if status, b := call(t, "PUT", assistantOf, token, map[string]any{"teamId": team, "assistantId": to}); status != 200 {
			t.Fatalf("assign to %v: %d %v", to, status, b)
		}
	}
	if status, b := call(t, "DELETE", assistantOf+"?teamId="+team, token, nil); status != 200 || b["phoneNumber"].(map[string]any)["assistant_id"] != nil {
		t.Fatalf("unassign: %d %v", status, b)
	}
	if status, b := call(t, "DELETE", base+"/api/phone-numbers/purchase/"+ids[1]+"?teamId="+team, token, nil); status != 200 {
		t.Fatalf("release: %d %v", status, b)
	}
	if status, b := call(t, "GET", base+"/api/phone-numbers/purchase?includeReleased=true&teamId="+team, token, nil); status != 200 || b["count"].(float64) != 2 || b["nextCursor"] != nil {
		t.Fatalf("list with released: %d %v", status, b)
	}
	event := map[string]any{"id": "evt_1", "type": "subscription.canceled", "teamId": team, "occurredAt": time.Now().UTC().Format(time.RFC3339)}
	if status, b := call(t, "POST", base+"/api/billing/webhook", "", event, "Talkturo-Signature", "t=1,v1=00"); status != 503 {
		t.Fatalf("webhook without a secret: %d %v", status, b)
	}

	// The metrics of all that, on METRICS_ADDR.
	resp, err := (&http.Client{Timeout: time.Minute}).Get("http://" + s.metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, raw)
	}
	for _, line := range []string{
		`talkturo_purchases_total{outcome="success"} 2`, // the replay is not a purchase
		`talkturo_purchases_total{outcome="limit"} 0`,
		`talkturo_http_requests_total{method="POST",route="/api/phone-numbers/purchase",status="200"} 3`,
		`talkturo_http_requests_total{method="GET",route="/api/phone-numbers/purchase",status="200"} 3`,
		`talkturo_http_requests_total{method="PUT",route="/api/phone-numbers/purchase/:id/assistant",status="200"} 3`,
		`talkturo_http_requests_total{method="DELETE",route="/api/phone-numbers/purchase/:id/assistant",status="200"} 1`,
		`talkturo_http_requests_total{method="DELETE",route="/api/phone-numbers/purchase/:id",status="200"} 1`,
		`talkturo_http_requests_total{method="POST",route="/api/billing/webhook",status="503"} 1`,
		`talkturo_http_requests_total{method="GET",route="/readyz",status="200"} 1`,
		`talkturo_http_request_duration_seconds_count{method="POST",route="/api/phone-numbers/purchase"} 3`,
		`talkturo_telnyx_requests_total{operation="search",outcome="ok"} 1`,
	} {
		if !strings.Contains(string(raw), "\n"+line+"\n") {
			t.Errorf("GET /metrics has no line %s", line)
		}
	}
}
