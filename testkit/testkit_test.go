package testkit_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/testkit"
)

// Many goroutines log at once; every line arrives whole, and Drain empties
// the buffer.
func TestLogBufferTakesConcurrentLines(t *testing.T) {
	var logs testkit.LogBuffer
	log := logs.JSONLogger(slog.LevelInfo)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { log.Info("line", "i", i) })
	}
	wg.Wait()
	log.Debug("below the level")
	log.Warn("other")
	if other := logs.JSONLines(t, "oth"); len(other) != 1 || other[0]["level"] != "WARN" {
		t.Errorf("the line of message other: %v", other)
	}
	lines := logs.JSONLines(t, "line")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	for _, l := range lines {
		if l["msg"] != "line" || l["level"] != "INFO" {
			t.Errorf("line %v", l)
		}
	}
	if out := logs.Drain(); strings.Count(out, "\n") != 51 || logs.String() != "" {
		t.Errorf("Drain returned %d lines and left %q", strings.Count(out, "\n"), logs.String())
	}
	logs.TextLogger(slog.LevelWarn).Warn("text", "k", "v")
	if got := logs.String(); !strings.Contains(got, "level=WARN msg=text k=v") {
		t.Errorf("text line %q", got)
	}
}

func TestClockMovesOnlyWhenAdvanced(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	c := testkit.NewClock(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now = %v, want %v", c.Now(), start)
	}
	c.Advance(90 * time.Second)
	if want := start.Add(90 * time.Second); !c.Now().Equal(want) {
		t.Errorf("after Advance: %v, want %v", c.Now(), want)
	}
}

// Listen's and Serve's ports answer during the test; FreeAddr's is free
// to listen on.
func TestLocalPorts(t *testing.T) {
	ln := testkit.Listen(t)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()

	srv := testkit.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if string(body) != "ok" {
		t.Errorf("served %q", body)
	}

	addr := testkit.FreeAddr(t)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("FreeAddr = %q", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("FreeAddr's %s is taken: %v", addr, err)
	}
	_ = l.Close()
}

func TestTracingRecordsEndedSpans(t *testing.T) {
	tp, spans := testkit.Tracing(t)
	_, span := tp.Tracer("test").Start(context.Background(), "work")
	if len(spans.Ended()) != 0 {
		t.Fatal("a span was recorded before it ended")
	}
	span.End()
	if ended := spans.Ended(); len(ended) != 1 || ended[0].Name() != "work" {
		t.Errorf("recorded %v, want the one span named work", ended)
	}
}
