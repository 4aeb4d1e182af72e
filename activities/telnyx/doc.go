// Package telnyx is the project's client for the Telnyx v2 API: the adapter
// behind domain.NumberProvider. It covers only the calls the product needs
// (search, order, order look-up, owned numbers, release, ping) and speaks
// the wire format described in shared/TELNYX.md.
//
// Every failure is a *domain.ProviderError whose Class tells callers whether
// the call is worth repeating. The client itself repeats idempotent calls
// (GET and DELETE) on rate limits, server errors, timeouts and connection
// errors, with capped exponential backoff that never sleeps past the
// caller's deadline. It never repeats CreateOrder: a repeated POST could buy
// the number twice, so the caller looks the order up by its
// customer_reference before trying again.
//
// The API key is sent only in the Authorization header and never appears in
// an error or a log line.
package telnyx
