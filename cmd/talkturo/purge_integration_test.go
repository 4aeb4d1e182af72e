package main

import (
	"context"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

// TestWorkerPurgesExpiredIdempotencyKeys: a worker process runs the purge
// of Idempotency-Keys older than IdempotencyKeyTTL from its start, and
// keeps the younger ones.
func TestWorkerPurgesExpiredIdempotencyKeys(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	team, _ := s.team(domain.PlanGrowth)
	db, err := persistence.Open(context.Background(), s.cfg.DatabaseURL, persistence.WithMaxOpenConns(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = persistence.Close(db) })
	store := persistence.NewIdempotencyStore(db)
	for key, age := range map[string]time.Duration{"expired": persistence.IdempotencyKeyTTL + time.Minute, "young": persistence.IdempotencyKeyTTL - time.Minute} {
		if _, err := store.Claim(context.Background(), domain.IdempotencyClaim{TeamID: team, Key: key, RequestHash: "h", Target: "t"}); err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("UPDATE idempotency_keys SET created_at = now() - make_interval(secs => ?) WHERE key = ?", age.Seconds(), key).Error; err != nil {
			t.Fatal(err)
		}
	}
	count := func(key string) int64 {
		var n int64
		if err := db.Raw("SELECT count(*) FROM idempotency_keys WHERE key = ?", key).Find(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}

	s.app(roleWorker)
	waitFor(t, 30*time.Second, func() bool { return count("expired") == 0 }, "the worker to purge the expired key")
	if count("young") != 1 {
		t.Error("the worker purged a key younger than IdempotencyKeyTTL")
	}
}
