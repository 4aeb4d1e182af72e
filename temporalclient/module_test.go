package temporalclient

import (
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/activities"
)

// TestWorkerModuleRefusesAReconcileConfigWithoutTaskQueue: the schedule is
// ensured in the background, where a missing task queue would be retried
// with a warning for ever; building the app refuses it instead, and
// builds with one.
func TestWorkerModuleRefusesAReconcileConfigWithoutTaskQueue(t *testing.T) {
	t.Parallel()
	// Lazy: it dials nothing, and the app is built, never started.
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	build := func(rc ReconcileConfig) error {
		return fx.New(fx.NopLogger,
			fx.Supply(fx.Annotate(c, fx.As(new(client.Client))), WorkerConfig{TaskQueue: "q"}, rc, &activities.Activities{}, slog.New(slog.DiscardHandler)),
			WorkerModule,
		).Err()
	}
	err = build(ReconcileConfig{})
	if err == nil || !strings.Contains(err.Error(), "TEMPORAL_TASK_QUEUE") {
		t.Errorf("without a task queue: app error %v, want one naming TEMPORAL_TASK_QUEUE", err)
	}
	if err := build(ReconcileConfig{TaskQueue: "q"}); err != nil {
		t.Errorf("with a task queue: %v", err)
	}
}
