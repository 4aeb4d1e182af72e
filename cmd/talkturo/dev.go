//go:build devstack

package main

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
	"github.com/talkturo/phonenumbers/devserver"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/devpostgres"
)

// devCommand is `talkturo dev` as help describes it.
var devCommand = command{name: "dev", args: "[--reset [--yes]]", flags: func() *flag.FlagSet { fs, _, _ := devFlags(); return fs },
	about: "Everything embedded (what `make run` runs): PostgreSQL (DATABASE_URL, else a database of this data folder's own on 127.0.0.1:5432, else a private cluster), Temporal and its Web UI, the Telnyx simulator when TELNYX_API_KEY is unset, the API, the worker and a demo team. State lives in TALKTURO_DATA_DIR.",
	reads: func(string) bool { return true }}

// devUsage is dev's part of the usage text.
const devUsage = `  talkturo dev [--reset]  everything embedded: PostgreSQL, Temporal + Web UI, Telnyx simulator, API, worker;
                          --reset deletes its state (database, Temporal, demo account)
`

// devFlags are the flags of `talkturo dev`.
func devFlags() (*flag.FlagSet, *bool, *bool) {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	reset := fs.Bool("reset", false, "delete this data folder's state instead of starting: its database on the shared server (or its private cluster), Temporal's state and the demo account; says what first and asks")
	yes := fs.Bool("yes", false, "with --reset: do not ask (needed when stdin is not a terminal)")
	return fs, reset, yes
}

// devMetricsAddr is where `talkturo dev` serves /metrics unless
// METRICS_ADDR says otherwise.
const devMetricsAddr = "127.0.0.1:9090"

// runDev is `talkturo dev` (what `make run` runs): PostgreSQL, an embedded
// Temporal server with its Web UI and the Telnyx simulator as needed, then
// migrations, the API and the worker, and a demo team with a token. State
// lives under TALKTURO_DATA_DIR, so the next start resumes where this one
// stopped; --reset deletes it.
func runDev(ctx context.Context, cfg config.Config, args []string) error {
	fs, reset, yes := devFlags()
	if err := fs.Parse(args); err != nil {
		return usageError{cmd: "dev", err: err}
	}
	if fs.NArg() > 0 {
		return usageError{cmd: "dev", err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *reset {
		return runDevReset(ctx, cfg, *yes, os.Stdin, os.Stdout)
	}
	log := newLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return &config.Error{Var: "TALKTURO_DATA_DIR", Message: fmt.Sprintf("names a folder that cannot be created (%v).", err)}
	}
	state := devState{dir: cfg.DataDir}
	release, err := state.lock()
	if err != nil {
		return err
	}
	defer release()
	started := time.Now()
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()

	db, err := devpostgres.Ensure(ctx, cfg.DatabaseURL, cfg.DataDir, func() (string, error) { return state.sharedDatabase(log) }, log)
	if err != nil {
		return err
	}
	cleanups = append(cleanups, func() {
		if err := db.Stop(); err != nil {
			log.Warn("stopping PostgreSQL", "error", err)
		}
	})
	cfg.DatabaseURL = db.URL
	if err := migrate(ctx, cfg); err != nil {
		return err
	}

	uiURL := ""
	if cfg.TemporalEmbedded {
		ts, ui, err := startTemporal(ctx, cfg, log)
		if err != nil {
			return err
		}
		cleanups = append(cleanups, func() {
			if ui != nil {
				ui.Stop()
			}
			if err := ts.Stop(); err != nil {
				log.Warn("stopping Temporal", "error", err)
			}
		})
		if ui != nil {
			uiURL = ui.URL()
		}
	}

	if cfg.MetricsAddr == "" {
		// Dev only: metrics on the loopback, apart from the API; on a free
		// port when 9090 (Prometheus's own default) is taken.
		addr, err := devMetricsListenAddr(devMetricsAddr)
		if err != nil {
			return err
		}
		if addr != devMetricsAddr {
			log.Info("metrics port taken; serving metrics on a free port", "wanted", devMetricsAddr, "addr", addr)
		}
		cfg.MetricsAddr = addr
	}
	if cfg.BillingSecret == "" {
		// Dev only: a known secret so the README's signed webhook example
		// works as printed.
		cfg.BillingSecret = devBillingSecret
	}
	simURL, simAdmin, simHook := "", "", ""
	if cfg.TelnyxAPIKey == "" {
		// Dev only: the simulator signs its order events as Telnyx does,
		// with a key of this run's (or TELNYX_SIM_WEBHOOK_KEY), and the API
		// verifies them with its public half, so `make run` goes through
		// the webhook path.
		hook := simWebhook{URL: cfg.SimWebhookURL}
		if hook.URL == "" {
			hook.URL = devWebhookURL(cfg.HTTPAddr)
		}
		if hook.Key, err = simWebhookKey(cfg); err != nil {
			return err
		}
		public := base64.StdEncoding.EncodeToString(hook.Key.Public().(ed25519.PublicKey))
		if cfg.TelnyxPublicKey != "" && cfg.TelnyxPublicKey != public {
			log.Info("TELNYX_PUBLIC_KEY is replaced by the simulator's public key: the simulator stands for Telnyx here")
		}
		cfg.TelnyxPublicKey = public
		sim, err := startSimulator(cfg.SimAddr, cfg.SimOrderLatency, hook, log)
		if err != nil {
			return err
		}
		cleanups = append(cleanups, sim.stop)
		cfg.TelnyxBaseURL, cfg.TelnyxAPIKey, simURL, simAdmin, simHook = sim.BaseURL(), "simulator-key", sim.BaseURL(), "http://"+sim.addr+"/_sim/faults", hook.URL
	}

	// After the embedded Temporal server, which sets a handler of its own.
	logOTelErrors(log)
	app := fx.New(appOptions(cfg, log, roleAPI|roleWorker)...)
	startCtx, cancel := context.WithTimeout(ctx, app.StartTimeout())
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		return err
	}
	cleanups = append(cleanups, func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), app.StopTimeout())
		defer cancel()
		if err := app.Stop(stopCtx); err != nil {
			log.Warn("stopping the app", "error", err)
		}
	})

	demo, plan, err := demoAccount(ctx, cfg)
	if err != nil {
		return err
	}
	printBanner(cfg, db.Source, uiURL, simURL, simAdmin, simHook, demo, plan, time.Since(started))
	<-ctx.Done()
	log.Info("stopping: finishing in-flight requests")
	return nil
}

