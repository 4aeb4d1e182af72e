// Package telemetry is the process's OpenTelemetry tracing: a tracer
// provider that batches spans to an OTLP endpoint, and the propagator that
// carries a trace across processes, both configured only by the standard
// OTEL_* variables (Load). Tracing is off unless they name where spans go:
// then there is no exporter, no goroutine and a no-op provider, and
// callers that see Enabled false instrument nothing at all.
//
// Nothing here sets OpenTelemetry's globals: whoever instruments something
// is handed the provider and the propagator.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/fx"
)

// DefaultServiceName is service.name unless OTEL_SERVICE_NAME (or
// service.name in OTEL_RESOURCE_ATTRIBUTES) says otherwise.
const DefaultServiceName = "talkturo"

// RoleAttribute is the resource attribute naming the process's part: api,
// worker, or api+worker (serve, dev).
const RoleAttribute = "talkturo.role"

// ShutdownTimeout bounds the flush of the spans still queued when the
// process stops: a collector that does not answer must not hold up the
// stop past it.
const ShutdownTimeout = 5 * time.Second

// Role is the process's part, as RoleAttribute records it.
type Role string

// Tracing is the process's tracer provider and propagator.
type Tracing struct {
	enabled    bool
	provider   trace.TracerProvider
	propagator propagation.TextMapPropagator
	shutdown   func(context.Context) error
}

// Off is tracing off: a no-op provider, no propagation.
func Off() *Tracing {
	return &Tracing{provider: noop.NewTracerProvider(), propagator: propagation.NewCompositeTextMapPropagator(),
		shutdown: func(context.Context) error { return nil }}
}

// New returns tracing as cfg asks: Off when it exports nothing, else a
// provider that batches spans to the OTLP endpoint of the environment,
// over cfg.Protocol. The exporter connects on first export: New never
// waits for the collector.
func New(ctx context.Context, cfg Config, role Role) (*Tracing, error) {
	if !cfg.Export {
		return Off(), nil
	}
	var exp sdktrace.SpanExporter
	var err error
	if cfg.Protocol == ProtocolGRPC {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("the OTLP trace exporter: %w", err)
	}
	// Ours first: the environment's detector overrides them.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(DefaultServiceName)),
		resource.WithAttributes(attributeOf(role)...),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv())
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, &ConfigError{"OTEL_RESOURCE_ATTRIBUTES", fmt.Sprintf("cannot be read: %v.", err)}
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithSampler(samplerOf(cfg)))
	return FromProvider(tp, PropagatorOf(cfg)), nil
}

// FromProvider is tracing on tp (a test's, over an in-memory exporter),
// with prop (nil: W3C trace context and baggage). Shutdown shuts tp down.
func FromProvider(tp *sdktrace.TracerProvider, prop propagation.TextMapPropagator) *Tracing {
	if prop == nil {
		prop = PropagatorOf(Config{})
	}
	return &Tracing{enabled: true, provider: tp, propagator: prop, shutdown: tp.Shutdown}
}

// Enabled reports whether spans go anywhere. When it is false, callers
// instrument nothing, so that tracing off costs nothing.
func (t *Tracing) Enabled() bool { return t.enabled }

// TracerProvider is the provider spans are started on (a no-op one when
// tracing is off).
func (t *Tracing) TracerProvider() trace.TracerProvider { return t.provider }

// Propagator carries a span across processes (OTEL_PROPAGATORS).
func (t *Tracing) Propagator() propagation.TextMapPropagator { return t.propagator }

// Shutdown exports the spans still queued and stops the exporter, within
// ShutdownTimeout at most.
func (t *Tracing) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ShutdownTimeout)
	defer cancel()
	return t.shutdown(ctx)
}

// PropagatorOf is the propagator cfg.Propagators names.
func PropagatorOf(cfg Config) propagation.TextMapPropagator {
	names := cfg.Propagators
	if names == nil {
		names = []string{"tracecontext", "baggage"}
	}
	var ps []propagation.TextMapPropagator
	for _, n := range names {
		switch n {
		case "tracecontext":
			ps = append(ps, propagation.TraceContext{})
		case "baggage":
			ps = append(ps, propagation.Baggage{})
		}
	}
	return propagation.NewCompositeTextMapPropagator(ps...)
}

func samplerOf(cfg Config) sdktrace.Sampler {
	switch cfg.Sampler {
	case SamplerAlwaysOn:
		return sdktrace.AlwaysSample()
	case SamplerAlwaysOff:
		return sdktrace.NeverSample()
	case SamplerTraceIDRatio:
		return sdktrace.TraceIDRatioBased(cfg.Ratio)
	case SamplerParentBasedAlwaysOff:
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case SamplerParentBasedTraceIDRatio:
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.Ratio))
	}
	return sdktrace.ParentBased(sdktrace.AlwaysSample())
}

func attributeOf(role Role) []attribute.KeyValue {
	if role == "" {
		return nil
	}
	return []attribute.KeyValue{attribute.String(RoleAttribute, string(role))}
}

// Module provides the process's *Tracing, flushed when the app stops
// (after everything that makes spans, which depends on it and so stops
// first). The app supplies a Config, a Role and a *slog.Logger.
var Module = fx.Module("telemetry",
	fx.Provide(func(lc fx.Lifecycle, cfg Config, role Role, log *slog.Logger) (*Tracing, error) {
		t, err := New(context.Background(), cfg, role)
		if err != nil {
			return nil, err
		}
		if t.Enabled() {
			log.Info("tracing on: spans go over OTLP to the endpoint OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT names", "protocol", cfg.Protocol, "sampler", cfg.Sampler)
		}
		lc.Append(fx.StopHook(func(ctx context.Context) {
			// Spans lost to a collector that is away are not worth
			// failing the stop over.
			if err := t.Shutdown(ctx); err != nil {
				log.Warn("flushing the last spans failed", "error", err)
			}
		}))
		return t, nil
	}),
)
