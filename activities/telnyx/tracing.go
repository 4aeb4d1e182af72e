package telnyx

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

type operationKey struct{}

// withOperation tells the span of the request made with ctx which call it
// belongs to.
func withOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// tracedClient is hc with every request traced as a client span of tp,
// named after its operation. The span records the method, the URL (whose
// query holds search filters at most) and the status, never a header: the
// API key stays out. No trace context is sent: Telnyx is a third party
// that joins no trace of ours, and the metrics of calls are the
// process's own (talkturo_telnyx_requests_total), not otelhttp's.
func tracedClient(hc *http.Client, tp trace.TracerProvider) *http.Client {
	traced := *hc
	traced.Transport = otelhttp.NewTransport(hc.Transport,
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if op, ok := r.Context().Value(operationKey{}).(string); ok {
				return "telnyx " + op
			}
			return "telnyx " + r.Method
		}),
	)
	return &traced
}
