package domain

import (
	"context"
	"fmt"
	"time"
)

// ProviderName is the telephony provider numbers are bought from.
const ProviderName = "telnyx"

// OrderStatus is the state of a number order at the provider.
type OrderStatus string

// Order states, as Telnyx names them.
const (
	OrderPending OrderStatus = "pending"
	OrderSuccess OrderStatus = "success"
	OrderFailure OrderStatus = "failure"
	// OrderCancelled: the customer cancelled the (sub-)order, or Telnyx
	// did when its requirements deadline passed.
	OrderCancelled OrderStatus = "cancelled"
)

// OrderRequest asks the provider to buy one number. CustomerReference is
// unique to the purchase: it is how a retried order is found instead of
// being placed twice.
type OrderRequest struct {
	PhoneNumber       string
	ConnectionID      string
	CustomerReference string
	// RequirementGroupID names a requirement group (the customer's
	// documents) for the number; some countries refuse an order without
	// a fulfilled one.
	RequirementGroupID string
}

// Order is a number order at the provider.
type Order struct {
	ID                string
	Status            OrderStatus
	CustomerReference string
	ConnectionID      string
	RequirementsMet   bool
	SubNumberOrderIDs []string
	Numbers           []OrderedNumber
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// OrderedNumber is one number inside an order; its status can settle before
// the order's.
type OrderedNumber struct {
	ID          string
	PhoneNumber string
	Status      OrderStatus
	// RequirementsMet, RequirementsStatus, Requirements and Deadline say
	// what a regulated number waits on; an unregulated one has its
	// requirements met and none listed.
	RequirementsMet    bool
	RequirementsStatus RequirementsStatus
	Requirements       []RegulatoryRequirement
	// Deadline is when Telnyx cancels the order if its requirements are
	// still unmet; nil when none is set.
	Deadline *time.Time
}

// OwnedNumber is a number the provider account holds.
type OwnedNumber struct {
	ID                  string
	PhoneNumber         string
	Status              OwnedNumberStatus
	ConnectionID        string
	CustomerReference   string
	DeletionLockEnabled bool
	CreatedAt           time.Time
}

// OwnedNumberFilter narrows a listing of owned numbers.
type OwnedNumberFilter struct {
	// PhoneNumber is in E.164; the client sends Telnyx its digits, since
	// Telnyx matches nothing for a filter with any other character.
	PhoneNumber       string
	Status            OwnedNumberStatus
	CustomerReference string
	PageNumber        int
	PageSize          int
}

// NumberProvider is the port to the telephony provider (Telnyx). Every
// method returns a *ProviderError when the provider fails, so callers can
// tell what is worth retrying.
type NumberProvider interface {
	SearchAvailable(ctx context.Context, f SearchFilter) ([]AvailableNumber, error)
	CreateOrder(ctx context.Context, req OrderRequest) (Order, error)
	GetOrder(ctx context.Context, id string) (Order, error)
	FindOrdersByCustomerReference(ctx context.Context, ref string) ([]Order, error)
	ListOwnedNumbers(ctx context.Context, f OwnedNumberFilter) ([]OwnedNumber, error)
	// GetOwnedNumber reads one owned number by the provider's id (the id
	// ListOwnedNumbers returns); a *ProviderError with NotFound when the
	// account does not hold it.
	GetOwnedNumber(ctx context.Context, id string) (OwnedNumber, error)
	// CancelSubNumberOrder cancels a pending sub-order (a regulated order
	// whose requirements deadline passed). Cancelling one that is no
	// longer pending is not an error.
	CancelSubNumberOrder(ctx context.Context, id string) error
	// AttachRequirementGroup supplies a requirement group (the customer's
	// documents) to a pending sub-order that waits on them. Attaching the
	// same group again is not an error.
	AttachRequirementGroup(ctx context.Context, subNumberOrderID, groupID string) error
	// ReleaseNumber releases a held number. Releasing one that is already
	// released or unknown is not an error.
	ReleaseNumber(ctx context.Context, id string) error
	// Ping checks that the provider answers and accepts our credentials.
	Ping(ctx context.Context) error
}

// ProviderErrorClass says what went wrong at the provider.
type ProviderErrorClass int

// Classes of provider failure.
const (
	ProviderRejected    ProviderErrorClass = iota // 4xx other than 429: not worth retrying
	ProviderRateLimited                           // 429
	ProviderServerError                           // 5xx, or a body we cannot read
	ProviderTimeout                               // no answer in time
	ProviderUnreachable                           // connection refused, DNS, reset
)

// ProviderError is a failure of a provider call. It never carries the API
// key. Code is the provider's own error code (Telnyx sends strings such as
// "10011"), Pointer the JSON pointer of the field at fault when it says so.
type ProviderError struct {
	Op         string
	Class      ProviderErrorClass
	HTTPStatus int
	Code       string
	Title      string
	Detail     string
	Pointer    string
	RetryAfter time.Duration
	Err        error
}

func (e *ProviderError) Error() string {
	msg := fmt.Sprintf("telnyx %s: ", e.Op)
	if e.HTTPStatus != 0 {
		msg += fmt.Sprintf("HTTP %d", e.HTTPStatus)
	}
	if e.Code != "" {
		msg += " code " + e.Code
	}
	if e.Title != "" {
		msg += " " + e.Title
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ProviderError) Unwrap() error { return e.Err }

// Retryable reports whether the same call may succeed later.
func (e *ProviderError) Retryable() bool { return e.Class != ProviderRejected }

// NotFound reports whether the provider said the thing does not exist.
func (e *ProviderError) NotFound() bool { return e.HTTPStatus == 404 }

// AsDomainError turns a provider failure into the error clients see: the
// kind tells the API which status to answer (502, 503 or 504).
func (e *ProviderError) AsDomainError() *Error {
	switch e.Class {
	case ProviderRateLimited:
		return &Error{Kind: KindProviderRateLimited, Code: CodeProviderUnavailable, Message: "The phone number provider is rate-limiting requests; try again shortly.", Err: e}
	case ProviderTimeout:
		return &Error{Kind: KindProviderTimeout, Code: CodeProviderUnavailable, Message: "The phone number provider did not answer in time; try again.", Err: e}
	default:
		return &Error{Kind: KindProviderFailed, Code: CodeProviderUnavailable, Message: "The phone number provider failed to answer; try again.", Err: e}
	}
}
