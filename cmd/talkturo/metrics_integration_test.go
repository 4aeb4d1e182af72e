package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit"
	"github.com/talkturo/phonenumbers/workflows"
)

// scrapeMetrics is the text of the stack's apps' /metrics
// (stackOptions.metrics).
func (s *stack) scrapeMetrics(t *testing.T) string {
	t.Helper()
	return scrape(t, "http://"+s.metricsAddr+"/metrics")
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// The metrics an operator watches, from a process running API and worker
// and from a worker alone, each on its METRICS_ADDR: HTTP, purchases and
// their latency, Telnyx calls (the worker's orders included), trial
// expiries, and the SDK's own. The API's port serves none.
func TestMetricsOfAPIAndWorker(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{metrics: true, env: map[string]string{"TRIAL_DURATION": "2s"}})
	_, base := s.app(roleAPI | roleWorker)
	workerMetrics := testkit.FreeAddr(t)
	s.cfg.MetricsAddr = workerMetrics
	s.app(roleWorker)
	team, token := s.team(domain.PlanFree)
	id := buyActive(t, s, base, token, team, "+14155550210")
	s.waitForStatus(t, 30*time.Second, team, id, domain.NumberExpired, "the trial to expire")

	if status, body := call(t, "GET", base+"/metrics", "", nil); status != http.StatusNotFound {
		t.Errorf("GET /metrics on the API's port: %d %v, want 404", status, body)
	}
	apiMetrics := s.scrapeMetrics(t) + scrape(t, "http://"+workerMetrics+"/metrics")
	for _, want := range []string{
		`talkturo_http_requests_total{method="POST",route="/api/phone-numbers/purchase",status="200"}`,
		`talkturo_purchases_total{outcome="success"} 1`,
		`talkturo_purchase_duration_seconds_count{outcome="success"} 1`,
		`talkturo_telnyx_requests_total{operation="create_order",outcome="ok"}`,
		`talkturo_trial_expiries_total{`,
		`temporal_workflow_task_execution_latency_seconds_bucket{`,
		`temporal_local_activity_execution_latency_seconds_count{`, // the purchase's steps
	} {
		if !strings.Contains(apiMetrics, want) {
			t.Errorf("no %s in the metrics", want)
		}
	}
}

// TestSDKMetricsAfterAWorkflowRan: once a worker has run a number's
// workflow to its end (a trial that expired), the process's one registry
// gathers without error and holds the SDK's metrics under the documented
// names, from the SDK's OpenTelemetry integration: counters without an
// added "_total", timers as "_seconds" histograms, the workflow's own
// counter as it named it, and no OpenTelemetry metadata series or labels.
func TestSDKMetricsAfterAWorkflowRan(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{metrics: true, env: map[string]string{"TRIAL_DURATION": "2s"}})
	var reg *prometheus.Registry
	_, base := s.app(roleAPI|roleWorker, fx.Populate(&reg))
	team, token := s.team(domain.PlanFree)
	buyActive(t, s, base, token, team, "+14155550220")

	var families map[string]*dto.MetricFamily
	waitFor(t, 30*time.Second, func() bool {
		got, err := reg.Gather()
		if err != nil {
			t.Fatalf("Gather: %v", err)
		}
		families = map[string]*dto.MetricFamily{}
		for _, mf := range got {
			families[mf.GetName()] = mf
		}
		return sum(families["temporal_workflow_completed"], "workflow_type", workflows.NumberWorkflowType) >= 1
	}, "the trial's workflow to complete")
	for name, typ := range map[string]dto.MetricType{
		"temporal_workflow_completed":                      dto.MetricType_COUNTER,
		"temporal_workflow_task_execution_latency_seconds": dto.MetricType_HISTOGRAM,
		"temporal_workflow_endtoend_latency_seconds":       dto.MetricType_HISTOGRAM,
		"temporal_request":                                 dto.MetricType_COUNTER,
		"talkturo_trial_expiries_total":                    dto.MetricType_COUNTER,
	} {
		if mf := families[name]; mf == nil || mf.GetType() != typ {
			t.Errorf("no %s %s in the registry", typ, name)
		}
	}
	// What the exporter would name them with its suffixes on, or a timer
	// without its unit.
	for _, name := range []string{"temporal_workflow_completed_total", "temporal_request_total", "temporal_workflow_task_execution_latency"} {
		if families[name] != nil {
			t.Errorf("family %s: not a name the README documents", name)
		}
	}
	if n := sum(families["talkturo_trial_expiries_total"], "", ""); n != 1 {
		t.Errorf("talkturo_trial_expiries_total = %v, want 1", n)
	}
	for name, mf := range families {
		if name == "target_info" || strings.HasPrefix(name, "otel_") || strings.HasSuffix(name, "_total_total") {
			t.Errorf("family %s: not a name the README documents", name)
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.HasPrefix(l.GetName(), "otel") {
					t.Errorf("%s has the label %s", name, l.GetName())
				}
			}
		}
	}
	text := s.scrapeMetrics(t)
	for _, want := range []string{"\ntemporal_workflow_completed{", "\ntemporal_workflow_endtoend_latency_seconds_bucket{", "\ntalkturo_trial_expiries_total{"} {
		if !strings.Contains(text, want) {
			t.Errorf("GET /metrics has no %s", strings.TrimSpace(want))
		}
	}
}

// sum adds the counter values of mf's series whose label name has value
// (every series when name is empty).
func sum(mf *dto.MetricFamily, name, value string) float64 {
	total := 0.0
	for _, m := range mf.GetMetric() {
		if name == "" || slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == name && l.GetValue() == value }) {
			total += m.GetCounter().GetValue()
		}
	}
	return total
}
