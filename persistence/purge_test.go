package persistence_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

// TestIdempotencyPurgeRunsOnSchedule runs the purge job with a short
// interval: at start and then at every tick it deletes the keys older than
// IdempotencyKeyTTL and keeps the younger ones, and it stops with its
// context.
func TestIdempotencyPurgeRunsOnSchedule(t *testing.T) {
	t.Parallel()
	ctx, db := newTestDB(t)
	store := persistence.NewIdempotencyStore(db)
	teamID := newAccount(t, db, domain.PlanGrowth).TeamID
	claim := func(key string, age time.Duration) {
		t.Helper()
		if _, err := store.Claim(ctx, domain.IdempotencyClaim{TeamID: teamID, Key: key, RequestHash: "h", Target: "t"}); err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("UPDATE idempotency_keys SET created_at = now() - make_interval(secs => ?) WHERE key = ?", age.Seconds(), key).Error; err != nil {
			t.Fatal(err)
		}
	}
	left := func(key string) bool {
		return countRows(t, db, "SELECT count(*) FROM idempotency_keys WHERE key = '"+key+"'") == 1
	}
	waitGone := func(key string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for left(key) {
			if time.Now().After(deadline) {
				t.Fatalf("the key %q, older than %v, was not purged within 30s", key, persistence.IdempotencyKeyTTL)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	claim("day-old", persistence.IdempotencyKeyTTL+time.Second)
	claim("almost-a-day", persistence.IdempotencyKeyTTL-time.Minute)
	claim("fresh", 0)

	var logs syncBuffer
	jobCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		persistence.RunIdempotencyPurge(jobCtx, store, 200*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	t.Cleanup(func() { stop(); <-done })

	waitGone("day-old")
	if !left("almost-a-day") || !left("fresh") {
		t.Fatal("the purge deleted a key younger than IdempotencyKeyTTL")
	}
	// A key that expires after the first run goes at a later tick.
	claim("expired-later", persistence.IdempotencyKeyTTL+time.Hour)
	waitGone("expired-later")
	if !left("almost-a-day") || !left("fresh") {
		t.Fatal("a later run deleted a key younger than IdempotencyKeyTTL")
	}
	if !strings.Contains(logs.String(), "purged expired idempotency keys") {
		t.Errorf("no log line of the purge:\n%s", logs.String())
	}

	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the purge job did not stop with its context")
	}
}
