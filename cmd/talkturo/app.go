package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/activities/telnyx"
	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/workflows"
)

// role is what a process runs; serve runs both.
type role int

const (
	roleAPI role = 1 << iota
	roleWorker
)

// appOptions composes the fx app of a process from the packages' modules.
func appOptions(cfg config.Config, log *slog.Logger, roles role) []fx.Option {
	opts := []fx.Option{
		fx.WithLogger(func() fxevent.Logger {
			l := &fxevent.SlogLogger{Logger: log.With("component", "fx")}
			l.UseLogLevel(slog.LevelDebug)
			return l
		}),
		fx.StartTimeout(60 * time.Second),
		fx.StopTimeout(cfg.ShutdownTimeout + 15*time.Second),
		fx.Supply(cfg, log),
		tracingOptions(cfg, roles),
		fx.Supply(persistence.Config{DatabaseURL: cfg.DatabaseURL, MaxOpenConns: cfg.DatabaseMaxConns,
			StatementTimeout: cfg.DatabaseStatementTimeout, ConnectTimeout: cfg.DatabaseConnectTimeout}),
		persistence.Module,
		fx.Supply(telnyx.Config{BaseURL: cfg.TelnyxBaseURL, APIKey: cfg.TelnyxAPIKey, Timeout: cfg.TelnyxTimeout, Logger: log.With("component", "telnyx")}),
		telnyx.Module,
		// One metrics registry per process: the API, the Temporal SDK and
		// the Telnyx call counter all register on it.
		fx.Provide(api.NewRegistry, func(reg *prometheus.Registry) *prometheus.CounterVec { return api.NewTelnyxCalls(reg) }),
		// One SDK metrics export per registry, shared by every Temporal
		// client of the process.
		fx.Provide(func(lc fx.Lifecycle, reg *prometheus.Registry) (*temporalclient.SDKMetrics, error) {
			m, err := temporalclient.NewSDKMetrics(reg, log)
			if err != nil {
				return nil, err
			}
			lc.Append(fx.StopHook(m.Shutdown))
			return m, nil
		}),
		fx.Provide(func(metrics *temporalclient.SDKMetrics, reg *prometheus.Registry) (temporalclient.Config, error) {
			return temporalClientConfig(cfg, log, reg, metrics.Handler)
		}),
		// One NumberService: the API's, and the activities' way to ask
		// Temporal about number workflows.
		fx.Provide(func(numbers domain.PhoneNumberStore) temporalclient.ServiceConfig {
			return temporalclient.ServiceConfig{TaskQueue: cfg.TemporalTaskQueue, Records: numbers}
		}),
		temporalclient.Module,
		fx.Invoke(syncPlans),
	}
	if roles&roleWorker != 0 {
		opts = append(opts,
			fx.Supply(temporalclient.WorkerConfig{TaskQueue: cfg.TemporalTaskQueue}),
			fx.Provide(func(slots *persistence.ReservationStore, purchases domain.PurchaseStore, events domain.OrderEvents, numbers domain.PhoneNumberStore, accounts domain.AccountStore, provider domain.NumberProvider, calls *prometheus.CounterVec, svc *temporalclient.NumberService) *activities.Activities {
				return &activities.Activities{Slots: slots, Purchases: purchases, OrderEvents: events, Numbers: numbers, Accounts: accounts, Provider: api.CountCalls(calls, provider),
					Workflows:     svc,
					TrialDuration: cfg.TrialDuration, GracePeriod: cfg.GracePeriod}
			}),
			fx.Supply(temporalclient.ReconcileConfig{TaskQueue: cfg.TemporalTaskQueue, Interval: cfg.ReconcileInterval, Input: workflows.ReconcileInput{
				OrphanDelay: cfg.ReconcileOrphanDelay, MaxReleases: cfg.ReconcileMaxReleases, MissingRecheckAfter: workflows.DefaultMissingRecheckAfter,
			}}),
			temporalclient.WorkerModule,
			persistence.PurgeModule,
		)
	}
	if cfg.MetricsAddr != "" {
		// API or worker or both, one registry on its own port: never on
		// HTTP_ADDR, which the internet may reach.
		opts = append(opts, fx.Invoke(serveMetrics))
	}
	if roles&roleAPI != 0 {
		// Checked by ValidateAPI before any start; dev may set it since.
		webhookKey, err := cfg.TelnyxWebhookKey()
		if err != nil {
			opts = append(opts, fx.Error(err))
		}
		opts = append(opts,
			fx.Supply(api.Config{Addr: cfg.HTTPAddr, ShutdownTimeout: cfg.ShutdownTimeout, PurchaseWait: cfg.PurchaseWait, BillingSecret: cfg.BillingSecret,
				TelnyxPublicKey: webhookKey, DefaultConnectionID: cfg.TelnyxConnectionID, AllowedConnectionIDs: cfg.ConnectionIDs(),
				RateLimits: api.RateLimits{
					Search:   api.RateLimit{PerSecond: cfg.RateLimitSearchPerSecond, Burst: cfg.RateLimitSearchBurst},
					Purchase: api.RateLimit{PerSecond: cfg.RateLimitPurchasePerSecond, Burst: cfg.RateLimitPurchaseBurst},
				},
				RequestTimeout: cfg.RequestTimeout}),
			fx.Provide(func(s *temporalclient.NumberService) api.NumberWorkflows { return s }),
			fx.Provide(
				readiness("database", func(a domain.AccountStore) func(context.Context) error { return a.Ping }),
				readiness("temporal", func(c client.Client) func(context.Context) error {
					return func(ctx context.Context) error { return temporalclient.CheckHealth(ctx, c) }
				}),
				// Not Telnyx: its outage must not take every pod out of
				// service. The probe reports it instead.
			),
			fx.Provide(func(tc telnyx.Config, reg *prometheus.Registry, calls *prometheus.CounterVec) (*api.ProviderProbe, error) {
				// A client of its own that never retries: one call per
				// interval, even while Telnyx throttles us; untraced, as
				// a trace of its own every interval says nothing.
				tc.MaxRetries = -1
				tc.TracerProvider = nil
				probeClient, err := telnyx.New(tc)
				if err != nil {
					return nil, err
				}
				return api.NewProviderProbe(api.ProbeConfig{Ping: api.CountCalls(calls, probeClient).Ping, Interval: cfg.TelnyxProbeInterval,
					Registry: reg, Log: log.With("component", "telnyx-probe")})
			}),
			api.Module,
		)
	}
	return opts
}

