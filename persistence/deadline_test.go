package persistence_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
	"github.com/talkturo/phonenumbers/testkit"
)

func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Kind != domain.KindUnavailable || de.Code != domain.CodeServiceUnavailable {
		t.Errorf("%s: %v, want a KindUnavailable service_unavailable error", what, err)
	}
}

// TestStatementTimeout: the pool's connections carry the configured
// statement_timeout, a statement running past it is cancelled by the
// server and reported as the database being unavailable, and a
// statement_timeout in the connection string wins.
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := pgtest.NewSchema(t)
	db, err := persistence.Open(ctx, dsn, persistence.WithMaxOpenConns(4), persistence.WithStatementTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = persistence.Close(db) })
	var got string
	if err := db.WithContext(ctx).Raw("SHOW statement_timeout").Find(&got).Error; err != nil || got != "300ms" {
		t.Fatalf("statement_timeout = %q, %v; want 300ms", got, err)
	}
	store := persistence.NewAccountStore(db)
	if _, err := store.Eligibility(ctx, "team_nope"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a quick statement: %v", err)
	}
	err = db.WithContext(ctx).Exec("SELECT pg_sleep(5)").Error
	if err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Fatalf("pg_sleep(5) under a 300ms statement_timeout: %v", err)
	}

	// Through a store, a statement cancelled by the timeout (here an
	// UPDATE waiting on a row another transaction locked) is "unavailable"
	// (a 503, and a retry for workflows), not an internal error.
	acct := newAccount(t, db, domain.PlanFree)
	lock := db.WithContext(ctx).Begin()
	t.Cleanup(func() { lock.Rollback() })
	if err := lock.Exec("SELECT id FROM teams WHERE id = ? FOR UPDATE", acct.TeamID).Error; err != nil {
		t.Fatal(err)
	}
	wantUnavailable(t, "SetPlan on a locked team", store.SetPlan(ctx, acct.TeamID, domain.PlanGrowth))
	lock.Rollback()

	own, err := persistence.Open(ctx, dsn+"&statement_timeout=1500", persistence.WithMaxOpenConns(1), persistence.WithStatementTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = persistence.Close(own) })
	if err := own.WithContext(ctx).Raw("SHOW statement_timeout").Find(&got).Error; err != nil || got != "1500ms" {
		t.Fatalf("with statement_timeout=1500 in the URL: statement_timeout = %q, %v; want 1500ms", got, err)
	}
}

// TestConnectTimeout: a server that accepts connections and never answers
// fails Open within the connect timeout, even on a context without a
// deadline, as the database being unavailable.
func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	ln := testkit.Listen(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	dsn := "postgres://postgres@" + ln.Addr().String() + "/test?sslmode=disable"
	for _, tc := range []struct {
		what string
		dsn  string
		opt  time.Duration
	}{
		{"WithConnectTimeout(500ms)", dsn, 500 * time.Millisecond},
		// The URL's connect_timeout wins over the option's.
		{"connect_timeout=1 in the URL", dsn + "&connect_timeout=1", time.Hour},
	} {
		start := time.Now()
		_, err := persistence.Open(context.Background(), tc.dsn, persistence.WithMaxOpenConns(1), persistence.WithConnectTimeout(tc.opt))
		took := time.Since(start)
		if err == nil {
			t.Fatalf("%s: Open succeeded against a server that never answers", tc.what)
		}
		wantUnavailable(t, tc.what, err)
		// A hang check, not a timing assertion.
		if took > 10*time.Second {
			t.Errorf("%s: Open gave up after %v", tc.what, took)
		}
		t.Logf("%s: Open gave up after %v", tc.what, took.Round(time.Millisecond))
	}
}
