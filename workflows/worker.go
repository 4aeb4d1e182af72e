package workflows

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/activities"
)

// WorkerConfig tunes the worker.
type WorkerConfig struct {
	TaskQueue string
	// NumberRunLimits bound each run of the number workflow before it
	// continues as new; zero fields take the defaults (tests lower them).
	NumberRunLimits RunLimits
}

// NewWorker returns a worker polling the task queue, with the number
// workflow and the activities registered. onFatal is called when the
// worker cannot go on (the app shuts down rather than limp along).
func NewWorker(c client.Client, cfg WorkerConfig, a *activities.Activities, onFatal func(error)) worker.Worker {
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = DefaultTaskQueue
	}
	// On shutdown, running activities get a few seconds to finish before
	// they are cancelled (and retried elsewhere).
	w := worker.New(c, cfg.TaskQueue, worker.Options{OnFatalError: onFatal, WorkerStopTimeout: 5 * time.Second})
	registerWithLimits(w, a, cfg.NumberRunLimits)
	return w
}

// Register registers the workflows and the activities on a worker (or a
// test environment).
func Register(r interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}, a *activities.Activities) {
	registerWithLimits(r, a, RunLimits{})
}

// RegisterWithLimits is Register with other run limits for the number
// workflow: for a replay of a v2 history recorded by a worker with them
// (a v2 run does not record its limits; every production worker has the
// defaults).
func RegisterWithLimits(r interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}, a *activities.Activities, limits RunLimits) {
	registerWithLimits(r, a, limits)
}

func registerWithLimits(r interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}, a *activities.Activities, limits RunLimits) {
	r.RegisterWorkflowWithOptions(numberWorkflowWith(limits, true), workflow.RegisterOptions{Name: NumberWorkflowType})
	r.RegisterWorkflowWithOptions(numberWorkflowWith(limits, false), workflow.RegisterOptions{Name: NumberWorkflowTypeV1})
	r.RegisterWorkflowWithOptions(TeamBillingWorkflow, workflow.RegisterOptions{Name: TeamWorkflowType})
	r.RegisterWorkflowWithOptions(ReconcileWorkflow, workflow.RegisterOptions{Name: ReconcileWorkflowType})
	r.RegisterWorkflowWithOptions(ReleaseNumberWorkflow, workflow.RegisterOptions{Name: ReleaseWorkflowType})
	r.RegisterActivity(a)
}

// WorkerModule runs the worker for the app's lifetime; a fatal worker
// error shuts the app down. The app supplies a WorkerConfig and the
// *activities.Activities.
var WorkerModule = fx.Module("temporal-worker",
	fx.Provide(func(c client.Client, cfg WorkerConfig, a *activities.Activities, sd fx.Shutdowner, log *slog.Logger) worker.Worker {
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
)
