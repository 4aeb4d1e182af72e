package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
)

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
	serveMetrics, workerMetrics := freeAddr(t), freeAddr(t)
	s := newStack(t, stackOptions{env: map[string]string{"TRIAL_DURATION": "2s", "METRICS_ADDR": serveMetrics}})
	_, base := s.app(roleAPI | roleWorker)
	s.cfg.MetricsAddr = workerMetrics
	s.app(roleWorker)
	team, token := s.team(domain.PlanFree)
	s.offer("+14155550210")
	status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": "+14155550210", "teamId": team})
	if status != 200 {
		t.Fatalf("purchase: %d %v", status, body)
	}
	id := body["phoneNumber"].(map[string]any)["id"].(string)
	waitFor(t, 30*time.Second, func() bool {
		n, err := s.numbers.Get(context.Background(), team, id)
		return err == nil && n.Status == domain.NumberExpired
	}, "the trial to expire")

	if status, body := call(t, "GET", base+"/metrics", "", nil); status != http.StatusNotFound {
		t.Errorf("GET /metrics on the API's port: %d %v, want 404", status, body)
	}
	apiMetrics := scrape(t, "http://"+serveMetrics+"/metrics") + scrape(t, "http://"+workerMetrics+"/metrics")
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