// devBillingSecret signs the billing webhook in dev when
// BILLING_WEBHOOK_SECRET is unset.
const devBillingSecret = "whsec_dev_only"

func startTemporal(ctx context.Context, cfg config.Config, log *slog.Logger) (*devserver.Server, *devserver.UI, error) {
	host, portStr, _ := net.SplitHostPort(cfg.TemporalAddress)
	port, _ := strconv.Atoi(portStr)
	ts, err := devserver.Start(ctx, devserver.Config{
		DBFile:       filepath.Join(cfg.DataDir, "temporal.db"),
		IP:           host,
		FrontendPort: port,
		Namespace:    cfg.TemporalNamespace,
	})
	if err != nil {
		return nil, nil, err
	}
	if cfg.TemporalUIPort == 0 {
		return ts, nil, nil
	}
	ui, err := devserver.StartUI(host, cfg.TemporalUIPort, ts.HostPort(), cfg.TemporalNamespace)
	if err != nil {
		_ = ts.Stop()
		return nil, nil, err
	}
	log.Debug("temporal started", "address", ts.HostPort(), "ui", ui.URL())
	return ts, ui, nil
}

func migrate(ctx context.Context, cfg config.Config) error {
	return withMigrationDB(ctx, cfg, func(sqlDB *sql.DB) error { return persistence.Migrate(ctx, sqlDB) })
}

// demoAccount returns the demo team's credentials, creating them on the
// first start, and the team's plan as the database has it now (billing
// moves it). The token is kept in the data folder (mode 0600) because the
// database holds only its hash; a token that no longer works (a new
// database) is replaced.
func demoAccount(ctx context.Context, cfg config.Config) (bootstrapOutput, domain.PlanName, error) {
	path := devState{dir: cfg.DataDir}.demoAccount()
	db, err := persistence.Open(ctx, cfg.DatabaseURL, persistence.WithMaxOpenConns(cfg.DatabaseMaxConns),
		persistence.WithStatementTimeout(cfg.DatabaseStatementTimeout), persistence.WithConnectTimeout(cfg.DatabaseConnectTimeout))
	if err != nil {
		return bootstrapOutput{}, "", err
	}
	defer persistence.Close(db)
	accounts := persistence.NewAccountStore(db)

	out, err := savedDemoAccount(ctx, accounts, path)
	if err != nil {
		return bootstrapOutput{}, "", err
	}
	if out.Token == "" {
		out, err = bootstrap(ctx, accounts, domain.BootstrapInput{TeamName: "Demo Team", Plan: domain.PlanFree, UserEmail: "demo@talkturo.dev", UserName: "Demo User",
			// The demo user is this program's own: a new data folder on an old
			// database makes it a new demo team.
			AttachExistingUser: true})
		if err != nil {
			return bootstrapOutput{}, "", err
		}
		b, _ := json.Marshal(out)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return bootstrapOutput{}, "", fmt.Errorf("save the demo account to %s: %w", path, err)
		}
	}
	team, err := accounts.GetTeam(ctx, out.TeamID)
	if err != nil {
		return bootstrapOutput{}, "", err
	}
	return out, team.Plan, nil
}

