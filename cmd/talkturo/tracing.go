package main

import (
	"log/slog"

	"go.opentelemetry.io/otel"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/activities/telnyx"
	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
	"github.com/talkturo/phonenumbers/telemetry"
	"github.com/talkturo/phonenumbers/temporalclient"
)

// tracingOptions wire the process's tracing (telemetry.Module, from
// cfg.Tracing) into what it traces: the API's requests, the Telnyx
// client's calls, and the Temporal client with the workers made from it.
// With tracing off none of them is touched (no middleware, no wrapped
// transport, no interceptor), so off costs nothing. A test replaces the
// *telemetry.Tracing (fx.Replace) to record the spans.
func tracingOptions(cfg config.Config, roles role) fx.Option {
	return fx.Options(
		fx.Supply(cfg.Tracing, telemetry.Role(roles.String())),
		telemetry.Module,
		fx.Decorate(func(cc temporalclient.Config, t *telemetry.Tracing) (temporalclient.Config, error) {
			if !t.Enabled() {
				return cc, nil
			}
			ti, err := temporalclient.NewTracingInterceptor(t.TracerProvider(), t.Propagator())
			if err != nil {
				return cc, err
			}
			cc.Interceptors = append(cc.Interceptors, ti)
			return cc, nil
		}),
		fx.Decorate(func(tc telnyx.Config, t *telemetry.Tracing) telnyx.Config {
			if t.Enabled() {
				tc.TracerProvider = t.TracerProvider()
			}
			return tc
		}),
		fx.Provide(func(t *telemetry.Tracing) api.Tracing {
			if !t.Enabled() {
				return api.Tracing{}
			}
			return api.Tracing{Provider: t.TracerProvider(), Propagator: t.Propagator()}
		}),
	)
}

// logOTelErrors sends what OpenTelemetry reports to the process's log
// instead of the standard logger's stderr: a collector that does not
// answer or spans dropped when tracing is on, and, tracing or not, what
// the SDK's metrics meet on their way to Prometheus (OpenTelemetry is
// their path too: temporalclient.NewSDKMetrics). OpenTelemetry has one such
// handler per process: only the commands set it, never a test.
func logOTelErrors(log *slog.Logger) {
	log = log.With("component", "opentelemetry")
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("opentelemetry error", "error", err) }))
}

// String names the role as telemetry.RoleAttribute records it.
func (r role) String() string {
	switch r {
	case roleAPI:
		return "api"
	case roleWorker:
		return "worker"
	}
	return "api+worker"
}
