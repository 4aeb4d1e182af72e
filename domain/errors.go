package domain

import (
	"errors"
	"fmt"
	"slices"
)

// Kind classifies an Error by what the caller can do about it. The API maps
// each kind to one HTTP status in one place; package temporalerr decides by
// kind whether an activity failing with it is retried.
type Kind int

// The kinds of Error.
const (
	KindInternal            Kind = iota // a bug or an unexpected failure: never shown in detail
	KindInvalid                         // the request is malformed or fails validation
	KindUnauthorized                    // no or wrong credentials
	KindForbidden                       // authenticated, but not allowed
	KindNotFound                        // the thing does not exist (for this caller)
	KindConflict                        // the request conflicts with the current state
	KindLimit                           // the team's plan does not allow it
	KindUnprocessable                   // well-formed but semantically refused (e.g. idempotency key reuse)
	KindProviderFailed                  // the telephony provider failed or answered nonsense
	KindProviderRateLimited             // the telephony provider asked us to slow down
	KindProviderTimeout                 // the telephony provider did not answer in time
	KindUnavailable                     // one of our own dependencies is down (database, Temporal)
	KindUnsupportedEncoding             // the request body is in a content coding we do not accept
	KindRateLimited                     // the caller is over its rate limit: slow down, then retry
)

// Error codes that clients branch on. They are part of the public API:
// each is in the registry below, in README.md's error table and in
// api/openapi.json's ErrorDetail.code.
const (
	CodeInvalidRequest       = "invalid_request"
	CodeUnauthorized         = "unauthorized"
	CodeTeamAccessDenied     = "team_access_denied"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodePlanLimitReached     = "plan_limit_reached"
	CodeNumberUnavailable    = "number_unavailable"
	CodeAlreadyOwned         = "already_owned"
	CodeNumberInPurchase     = "number_in_purchase"
	CodeIdempotencyKeyReused = "idempotency_key_reused"
	CodeRateLimited          = "rate_limited"
	CodeProviderUnavailable  = "provider_unavailable"
	CodeServiceUnavailable   = "service_unavailable"
	CodeInternal             = "internal_error"
	CodeUnsupportedEncoding  = "unsupported_encoding"
	// CodeRequirementsDeadlinePassed: a regulated number's documents were
	// not supplied (or not accepted) before Telnyx's deadline, so its
	// order was cancelled and the purchase failed. A conflict with the
	// number's state, not a provider failure: retrying the same request
	// cannot succeed, a new purchase with a fulfilled requirement group
	// can.
	CodeRequirementsDeadlinePassed = "requirements_deadline_passed"
	// CodeNumberEnded: a released, expired or failed number was asked to
	// change; a number that has ended stays ended.
	CodeNumberEnded = "number_ended"
	// CodeReleaseBlocked: the provider refuses to release a number it
	// still holds (CodeDeletionLocked, CodeReleaseRefused); it stays held
	// until an operator or a later retry frees it.
	CodeReleaseBlocked = "release_blocked"
	// CodeReservationReleased: a purchase's plan slot was already released
	// (the purchase was undone), and a released slot is never taken again
	// under the same key.
	CodeReservationReleased = "reservation_released"
	// CodePurchaseReleased ends a purchase its team released (or billing
	// did) while it waited on documents: the order is cancelled and the
	// plan slot freed. It is also the record's failure_reason.
	CodePurchaseReleased = "purchase_released"
)

// Internal error codes: they cross the Temporal boundary (an activity's or
// a workflow's error type) but a client sees the public code each is
// registered with instead.
const (
	// CodeDeletionLocked: the provider refused to release the number
	// because of a deletion lock an operator must lift.
	CodeDeletionLocked = "deletion_locked"
	// CodeReleaseRefused: the provider refused to release a number it
	// still holds, without a deletion lock on it (another 4xx). Retrying
	// the same call at once will not help; the workflows' own durable
	// retries (the release loop, the undo's back-off) try again later and
	// operators see it, as with a lock.
	CodeReleaseRefused = "release_refused"
	// CodeProviderRejected: the provider refused a request for good (a 4xx
	// other than our credentials).
	CodeProviderRejected = "provider_rejected"
	// CodeAwaitingDocuments: the purchase update's validator refuses a new
	// join while the purchase waits on documents (a join would be held
	// open for days, and Temporal admits only 10 updates in flight per
	// run); the number service answers it as a pending purchase.
	CodeAwaitingDocuments = "awaiting_documents"
	// CodeNumberIDTaken and CodeProviderOrderMismatch are conflicts only
	// the workflows meet, each a bug that retrying cannot fix: a record id
	// reused for another purchase, and a second provider order for one
	// number.
	CodeNumberIDTaken         = "number_id_taken"
	CodeProviderOrderMismatch = "provider_order_mismatch"
)

