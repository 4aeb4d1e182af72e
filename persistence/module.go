package persistence

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.uber.org/fx"
	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
)

// Config is what the application tells persistence about the database.
type Config struct {
	// DatabaseURL is the PostgreSQL connection string, a postgres:// URL
	// or a key=value string (DATABASE_URL).
	DatabaseURL string
	// MaxOpenConns caps the pool (DATABASE_MAX_CONNS); required.
	MaxOpenConns int
	// StatementTimeout is PostgreSQL's statement_timeout for the pool's
	// connections (DATABASE_STATEMENT_TIMEOUT); 0 leaves the server's.
	StatementTimeout time.Duration
	// ConnectTimeout bounds opening a connection (DATABASE_CONNECT_TIMEOUT);
	// 0 leaves it to the caller's context.
	ConnectTimeout time.Duration
}

// Module provides the connection pool (*gorm.DB, closed when the app
// stops), domain.AccountStore, domain.AssistantStore,
// domain.PhoneNumberStore, domain.IdempotencyStore (also as
// *IdempotencyStore, for PurgeModule, the periodic job that calls
// PurgeIdempotencyKeys), *ReservationStore, domain.PurchaseStore (a
// *PurchaseStore) and domain.OrderEvents (an *OrderEvents whose listener
// runs while the app does: it starts without waiting for the database and
// stops before the pool closes).
// The app supplies a Config and, optionally, a *slog.Logger. Migrations are
// not run here: the app decides when (see Migrate).
var Module = fx.Module("persistence",
	fx.Provide(
		newLifecycleDB,
		fx.Annotate(NewAccountStore, fx.As(new(domain.AccountStore))),
		fx.Annotate(NewAssistantStore, fx.As(new(domain.AssistantStore))),
		fx.Annotate(NewPhoneNumberStore, fx.As(new(domain.PhoneNumberStore))),
		fx.Annotate(NewIdempotencyStore, fx.As(fx.Self()), fx.As(new(domain.IdempotencyStore))),
		NewReservationStore,
		fx.Annotate(NewPurchaseStore, fx.As(new(domain.PurchaseStore))),
		fx.Annotate(newLifecycleOrderEvents, fx.As(new(domain.OrderEvents))),
	),
)

type dbParams struct {
	fx.In

	Lifecycle fx.Lifecycle
	Config    Config
	Logger    *slog.Logger `optional:"true"`
}

// newLifecycleDB builds the pool without connecting, so that building the
// app never blocks; the start hook checks the database answers within the
// app's start timeout, and the stop hook closes the pool.
func newLifecycleDB(p dbParams) (*gorm.DB, error) {
	if p.Config.DatabaseURL == "" {
		return nil, fmt.Errorf("persistence: no database URL configured: set DATABASE_URL")
	}
	if p.Config.MaxOpenConns < 1 {
		return nil, fmt.Errorf("persistence: Config.MaxOpenConns (DATABASE_MAX_CONNS) must be at least 1, not %d", p.Config.MaxOpenConns)
	}
	db, err := open(p.Config.DatabaseURL, configOptions(p.Config, p.Logger)...)
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error { return ping(ctx, db) },
		OnStop:  func(context.Context) error { return Close(db) },
	})
	return db, nil
}

// configOptions turns the app's Config into the options of every
// connection the module opens.
func configOptions(c Config, l *slog.Logger) []Option {
	return []Option{WithLogger(l), WithStatementTimeout(c.StatementTimeout), WithConnectTimeout(c.ConnectTimeout), WithMaxOpenConns(c.MaxOpenConns)}
}

type orderEventsParams struct {
	fx.In

	Lifecycle fx.Lifecycle
	Config    Config
	DB        *gorm.DB
	Logger    *slog.Logger `optional:"true"`
}

// newLifecycleOrderEvents runs the order-event listener while the app
// runs. Its hooks are appended after the pool's (it needs the pool), so
// fx stops it before it closes the pool.
func newLifecycleOrderEvents(p orderEventsParams) (*OrderEvents, error) {
	e, err := NewOrderEvents(p.DB, p.Config.DatabaseURL, configOptions(p.Config, p.Logger)...)
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.Hook{OnStart: e.Start, OnStop: e.Stop})
	return e, nil
}
