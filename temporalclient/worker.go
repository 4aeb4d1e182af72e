package temporalclient

import (
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/workflows"
)

// WorkerConfig tunes the worker.
type WorkerConfig struct {
	// TaskQueue is the queue the worker polls (TEMPORAL_TASK_QUEUE);
	// required.
	TaskQueue string
	// NumberRunLimits bound each run of the number workflow before it
	// continues as new; zero fields take the workflow's own limits (tests
	// lower them).
	NumberRunLimits workflows.RunLimits
}

// NewWorker returns a worker polling the task queue, with the workflows
// and the activities registered (workflows.RegisterWithLimits). onFatal is
// called when the worker cannot go on (the app shuts down rather than
// limp along).
func NewWorker(c client.Client, cfg WorkerConfig, a *activities.Activities, onFatal func(error)) (worker.Worker, error) {
	if cfg.TaskQueue == "" {
		return nil, errNoTaskQueue("NewWorker")
	}
	// On shutdown, running activities get a few seconds to finish before
	// they are cancelled (and retried elsewhere).
	w := worker.New(c, cfg.TaskQueue, worker.Options{OnFatalError: onFatal, WorkerStopTimeout: 5 * time.Second})
	workflows.RegisterWithLimits(w, a, cfg.NumberRunLimits)
	return w, nil
}
