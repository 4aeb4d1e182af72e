// Package direct does a number purchase's work without Temporal: the
// activities of PhoneNumberWorkflow called in sequence, in one goroutine,
// against the same stores and provider. It is the baseline that `make
// bench` and cmd/loadtest measure the workflow against, so that Temporal's
// overhead is a ratio of two measurements of the same work. It has none of
// the workflow's guarantees (no retries, no undo, no durable timer) and is
// never used to sell numbers.
package direct
