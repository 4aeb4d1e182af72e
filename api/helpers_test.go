package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/activities/telnyx"
	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/api/openapitest"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/testkit"
	"github.com/talkturo/phonenumbers/testkit/backend"
)

// telnyxAPIKey is the provider key the tests use. It is long and unusual so
// that finding it in a response body or a log means it leaked.
const telnyxAPIKey = "KEY0TelnyxTestSecret-9f8e7d6c5b4a"

// env is one API server on a real socket, with real parts behind it: the
// PostgreSQL stores on a schema of its own and the real Telnyx client
// talking HTTP to the simulator.
type env struct {
	t        testing.TB
	srv      *api.Server
	base     string
	db       *gorm.DB
	accounts *persistence.AccountStore
	sim      *telnyxsim.Simulator
	searches *searchRecorder
	logs     *testkit.LogBuffer
	http     *http.Client
	// registry holds the server's metrics (the process serves it on
	// METRICS_ADDR, not the API's port).
	registry *prometheus.Registry
}

// envOptions changes how newEnv builds the server.
type envOptions struct {
	cfg api.Config
	// db replaces the pgtest database.
	db *gorm.DB
	// clientTimeout and maxRetries configure the Telnyx client.
	clientTimeout time.Duration
	maxRetries    int
	// checks returns the readiness checks, given the environment.
	checks func(*env) []api.Check
	// provider wraps the Telnyx client.
	provider func(domain.NumberProvider) domain.NumberProvider
	// workflows stands for the number workflows (none by default).
	workflows api.NumberWorkflows
	// numbers wraps the PostgreSQL number store.
	numbers func(domain.PhoneNumberStore) domain.PhoneNumberStore
	// orderEvents hands verified order webhooks to waiting activities.
	orderEvents domain.OrderEvents
	// probeInterval, when set, gives the server a Telnyx probe (through
	// a client without retries) that runs at this interval.
	probeInterval time.Duration
	// tracing traces the requests.
	tracing api.Tracing
}

type envOption func(*envOptions)

func withConfig(cfg api.Config) envOption { return func(o *envOptions) { o.cfg = cfg } }

func withDB(db *gorm.DB) envOption { return func(o *envOptions) { o.db = db } }

func withTelnyxClient(timeout time.Duration, maxRetries int) envOption {
	return func(o *envOptions) { o.clientTimeout, o.maxRetries = timeout, maxRetries }
}

func withChecks(f func(*env) []api.Check) envOption { return func(o *envOptions) { o.checks = f } }

func withProvider(f func(domain.NumberProvider) domain.NumberProvider) envOption {
	return func(o *envOptions) { o.provider = f }
}

func withWorkflows(w api.NumberWorkflows) envOption { return func(o *envOptions) { o.workflows = w } }

func withOrderEvents(ev domain.OrderEvents) envOption {
	return func(o *envOptions) { o.orderEvents = ev }
}

func withNumbers(f func(domain.PhoneNumberStore) domain.PhoneNumberStore) envOption {
	return func(o *envOptions) { o.numbers = f }
}

func withProbe(interval time.Duration) envOption {
	return func(o *envOptions) { o.probeInterval = interval }
}

func withTracing(t api.Tracing) envOption { return func(o *envOptions) { o.tracing = t } }

// withRequiredConfig fills the durations api.New requires and the test
// left unset with the values the app runs with by default
// (SHUTDOWN_TIMEOUT, PURCHASE_WAIT, REQUEST_TIMEOUT in cmd/talkturo/config).
func withRequiredConfig(cfg api.Config) api.Config {
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 25 * time.Second
	}
	if cfg.PurchaseWait == 0 {
		cfg.PurchaseWait = 20 * time.Second
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	return cfg
}

