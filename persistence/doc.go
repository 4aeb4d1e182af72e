// Package persistence stores the domain in PostgreSQL through GORM: the
// versioned schema migrations, the connection pool, and the repositories
// that implement the domain's store ports (accounts, assistants, phone
// numbers, idempotency keys, a purchase's steps as single transactions),
// the plan-slot reservations that keep a team within its plan under any
// concurrency, and order events carried between processes by LISTEN and
// NOTIFY.
//
// Every constructor works without fx (tests call them directly); Module
// wires them into an fx application.
package persistence
