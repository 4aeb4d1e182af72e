package persistence_test

import (
	"context"
	"database/sql"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
)

// openSQL opens the pool on dsn for the rest of the test, as the
// migrations take it.
func openSQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := persistence.Open(t.Context(), dsn, persistence.WithMaxOpenConns(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = persistence.Close(db) })
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	return sqlDB
}

func TestMigrateIsIdempotentAndReportsStatus(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	sqlDB := openSQL(t, pgtest.NewSchema(t)) // already migrated once

	// Replicas starting together all migrate: they must take turns and
	// find nothing left to do.
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() { errs <- persistence.Migrate(ctx, sqlDB) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}

	status, err := persistence.MigrationStatus(ctx, sqlDB)
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	if len(status) == 0 {
		t.Fatal("MigrationStatus lists no migrations")
	}
	for _, s := range status {
		if !s.Applied || s.AppliedAt.IsZero() {
			t.Errorf("migration %d %s: applied=%v at %v, want applied", s.Version, s.Name, s.Applied, s.AppliedAt)
		}
	}
	if status[0].Version != 1 || status[0].Name != "00001_initial_schema.sql" {
		t.Errorf("first migration = %d %q, want 1 00001_initial_schema.sql", status[0].Version, status[0].Name)
	}
}

func TestMigrateNeedsAnExistingSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := pgtest.NewSchema(t)
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		q := u.Query()
		q.Set("search_path", "pgtest_does_not_exist")
		u.RawQuery = q.Encode()
		dsn = u.String()
	} else {
		dsn += " search_path=pgtest_does_not_exist"
	}
	sqlDB := openSQL(t, dsn)
	if err := persistence.Migrate(ctx, sqlDB); err == nil {
		t.Fatal("Migrate into a schema that does not exist succeeded")
	}
}

func TestSeededPlansAreTheDefaultPlans(t *testing.T) {
	ctx, db := newTestDB(t)
	var got []struct {
		Name        string
		DisplayName string
		MaxNumbers  int
		Paid        bool
	}
	if err := db.WithContext(ctx).Raw("SELECT name, display_name, max_numbers, paid FROM plans ORDER BY max_numbers").Find(&got).Error; err != nil {
		t.Fatal(err)
	}
	want := domain.DefaultPlans()
	slices.SortFunc(want, func(a, b domain.Plan) int { return a.MaxNumbers - b.MaxNumbers })
	if len(got) != len(want) {
		t.Fatalf("seeded %d plans, DefaultPlans has %d: add a migration that seeds the new ones", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != string(w.Name) || g.DisplayName != w.DisplayName || g.MaxNumbers != w.MaxNumbers || g.Paid != w.Paid {
			t.Errorf("seeded plan %+v, DefaultPlans has %+v", g, w)
		}
	}
}

func TestOpenFailsFastOnAnUnreachableServer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := persistence.Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", persistence.WithMaxOpenConns(1))
	if err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
	if domain.ErrorKind(err) != domain.KindUnavailable {
		t.Errorf("Open error kind = %v (%v), want KindUnavailable", domain.ErrorKind(err), err)
	}
}
