// Package telnyxsim is an in-memory simulator of the Telnyx v2 API, for
// tests and for the development stack. It speaks the wire format of
// shared/TELNYX.md: mount it at the root of a server and point a client's
// base URL at "<server>/v2".
//
// # Telnyx routes (bearer token required)
//
//	GET    /v2/available_phone_numbers  search the inventory (deepObject filter[...] parameters)
//	POST   /v2/number_orders            order numbers
//	GET    /v2/number_orders            list orders; filter[customer_reference], filter[status], page[...]
//	GET    /v2/number_orders/{id}       one order
//	GET    /v2/phone_numbers            owned numbers; filter[phone_number|status|customer_reference|connection_id], page[...]
//	GET    /v2/phone_numbers/{id}       one owned number
//	DELETE /v2/phone_numbers/{id}       release a number; it returns to the inventory
//
// The inventory is generated, not stored: the numbers on sale for a country,
// area code, type and pattern derive from a hash of the query and the seed,
// so a search repeats itself until something is bought or sold. Numbers are
// valid in libphonenumber's plan for their country. The simulator sells any
// valid number that is not owned or sold, where Telnyx sells only what a
// recent search offered.
//
// Orders stay pending for the order latency and settle lazily, whenever
// the state is next read: to success, or to failure when the number was
// sold to someone else meanwhile. Errors use Telnyx's envelope
// {"errors":[{"code","title","detail","source"}]}; the codes are listed with
// the Code constants.
//
// # Faults
//
// Faults (set in Options, by SetFaults, or over the admin API) add latency,
// answer a share of requests 429 or 500/503 before doing anything, let a
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
//
// The last three plant drift between the account and Talkturo's database,
// which reconciliation must find (see AddOwned, Forget and Backdate).
package telnyxsim
