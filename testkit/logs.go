package testkit

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// LogBuffer is a bytes.Buffer behind a mutex, which the goroutines of a
// server, a pool or a worker may log to while the test reads it. Its zero
// value is ready to use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Drain returns everything written so far and empties the buffer, so that
// each step of a long test sees only its own lines.
func (b *LogBuffer) Drain() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// JSONLines decodes the lines written so far, each a JSON object, and
// returns those whose message ("msg") starts with msgPrefix ("" for all).
// It fails the test on a line that is not JSON.
func (b *LogBuffer) JSONLines(t testing.TB, msgPrefix string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, raw := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if raw == "" {
			continue
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(raw), &line); err != nil {
			t.Fatalf("log line is not JSON: %q", raw)
		}
		if msg, _ := line["msg"].(string); strings.HasPrefix(msg, msgPrefix) {
			out = append(out, line)
		}
	}
	return out
}

// JSONLogger returns a logger that writes JSON lines of level and above to
// the buffer.
func (b *LogBuffer) JSONLogger(level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: level}))
}

// TextLogger returns a logger that writes text lines (key=value) of level
// and above to the buffer.
func (b *LogBuffer) TextLogger(level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level}))
}

// Logger returns a logger that writes lines of level and above to the
// test's log, where `go test` shows them for a failed or verbose test only.
func Logger(t testing.TB, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

// testWriter hands each write (one log line) to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