// CodeInfo is what the registry knows of an error code.
type CodeInfo struct {
	Code string
	// Kind is the kind of an error with this code when it is read back
	// from Temporal; for an internal code, the kind of the code it is
	// shown as.
	Kind Kind
	// Public is the code clients see: Code itself for a public code.
	Public string
}

// IsPublic reports whether clients see the code itself.
func (c CodeInfo) IsPublic() bool { return c.Code == c.Public }

// publicCodes are the public codes with the kind an error of each has when
// it crosses Temporal. A code also made elsewhere with other kinds
// (provider_unavailable: also rate-limited or timed out) is listed with
// the kind it is read back with.
var publicCodes = []CodeInfo{
	{Code: CodeInvalidRequest, Kind: KindInvalid},
	{Code: CodeUnauthorized, Kind: KindUnauthorized},
	{Code: CodeTeamAccessDenied, Kind: KindForbidden},
	{Code: CodeNotFound, Kind: KindNotFound},
	{Code: CodeMethodNotAllowed, Kind: KindInvalid},
	{Code: CodePlanLimitReached, Kind: KindLimit},
	{Code: CodeNumberUnavailable, Kind: KindConflict},
	{Code: CodeAlreadyOwned, Kind: KindConflict},
	{Code: CodeNumberInPurchase, Kind: KindConflict},
	{Code: CodeNumberEnded, Kind: KindConflict},
	{Code: CodeReleaseBlocked, Kind: KindConflict},
	// A conflict (409), like number_unavailable: the request was valid,
	// the number cannot be had as asked, and the answer is final — not a
	// provider failure (5xx) a client would retry, nor a malformed
	// request (4xx invalid). The code tells the team to supply documents
	// and buy again.
	{Code: CodeRequirementsDeadlinePassed, Kind: KindConflict},
	{Code: CodeReservationReleased, Kind: KindConflict},
	{Code: CodePurchaseReleased, Kind: KindConflict},
	{Code: CodeUnsupportedEncoding, Kind: KindUnsupportedEncoding},
	{Code: CodeIdempotencyKeyReused, Kind: KindUnprocessable},
	{Code: CodeRateLimited, Kind: KindRateLimited},
	{Code: CodeProviderUnavailable, Kind: KindProviderFailed},
	{Code: CodeServiceUnavailable, Kind: KindUnavailable},
	{Code: CodeInternal, Kind: KindInternal},
}

// internalCodes are the internal codes with the public code each is shown
// as (and so its kind).
var internalCodes = []CodeInfo{
	{Code: CodeDeletionLocked, Public: CodeReleaseBlocked},
	{Code: CodeReleaseRefused, Public: CodeReleaseBlocked},
	{Code: CodeProviderRejected, Public: CodeProviderUnavailable},
	// Never shown: the number service answers it as a pending purchase
	// before reading it back; were it read back, the purchase is still
	// being bought.
	{Code: CodeAwaitingDocuments, Public: CodeNumberInPurchase},
	{Code: CodeNumberIDTaken, Public: CodeInternal},
	{Code: CodeProviderOrderMismatch, Public: CodeInternal},
}

// registry is every code, public ones first, in a fixed order.
var registry = func() []CodeInfo {
	kinds := map[string]Kind{}
	var all []CodeInfo
	for _, c := range publicCodes {
		c.Public = c.Code
		kinds[c.Code] = c.Kind
		all = append(all, c)
	}
	for _, c := range internalCodes {
		kind, ok := kinds[c.Public]
		if !ok {
			panic("domain: internal error code " + c.Code + " is shown as " + c.Public + ", which is not a public code")
		}
		c.Kind = kind
		all = append(all, c)
	}
	return all
}()

