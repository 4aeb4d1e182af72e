package persistence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"path"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/talkturo/phonenumbers/persistence/migrations"
)

// Migrate polls the migration lock every second for up to five minutes:
// API and worker replicas start together and one of them may be migrating.
const (
	migrationLockPollSeconds = 1
	migrationLockPolls       = 300
)

// MigrationState is one migration as the database knows it.
type MigrationState struct {
	// Version is the number that starts the migration's file name.
	Version int64
	// Name is the migration's file name, such as "00001_initial_schema.sql".
	Name string
	// Applied reports whether the database has run the migration.
	Applied bool
	// AppliedAt is when it ran; zero when it has not.
	AppliedAt time.Time
}

// Migrate brings the schema that db's connections use (their search_path)
// up to the newest embedded migration. It is safe to run at every start and
// from several processes at once: a PostgreSQL advisory lock, keyed by the
// schema, lets one of them migrate while the others wait and then find
// nothing to do.
func Migrate(ctx context.Context, db *sql.DB) error {
	p, err := newMigrationProvider(ctx, db)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("persistence: migrating the database: %w", err)
	}
	return nil
}

// MigrationStatus lists every embedded migration, oldest first, with
// whether the database has applied it.
func MigrationStatus(ctx context.Context, db *sql.DB) ([]MigrationState, error) {
	p, err := newMigrationProvider(ctx, db)
	if err != nil {
		return nil, err
	}
	statuses, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("persistence: reading the migration status: %w", err)
	}
	out := make([]MigrationState, 0, len(statuses))
	for _, s := range statuses {
		out = append(out, MigrationState{
			Version:   s.Source.Version,
			Name:      path.Base(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

func newMigrationProvider(ctx context.Context, db *sql.DB) (*goose.Provider, error) {
	// The lock is per schema rather than goose's one database-wide ID, so
	// that test schemas in one database migrate in parallel while two
	// processes on the same schema still take turns.
	var schema string
	if err := db.QueryRowContext(ctx, "SELECT coalesce(current_schema(), '')").Scan(&schema); err != nil {
		return nil, storeError("finding the schema to migrate", err)
	}
	if schema == "" {
		return nil, errors.New("persistence: the connection's search_path names no existing schema to migrate")
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("talkturo/migrations/" + schema))
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64())),
		lock.WithLockTimeout(migrationLockPollSeconds, migrationLockPolls),
	)
	if err != nil {
		return nil, fmt.Errorf("persistence: preparing the migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS(),
		goose.WithSessionLocker(locker),
		// Only the embedded SQL files: no Go migrations registered
		// globally by some other package can sneak in.
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("persistence: loading the migrations: %w", err)
	}
	return p, nil
}
