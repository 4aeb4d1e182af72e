package persistence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Pool tuning. The pool's size is the caller's (DATABASE_MAX_CONNS, whose
// default is cmd/talkturo/config's); idle connections are closed after a
// while so a quiet process gives them back, and every connection is
// recycled now and then so a fail-over or DNS change is picked up.
const (
	defaultConnMaxIdleTime = 5 * time.Minute
	defaultConnMaxLifetime = 30 * time.Minute
	slowQueryThreshold     = 500 * time.Millisecond
)

// Option changes how Open connects.
type Option func(*options)

type options struct {
	maxOpenConns     int
	logger           *slog.Logger
	statementTimeout time.Duration
	connectTimeout   time.Duration
}

// WithMaxOpenConns caps the connections of the pool. Open requires it,
// with n >= 1: a size this package picked would be a second default beside
// DATABASE_MAX_CONNS's.
func WithMaxOpenConns(n int) Option {
	return func(o *options) { o.maxOpenConns = n }
}

// WithStatementTimeout makes the server cancel any statement of the pool
// that runs longer than d (PostgreSQL's statement_timeout), so that a slow
// query gives its connection back instead of holding it. A
// statement_timeout already in the connection string (or PGOPTIONS) wins;
// d <= 0 leaves the server's setting alone.
func WithStatementTimeout(d time.Duration) Option {
	return func(o *options) { o.statementTimeout = d }
}

// WithConnectTimeout bounds opening one connection, TCP and TLS and
// authentication included, so that a server that accepts and never answers
// fails the caller instead of holding it. A positive connect_timeout in
// the connection string (or PGCONNECT_TIMEOUT) wins: 0 there means "wait
// forever", which this replaces. d <= 0 leaves it to the caller's context.
func WithConnectTimeout(d time.Duration) Option {
	return func(o *options) { o.connectTimeout = d }
}

// WithLogger sends GORM's warnings (slow queries) and errors to l instead
// of slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// Open connects to the PostgreSQL database at dsn (a postgres:// URL or a
// key=value string) with a pool of WithMaxOpenConns connections, and checks
// that it answers before ctx ends. The caller closes the pool (see Close).
func Open(ctx context.Context, dsn string, opts ...Option) (*gorm.DB, error) {
	db, err := open(dsn, opts...)
	if err != nil {
		return nil, err
	}
	if err := ping(ctx, db); err != nil {
		_ = Close(db)
		return nil, err
	}
	return db, nil
}

// Close closes the connection pool of db.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// open builds the pool without connecting, so that an fx constructor does
// not block and the first connection happens in the start hook.
func open(dsn string, opts ...Option) (*gorm.DB, error) {
	o := buildOptions(opts)
	if o.maxOpenConns < 1 {
		return nil, fmt.Errorf("persistence: the pool size must be at least 1, not %d: pass WithMaxOpenConns (DATABASE_MAX_CONNS)", o.maxOpenConns)
	}
	pgCfg, err := connConfig(dsn, o)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: stdlib.OpenDB(*pgCfg)}), &gorm.Config{
		Logger: logger.NewSlogLogger(o.logger, logger.Config{
			LogLevel:      logger.Warn,
			SlowThreshold: slowQueryThreshold,
			// Logged SQL keeps its $n placeholders: query parameters carry
			// token hashes, emails and phone numbers, which never belong
			// in logs. Beware: (*gorm.DB).Scan logs through a recorder
			// that ignores this setting, so this package reads raw
			// queries with Find, never Scan.
			ParameterizedQueries: true,
			// "Not found" is an answer (ErrNotFound, ErrUnauthorized), not
			// a failure worth a log line.
			IgnoreRecordNotFoundError: true,
		}),
		// Constraint violations come back as gorm.ErrDuplicatedKey and
		// friends (still wrapping the *pgconn.PgError), so repositories
		// map them to domain errors without parsing SQLSTATEs.
		TranslateError: true,
		// Repositories open the transactions they need; wrapping every
		// single INSERT in another one only costs round trips.
		SkipDefaultTransaction: true,
		// Open pings with the caller's context instead.
		DisableAutomaticPing: true,
		// PostgreSQL keeps microseconds: rounding here makes what a
		// repository returns after an insert equal what it reads back.
		NowFunc: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	})
	if err != nil {
		return nil, fmt.Errorf("persistence: opening the database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("persistence: opening the database: %w", err)
	}
	sqlDB.SetMaxOpenConns(o.maxOpenConns)
	// As many idle connections as open ones: with the default of 2, a busy
	// process would close and reopen connections on every burst.
	sqlDB.SetMaxIdleConns(o.maxOpenConns)
	sqlDB.SetConnMaxIdleTime(defaultConnMaxIdleTime)
	sqlDB.SetConnMaxLifetime(defaultConnMaxLifetime)
	return db, nil
}

// buildOptions applies opts.
func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	return o
}

// connConfig parses dsn and applies the timeouts of o: the configuration
// of every connection this package opens, the pool's and the order-event
// listener's alike.
func connConfig(dsn string, o options) (*pgx.ConnConfig, error) {
	if dsn == "" {
		return nil, errors.New("persistence: the database URL is empty")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message shows the connection string with its password
		// hidden.
		return nil, fmt.Errorf("persistence: the database URL is not valid: %w", err)
	}
	applyTimeouts(cfg, o)
	return cfg, nil
}

// applyTimeouts sets the statement and connect timeouts of o on cfg where
// the connection string did not set them.
func applyTimeouts(cfg *pgx.ConnConfig, o options) {
	if o.connectTimeout > 0 && cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = o.connectTimeout
	}
	if o.statementTimeout > 0 && !setsStatementTimeout(cfg.RuntimeParams) {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(o.statementTimeout.Milliseconds(), 1), 10)
	}
}

// setsStatementTimeout reports whether the connection's run-time
// parameters set statement_timeout, directly or through options
// ("-c statement_timeout=…").
func setsStatementTimeout(params map[string]string) bool {
	if _, ok := params["statement_timeout"]; ok {
		return true
	}
	return strings.Contains(params["options"], "statement_timeout")
}

func ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return storeError("connecting to the database", err)
	}
	return nil
}
