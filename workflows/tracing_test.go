package workflows_test

import (
	"path/filepath"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/workflows"
)

// TestRecordedHistoriesReplayWithTracing replays every recorded history
// (made without tracing) on a worker with the tracing interceptor, as
// production workers run once tracing is on: the interceptor adds
// headers and spans, never a command, so the runs under way when tracing
// is turned on, or off, go on unchanged.
func TestRecordedHistoriesReplayWithTracing(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories: %v", err)
	}
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	ti, err := temporalclient.NewTracingInterceptor(tp, propagation.TraceContext{})
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{Interceptors: []interceptor.WorkerInterceptor{ti}})
			if err != nil {
				t.Fatal(err)
			}
			workflows.RegisterWithLimits(productionReplayer{r}, &activities.Activities{}, recordedLimits[filepath.Base(file)])
			if err := replayFile(t, r, file); err != nil {
				t.Fatalf("with the tracing interceptor, the workflow code does not replay %s: %v", file, err)
			}
		})
	}
	t.Cleanup(func() {
		// The interceptor did run: a replay starts the run's span.
		if len(spans.Started()) == 0 {
			t.Error("the replays started no span: the interceptor was not in the way")
		}
	})
}
