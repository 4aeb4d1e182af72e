package persistence_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/testkit"
)

// TestIdempotencyPurgeRunsOnSchedule runs the purge job with a short
// interval: at start and then at every tick it deletes the keys older than
// IdempotencyKeyTTL and keeps the younger ones, and it stops with its
// context.
func TestIdempotencyPurgeRunsOnSchedule(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewIdempotencyStore)
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

	var logs testkit.LogBuffer
	jobCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		persistence.RunIdempotencyPurge(jobCtx, store, 200*time.Millisecond, logs.TextLogger(slog.LevelInfo))
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

// TestPurgeDeletesABacklogInBatches: a backlog larger than one batch is
// purged whole, by statements that each delete at most a batch (a single
// DELETE of a large backlog could outlast statement_timeout every run).
func TestPurgeDeletesABacklogInBatches(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewIdempotencyStore)
	teamID := newAccount(t, db, domain.PlanGrowth).TeamID
	const batch, expired = 10, 25
	err := db.Exec(`
		INSERT INTO idempotency_keys (team_id, key, request_hash, created_at)
		SELECT ?, 'old-' || i, 'h', now() - make_interval(secs => ?) FROM generate_series(1, ?) AS i`,
		teamID, (persistence.IdempotencyKeyTTL + time.Minute).Seconds(), expired).Error
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Claim(ctx, domain.IdempotencyClaim{TeamID: teamID, Key: "fresh", RequestHash: "h", Target: "t"}); err != nil {
		t.Fatal(err)
	}

	// Every DELETE the purge sends, with how many rows it deleted.
	var deletes []int64
	if err := db.Callback().Raw().After("gorm:raw").Register("count-deletes", func(tx *gorm.DB) {
		if strings.HasPrefix(strings.TrimSpace(tx.Statement.SQL.String()), "DELETE") {
			deletes = append(deletes, tx.RowsAffected)
		}
	}); err != nil {
		t.Fatal(err)
	}

	n, err := store.PurgeIdempotencyKeysInBatches(ctx, batch)
	if err != nil || n != expired {
		t.Fatalf("PurgeIdempotencyKeysInBatches = %d, %v; want %d", n, err, expired)
	}
	if want := []int64{10, 10, 5}; !slices.Equal(deletes, want) {
		t.Errorf("rows deleted per statement: %v, want %v (batches of %d until a short one)", deletes, want, batch)
	}
	if left := countRows(t, db, "SELECT count(*) FROM idempotency_keys WHERE team_id = ?", teamID); left != 1 {
		t.Errorf("%d claims left, want only the fresh one", left)
	}
}
