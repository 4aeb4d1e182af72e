package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
	"github.com/talkturo/phonenumbers/workflows"
	"github.com/talkturo/phonenumbers/workflows/devserver"
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
	cfg          config.Config
	accounts     *persistence.AccountStore
	numbers      *persistence.PhoneNumberStore
}

type stackOptions struct {
	temporalFile string
	env          map[string]string
}

func newStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	port, err := devserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, temporalPort: port, temporalFile: o.temporalFile}
	s.startTemporal()
	dsn := pgtest.NewSchema(t)
	s.sim = telnyxsim.New(telnyxsim.Options{OrderLatency: 50 * time.Millisecond})
	simSrv := httptest.NewServer(s.sim)
	t.Cleanup(simSrv.Close)
	env := map[string]string{
		"HTTP_ADDR":           "127.0.0.1:0",
		"DATABASE_URL":        dsn,
		"TEMPORAL_ADDRESS":    s.temporal.HostPort(),
		"TEMPORAL_TASK_QUEUE": "q-" + strings.ToLower(domain.NewID("t")),
		"TELNYX_BASE_URL":     simSrv.URL + "/v2",
		"TELNYX_API_KEY":      "test-key",
		"PURCHASE_WAIT":       "20s",
		"SHUTDOWN_TIMEOUT":    "5s",
	}
	for k, v := range o.env {
		env[k] = v
	}
	cfg, err := config.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	s.cfg = cfg
	db, err := persistence.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = persistence.Close(db) })
	s.accounts, s.numbers = persistence.NewAccountStore(db), persistence.NewPhoneNumberStore(db)
	return s
}

// startTemporal starts (or, after stopTemporal, restarts on the same file
// and port) the embedded Temporal server.
func (s *stack) startTemporal() {
	s.t.Helper()
	ts, err := devserver.Start(context.Background(), devserver.Config{DBFile: s.temporalFile, FrontendPort: s.temporalPort, LogLevel: "error"})
	if err != nil {
		s.t.Fatal(err)
	}
	s.temporal = ts
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
		addr = "http://" + srv.Addr()
	}
	return app, addr
}

func (s *stack) team(plan domain.PlanName) (teamID, token string) {
	s.t.Helper()
	out, err := bootstrap(context.Background(), s.accounts, domain.BootstrapInput{TeamName: "Team", Plan: plan, UserEmail: strings.ToLower(domain.NewID("u")) + "@example.com", UserName: "Ada Lovelace"})
	if err != nil {
		s.t.Fatal(err)
	}
	return out.TeamID, out.Token
}

// call sends a JSON request and decodes the JSON answer.
func call(t testing.TB, method, url, token string, body any, headers ...string) (int, map[string]any) {
	t.Helper()
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
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: status %d, body is not JSON: %v", method, url, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// mustClient is a Temporal client of the stack's server, for queries.
func mustClient(t *testing.T, s *stack) client.Client {
	t.Helper()
	c, err := workflows.NewClient(workflows.ClientConfig{HostPort: s.temporal.HostPort(), Namespace: s.cfg.TemporalNamespace}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