// Codes returns every registered error code, public and internal, public
// ones first, always in the same order.
func Codes() []CodeInfo { return slices.Clone(registry) }

// LookupCode returns the registry's entry of code; ok is false for a code
// the registry does not know.
func LookupCode(code string) (info CodeInfo, ok bool) {
	for _, c := range registry {
		if c.Code == code {
			return c, true
		}
	}
	return CodeInfo{}, false
}

// PublicCode is the code clients are shown for code: the code itself, the
// public code an internal one stands as, and CodeInternal for a code the
// registry does not know (a Go error type that crossed Temporal as an
// application error's type, say).
func PublicCode(code string) string {
	if info, ok := LookupCode(code); ok {
		return info.Public
	}
	return CodeInternal
}

// Error is the one error type of the product. Code is a stable snake_case
// string for clients, Message a human sentence safe to show, Field the
// request field at fault (if any) and Details extra JSON members of the
// error body (for example the eligibility on plan_limit_reached).
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Field   string
	Details map[string]any
	// Err is the underlying cause; it is logged, never shown to clients.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid returns a KindInvalid error naming the field at fault.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: CodeInvalidRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Errorf returns an Error of the given kind and code.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal is the answer to a fault of ours: err, its cause, is logged and
// never shown.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Code: CodeInternal, Message: "Something went wrong on our side; it has been logged.", Err: err}
}

// NumberInPurchase is the answer to a purchase of e164 while another team
// is buying it.
func NumberInPurchase(e164 string) *Error {
	return Errorf(KindConflict, CodeNumberInPurchase, "Another team is buying %s right now.", e164)
}

// NumberUnavailable is the answer to a purchase of e164 that cannot be
// had: the provider no longer has it, or another team holds it.
func NumberUnavailable(e164 string) *Error {
	return Errorf(KindConflict, CodeNumberUnavailable, "The number %s is no longer available; search again and pick another.", e164)
}

// AlreadyOwned is the answer to a purchase of e164 by the team that
// already holds it.
func AlreadyOwned(e164 string) *Error {
	return Errorf(KindConflict, CodeAlreadyOwned, "Your team already owns %s.", e164)
}

// RequirementsDeadlinePassed is the answer to a regulated purchase of e164
// whose documents were not supplied or accepted in time. Its wording is
// in the recorded histories (the workflow fails the wait with it).
func RequirementsDeadlinePassed(e164 string) *Error {
	return Errorf(KindConflict, CodeRequirementsDeadlinePassed, "The documents for %s were not supplied or accepted before the provider's deadline, so its order was cancelled; supply them in a requirement group and buy the number again.", e164)
}

// NumberStillBeingBought is the answer to a release of a number whose
// purchase is still under way.
func NumberStillBeingBought() *Error {
	return Errorf(KindConflict, CodeNumberInPurchase, "The number is still being bought; release it once it is active.")
}

// NumberNotHeld is the answer to a team that asks about a number it does
// not hold (another team's, or none): the same either way.
func NumberNotHeld() *Error {
	return Errorf(KindNotFound, CodeNotFound, "The team holds no such number.")
}

// Sentinel errors that repositories and services return; callers compare
// with errors.Is.
var (
	ErrNotFound     = &Error{Kind: KindNotFound, Code: CodeNotFound, Message: "The requested resource does not exist."}
	ErrUnauthorized = &Error{Kind: KindUnauthorized, Code: CodeUnauthorized, Message: "A valid API key is required: send it as 'Authorization: Bearer <token>'."}
	ErrTeamAccess   = &Error{Kind: KindForbidden, Code: CodeTeamAccessDenied, Message: "You are not a member of this team."}
)

// ErrUserExists is an operator's answer (admin bootstrap), never an HTTP
// one, so it carries no public error code.
var ErrUserExists = errors.New("a user with this email already exists")

// ErrorKind returns the kind of err, KindInternal when err is not an *Error.
func ErrorKind(err error) Kind {
	var de *Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return KindInternal
}
