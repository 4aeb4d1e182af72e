package persistence

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
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
	if errors.Is(err, context.Canceled) {
		// The caller gave up (a worker stopping): not the database's fault.
		return wrapped
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// The caller's deadline ran out waiting for a connection of a
		// full pool, for a server that does not answer, or for a slow
		// statement: the database cannot serve now. Err keeps the
		// deadline visible to errors.Is.
		return &domain.Error{
			Kind:    domain.KindUnavailable,
			Code:    domain.CodeServiceUnavailable,
			Message: "The database did not answer in time; try again shortly.",
			Err:     wrapped,
		}
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
		// starting up; 57014: a statement cancelled (statement_timeout, or
		// an operator's pg_cancel_backend); 55P03: lock_timeout ran out.
		return strings.HasPrefix(pgErr.Code, "08") ||
			strings.HasPrefix(pgErr.Code, "53") ||
			strings.HasPrefix(pgErr.Code, "57P") ||
			pgErr.Code == "57014" ||
			pgErr.Code == "55P03"
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	// A connection the server (or the network) closed under a query ends
	// in an EOF, not a net.Error.
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