// newEnv starts an API server on 127.0.0.1 with a port of its own; it is
// stopped when the test (or fuzz target) ends.
func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	o := envOptions{clientTimeout: 5 * time.Second, maxRetries: 1}
	for _, opt := range opts {
		opt(&o)
	}
	logs := &testkit.LogBuffer{}
	log := logs.JSONLogger(slog.LevelDebug)

	rec := &searchRecorder{}
	b := backend.New(t, backend.Options{
		DB:   o.db,
		Sim:  telnyxsim.Options{APIKey: telnyxAPIKey, Seed: 42},
		Wrap: func(sim http.Handler) http.Handler { rec.next = sim; return rec },
		Client: telnyx.Config{
			Timeout:    o.clientTimeout,
			MaxRetries: o.maxRetries,
			MaxBackoff: 100 * time.Millisecond,
			Logger:     log,
		},
	})
	db := b.DB
	e := &env{
		t:        t,
		db:       db,
		accounts: b.Accounts,
		sim:      b.Sim,
		searches: rec,
		logs:     logs,
		http:     &http.Client{Timeout: 20 * time.Second},
		registry: api.NewRegistry(),
	}
	var provider domain.NumberProvider = b.Client
	if o.provider != nil {
		provider = o.provider(b.Client)
	}
	var numbers domain.PhoneNumberStore = b.Numbers
	if o.numbers != nil {
		numbers = o.numbers(numbers)
	}
	deps := api.Deps{
		Accounts:    e.accounts,
		Assistants:  persistence.NewAssistantStore(db),
		Numbers:     numbers,
		OrderEvents: o.orderEvents,
		Idempotency: persistence.NewIdempotencyStore(db),
		Provider:    provider,
		Workflows:   o.workflows,
		Registry:    e.registry,
		Tracing:     o.tracing,
		Log:         log,
	}
	if o.checks != nil {
		deps.Checks = o.checks(e)
	} else {
		deps.Checks = []api.Check{{Name: "database", Check: e.accounts.Ping}}
	}
	if o.probeInterval > 0 {
		// As the app wires it: a client of its own that never retries,
		// so a probe is one call to Telnyx.
		probeClient, err := telnyx.New(telnyx.Config{BaseURL: b.URL, APIKey: telnyxAPIKey, Timeout: o.clientTimeout, MaxRetries: -1, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		probe, err := api.NewProviderProbe(api.ProbeConfig{Ping: probeClient.Ping, Interval: o.probeInterval, Registry: e.registry, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		deps.Probe = probe
		if err := deps.Probe.Start(t.Context()); err != nil {
			t.Fatalf("probe Start: %v", err)
		}
		t.Cleanup(func() { _ = deps.Probe.Stop(context.Background()) })
	}
	cfg := withRequiredConfig(o.cfg)
	cfg.Addr = "127.0.0.1:0"
	srv, err := api.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	if err := e.srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		e.http.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.srv.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	e.base = "http://" + e.srv.Addr()
	return e
}

// account is a team with a user and that user's API token.
type account = backend.Account

// newAccount bootstraps a team, a user with this email (reused when it
// exists, which adds the user to the new team) and an API key.
func (e *env) newAccount(email string) account {
	e.t.Helper()
	return backend.Bootstrap(e.t, e.accounts, domain.BootstrapInput{
		TeamName:  "Team of " + email,
		Plan:      domain.PlanGrowth,
		UserEmail: email,
		// Tests share a user between teams by giving the same email.
		AttachExistingUser: true,
	})
}

// response is an answer of the API, read whole.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// request is one call to the API.
type request struct {
	method string
	path   string
	token  string
	// authorization, when set, is sent as the Authorization header as is.
	authorization string
	body          string
	header        map[string]string
	// headers are added after header, every value a line of its own.
	headers http.Header
}

// do sends r and checks what every answer must be: JSON with a boolean
// success (true exactly on 2xx), an X-Request-Id, nothing a client must
// never see (stack traces, SQL, the provider's API key), and what
// api/openapi.json says of the request and the answer.
func (e *env) do(r request) response {
	e.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), r.method, e.base+r.path, body)
	if err != nil {
		e.t.Fatalf("building %s %s: %v", r.method, r.path, err)
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case r.authorization != "":
		req.Header.Set("Authorization", r.authorization)
	case r.token != "":
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	for k, vs := range r.headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading the body: %v", r.method, r.path, err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	e.checkInvariants(r, out)
	if err := openapitest.Validate(req, []byte(r.body), resp.StatusCode, resp.Header, raw); err != nil {
		e.t.Error(err)
	}
	if r.method != http.MethodHead {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&out.body); err != nil {
			e.t.Fatalf("%s %s: answer %d is not a JSON object: %v\n%s", r.method, r.path, resp.StatusCode, err, raw)
		}
	}
	return out
}

// doAll sends every request at once, one goroutine each, then checks each
// answer as do does (from the test's goroutine, where failing may stop it).
func (e *env) doAll(rs []request) []response {
	e.t.Helper()
	type sent struct {
		req  *http.Request
		resp response
		err  error
	}
	out := make([]sent, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() {
			var body io.Reader
			if r.body != "" {
				body = strings.NewReader(r.body)
			}
			req, err := http.NewRequestWithContext(e.t.Context(), r.method, e.base+r.path, body)
			if err != nil {
				out[i].err = err
				return
			}
			if r.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if r.token != "" {
				req.Header.Set("Authorization", "Bearer "+r.token)
			}
			resp, err := e.http.Do(req)
			if err != nil {
				out[i].err = err
				return
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			out[i] = sent{req: req, resp: response{status: resp.StatusCode, header: resp.Header, raw: raw}, err: err}
		})
	}
	wg.Wait()
	resps := make([]response, len(rs))
	for i, s := range out {
		if s.err != nil {
			e.t.Fatalf("%s %s: %v", rs[i].method, rs[i].path, s.err)
		}
		e.checkInvariants(rs[i], s.resp)
		if err := openapitest.Validate(s.req, []byte(rs[i].body), s.resp.status, s.resp.header, s.resp.raw); err != nil {
			e.t.Error(err)
		}
		dec := json.NewDecoder(bytes.NewReader(s.resp.raw))
		dec.UseNumber()
		if err := dec.Decode(&s.resp.body); err != nil {
			e.t.Fatalf("%s %s: answer %d is not a JSON object: %v", rs[i].method, rs[i].path, s.resp.status, err)
		}
		resps[i] = s.resp
	}
	return resps
}

func (e *env) checkInvariants(r request, resp response) {
	e.t.Helper()
	what := r.method + " " + r.path
	if id := resp.header.Get("X-Request-Id"); id == "" {
		e.t.Errorf("%s: answer %d has no X-Request-Id", what, resp.status)
	}
	if r.method == http.MethodHead {
		return
	}
	if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	var m map[string]any
	if err := json.Unmarshal(resp.raw, &m); err != nil {
		e.t.Errorf("%s: answer %d is not a JSON object: %v\n%s", what, resp.status, err, resp.raw)
		return
	}
	success, ok := m["success"].(bool)
	if !ok {
		e.t.Errorf("%s: answer has no boolean success: %s", what, resp.raw)
	} else if success != (resp.status < 300) {
		e.t.Errorf("%s: status %d with success %v: %s", what, resp.status, success, resp.raw)
	}
	if !success {
		if _, isErr := m["error"].(map[string]any); !isErr && r.path != "/readyz" {
			e.t.Errorf("%s: failure without an error object: %s", what, resp.raw)
		}
	}
	assertClean(e.t, what, string(resp.raw))
}

// assertClean fails when text holds something a client must never see.
// ourID matches the ids domain.NewID makes: a prefix and a lower-case ULID.
var ourID = regexp.MustCompile(`[a-z]+_[0-9a-z]{26}`)

func assertClean(t testing.TB, what, text string) {
	t.Helper()
	// Our ids are random letters: one may spell "pgx" or "sql".
	lower := ourID.ReplaceAllString(strings.ToLower(text), "<id>")
	for _, bad := range []string{"goroutine ", ".go:", "runtime/", "panic", "sql", "select ", "gorm", "pgx", "postgres"} {
		if strings.Contains(lower, bad) {
			t.Errorf("%s: answer contains %q:\n%s", what, bad, text)
		}
	}
	if strings.Contains(text, telnyxAPIKey) {
		t.Errorf("%s: answer contains the Telnyx API key:\n%s", what, text)
	}
}

// errorOf returns the error object of a failed answer.
func errorOf(t *testing.T, r response) map[string]any {
	t.Helper()
	e, ok := r.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("answer %d has no error object: %s", r.status, r.raw)
	}
	for _, k := range []string{"code", "message"} {
		if s, _ := e[k].(string); s == "" {
			t.Errorf("error object has no %s: %s", k, r.raw)
		}
	}
	return e
}

