package temporalclient

import (
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
)

// NewTracingInterceptor returns the SDK's OpenTelemetry tracing
// interceptor on tp, carrying spans with prop. On a client
// (Config.Interceptors) it traces what the client starts, updates,
// signals and queries, and on every worker made from that client each
// workflow run, update handler, signal and activity, local ones included:
// spans named "<Operation>:<name>" (UpdateWithStartWorkflow:purchase,
// RunWorkflow:PhoneNumberWorkflowV2, StartActivity:PlaceOrder,
// RunActivity:PlaceOrder).
//
// It only adds a header (_tracer-data) to what it sends and starts no
// span while a workflow replays, beyond the run's own: histories replay
// the same with it or without (TestRecordedHistoriesReplayWithTracing).
func NewTracingInterceptor(tp trace.TracerProvider, prop propagation.TextMapPropagator) (interceptor.Interceptor, error) {
	t, err := opentelemetry.NewTracer(opentelemetry.TracerOptions{Tracer: tp.Tracer("temporal-sdk-go"), TextMapPropagator: prop})
	if err != nil {
		return nil, err
	}
	return interceptor.NewTracingInterceptor(logKeys{t}), nil
}

// logKeys names the trace in the loggers of workflows and activities
// (workflow.GetLogger, activity.GetLogger) trace_id and span_id, as the
// process's other log lines do, where the SDK's tracer says TraceID and
// SpanID.
type logKeys struct{ interceptor.Tracer }

func (l logKeys) GetLogger(logger sdklog.Logger, ref interceptor.TracerSpanRef) sdklog.Logger {
	span, ok := ref.(interface{ SpanContext() trace.SpanContext })
	if !ok || !span.SpanContext().IsValid() {
		return logger
	}
	sc := span.SpanContext()
	return sdklog.With(logger, "trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String())
}
