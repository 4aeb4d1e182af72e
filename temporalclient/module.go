package temporalclient

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/background"
)

// Module provides the Temporal client (closed when the app stops) and the
// *NumberService on it. The app supplies a Config, a ServiceConfig and a
// *slog.Logger.
var Module = fx.Module("temporalclient",
	fx.Provide(
		func(lc fx.Lifecycle, cfg Config, log *slog.Logger) (client.Client, error) {
			c, err := New(cfg, log)
			if err != nil {
				return nil, err
			}
			lc.Append(fx.StopHook(c.Close))
			return c, nil
		},
		NewNumberService,
	),
)

// WorkerModule is what a worker process adds to Module: it runs the worker
// for the app's lifetime (a fatal worker error shuts the app down), and
// keeps the reconciliation schedule in line with the ReconcileConfig. The
// schedule is ensured in the background, retrying until Temporal answers,
// so that neither a slow cluster nor a schedule error holds up the
// worker's purchases: a ReconcileConfig without a task queue, which no
// retry can mend, is refused when the app is built instead. The app
// supplies a WorkerConfig, a ReconcileConfig and the *activities.Activities.
var WorkerModule = fx.Module("temporal-worker",
	fx.Provide(func(c client.Client, cfg WorkerConfig, a *activities.Activities, sd fx.Shutdowner, log *slog.Logger) (worker.Worker, error) {
		return NewWorker(c, cfg, a, func(err error) {
			log.Error("the Temporal worker stopped", "error", err)
			_ = sd.Shutdown(fx.ExitCode(1))
		})
	}),
	fx.Invoke(func(lc fx.Lifecycle, w worker.Worker) {
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error { return w.Start() },
			OnStop:  func(context.Context) error { w.Stop(); return nil },
		})
	}),
	fx.Invoke(func(lc fx.Lifecycle, c client.Client, cfg ReconcileConfig, log *slog.Logger) error {
		if cfg.TaskQueue == "" {
			return errNoTaskQueue("WorkerModule's ReconcileConfig")
		}
		background.Run(lc, func(ctx context.Context) { keepEnsuring(ctx, c, cfg, log) })
		return nil
	}),
)
