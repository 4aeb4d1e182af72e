package persistence

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/talkturo/phonenumbers/domain"
)

// storeError prepares a database failure for the caller: domain errors pass
// through, an unreachable or overloaded database becomes KindUnavailable
// (so the API answers 503 and workflows retry instead of reporting a bug),
// and anything else is wrapped with the operation for the logs.
func storeError(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	wrapped := fmt.Errorf("persistence: %s: %w", op, err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return wrapped
	}
	if databaseUnavailable(err) {
		return &domain.Error{
			Kind:    domain.KindUnavailable,
			Code:    domain.CodeServiceUnavailable,
			Message: "The database is unavailable; try again shortly.",
			Err:     wrapped,
		}
	}
	return wrapped
}

// databaseUnavailable reports whether err says the database cannot be
// reached or cannot take work right now, as opposed to refusing a query.
func databaseUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 53: insufficient resources (too
		// many connections, disk full); 57P: the server is shutting down or
		// starting up.
		return strings.HasPrefix(pgErr.Code, "08") ||
			strings.HasPrefix(pgErr.Code, "53") ||
			strings.HasPrefix(pgErr.Code, "57P")
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
}