// wantError checks the status, the error code and (when field is not "")
// the field an error names.
func wantError(t *testing.T, r response, status int, code, field string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	e := errorOf(t, r)
	if e["code"] != code {
		t.Errorf("error code %v, want %s: %s", e["code"], code, r.raw)
	}
	if field != "" && e["field"] != field {
		t.Errorf("error field %v, want %s: %s", e["field"], field, r.raw)
	}
	return e
}

// keysOf returns the sorted member names of a JSON object.
func keysOf(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v is not a JSON object", v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func wantKeys(t *testing.T, what string, v any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := keysOf(t, v); !slices.Equal(got, want) {
		t.Errorf("%s has keys %v, want exactly %v", what, got, want)
	}
}

// intOf reads a JSON number that must be an integer.
func intOf(t *testing.T, v any) int {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a JSON number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%v is not an integer: %v", v, err)
	}
	return int(i)
}

// searchRecorder passes requests to the simulator and remembers the query
// of every search, so tests see what the API asked Telnyx for, and counts
// the listings of owned numbers (what a probe's ping is).
type searchRecorder struct {
	next http.Handler

	mu      sync.Mutex
	queries []url.Values
	pings   int
}

func (s *searchRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v2/available_phone_numbers":
		s.mu.Lock()
		s.queries = append(s.queries, r.URL.Query())
		s.mu.Unlock()
	case "/v2/phone_numbers":
		s.mu.Lock()
		s.pings++
		s.mu.Unlock()
	}
	s.next.ServeHTTP(w, r)
}

// pingCount is how many listings of owned numbers Telnyx received.
func (s *searchRecorder) pingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pings
}

// all returns the queries of the searches so far.
func (s *searchRecorder) all() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// last returns the query of the latest search.
func (s *searchRecorder) last(t *testing.T) url.Values {
	t.Helper()
	all := s.all()
	if len(all) == 0 {
		t.Fatal("the API did not search at Telnyx")
	}
	return all[len(all)-1]
}
