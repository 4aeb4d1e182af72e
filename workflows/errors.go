package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
)

// kindOfCode maps the error types that cross the workflow boundary back to
// domain kinds, so a client sees the same error the activity raised.
var kindOfCode = map[string]domain.Kind{
	domain.CodePlanLimitReached:        domain.KindLimit,
	domain.CodeNumberUnavailable:       domain.KindConflict,
	domain.CodeAlreadyOwned:            domain.KindConflict,
	domain.CodeNumberInPurchase:        domain.KindConflict,
	domain.CodeNotFound:                domain.KindNotFound,
	domain.CodeInvalidRequest:          domain.KindInvalid,
	activities.ErrTypeProviderRejected: domain.KindProviderFailed,
	activities.ErrTypeDeletionLocked:   domain.KindConflict,
	activities.ErrTypeReleaseRefused:   domain.KindConflict,
	// A conflict (409), like number_unavailable: the request was valid,
	// the number cannot be had as asked, and the answer is final — not a
	// provider failure (5xx) a client would retry, nor a malformed
	// request (4xx invalid). The code tells the team to supply documents
	// and buy again.
	domain.CodeRequirementsDeadlinePassed: domain.KindConflict,
	ErrTypePurchaseReleased:               domain.KindConflict,
	// Not an error the API shows: NumberService.Purchase answers it as a
	// pending purchase.
	ErrTypeAwaitingDocuments: domain.KindConflict,
}

// appError is how the workflow fails an update with a domain error.
func appError(code, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), code, nil)
}

// ToDomainError turns what a Temporal call returned into a domain error:
// application errors by their type, Temporal being unreachable as
// KindUnavailable, anything else unchanged.
func ToDomainError(err error) error {
	if err == nil {
		return nil
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		kind, ok := kindOfCode[ae.Type()]
		if !ok {
			// One of our own conflicts that has no mapping of its own: its
			// message is a sentence for people, its type a code.
			kind = domain.KindConflict
		}
		de := &domain.Error{Kind: kind, Code: ae.Type(), Message: ae.Message(), Err: err}
		if ae.Type() == activities.ErrTypeProviderRejected {
			de.Code = domain.CodeProviderUnavailable
		}
		if ae.Type() == activities.ErrTypeDeletionLocked || ae.Type() == activities.ErrTypeReleaseRefused {
			de.Code = "release_blocked"
		}
		var details map[string]any
		if ae.HasDetails() && ae.Details(&details) == nil && len(details) > 0 {
			de.Details = details
		}
		return de
	}
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	var exhausted *serviceerror.ResourceExhausted
	var canceled *temporal.CanceledError
	if errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.As(err, &exhausted) || errors.As(err, &canceled) {
		return &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable, Message: "The workflow engine is unavailable; try again shortly.", Err: err}
	}
	var notReady *serviceerror.WorkflowNotReady
	if errors.As(err, &notReady) {
		// Temporal refuses updates and queries while the workflow's task
		// keeps failing: workers lost in the middle of it (its local
		// activities run again from the start on the next one). Passing.
		return &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable, Message: "The number's workflow is recovering from a lost worker; try again shortly.", Err: err}
	}
	return err
}
