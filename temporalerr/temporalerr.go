// Package temporalerr is where errors cross the Temporal boundary, both
// ways: the one place that makes Temporal application errors (an
// activity's failure, an update's rejection, a workflow's failure) and
// reads them back into domain errors.
//
// An application error's type is a domain error code (domain.Codes: its
// kind, and the public code an internal one is shown as, come from that
// registry), its message the domain error's message and its details the
// domain error's details. Every application error made here is
// non-retryable except TypeRetryAsActivity. The types, messages and
// details are part of the workflows' recorded histories: changing one
// breaks their replay and the running workflows.
package temporalerr

import (
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/talkturo/phonenumbers/domain"
)

// TypeRetryAsActivity ends a local activity that needs the durable
// retries of a regular one (a refused retried order, whose look-ups are
// counted in heartbeats, which local activities do not have): the local
// options do not retry it, and the workflow runs the step again as an
// activity. It never leaves the workflow, so it is no domain code: read
// back, it is an internal error.
const TypeRetryAsActivity = "retry_as_activity"

// UnknownType is Type's answer for an error that holds no application
// error (a timeout, a cancellation): what a number's state and record say
// of such a failure.
const UnknownType = "internal"

// NonRetryableTypes returns the error types no retry policy retries, in
// the same order each time: every public code of a kind retrying cannot
// fix and every internal code (each names a final refusal). The slice is
// the caller's own.
func NonRetryableTypes() []string { return slices.Clone(nonRetryableTypes) }

var nonRetryableTypes = func() []string {
	var types []string
	for _, c := range domain.Codes() {
		if finalKind(c.Kind) || !c.IsPublic() {
			types = append(types, c.Code)
		}
	}
	return types
}()

// finalKind reports whether retrying cannot fix an error of kind k: an
// activity failing with one fails for good.
func finalKind(k domain.Kind) bool {
	switch k {
	case domain.KindLimit, domain.KindConflict, domain.KindNotFound, domain.KindInvalid, domain.KindUnprocessable:
		return true
	}
	return false
}

// New is the non-retryable application error that carries de across
// Temporal: typed with its code, with its message and (when it has some)
// its details. cause travels with it into the history and logs, never to
// clients.
func New(de *domain.Error, cause error) error {
	if len(de.Details) > 0 {
		return temporal.NewNonRetryableApplicationError(de.Message, de.Code, cause, de.Details)
	}
	return temporal.NewNonRetryableApplicationError(de.Message, de.Code, cause)
}

// Errorf is New for an error of code whose message is format with args,
// without a cause: how a workflow rejects an update or fails a step.
func Errorf(code, format string, args ...any) error {
	return New(&domain.Error{Code: code, Message: fmt.Sprintf(format, args...)}, nil)
}

// Restore makes again the error a run carried to the next (its type and
// message), for the next run to answer with as the first did. cancelled
// says the error was the workflow's cancellation, which holds no
// application error (its type is UnknownType): it comes back as a
// cancellation, so that a caller reads it as passing (Decode), as it did
// in the run before, not as an internal error.
func Restore(typ, message string, cancelled bool) error {
	if cancelled {
		return temporal.NewCanceledErrorWithOptions(temporal.CanceledErrorOptions{Message: message})
	}
	return temporal.NewNonRetryableApplicationError(message, typ, nil)
}

// RetryAsActivity is the TypeRetryAsActivity error with message: retryable,
// so that the regular activity's retry policy retries it.
func RetryAsActivity(message string) error {
	return temporal.NewApplicationError(message, TypeRetryAsActivity)
}

// ActivityError is the error an activity returns for err. A domain error
// that retrying cannot fix becomes a non-retryable application error
// typed with its code (its details, such as the eligibility, kept); a
// provider's final refusal becomes CodeProviderRejected; an application
// error stays as it is. Anything else stays retryable.
func ActivityError(err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		if finalKind(de.Kind) {
			// The details go along even when there are none (a null
			// payload), as they always have.
			return temporal.NewNonRetryableApplicationError(de.Message, de.Code, nil, de.Details)
		}
		return err
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return err
	}
	var pe *domain.ProviderError
	if errors.As(err, &pe) && !pe.Retryable() {
		if pe.HTTPStatus == 401 || pe.HTTPStatus == 403 {
			// Our credentials, not the request: retried until an operator
			// fixes TELNYX_API_KEY, rather than failing every purchase.
			return err
		}
		return New(&domain.Error{Kind: domain.KindProviderFailed, Code: domain.CodeProviderRejected, Message: "The phone number provider refused the request."}, err)
	}
	return err
}

// Answer is the error a workflow answers an update (or fails) with for an
// activity's failure err: the application error inside it, non-retryable,
// with its type, message and details, rather than "activity error". An
// error that holds none stays as it is.
func Answer(err error) error {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		var details map[string]any
		opts := temporal.ApplicationErrorOptions{NonRetryable: true}
		if ae.HasDetails() && ae.Details(&details) == nil {
			opts.Details = []any{details}
		}
		return temporal.NewApplicationErrorWithOptions(ae.Message(), ae.Type(), opts)
	}
	return err
}

// Type is the type of the application error err holds, UnknownType when
// it holds none.
func Type(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return UnknownType
}

// Message is the message of the application error err holds, err's own
// text when it holds none.
func Message(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Message()
	}
	return err.Error()
}

// Final reports whether err holds an application error marked
// non-retryable: no retry policy retries it.
func Final(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.NonRetryable()
}

// Retryable reports whether policy retries err, as Temporal decides it:
// anything but an application error that is marked non-retryable or whose
// type the policy names.
func Retryable(err error, policy *temporal.RetryPolicy) bool {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return !ae.NonRetryable() && !slices.Contains(policy.NonRetryableErrorTypes, ae.Type())
	}
	return true
}

// Decode turns what a Temporal call returned into a domain error: an
// application error by its type, with the kind and public code the
// registry gives it (a type it does not know is an internal error, its
// cause logged); Temporal being unreachable, overloaded, too slow or
// cancelled as KindUnavailable. Any other error is returned as it is, for
// the caller to classify (a context deadline is the API's
// service_unavailable).
func Decode(err error) error {
	if err == nil {
		return nil
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		info, ok := domain.LookupCode(ae.Type())
		if !ok || info.Kind == domain.KindInternal {
			return domain.Internal(err)
		}
		de := &domain.Error{Kind: info.Kind, Code: info.Public, Message: ae.Message(), Err: err}
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
