package persistence_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
	"github.com/talkturo/phonenumbers/testkit"
)

func TestLogsNeverCarryQueryParameters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var logs testkit.LogBuffer
	db, err := persistence.Open(ctx, pgtest.NewSchema(t), persistence.WithMaxOpenConns(4), persistence.WithLogger(logs.TextLogger(slog.LevelInfo)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = persistence.Close(db) })
	store := persistence.NewAccountStore(db)

	_, hash := domain.NewAPIToken()
	in := domain.BootstrapInput{TeamName: "T", Plan: domain.PlanFree, UserEmail: "secret.person@example.com", UserName: "S", TokenHash: hash, AttachExistingUser: true}
	if _, err := store.Bootstrap(ctx, in); err != nil {
		t.Fatal(err)
	}
	// The same hash again fails on the unique index, and the failure is
	// logged: with its SQL, but not its values.
	if _, err := store.Bootstrap(ctx, in); err == nil {
		t.Fatal("a second key with the same hash was stored")
	}
	// A raw query failing (here a reservation of a number that is not in
	// E.164) is logged the same way.
	acct, err := store.Bootstrap(ctx, domain.BootstrapInput{TeamName: "T", Plan: domain.PlanGrowth, UserEmail: "b@example.com", TokenHash: hashOf(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := persistence.NewReservationStore(db).Reserve(ctx, acct.TeamID, "wf-secret-workflow", "not-a-number-555"); err == nil {
		t.Fatal("a reservation of a malformed number was stored")
	}

	got := logs.String()
	if !strings.Contains(got, "api_keys") || !strings.Contains(got, "number_reservations") {
		t.Fatalf("the failed statements were not logged; logs:\n%s", got)
	}
	for _, secret := range []string{hash, "secret.person", "wf-secret-workflow", "not-a-number-555"} {
		if strings.Contains(got, secret) {
			t.Errorf("logs contain %q:\n%s", secret, got)
		}
	}
}

func hashOf(t *testing.T) string {
	t.Helper()
	_, hash := domain.NewAPIToken()
	return hash
}

// TestOpenRefusesAnUnsetPoolSize: the pool's size is the caller's
// (DATABASE_MAX_CONNS); Open picks none of its own.
func TestOpenRefusesAnUnsetPoolSize(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewSchema(t)
	for what, opts := range map[string][]persistence.Option{
		"no WithMaxOpenConns": nil,
		"WithMaxOpenConns(0)": {persistence.WithMaxOpenConns(0)},
	} {
		db, err := persistence.Open(t.Context(), dsn, opts...)
		if err == nil {
			_ = persistence.Close(db)
			t.Errorf("%s: Open succeeded", what)
		} else if !strings.Contains(err.Error(), "WithMaxOpenConns") {
			t.Errorf("%s: Open error %q does not name WithMaxOpenConns", what, err)
		}
	}
	db, err := persistence.Open(t.Context(), dsn, persistence.WithMaxOpenConns(3))
	if err != nil {
		t.Fatal(err)
	}
	defer persistence.Close(db)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	if got := sqlDB.Stats().MaxOpenConnections; got != 3 {
		t.Errorf("MaxOpenConnections = %d, want 3", got)
	}
}
