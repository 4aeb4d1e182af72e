package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/activities/telnyx"
	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
	"github.com/talkturo/phonenumbers/devserver"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/temporalclient"
)

// stack is everything a run measures: an embedded Temporal server and the
// Telnyx simulator in this process, a database of its own, and `talkturo
// api` and `talkturo worker` as OS processes. It also holds what the direct
// baseline uses: the same stores and Telnyx client, in this process.
type stack struct {
	opts     Options
	temporal *devserver.Server
	sim      *telnyxsim.Simulator
	simURL   string
	dbName   string
	dsn      string
	db       *gorm.DB
	accounts *persistence.AccountStore
	numbers  *persistence.PhoneNumberStore
	acts     *activities.Activities
	tc       client.Client
	api      *process
	worker   *process
	apiURL   string
	http     *http.Client

	cleanups []func() error
}

// Everything below is fixed so that only the flags vary between runs.
const (
	telnyxKey    = "loadtest-key"
	setupTimeout = 2 * time.Minute
)

// startStack starts every part; on error, what did start is stopped.
func startStack(ctx context.Context, o Options, logf func(string, ...any)) (s *stack, err error) {
	s = &stack{opts: o}
	defer func() {
		if err != nil {
			_ = s.stop()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()

	s.temporal, err = devserver.StartOnFreePort(ctx, devserver.Config{DBFile: o.TemporalDB, LogLevel: "error"})
	if err != nil {
		return s, fmt.Errorf("embedded Temporal: %w", err)
	}
	s.defer_(s.temporal.Stop)
	logf("Temporal server on %s", s.temporal.HostPort())

	// The api's address is chosen first: the simulator posts its signed
	// order events there, as Telnyx does and as `talkturo dev` wires it,
	// so that purchases go through the webhook path they take in
	// production (and its signals are in the histories the cost reads).
	apiAddr, err := freeAddr()
	if err != nil {
		return s, err
	}
	_, webhookKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return s, err
	}
	s.sim = telnyxsim.New(telnyxsim.Options{
		APIKey: telnyxKey, OrderLatency: o.OrderLatency,
		WebhookURL: "http://" + apiAddr + "/api/telnyx/webhook", WebhookKey: webhookKey,
	})
	s.defer_(func() error { s.sim.Close(); return nil })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return s, err
	}
	simSrv := &http.Server{Handler: s.sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(ln) }()
	s.defer_(simSrv.Close)
	s.simURL = "http://" + ln.Addr().String()
	logf("Telnyx simulator on %s (order latency %s), its signed order webhooks to the api on %s", s.simURL, o.OrderLatency, apiAddr)

	if err := s.createDatabase(ctx); err != nil {
		return s, err
	}
	logf("PostgreSQL database %s, migrated", s.dbName)

	plans, err := config.ParsePlanLimits(planLimits)
	if err != nil {
		return s, err
	}
	if err := s.accounts.SyncPlans(ctx, plans); err != nil {
		return s, err
	}
	// The direct path hears the webhooks the api hands on, as the worker
	// does: it waits for orders as the workflow does.
	events, err := persistence.NewOrderEvents(s.db, s.dsn)
	if err != nil {
		return s, err
	}
	if err := events.Start(ctx); err != nil {
		return s, err
	}
	s.defer_(func() error { return events.Stop(context.Background()) })
	// config's defaults: the processes' Telnyx timeout (the env below
	// leaves TELNYX_TIMEOUT unset), and the task queue and purchase wait
	// the env names so that the caller's own environment cannot change them.
	defaults, err := config.Load(map[string]string{})
	if err != nil {
		return s, err
	}
	provider, err := telnyx.New(telnyx.Config{BaseURL: s.simURL + "/v2", APIKey: telnyxKey, Timeout: defaults.TelnyxTimeout})
	if err != nil {
		return s, err
	}
	s.acts = &activities.Activities{
		Slots: persistence.NewReservationStore(s.db), Purchases: persistence.NewPurchaseStore(s.db), OrderEvents: events,
		Numbers: s.numbers, Accounts: s.accounts,
		Provider:      provider,
		TrialDuration: o.TrialDuration,
	}

	s.tc, err = temporalclient.New(temporalclient.Config{HostPort: s.temporal.HostPort(), Namespace: s.temporal.Namespace()}, slog.New(slog.DiscardHandler))
	if err != nil {
		return s, err
	}
	s.defer_(func() error { s.tc.Close(); return nil })

	env := []string{
		"DATABASE_URL=" + s.dsn,
		"TEMPORAL_ADDRESS=" + s.temporal.HostPort(),
		"TEMPORAL_NAMESPACE=" + s.temporal.Namespace(),
		"TEMPORAL_TASK_QUEUE=" + defaults.TemporalTaskQueue,
		"TELNYX_BASE_URL=" + s.simURL + "/v2",
		"TELNYX_API_KEY=" + telnyxKey,
		"TELNYX_PUBLIC_KEY=" + base64.StdEncoding.EncodeToString(webhookKey.Public().(ed25519.PublicKey)),
		"TRIAL_DURATION=" + o.TrialDuration.String(),
		"PURCHASE_WAIT=" + defaults.PurchaseWait.String(),
		"PLAN_LIMITS=" + planLimits,
		"LOG_LEVEL=" + o.LogLevel,
		"LOG_FORMAT=json",
		"SHUTDOWN_TIMEOUT=10s",
		// The load is one script on few teams: exactly what the rate
		// limits are there to stop.
		"RATE_LIMIT_SEARCH_PER_SECOND=0",
		"RATE_LIMIT_PURCHASE_PER_SECOND=0",
	}
	s.api, err = startProcess(ctx, o.Bin, "api", o.LogDir, append(env, "HTTP_ADDR="+apiAddr, "METRICS_ADDR="))
	if err != nil {
		return s, err
	}
	s.defer_(s.api.stop)
	s.apiURL = "http://" + apiAddr
	metricsAddr, err := freeAddr()
	if err != nil {
		return s, err
	}
	// A worker alone serves /metrics on METRICS_ADDR; its HTTP_ADDR is unused.
	s.worker, err = startProcess(ctx, o.Bin, "worker", o.LogDir, append(env, "HTTP_ADDR=127.0.0.1:0", "METRICS_ADDR="+metricsAddr))
	if err != nil {
		return s, err
	}
	s.defer_(s.worker.stop)
	s.worker.metricsURL = "http://" + metricsAddr + "/metrics"

	s.http = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		MaxIdleConns: 0, MaxIdleConnsPerHost: max(o.Concurrency, o.TimerConcurrency) + 8, IdleConnTimeout: time.Minute,
	}}
	if err := waitUntil(ctx, func() bool { return s.answers(ctx, s.apiURL+"/readyz") }); err != nil {
		return s, fmt.Errorf("talkturo api did not become ready (database, Temporal, Telnyx) at %s/readyz: %w; its log is %s", s.apiURL, err, s.api.logPath)
	}
	if err := waitUntil(ctx, func() bool { return s.answers(ctx, s.worker.metricsURL) }); err != nil {
		return s, fmt.Errorf("talkturo worker did not serve %s: %w; its log is %s", s.worker.metricsURL, err, s.worker.logPath)
	}
	logf("talkturo api (pid %d) on %s, talkturo worker (pid %d), logs in %s", s.api.cmd.Process.Pid, s.apiURL, s.worker.cmd.Process.Pid, o.LogDir)
	return s, nil
}

