// Package pgtest gives each test its own migrated PostgreSQL schema, so
// tests of any package run in parallel against the real database and leave
// nothing behind.
//
// The server is PGTEST_DATABASE_URL, by default the local one that `make
// test` expects (postgres://postgres@127.0.0.1:5432/test). A test that
// cannot reach it fails, with the command that starts it: a skipped
// database test is a test that silently stopped testing.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/persistence"
)

// EnvDatabaseURL names the environment variable with the server to test
// against.
const EnvDatabaseURL = "PGTEST_DATABASE_URL"

// DefaultDatabaseURL is the server used when EnvDatabaseURL is not set.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// maxOpenConns keeps each test's pool small: test binaries run in parallel
// and PostgreSQL allows 100 connections by default. Eight still lets
// concurrency tests race real transactions against each other.
const maxOpenConns = 8

// setupTimeout bounds connecting, creating the schema and migrating it.
const setupTimeout = 30 * time.Second

// NewDB returns a pool whose connections use a fresh schema with every
// migration applied. The schema is dropped and the pool closed when the
// test ends.
func NewDB(t testing.TB) *gorm.DB {
	t.Helper()
	dsn := NewSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db, err := persistence.Open(ctx, dsn, persistence.WithMaxOpenConns(maxOpenConns), persistence.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatalf("pgtest: opening the test schema: %v", err)
	}
	// Registered after NewSchema's cleanup, so it runs before it: the pool
	// is closed before its schema is dropped.
	t.Cleanup(func() {
		if err := persistence.Close(db); err != nil {
			t.Errorf("pgtest: closing the test pool: %v", err)
		}
	})
	return db
}

// NewSchema creates a fresh schema with every migration applied and returns
// a connection string whose connections use it (through search_path), for
// tests that open their own pool. The schema is dropped when the test ends.
func NewSchema(t testing.TB) string {
	t.Helper()
	base := baseURL()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	admin, err := persistence.Open(ctx, base, persistence.WithMaxOpenConns(1), persistence.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatalf("pgtest: PostgreSQL at %s is not reachable: %v\n"+
			"Start the local server with `pg_ctlcluster --skip-systemctl-redirect 15 main start` "+
			"(user postgres, trust auth, database test), or point %s at one.",
			redact(base), err, EnvDatabaseURL)
	}
	closeAdmin := func() {
		if err := persistence.Close(admin); err != nil {
			t.Errorf("pgtest: closing the admin connection: %v", err)
		}
	}

	schema := "pgtest_" + randomHex(t, 8)
	if err := admin.WithContext(ctx).Exec("CREATE SCHEMA " + schema).Error; err != nil {
		closeAdmin()
		t.Fatalf("pgtest: creating schema %s: %v", schema, err)
	}
	// Registered before anything can fail, so a failed migration still
	// leaves nothing behind. Cleanup runs after the test's context is
	// cancelled, hence a context of its own.
	t.Cleanup(func() {
		defer closeAdmin()
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := admin.WithContext(ctx).Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
			t.Errorf("pgtest: dropping schema %s: %v", schema, err)
		}
	})

	dsn, err := withSearchPath(base, schema)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvDatabaseURL, err)
	}
	db, err := persistence.Open(ctx, dsn, persistence.WithMaxOpenConns(1), persistence.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatalf("pgtest: opening schema %s: %v", schema, err)
	}
	defer func() { _ = persistence.Close(db) }()
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := persistence.Migrate(ctx, sqlDB); err != nil {
		t.Fatalf("pgtest: migrating schema %s: %v", schema, err)
	}
	return dsn
}

func baseURL() string {
	if v := strings.TrimSpace(os.Getenv(EnvDatabaseURL)); v != "" {
		return v
	}
	return DefaultDatabaseURL
}

// withSearchPath makes every connection of dsn use schema; pgx sends
// unknown URL parameters and key=value pairs as run-time parameters.
func withSearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("not a valid URL: %w", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " search_path=" + schema, nil
}

// redact hides the password of a URL before it goes into a failure
// message.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the configured server"
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return hex.EncodeToString(b)
}

// testLogger sends the pool's warnings to the test's own output, where they
// show next to the test that caused them (with -v or on failure).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