// readiness turns a dependency's check into a member of the "readiness"
// group that /readyz runs.
func readiness[T any](name string, check func(T) func(context.Context) error) any {
	return fx.Annotate(func(dep T) api.Check { return api.Check{Name: name, Check: check(dep)} }, fx.ResultTags(`group:"readiness"`))
}

// syncPlans writes the configured plan limits at start, so PLAN_LIMITS
// takes effect without a migration.
func syncPlans(lc fx.Lifecycle, cfg config.Config, accounts domain.AccountStore) {
	lc.Append(fx.StartHook(func(ctx context.Context) error { return accounts.SyncPlans(ctx, cfg.Plans) }))
}

// temporalClientConfig is the configuration of the process's one Temporal
// client, from cfg (checked by ValidateTemporal before any start). With a
// client certificate it logs when the certificate expires and exports that
// on reg, for an alert well before Temporal refuses it; the certificate is
// reread when its files change (config.ClientCertificate), the API key only
// at the next start.
func temporalClientConfig(cfg config.Config, log *slog.Logger, reg prometheus.Registerer, metrics client.MetricsHandler) (temporalclient.Config, error) {
	tlsCfg, cert, err := cfg.TemporalTLS(log.With("component", "temporal-tls"))
	if err != nil {
		return temporalclient.Config{}, err
	}
	key, err := cfg.TemporalKey()
	if err != nil {
		return temporalclient.Config{}, err
	}
	if cert != nil {
		log.Info("Temporal client certificate", "subject", cert.Leaf().Subject.String(), "not_after", cert.NotAfter())
		expiry := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "talkturo_temporal_client_certificate_expiry_timestamp_seconds",
			Help: "When the client certificate presented to Temporal expires (Unix time): the one the next handshake presents, reread from TEMPORAL_TLS_CERT when it changed.",
		}, func() float64 { return float64(cert.NotAfter().Unix()) })
		if err := reg.Register(expiry); err != nil {
			return temporalclient.Config{}, fmt.Errorf("export the Temporal client certificate's expiry: %w", err)
		}
	}
	return temporalclient.Config{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, TLS: tlsCfg, APIKey: key, Metrics: metrics}, nil
}

// serveMetrics serves the registry at http://METRICS_ADDR/metrics for the
// app's lifetime.
func serveMetrics(lc fx.Lifecycle, cfg config.Config, reg *prometheus.Registry, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metricsHandler(reg, log.With("component", "metrics"), time.Now))
	srv := &http.Server{Addr: cfg.MetricsAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", cfg.MetricsAddr)
			if err != nil {
				return fmt.Errorf("listen on METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
			}
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("metrics server stopped", "error", err)
				}
			}()
			return nil
		},
		OnStop: srv.Shutdown,
	})
}

// metricsHandler serves reg's metrics. A collector that fails does not fail
// the scrape (ContinueOnError): the rest is served, as Prometheus would
// otherwise lose every series of the process over one. Its error is logged
// at once, then at most once every gatherErrorEvery with the number of
// failed scrapes since, as every scrape repeats it (the text may carry a
// value, so telling errors apart by it would not quiet a repeated one).
// promhttp_metric_handler_errors_total counts them all.
func metricsHandler(reg *prometheus.Registry, log *slog.Logger, now func() time.Time) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorHandling: promhttp.ContinueOnError, ErrorLog: &gatherErrorLog{log: log, now: now}})
}

const gatherErrorEvery = time.Minute

// gatherErrorLog is promhttp's ErrorLog, rate-limited.
type gatherErrorLog struct {
	log *slog.Logger
	now func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (g *gatherErrorLog) Println(v ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if !g.last.IsZero() && now.Sub(g.last) < gatherErrorEvery {
		g.suppressed++
		return
	}
	g.log.Warn("a metric could not be served; the scrape served the others", "error", strings.TrimSpace(fmt.Sprintln(v...)), "failures_not_logged", g.suppressed)
	g.last, g.suppressed = now, 0
}
