package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/talkturo/phonenumbers/domain"
)

// Error types that end a purchase: retrying cannot fix them. They are the
// domain's error codes, so the API can answer with the same code.
const (
	ErrTypeDeletionLocked   = "deletion_locked"
	ErrTypeProviderRejected = "provider_rejected"
	// ErrTypeReleaseRefused: the provider refused to release a number it
	// still holds, without a deletion lock on it (another 4xx). Retrying
	// the same call at once will not help; the workflows' own durable
	// retries (the release loop, the undo's back-off) try again later and
	// operators see it, as with a lock.
	ErrTypeReleaseRefused = "release_refused"
)

// ErrTypeRetryAsActivity ends a local activity that needs the durable
// retries of a regular one (a refused retried order, whose look-ups are
// counted in heartbeats, which local activities do not have): the local
// options do not retry it, and the workflow runs the step again as an
// activity (localFirst).
const ErrTypeRetryAsActivity = "retry_as_activity"

// NonRetryableTypes are the error types no retry policy retries.
var NonRetryableTypes = []string{
	domain.CodePlanLimitReached,
	domain.CodeNumberUnavailable,
	domain.CodeAlreadyOwned,
	domain.CodeNumberInPurchase,
	domain.CodeNotFound,
	domain.CodeInvalidRequest,
	ErrTypeDeletionLocked,
	ErrTypeProviderRejected,
	ErrTypeReleaseRefused,
	domain.CodeRequirementsDeadlinePassed,
	"reservation_released",
}

// temporalError turns a domain error that retrying cannot fix into a
// non-retryable application error whose type is the domain code and whose
// details carry the domain details (for example the eligibility). Other
// errors stay retryable.
func temporalError(err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		switch de.Kind {
		case domain.KindLimit, domain.KindConflict, domain.KindNotFound, domain.KindInvalid, domain.KindUnprocessable:
			return temporal.NewNonRetryableApplicationError(de.Message, de.Code, nil, de.Details)
		}
		return err
	}
	var pe *domain.ProviderError
	if errors.As(err, &pe) && !pe.Retryable() {
		if pe.HTTPStatus == 401 || pe.HTTPStatus == 403 {
			// Our credentials, not the request: retried until an operator
			// fixes TELNYX_API_KEY, rather than failing every purchase.
			return err
		}
		return temporal.NewNonRetryableApplicationError("The phone number provider refused the request.", ErrTypeProviderRejected, err)
	}
	return err
}
