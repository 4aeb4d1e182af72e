package workflows

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// timerBuckets are the bucket boundaries, in seconds, of every SDK timer
// (1 ms to about 4 min): dashboards built on the names and buckets the
// README documents keep working.
var timerBuckets = prometheus.ExponentialBuckets(0.001, 2.5, 12)

// SDKMetrics is the Temporal SDK's metrics, through the SDK's OpenTelemetry
// integration, exported to a Prometheus registry. A registry takes one; its
// Handler serves every client of the process (serve's API and worker).
type SDKMetrics struct {
	// Handler is what client.Options.MetricsHandler takes.
	Handler  client.MetricsHandler
	provider *sdkmetric.MeterProvider
}

// NewSDKMetrics exports the SDK's metrics (worker polls, task and activity
// latencies, failures, and what workflows count through
// workflow.GetMetricsHandler, such as talkturo_trial_expiries_total) on reg,
// under the names the SDK gives them: counters as they are (no "_total"
// added), timers as "<name>_seconds" histograms, no OpenTelemetry scope
// labels and no target_info. A series of one metric may carry other labels
// than another (the SDK tags a metric differently at different call
// sites); the exporter is an unchecked collector, which Prometheus allows.
func NewSDKMetrics(reg prometheus.Registerer, log *slog.Logger) (*SDKMetrics, error) {
	if log == nil {
		log = slog.Default()
	}
	// The exporter is an unchecked collector: Prometheus would take a
	// second one on the same registry and fail every scrape on the
	// duplicate series. The guard, checked, makes that a start-up error.
	if err := reg.Register(sdkMetricsGuard{}); err != nil {
		return nil, fmt.Errorf("export the Temporal SDK's metrics to Prometheus: a registry takes one export, shared by every client: %w", err)
	}
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithoutCounterSuffixes(),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		reg.Unregister(sdkMetricsGuard{})
		return nil, fmt.Errorf("export the Temporal SDK's metrics to Prometheus: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exporter),
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: timerBuckets, NoMinMax: true}},
		)),
	)
	log = log.With("component", "temporal-metrics")
	handler := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		// The contrib handler panics by default; a metric that cannot be
		// made is no reason to stop a worker.
		OnError: func(err error) { log.Warn("a Temporal SDK metric could not be made", "error", err) },
	})
	return &SDKMetrics{Handler: handler, provider: provider}, nil
}

// Shutdown stops the export: a scrape afterwards has no SDK metrics.
func (m *SDKMetrics) Shutdown(ctx context.Context) error { return m.provider.Shutdown(ctx) }

// sdkMetricsGuard describes a metric it never collects: registered once per
// registry, it keeps a second export off it.
type sdkMetricsGuard struct{}

var sdkMetricsGuardDesc = prometheus.NewDesc("talkturo_temporal_sdk_metrics_exported", "Never collected: marks the registry that exports the Temporal SDK's metrics.", nil, nil)

func (sdkMetricsGuard) Describe(ch chan<- *prometheus.Desc) { ch <- sdkMetricsGuardDesc }
func (sdkMetricsGuard) Collect(chan<- prometheus.Metric)    {}
