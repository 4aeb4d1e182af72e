//go:build devstack

package main

import (
	"net"
	"strings"
	"testing"

	"github.com/talkturo/phonenumbers/persistence/pgtest"
)

// TestDevServesMetricsOnAFreePortWhen9090IsTaken: `make run` without
// METRICS_ADDR wants 127.0.0.1:9090, Prometheus's own default; with it
// taken, dev still starts, on a free port it prints in the banner.
func TestDevServesMetricsOnAFreePortWhen9090IsTaken(t *testing.T) {
	// Taken by this test, or already by another process: either way taken.
	if ln, err := net.Listen("tcp", devMetricsAddr); err == nil {
		t.Cleanup(func() { ln.Close() })
	}
	bin := buildBinary(t)
	dev := startDev(t, bin, devEnv(t, t.TempDir(), pgtest.NewSchema(t)))
	defer dev.stop(t)
	if dev.metrics == "" || dev.metrics == "http://"+devMetricsAddr+"/metrics" {
		t.Fatalf("banner metrics %q with %s taken, want another port", dev.metrics, devMetricsAddr)
	}
	if m := scrape(t, dev.metrics); !strings.Contains(m, "talkturo_") {
		t.Errorf("%s serves no talkturo metrics:\n%s", dev.metrics, m)
	}
	t.Logf("metrics with %s taken: %s", devMetricsAddr, dev.metrics)
}
