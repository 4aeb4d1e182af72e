// Package telnyxsim is an in-memory simulator of the Telnyx v2 API, for
// tests and for the development stack. It speaks the wire format of
// shared/TELNYX.md and is meant to be at least as strict as Telnyx: a
// client that passes against it must not fail against Telnyx for a reason
// Telnyx documents. Mount it at the root of a server and point a client's
// base URL at "<server>/v2". activities/telnyx/testdata/telnyx-schema.json
// describes its answers; the client package's conformance test holds them
// to it.
//
// # Telnyx routes (bearer token required)
//
//	GET    /v2/available_phone_numbers       search the inventory (deepObject filter[...] parameters)
//	POST   /v2/number_orders                 order numbers
//	GET    /v2/number_orders                 list orders; filter[customer_reference], filter[status], page[...]
//	GET    /v2/number_orders/{id}            one order, numbers in full
//	GET    /v2/sub_number_orders/{id}        one sub-order
//	PATCH  /v2/sub_number_orders/{id}        {"regulatory_requirements": [{"requirement_id", "field_value"}]}
//	POST   /v2/sub_number_orders/{id}/requirement_group   {"requirement_group_id": "…"}
//	PATCH  /v2/sub_number_orders/{id}/cancel cancel a pending sub-order
//	GET    /v2/phone_numbers                 owned numbers; filter[phone_number|status|customer_reference|connection_id], page[...]
//	GET    /v2/phone_numbers/{id}            one owned number
//	DELETE /v2/phone_numbers/{id}            release a number; it returns to the inventory
//
// # Where it is as strict as Telnyx
//
//   - filter[phone_number] on /v2/phone_numbers is digits only: any other
//     character (a "+"), or fewer than three digits, matches nothing (an
//     empty page, not an error). Digits match anywhere in the E.164
//     number's digits.
//   - Search patterns (filter[phone_number][starts_with|contains|ends_with])
//     are digits only, matched against the national number, never the
//     country code; with filter[national_destination_code], starts_with
//     names what follows the area code. A "+" is refused with 422.
//     filter[features] is one comma-separated value, as Telnyx's SDK sends
//     it. Any query parameter the search does not document (the old
//     filter[features][] spelling among them) is refused with 400 and
//     source.parameter: Telnyx may ignore it, but then a client's
//     misspelt filter would pass every test unnoticed.
//   - Only a number a search offered within Options.SearchTTL (default an
//     hour) can be ordered; any other is refused with 422 and a
//     source.pointer naming the number. Tests that pick a number without
//     searching call SearchFor, which runs that same search.
//   - Owned-number records carry every field PhoneNumberDetailed requires
//     (id, record_type, phone_number, country_iso_alpha2, status, tags,
//     external_pin, created_at, phone_number_type, purchased_at,
//     deletion_lock_enabled), unset optional ids as null. filter[status]
//     takes hyphens or underscores.
//   - GET /v2/number_orders lists each order's numbers as {id,
//     phone_number} only; the order by id (and the answer to POST) shows
//     each number's status, requirements_met, requirements_status,
//     regulatory_requirements (objects) and deadline.
//   - Error codes are only those Telnyx publishes (see the Code
//     constants): a number no longer available and a deletion lock both get
//     the generic 10015, as Telnyx documents no code of their own.
//
// # Orders
//
// Each order has one sub-order per country and number type
// (sub_number_orders_ids). A North American number stays pending for the
// order latency (owned status purchase-pending), then succeeds, or fails
// when the number was sold to someone else meanwhile.
//
// Every number outside North America is regulated: it carries an address
// requirement, and its order stays pending with requirements_status
// requirement-info-pending (owned status requirement-info-pending, held by
// the account) and a deadline of Options.RequirementsDeadline (default 72
// hours). Documents arrive with POST .../requirement_group or a PATCH of
// the sub-order; the number goes requirement-info-under-review (owned
// likewise) and is approved, and bought, after the order latency. An order
// naming a per-number requirement_group_id starts under review. In CH, DK,
// IT, NO, PT and SE an order without one is refused with 422
// (source.pointer /phone_numbers/{i}/requirement_group_id). When the
// deadline passes first, the number is cancelled: the sub-order (and an
// order wholly cancelled) reads cancelled, the number's requirements_status
// cancelled and its status failure, its owned record deleted, and the
// number is back in the inventory. Cancelling a pending sub-order does the
// same at once; cancelling it again answers 200 with the cancelled
// sub-order, and cancelling one that succeeded or failed is refused with
// 422 (read the sub-order to see why).
//
// A regulated number that is approved and bought reads success in its
// order (and the order success) at once, but its owned record is
// provision-pending, held and billed, for one more order latency before it
// turns active: Telnyx's order status tells of the purchase, the number's
// status of its provisioning, and a client must not take the one for the
// other. Options.ProvisionEveryOrder does the same for every number.
// SetOwnedStatus plants any of the 13 owned statuses on a held number.
//
// Orders settle lazily, whenever the state is next read, so that tests can
// move an injected Clock instead of sleeping.
//
// # Webhooks
//
// With Options.WebhookURL set, the simulator also settles orders in the
// background (every few milliseconds, by its Clock) and posts a
// number_order.complete event each time an order settles (success,
// failure or cancelled): {"data": {"event_type", "id", "occurred_at",
// "payload": order, "record_type": "event"}, "meta": {"attempt",
// "delivered_to"}}, signed as Telnyx signs: telnyx-timestamp (unix seconds,
// by the simulator's Clock) and telnyx-signature-ed25519, the base64
// Ed25519 signature by Options.WebhookKey of "{timestamp}|{raw body}".
// Deliveries run one at a time outside the simulator's lock; an answer
// other than 2xx is retried up to Options.WebhookAttempts times with
// doubling back-off from Options.WebhookBackoff. With
// Options.WebhookDuplicates every event is delivered twice (same id), so
// that a receiver's dedupe can be tested. Close stops it all.
//
// # Faults
//
// Faults (set in Options, by SetFaults, or over the admin API) add latency,
// answer a share of requests 429 (with x-ratelimit-limit, -remaining and
// -reset: 1, the headers Telnyx documents; retry-after: 1 only with
// RateLimitRetryAfter) or 500/503 before doing anything, let a
// share hang after doing the work (so an order may exist although its
// client timed out, which is what customer_reference look-ups are for), and
// make a share of orders find their number sold to someone else.
//
// # Admin routes (no authentication, no faults)
//
//	GET  /_sim/faults              the faults in force (durations as "200ms")
//	PUT  /_sim/faults              replace them
//	POST /_sim/sell                {"phone_number": "+1…"}: sold to someone else
//	POST /_sim/deletion_lock       {"phone_number": "+1…", "enabled": true}
//	GET  /_sim/orders?customer_reference=…   {"count": N}
//	GET  /_sim/state               orders, owned numbers, faults
//	POST /_sim/owned               {"phone_number": "+1…", "created_at": "…"}: bought outside Talkturo
//	POST /_sim/forget              {"phone_number": "+1…"}: released outside Talkturo
//	POST /_sim/backdate            {"phone_number": "+1…", "created_at": "…"}: ordered back then
//	POST /_sim/owned_status        {"phone_number": "+1…", "status": "emergency-only"}: see SetOwnedStatus
//
// The last three plant drift between the account and Talkturo's database,
// which reconciliation must find (see AddOwned, Forget and Backdate).
package telnyxsim
