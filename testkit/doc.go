// Package testkit holds the helpers that tests of every package share: a
// log buffer goroutines may write to together, loggers on it and on the
// test's own log, a clock the test moves by hand, and local ports and
// servers that close when the test ends.
//
// It imports nothing of this module, so that any package's internal tests
// may use it; the helpers that start the application's real parts
// (PostgreSQL, the Telnyx simulator, the activities) are in
// testkit/backend.
package testkit
