// Package telnyx is the project's client for the Telnyx v2 API: the adapter
// behind domain.NumberProvider. It covers only the calls the product needs
// (search, order, order look-up, sub-order cancel and requirement group,
// owned numbers, release, ping) and speaks the wire format described in
// shared/TELNYX.md, which testdata/telnyx-schema.json restates and the
// conformance test enforces on every request the client really sends.
//
// Where Telnyx is particular, the client follows it:
//   - filter[phone_number] on GET /phone_numbers carries the E.164
//     number's digits only: Telnyx matches nothing for a "+".
//   - Search features go as one comma-separated filter[features], and
//     starts-with patterns lose the country code (and a repeated area
//     code), since Telnyx matches patterns against the national number
//     (after the area code when one is given); a pattern that is only
//     the area code is not sent at all.
//   - Owned-number statuses and requirements statuses are spelt with
//     hyphens whichever spelling Telnyx sent.
//   - An order list shows numbers without their status, so
//     FindOrdersByCustomerReference reads each order found by id.
//   - Nothing branches on Telnyx error codes, which Telnyx does not
//     document for a deletion lock or an unavailable number: callers
//     branch on the HTTP status (ProviderError.Class, NotFound) and on a
//     follow-up read, such as GetOwnedNumber's DeletionLockEnabled.
//
// Every failure is a *domain.ProviderError whose Class tells callers whether
// the call is worth repeating. The client itself repeats idempotent calls
// (GET, DELETE, the sub-order cancel and the requirement group) on rate
// limits, server errors, timeouts and connection errors, with capped
// exponential backoff, at least the wait x-ratelimit-reset (or a
// retry-after, when Telnyx sends one) asks for, that never sleeps past the
// caller's deadline. It never repeats CreateOrder: a
// repeated POST could buy the number twice, so the caller looks the order
// up by its customer_reference before trying again.
//
// The API key is sent only in the Authorization header and never appears in
// an error or a log line.
package telnyx
