package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/talkturo/phonenumbers/testkit"
)

// brokenCollector yields one good metric and one that cannot be encoded.
type brokenCollector struct{}

var (
	brokenGoodDesc = prometheus.NewDesc("talkturo_test_good", "A metric that is fine.", nil, nil)
	brokenBadDesc  = prometheus.NewDesc("talkturo_test_broken", "A metric that fails.", nil, nil)
)

func (brokenCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- brokenGoodDesc
	ch <- brokenBadDesc
}
func (brokenCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(brokenGoodDesc, prometheus.GaugeValue, 1)
	ch <- prometheus.NewInvalidMetric(brokenBadDesc, errors.New("the source of talkturo_test_broken is gone"))
}

// TestMetricsScrapeServesTheRestWhenACollectorFails: one metric that
// fails does not fail the scrape: /metrics answers 200 with every other
// series, and the error is logged once, then not again until a minute has
// passed, with the count of failed scrapes left unlogged.
func TestMetricsScrapeServesTheRestWhenACollectorFails(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(brokenCollector{}, prometheus.NewCounter(prometheus.CounterOpts{Name: "talkturo_test_other_total", Help: "Another collector's."}))
	var logs testkit.LogBuffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := testkit.Serve(t, metricsHandler(reg, logs.TextLogger(slog.LevelInfo), func() time.Time { return now }))

	scrapeOnce := func() {
		t.Helper()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "\ntalkturo_test_good 1") || !strings.Contains(string(body), "\ntalkturo_test_other_total 0") {
			t.Errorf("scrape: %d\n%s\nwant 200 with the metrics that work", resp.StatusCode, body)
		}
	}
	for range 3 {
		scrapeOnce()
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "the source of talkturo_test_broken is gone") {
		t.Fatalf("three failed scrapes within a minute: %d warnings, want one with the error:\n%s", n, logs.String())
	}
	now = now.Add(gatherErrorEvery)
	scrapeOnce()
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 || !strings.Contains(logs.String(), "failures_not_logged=2") {
		t.Errorf("a minute later: %d warnings, want a second one counting the 2 scrapes not logged:\n%s", n, logs.String())
	}
}
