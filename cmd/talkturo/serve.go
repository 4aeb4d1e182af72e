package main

import (
	"context"
	"os"

	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
)

// runServe runs the API (and, with roleWorker, the worker) against the
// configured database, Temporal cluster and Telnyx, until ctx ends.
func runServe(ctx context.Context, cfg config.Config, roles role) error {
	if cfg.DatabaseURL == "" {
		return &config.Error{Var: "DATABASE_URL", Message: "must be set for serve, api and worker (only talkturo dev finds or starts a database by itself)."}
	}
	if cfg.TelnyxAPIKey == "" {
		return &config.Error{Var: "TELNYX_API_KEY", Message: "must be set for serve, api and worker (only talkturo dev falls back to the simulator)."}
	}
	if cfg.LogFormat == "" {
		cfg.LogFormat = "json"
	}
	log := newLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	logOTelErrors(log)
	app := fx.New(appOptions(cfg, log, roles)...)
	return runApp(ctx, app)
}

// runApp starts app, waits for ctx to end (SIGINT or SIGTERM), then stops
// it within its stop timeout.
func runApp(ctx context.Context, app *fx.App) error {
	startCtx, cancelStart := context.WithTimeout(ctx, app.StartTimeout())
	defer cancelStart()
	if err := app.Start(startCtx); err != nil {
		return err
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), app.StopTimeout())
	defer cancel()
	return app.Stop(stopCtx)
}
