package persistence_test

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
)

func TestModuleGraphIsValid(t *testing.T) {
	t.Parallel()
	err := fx.ValidateApp(
		persistence.Module,
		fx.Supply(persistence.Config{DatabaseURL: pgtest.DefaultDatabaseURL, MaxOpenConns: 3}),
		fx.NopLogger,
		fx.Invoke(func(domain.AccountStore, domain.AssistantStore, domain.PhoneNumberStore,
			domain.IdempotencyStore, *persistence.IdempotencyStore, *persistence.ReservationStore,
			domain.PurchaseStore, domain.OrderEvents, *gorm.DB) {
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
}

func TestModuleStartsPingsAndClosesThePool(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewSchema(t)
	var (
		accounts domain.AccountStore
		db       *gorm.DB
	)
	app := fxtest.New(t,
		persistence.Module,
		fx.Supply(persistence.Config{DatabaseURL: dsn, MaxOpenConns: 3}),
		fx.NopLogger,
		fx.Populate(&accounts, &db),
	)
	app.RequireStart()
	if err := accounts.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if sqlDB, err := db.DB(); err != nil || sqlDB.Stats().MaxOpenConnections != 3 {
		t.Errorf("the pool does not take MaxOpenConns: %+v %v", sqlDB.Stats(), err)
	}
	app.RequireStop()
	if err := accounts.Ping(context.Background()); err == nil {
		t.Error("the pool still answers after the app stopped")
	}
}

func TestModuleRefusesAnEmptyDatabaseURL(t *testing.T) {
	t.Parallel()
	app := fx.New(persistence.Module, fx.Supply(persistence.Config{}), fx.NopLogger,
		fx.Invoke(func(domain.AccountStore) {}))
	if app.Err() == nil {
		t.Fatal("an app without a database URL was built")
	}
}

// TestModuleRefusesAnUnsetPoolSize: the pool's size is the app's to state
// (DATABASE_MAX_CONNS), not a second default here.
func TestModuleRefusesAnUnsetPoolSize(t *testing.T) {
	t.Parallel()
	app := fx.New(persistence.Module, fx.Supply(persistence.Config{DatabaseURL: pgtest.DefaultDatabaseURL}), fx.NopLogger,
		fx.Invoke(func(domain.AccountStore) {}))
	if err := app.Err(); err == nil || !strings.Contains(err.Error(), "DATABASE_MAX_CONNS") {
		t.Fatalf("an app without a pool size: %v, want an error naming DATABASE_MAX_CONNS", err)
	}
}
