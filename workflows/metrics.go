package workflows

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// sdkLabels are the SDK's metric tags kept as Prometheus labels. A metric
// name has one label set in Prometheus, while the SDK tags a metric
// differently at different call sites: every series of a metric gets all
// these labels (empty when the SDK did not set the tag), and any other tag
// is dropped.
var sdkLabels = []string{"namespace", "task_queue", "workflow_type", "activity_type", "worker_type", "poller_type", "operation", "client_name", "cause", "failure_reason"}

// NewMetricsHandler adapts the Temporal SDK's metrics (worker polls, task
// latencies, activity failures, workflow metrics such as
// talkturo_trial_expiries) to Prometheus on reg, prefixed "temporal_"
// unless they are ours.
func NewMetricsHandler(reg prometheus.Registerer) client.MetricsHandler {
	return &promHandler{vecs: &promVecs{reg: reg, counters: map[string]*prometheus.CounterVec{}, gauges: map[string]*prometheus.GaugeVec{}, timers: map[string]*prometheus.HistogramVec{}}}
}

type promVecs struct {
	reg      prometheus.Registerer
	mu       sync.Mutex
	counters map[string]*prometheus.CounterVec
	gauges   map[string]*prometheus.GaugeVec
	timers   map[string]*prometheus.HistogramVec
}

type promHandler struct {
	vecs *promVecs
	tags map[string]string
}

func (h *promHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &promHandler{vecs: h.vecs, tags: merged}
}

func (h *promHandler) values() []string {
	out := make([]string, len(sdkLabels))
	for i, l := range sdkLabels {
		out[i] = h.tags[l]
	}
	return out
}

func metricName(name string) string {
	name = strings.NewReplacer(".", "_", "-", "_").Replace(name)
	if strings.HasPrefix(name, "talkturo_") || strings.HasPrefix(name, "temporal_") {
		return name
	}
	return "temporal_" + name
}

func (h *promHandler) Counter(name string) client.MetricsCounter {
	v := h.vecs.counter(metricName(name))
	vals := h.values()
	return counterFunc(func(d int64) { v.WithLabelValues(vals...).Add(float64(d)) })
}

func (h *promHandler) Gauge(name string) client.MetricsGauge {
	v := h.vecs.gauge(metricName(name))
	vals := h.values()
	return gaugeFunc(func(f float64) { v.WithLabelValues(vals...).Set(f) })
}

func (h *promHandler) Timer(name string) client.MetricsTimer {
	v := h.vecs.timer(metricName(name) + "_seconds")
	vals := h.values()
	return timerFunc(func(d time.Duration) { v.WithLabelValues(vals...).Observe(d.Seconds()) })
}

func (p *promVecs) counter(name string) *prometheus.CounterVec {
	return vec(p, p.counters, name, func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "Temporal SDK metric " + name + "."}, sdkLabels)
	})
}

func (p *promVecs) gauge(name string) *prometheus.GaugeVec {
	return vec(p, p.gauges, name, func() *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "Temporal SDK metric " + name + "."}, sdkLabels)
	})
}

func (p *promVecs) timer(name string) *prometheus.HistogramVec {
	return vec(p, p.timers, name, func() *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: "Temporal SDK metric " + name + ".", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}, sdkLabels)
	})
}

// vec returns the vector named name from m, making and registering it on
// first use.
func vec[V prometheus.Collector](p *promVecs, m map[string]V, name string, newVec func() V) V {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := m[name]; ok {
		return v
	}
	m[name] = register(p.reg, newVec())
	return m[name]
}

// register registers c, or returns the collector already registered under
// the same description (a second client in the same process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

type (
	counterFunc func(int64)
	gaugeFunc   func(float64)
	timerFunc   func(time.Duration)
)

func (f counterFunc) Inc(d int64)          { f(d) }
func (f gaugeFunc) Update(v float64)       { f(v) }
func (f timerFunc) Record(d time.Duration) { f(d) }