// toolConns caps this process's pool. With the api's and the worker's 20
// each it stays well inside PostgreSQL's default 100 connections, which
// other clients of the server share (the direct path then queues for a
// connection now and then, as a process of the app would).
const toolConns = 16

// planLimits lifts the paid plans' limits out of the way: the load test
// measures purchases, not refusals. The free plan keeps its one trial.
const planLimits = "starter=1000000,growth=1000000,scale=1000000"

// createDatabase creates a fresh database next to DATABASE_URL's, migrates
// it and opens a pool on it; stop drops it.
func (s *stack) createDatabase(ctx context.Context) error {
	u, err := url.Parse(s.opts.DatabaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("-database-url must be a postgres:// URL, not %q", s.opts.DatabaseURL)
	}
	admin, err := persistence.Open(ctx, s.opts.DatabaseURL, persistence.WithMaxOpenConns(1), persistence.WithLogger(quietLogger()))
	if err != nil {
		return fmt.Errorf("PostgreSQL at %s: %w", u.Redacted(), err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "loadtest_" + hex.EncodeToString(b[:])
	if err := admin.WithContext(ctx).Exec("CREATE DATABASE " + name).Error; err != nil {
		_ = persistence.Close(admin)
		return fmt.Errorf("creating database %s: %w", name, err)
	}
	s.dbName = name
	s.defer_(func() error {
		defer persistence.Close(admin)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return admin.WithContext(ctx).Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error
	})
	u.Path = "/" + name
	s.dsn = u.String()
	s.db, err = persistence.Open(ctx, s.dsn, persistence.WithMaxOpenConns(toolConns), persistence.WithLogger(quietLogger()))
	if err != nil {
		return err
	}
	s.defer_(func() error { return persistence.Close(s.db) })
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	if err := persistence.Migrate(ctx, sqlDB); err != nil {
		return err
	}
	s.accounts, s.numbers = persistence.NewAccountStore(s.db), persistence.NewPhoneNumberStore(s.db)
	return nil
}

// defer_ registers a clean-up; stop runs them newest first.
func (s *stack) defer_(f func() error) { s.cleanups = append(s.cleanups, f) }

// stop stops the processes, the servers, and drops the database.
func (s *stack) stop() error {
	var errs []error
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		if err := s.cleanups[i](); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	s.cleanups = nil
	return errors.Join(errs...)
}

// team creates a team on the plan, with its own user and API key.
func (s *stack) team(ctx context.Context, plan domain.PlanName, label string) (teamID, userID, token string, err error) {
	token, hash := domain.NewAPIToken()
	res, err := s.accounts.Bootstrap(ctx, domain.BootstrapInput{
		TeamName: "Load " + label, Plan: plan, UserEmail: label + "@loadtest.example", UserName: "Load " + label,
		TokenHash: hash, TokenPrefix: domain.APITokenDisplayPrefix(token),
	})
	return res.TeamID, res.UserID, token, err
}

// answers reports whether GET url is a 200.
func (s *stack) answers(ctx context.Context, u string) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := s.http.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func waitUntil(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// quietLogger keeps the pools' slow-query warnings (which a load test
// provokes on purpose) out of the report.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

var providerClasses = map[domain.ProviderErrorClass]string{
	domain.ProviderRejected: "rejected", domain.ProviderRateLimited: "rate-limited", domain.ProviderServerError: "server error",
	domain.ProviderTimeout: "timeout", domain.ProviderUnreachable: "unreachable",
}

// classOf names an error of the direct path by its code, for the report.
func classOf(err error) string {
	var pe *domain.ProviderError
	if errors.As(err, &pe) {
		if pe.HTTPStatus != 0 {
			return fmt.Sprintf("telnyx %s HTTP %d", pe.Op, pe.HTTPStatus)
		}
		return fmt.Sprintf("telnyx %s %s", pe.Op, providerClasses[pe.Class])
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return "error " + de.Code
	}
	type typed interface{ Type() string }
	var t typed
	if errors.As(err, &t) && t.Type() != "" {
		return "error " + t.Type()
	}
	msg := err.Error()
	if i := strings.IndexAny(msg, ":("); i > 0 {
		msg = msg[:i]
	}
	return "error " + strings.TrimSpace(msg)
}
