package workflows

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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
	reg := prometheus.NewRegistry()
	m, err := NewSDKMetrics(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(t.Context()) })
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
				if strings.HasPrefix(l.GetName(), "otel_") {
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
