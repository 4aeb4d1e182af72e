package temporalclient

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// timerBuckets are the bucket boundaries, in seconds, of every SDK timer
// (1 ms to about 4 min): dashboards built on the names and buckets the
// README documents keep working.
var timerBuckets = prometheus.ExponentialBuckets(0.001, 2.5, 12)

// sdkLabels are the SDK's tags kept as Prometheus labels, the same as the
// hand-written adapter before the OpenTelemetry integration kept: any other
// tag (status_code, nexus_*, what a later SDK adds) is dropped, so the
// series and their number stay what dashboards and Prometheus's memory
// were sized for.
var sdkLabels = attribute.NewAllowKeysFilter("namespace", "task_queue", "workflow_type", "activity_type", "worker_type", "poller_type", "operation", "client_name", "cause", "failure_reason")

// sdkCardinalityLimit is the most label sets one SDK metric keeps, set
// here rather than left to OpenTelemetry's default or
// OTEL_GO_X_CARDINALITY_LIMIT. With sdkLabels the label sets are bounded by
// the workflow and activity types, task queues and gRPC operations, a few
// hundred at most; past the limit (a bug tagging a metric with ids), every
// new label set is counted in one series per metric whose only label is
// otel.metric.overflow="true" (otel_metric_overflow to a scraper that does
// not ask for UTF-8 names): totals stay right, memory stays bounded.
const sdkCardinalityLimit = 2000

// SDKMetrics is the Temporal SDK's metrics, through the SDK's OpenTelemetry
// integration, exported to a Prometheus registry. A registry takes one; its
// Handler serves every client of the process (serve's API and worker).
type SDKMetrics struct {
	// Handler is what client.Options.MetricsHandler takes.
	Handler  client.MetricsHandler
	provider *sdkmetric.MeterProvider
	reg      prometheus.Registerer
}

// NewSDKMetrics exports the SDK's metrics (worker polls, task and activity
// latencies, failures, and what workflows count through
// workflow.GetMetricsHandler, such as talkturo_trial_expiries_total) on reg,
// under the names the SDK gives them: counters as they are (no "_total"
// added), timers as "<name>_seconds" histograms, the labels of sdkLabels
// alone, no OpenTelemetry scope labels and no target_info. A series of one
// metric may carry other labels than another (the SDK tags a metric
// differently at different call sites); the exporter is an unchecked
// collector, which Prometheus allows.
func NewSDKMetrics(reg prometheus.Registerer, log *slog.Logger) (*SDKMetrics, error) {
	return newSDKMetrics(reg, log, sdkCardinalityLimit)
}

func newSDKMetrics(reg prometheus.Registerer, log *slog.Logger, cardinalityLimit int) (*SDKMetrics, error) {
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
		// One view for every instrument: two matching views would make
		// two streams of one metric.
		sdkmetric.WithView(sdkView),
		sdkmetric.WithCardinalityLimit(cardinalityLimit),
	)
	log = log.With("component", "temporal-metrics")
	handler := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                &warnOnceMeter{Meter: provider.Meter("temporal-sdk-go"), log: log},
		UseMonotonicCounters: true,
		// The contrib handler panics by default; a metric that cannot be
		// made is no reason to stop a worker. warnOnceMeter has logged it.
		OnError: func(error) {},
	})
	return &SDKMetrics{Handler: handler, provider: provider, reg: reg}, nil
}

// sdkView keeps sdkLabels alone on every SDK metric, and gives timers the
// documented buckets.
func sdkView(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
	s := sdkmetric.Stream{Name: i.Name, Description: i.Description, Unit: i.Unit, AttributeFilter: sdkLabels}
	if i.Kind == sdkmetric.InstrumentKindHistogram {
		s.Aggregation = sdkmetric.AggregationExplicitBucketHistogram{Boundaries: timerBuckets, NoMinMax: true}
	}
	return s, true
}

// Shutdown stops the export: a scrape afterwards has no SDK metrics, and
// the registry takes another export (the stopped exporter stays on it, as
// Prometheus cannot unregister an unchecked collector, but yields nothing).
func (m *SDKMetrics) Shutdown(ctx context.Context) error {
	err := m.provider.Shutdown(ctx)
	m.reg.Unregister(sdkMetricsGuard{})
	return err
}

// warnOnceMeter is the SDK's meter, logging an instrument that cannot be
// made once per name: the SDK asks for its instruments at every use, so
// the handler's OnError would log the same one at every call.
type warnOnceMeter struct {
	metric.Meter
	log    *slog.Logger
	warned sync.Map // instrument name -> struct{}
}

func (m *warnOnceMeter) warn(name string, err error) {
	if err == nil {
		return
	}
	if _, seen := m.warned.LoadOrStore(name, struct{}{}); !seen {
		m.log.Warn("a Temporal SDK metric could not be made: it is not recorded", "metric", name, "error", err)
	}
}

func (m *warnOnceMeter) Int64Counter(name string, opts ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	c, err := m.Meter.Int64Counter(name, opts...)
	m.warn(name, err)
	return c, err
}

func (m *warnOnceMeter) Int64UpDownCounter(name string, opts ...metric.Int64UpDownCounterOption) (metric.Int64UpDownCounter, error) {
	c, err := m.Meter.Int64UpDownCounter(name, opts...)
	m.warn(name, err)
	return c, err
}

func (m *warnOnceMeter) Float64Gauge(name string, opts ...metric.Float64GaugeOption) (metric.Float64Gauge, error) {
	g, err := m.Meter.Float64Gauge(name, opts...)
	m.warn(name, err)
	return g, err
}

func (m *warnOnceMeter) Float64Histogram(name string, opts ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	h, err := m.Meter.Float64Histogram(name, opts...)
	m.warn(name, err)
	return h, err
}

// sdkMetricsGuard describes a metric it never collects: registered once per
// registry, it keeps a second export off it.
type sdkMetricsGuard struct{}

var sdkMetricsGuardDesc = prometheus.NewDesc("talkturo_temporal_sdk_metrics_exported", "Never collected: marks the registry that exports the Temporal SDK's metrics.", nil, nil)

func (sdkMetricsGuard) Describe(ch chan<- *prometheus.Desc) { ch <- sdkMetricsGuardDesc }
func (sdkMetricsGuard) Collect(chan<- prometheus.Metric)    {}
