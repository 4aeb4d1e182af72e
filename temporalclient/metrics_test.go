package temporalclient

import (
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/talkturo/phonenumbers/testkit"
)

// TestSDKMetricsKeepTheirPrometheusNames: through the SDK's OpenTelemetry
// handler, counters keep their names (no "_total" added, none doubled),
// timers are "<name>_seconds" histograms with the documented buckets, and
// no OpenTelemetry scope label or target_info appears. One metric tagged
// with different label sets at different call sites, and recorded through
// two clients' handlers, gathers without error; a second export on the
// same registry is refused.
func TestSDKMetricsKeepTheirPrometheusNames(t *testing.T) {
	t.Parallel()
	reg, m := testSDKMetrics(t)
	if _, err := NewSDKMetrics(reg, nil); err == nil {
		t.Error("a second export on the same registry was accepted: every series would be collected twice")
	}

	// Two clients (API and worker) of one process, each with its root tags.
	api := m.Handler.WithTags(map[string]string{"namespace": "talkturo"})
	worker := m.Handler.WithTags(map[string]string{"namespace": "talkturo"})
	api.WithTags(map[string]string{"operation": "StartWorkflowExecution"}).Counter("temporal_request").Inc(1)
	worker.WithTags(map[string]string{"operation": "StartWorkflowExecution"}).Counter("temporal_request").Inc(2)
	worker.WithTags(map[string]string{"operation": "PollWorkflowTaskQueue", "task_queue": "phone-numbers", "poller_type": "workflow_task"}).Counter("temporal_request").Inc(1)
	worker.WithTags(map[string]string{"workflow_type": "PhoneNumberWorkflowV2", "task_queue": "phone-numbers"}).Timer("temporal_workflow_task_execution_latency").Record(30 * time.Millisecond)
	worker.WithTags(map[string]string{"poller_type": "activity_task"}).Gauge("temporal_num_pollers").Update(2)
	worker.WithTags(map[string]string{"workflow_type": "PhoneNumberWorkflowV2"}).Counter("talkturo_trial_expiries_total").Inc(1)

	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range families {
		byName[mf.GetName()] = mf
		if mf.GetName() == "target_info" || strings.HasPrefix(mf.GetName(), "otel_") {
			t.Errorf("family %s: no OpenTelemetry metadata series wanted", mf.GetName())
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if strings.HasPrefix(l.GetName(), "otel") {
					t.Errorf("%s has the label %s", mf.GetName(), l.GetName())
				}
			}
		}
	}
	for name, typ := range map[string]dto.MetricType{
		"temporal_request": dto.MetricType_COUNTER,
		"temporal_workflow_task_execution_latency_seconds": dto.MetricType_HISTOGRAM,
		"temporal_num_pollers":                             dto.MetricType_GAUGE,
		"talkturo_trial_expiries_total":                    dto.MetricType_COUNTER,
	} {
		if mf := byName[name]; mf == nil || mf.GetType() != typ {
			t.Errorf("no %s %s among %v", typ, name, slices.Sorted(maps.Keys(byName)))
		}
	}
	if req := byName["temporal_request"]; req != nil {
		values := map[string]float64{}
		for _, s := range req.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			values[strings.Join(labels, ",")] = s.GetCounter().GetValue()
		}
		want := map[string]float64{
			"namespace=talkturo,operation=StartWorkflowExecution":                                                   3,
			"namespace=talkturo,operation=PollWorkflowTaskQueue,poller_type=workflow_task,task_queue=phone-numbers": 1,
		}
		if !maps.Equal(values, want) {
			t.Errorf("temporal_request series %v, want %v", values, want)
		}
	}
	if h := byName["temporal_workflow_task_execution_latency_seconds"]; h != nil {
		var bounds []float64
		for _, b := range h.GetMetric()[0].GetHistogram().GetBucket() {
			bounds = append(bounds, b.GetUpperBound())
		}
		if !slices.Equal(bounds, timerBuckets) {
			t.Errorf("timer buckets %v, want %v", bounds, timerBuckets)
		}
	}
}

// seriesLabels lists each series of the family name on reg as its sorted
// label names (values left out), joined with commas.
func seriesLabels(t *testing.T, reg *prometheus.Registry, name string) []string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var out []string
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			var names []string
			for _, l := range s.GetLabel() {
				names = append(names, l.GetName())
			}
			slices.Sort(names)
			out = append(out, strings.Join(names, ","))
		}
	}
	slices.Sort(out)
	return out
}

