package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/talkturo/phonenumbers/cmd/talkturo/config"
	"github.com/talkturo/phonenumbers/persistence"
)

// runMigrate applies the migrations (up, the default) or lists them (status).
func runMigrate(ctx context.Context, cfg config.Config, args []string) error {
	if cfg.DatabaseURL == "" {
		return &config.Error{Var: "DATABASE_URL", Message: "must be set for migrate."}
	}
	action := "up"
	if len(args) > 0 {
		action = args[0]
	}
	return withMigrationDB(ctx, cfg, func(sqlDB *sql.DB) error {
		return migrateAction(ctx, sqlDB, action)
	})
}

// withMigrationDB runs f on a connection to cfg's database that lives for
// f's call, for migrate and for `talkturo dev`'s migrations. It sets no
// statement timeout: a migration may rightly take longer than any request
// (an index built on a large table).
func withMigrationDB(ctx context.Context, cfg config.Config, f func(*sql.DB) error) error {
	db, err := persistence.Open(ctx, cfg.DatabaseURL, persistence.WithMaxOpenConns(cfg.DatabaseMaxConns), persistence.WithConnectTimeout(cfg.DatabaseConnectTimeout))
	if err != nil {
		return err
	}
	defer persistence.Close(db)
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return f(sqlDB)
}

// migrateAction is `migrate up` or `migrate status` on sqlDB.
func migrateAction(ctx context.Context, sqlDB *sql.DB, action string) error {
	switch action {
	case "up":
		if err := persistence.Migrate(ctx, sqlDB); err != nil {
			return err
		}
		fmt.Println("migrations applied")
	case "status":
		states, err := persistence.MigrationStatus(ctx, sqlDB)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "VERSION\tNAME\tAPPLIED")
		for _, s := range states {
			applied := "no"
			if s.Applied {
				applied = s.AppliedAt.Format("2006-01-02 15:04:05Z07:00")
			}
			fmt.Fprintf(w, "%d\t%s\t%s\n", s.Version, s.Name, applied)
		}
		return w.Flush()
	default:
		return fmt.Errorf("migrate takes up or status, not %q", action)
	}
	return nil
}