// savedDemoAccount returns the account saved at path if its token still
// works, or an empty one.
func savedDemoAccount(ctx context.Context, accounts *persistence.AccountStore, path string) (bootstrapOutput, error) {
	var saved bootstrapOutput
	if b, err := os.ReadFile(path); err != nil || json.Unmarshal(b, &saved) != nil || saved.Token == "" {
		return bootstrapOutput{}, nil
	}
	_, err := accounts.Authenticate(ctx, domain.HashAPIToken(saved.Token))
	if errors.Is(err, domain.ErrUnauthorized) {
		return bootstrapOutput{}, nil
	}
	if err != nil {
		return bootstrapOutput{}, err
	}
	return saved, nil
}

// devMetricsListenAddr is preferred if it is free, else a free port on
// the loopback. (Another process may take it before the app listens: the
// start then fails naming the address, and METRICS_ADDR picks another.)
func devMetricsListenAddr(preferred string) (string, error) {
	for _, addr := range []string{preferred, "127.0.0.1:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		got := ln.Addr().String()
		if err := ln.Close(); err != nil {
			return "", err
		}
		return got, nil
	}
	return "", errors.New("no free port on 127.0.0.1 for the metrics (set METRICS_ADDR)")
}

func printBanner(cfg config.Config, dbSource, uiURL, simURL, simAdmin, simHook string, demo bootstrapOutput, plan domain.PlanName, took time.Duration) {
	api := "http://" + cfg.HTTPAddr
	fmt.Printf(`
Talkturo phone numbers is running (started in %s).

  API          %s
  Temporal     %s (namespace %s)
`, took.Round(10*time.Millisecond), api, cfg.TemporalAddress, cfg.TemporalNamespace)
	if uiURL != "" {
		fmt.Printf("  Temporal UI  %s\n", uiURL)
	}
	fmt.Printf("  PostgreSQL   %s\n", dbSource)
	if simURL != "" {
		fmt.Printf("  Telnyx       simulator at %s (faults: %s)\n", simURL, simAdmin)
	} else {
		fmt.Printf("  Telnyx       %s\n", cfg.TelnyxBaseURL)
	}
	secret := "from BILLING_WEBHOOK_SECRET"
	if cfg.BillingSecret == devBillingSecret {
		secret = devBillingSecret
	}
	switch {
	case simHook != "":
		fmt.Printf("  Webhooks     the simulator posts signed number_order events to %s\n", simHook)
	case cfg.TelnyxPublicKey != "":
		fmt.Printf("  Webhooks     POST %s/api/telnyx/webhook (verified with TELNYX_PUBLIC_KEY)\n", api)
	default:
		fmt.Printf("  Webhooks     POST %s/api/telnyx/webhook is off (TELNYX_PUBLIC_KEY is unset)\n", api)
	}
	fmt.Printf("  Billing      POST %s/api/billing/webhook (signing secret %s)\n", api, secret)
	fmt.Printf("  Metrics      http://%s/metrics\n", cfg.MetricsAddr)
	fmt.Printf(`
  Demo team    %s (%s plan)
  Demo token   %s
  (both are in %s)

Try:
  curl -X POST %s/api/phone-numbers/search \
    -H "Authorization: Bearer %s" -H "Content-Type: application/json" \
    -d '{"filters": {"countryCode": "US", "areaCode": "415", "limit": 5}}'

Press Ctrl-C to stop; the next start resumes where this one stopped.
make reset (talkturo dev --reset) deletes it all.
`, demo.TeamID, plan, demo.Token, devState{dir: cfg.DataDir}.demoAccount(), api, demo.Token)
}