// TestSDKMetricsKeepTheAdaptersLabelsAlone: the SDK's tags become labels
// only when the hand-written adapter kept them (sdkLabels): a failed
// request's status_code, a Nexus tag or any tag of a later SDK is dropped,
// so a failure counts in the same series whatever its code.
func TestSDKMetricsKeepTheAdaptersLabelsAlone(t *testing.T) {
	t.Parallel()
	reg, m := testSDKMetrics(t)
	root := m.Handler.WithTags(map[string]string{"namespace": "talkturo", "client_name": "temporal_go"})
	for _, code := range []string{"Unavailable", "DeadlineExceeded"} {
		root.WithTags(map[string]string{"operation": "StartWorkflowExecution", "status_code": code}).Counter("temporal_request_failure").Inc(1)
	}
	root.WithTags(map[string]string{"operation": "PollActivityTaskQueue", "task_queue": "phone-numbers", "poller_type": "activity_task", "nexus_service": "x"}).Timer("temporal_long_request_latency").Record(time.Second)
	root.WithTags(map[string]string{"activity_type": "CreateOrder", "workflow_type": "PhoneNumberWorkflowV2", "worker_type": "ActivityWorker", "failure_reason": "ActivityError", "attempt": "3"}).Counter("temporal_activity_execution_failed").Inc(1)
	root.WithTags(map[string]string{"cause": "UnhandledCommand", "run_id": "r-1"}).Counter("temporal_workflow_task_execution_failed").Inc(1)

	for name, want := range map[string][]string{
		"temporal_request_failure":                {"client_name,namespace,operation"},
		"temporal_long_request_latency_seconds":   {"client_name,namespace,operation,poller_type,task_queue"},
		"temporal_activity_execution_failed":      {"activity_type,client_name,failure_reason,namespace,worker_type,workflow_type"},
		"temporal_workflow_task_execution_failed": {"cause,client_name,namespace"},
	} {
		if got := seriesLabels(t, reg, name); !slices.Equal(got, want) {
			t.Errorf("%s: series with labels %q, want %q", name, got, want)
		}
	}
	families, _ := reg.Gather()
	for _, mf := range families {
		if mf.GetName() == "temporal_request_failure" {
			if v := mf.GetMetric()[0].GetCounter().GetValue(); v != 2 {
				t.Errorf("temporal_request_failure = %v, want both failures in one series", v)
			}
		}
	}
}

// TestSDKMetricsPastTheCardinalityLimit: label sets past the limit are
// counted in one series labelled otel.metric.overflow="true" alone (the
// one OpenTelemetry label an SDK metric can have; otel_metric_overflow to
// a scraper that does not take UTF-8 names), and the total stays right.
func TestSDKMetricsPastTheCardinalityLimit(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	const limit = 3
	m, err := newSDKMetrics(reg, nil, limit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(t.Context()) })
	for _, wt := range []string{"A", "B", "C", "D", "E"} {
		m.Handler.WithTags(map[string]string{"workflow_type": wt}).Counter("temporal_workflow_completed").Inc(1)
	}
	got := seriesLabels(t, reg, "temporal_workflow_completed")
	// limit-1 label sets of their own, and the overflow.
	if want := []string{"otel.metric.overflow", "workflow_type", "workflow_type"}; !slices.Equal(got, want) {
		t.Errorf("series %q, want %q", got, want)
	}
	families, _ := reg.Gather()
	var total float64
	for _, mf := range families {
		if mf.GetName() == "temporal_workflow_completed" {
			for _, s := range mf.GetMetric() {
				total += s.GetCounter().GetValue()
			}
		}
	}
	if total != 5 {
		t.Errorf("total %v, want 5", total)
	}
}

// TestSDKMetricsWarnOncePerInstrument: an instrument the meter refuses
// (a name OpenTelemetry does not take) is logged once, however often the
// SDK asks for it, and is not recorded.
func TestSDKMetricsWarnOncePerInstrument(t *testing.T) {
	t.Parallel()
	var logs testkit.LogBuffer
	reg := prometheus.NewRegistry()
	m, err := NewSDKMetrics(reg, logs.TextLogger(slog.LevelInfo))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(t.Context()) })
	for range 3 {
		m.Handler.Counter("9lives").Inc(1)
		m.Handler.Timer("9lives_latency").Record(time.Millisecond)
	}
	m.Handler.Counter("temporal_request").Inc(1)
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 2 || !strings.Contains(out, "metric=9lives ") || !strings.Contains(out, "metric=9lives_latency ") {
		t.Errorf("want one warning for each refused instrument, got %d:\n%s", n, out)
	}
	if got := seriesLabels(t, reg, "temporal_request"); len(got) != 1 {
		t.Errorf("temporal_request: %q, want the instruments that work recorded", got)
	}
}

// TestSDKMetricsExportAgainAfterShutdown: Shutdown frees the registry for
// another export (an app stopped and built again in one process), whose
// metrics are then gathered without a duplicate.
func TestSDKMetricsExportAgainAfterShutdown(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	first, err := NewSDKMetrics(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Handler.Counter("temporal_request").Inc(1)
	if err := first.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	second, err := NewSDKMetrics(reg, nil)
	if err != nil {
		t.Fatalf("a second export after the first's Shutdown: %v", err)
	}
	t.Cleanup(func() { _ = second.Shutdown(t.Context()) })
	second.Handler.Counter("temporal_request").Inc(2)
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range families {
		if mf.GetName() == "temporal_request" {
			if len(mf.GetMetric()) != 1 || mf.GetMetric()[0].GetCounter().GetValue() != 2 {
				t.Errorf("temporal_request %v, want the second export's alone", mf.GetMetric())
			}
			return
		}
	}
	t.Error("the second export's temporal_request was not gathered")
}

// testSDKMetrics exports the SDK's metrics to a fresh registry for one
// test, shut down at its end.
func testSDKMetrics(t *testing.T) (*prometheus.Registry, *SDKMetrics) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewSDKMetrics(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(t.Context()) })
	return reg, m
}
