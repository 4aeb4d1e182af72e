package domain

import (
	"errors"
	"fmt"
)

// Kind classifies an Error by what the caller can do about it. The API maps
// each kind to one HTTP status in one place; workflows map kinds to retryable
// or not.
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

// Error codes that clients branch on. They are part of the public API.
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
)

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
