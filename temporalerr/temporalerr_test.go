package temporalerr_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// cross sends err over the wire as Temporal does (a failure in a history
// or an update's outcome) and returns what the other side reads.
func cross(t *testing.T, err error) error {
	t.Helper()
	conv := temporal.GetDefaultFailureConverter()
	return conv.FailureToError(conv.ErrorToFailure(err))
}

// asActivityFailure is what a workflow reads when an activity failed with
// err: an activity error whose cause is err's failure.
func asActivityFailure(t *testing.T, err error) error {
	t.Helper()
	conv := temporal.GetDefaultFailureConverter()
	f := &failurepb.Failure{
		Message: "activity error",
		FailureInfo: &failurepb.Failure_ActivityFailureInfo{ActivityFailureInfo: &failurepb.ActivityFailureInfo{
			ActivityId: "1", ActivityType: nil, RetryState: enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE,
		}},
		Cause: conv.ErrorToFailure(err),
	}
	out := conv.FailureToError(f)
	var ae *temporal.ActivityError
	if !errors.As(out, &ae) {
		t.Fatalf("the activity failure reads back as %T, not an activity error", out)
	}
	return out
}

var details = map[string]any{"eligibility": map[string]any{"plan": "free", "canPurchase": false, "remaining": float64(0)}}

// wantDecoded checks that err, read back, is the domain error that code
// with message and details becomes on the client's side.
func wantDecoded(t *testing.T, err error, c domain.CodeInfo, message string, details map[string]any) {
	t.Helper()
	var de *domain.Error
	if !errors.As(temporalerr.Decode(err), &de) {
		t.Fatalf("%s: Decode(%v) is no domain error", c.Code, err)
	}
	if c.Kind == domain.KindInternal {
		if de.Kind != domain.KindInternal || de.Code != domain.CodeInternal || de.Message == message || de.Err == nil {
			t.Fatalf("%s: Decode = %+v, want an internal error that shows nothing of %q and keeps its cause", c.Code, de, message)
		}
		return
	}
	if de.Kind != c.Kind || de.Code != c.Public || de.Message != message || !reflect.DeepEqual(de.Details, details) || de.Err == nil {
		t.Fatalf("%s: Decode = %+v, want kind %v, code %s, message %q, details %v and its cause", c.Code, de, c.Kind, c.Public, message, details)
	}
}

// TestEveryRegisteredCodeCrossesTemporal: a domain error of each code
// keeps its kind, public code, message and details through the way a
// workflow rejects an update (New), and, when retrying cannot fix it,
// through an activity's failure unwrapped by the workflow (ActivityError,
// then Answer) too.
func TestEveryRegisteredCodeCrossesTemporal(t *testing.T) {
	codes := domain.Codes()
	if len(codes) == 0 {
		t.Fatal("domain registers no code")
	}
	for _, c := range codes {
		message := fmt.Sprintf("A sentence about %s.", c.Code)
		de := &domain.Error{Kind: c.Kind, Code: c.Code, Message: message, Details: details}

		rejected := cross(t, temporalerr.New(de, errors.New("the cause")))
		if !temporalerr.Final(rejected) || temporalerr.Type(rejected) != c.Code {
			t.Fatalf("%s: New crosses as %v (type %s), want a non-retryable error of its type", c.Code, rejected, temporalerr.Type(rejected))
		}
		wantDecoded(t, rejected, c, message, details)
		wantDecoded(t, cross(t, temporalerr.New(&domain.Error{Code: c.Code, Message: message}, nil)), c, message, nil)
		wantDecoded(t, cross(t, temporalerr.Errorf(c.Code, "A sentence about %s.", c.Code)), c, message, nil)

		failed := temporalerr.ActivityError(de)
		var ae *temporal.ApplicationError
		if !errors.As(failed, &ae) {
			// A kind retrying may fix stays a plain, retryable error.
			if failed != error(de) {
				t.Fatalf("%s: ActivityError = %v, want the domain error as it is", c.Code, failed)
			}
			continue
		}
		answer := cross(t, temporalerr.Answer(asActivityFailure(t, failed)))
		var activityErr *temporal.ActivityError
		if errors.As(answer, &activityErr) || !temporalerr.Final(answer) || temporalerr.Type(answer) != c.Code {
			t.Fatalf("%s: Answer crosses as %v, want the application error alone, non-retryable, of its type", c.Code, answer)
		}
		wantDecoded(t, answer, c, message, details)
		wantDecoded(t, cross(t, temporalerr.Answer(asActivityFailure(t, temporalerr.ActivityError(&domain.Error{Kind: c.Kind, Code: c.Code, Message: message})))), c, message, nil)
	}
}

// TestInternalCodesAreShownAsTheirPublicCode: what the API answers for the
// types only workers see.
func TestInternalCodesAreShownAsTheirPublicCode(t *testing.T) {
	for typ, want := range map[string]string{
		domain.CodeDeletionLocked:    domain.CodeReleaseBlocked,
		domain.CodeReleaseRefused:    domain.CodeReleaseBlocked,
		domain.CodeProviderRejected:  domain.CodeProviderUnavailable,
		domain.CodeAwaitingDocuments: domain.CodeNumberInPurchase,
		domain.CodeNumberIDTaken:     domain.CodeInternal,
	} {
		var de *domain.Error
		if !errors.As(temporalerr.Decode(cross(t, temporalerr.Errorf(typ, "refused"))), &de) || de.Code != want {
			t.Errorf("%s reads back as %v, want code %s", typ, de, want)
		}
	}
}

// TestUnknownTypeIsAnInternalError: a type the registry does not know is
// never guessed at: the client gets an internal error, the log its cause.
func TestUnknownTypeIsAnInternalError(t *testing.T) {
	for _, err := range []error{
		temporal.NewNonRetryableApplicationError("some sentence", "no_such_code", nil),
		temporal.NewApplicationError("the SDK's name for a Go error", "Error"),
		temporalerr.Restore(temporalerr.UnknownType, "canceled", false),
		temporalerr.RetryAsActivity("looking again as an activity"),
	} {
		got := temporalerr.Decode(cross(t, err))
		var de *domain.Error
		if !errors.As(got, &de) || de.Kind != domain.KindInternal || de.Code != domain.CodeInternal || de.Err == nil {
			t.Fatalf("Decode(%v) = %v, want an internal error keeping its cause", err, got)
		}
		if de.Message == temporalerr.Message(err) {
			t.Fatalf("Decode(%v) shows its message %q to the client", err, de.Message)
		}
	}
}

// TestTemporalUnreachableIsUnavailable: the service errors and the
// cancellation a Temporal call can return are passing: 503.
func TestTemporalUnreachableIsUnavailable(t *testing.T) {
	for _, err := range []error{
		serviceerror.NewUnavailable("connection refused"),
		serviceerror.NewDeadlineExceeded("context deadline exceeded"),
		serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, "too many requests"),
		serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to Workflow Task in failed state."),
		temporal.NewCanceledError(),
		fmt.Errorf("query: %w", serviceerror.NewUnavailable("connection refused")),
	} {
		got := temporalerr.Decode(err)
		var de *domain.Error
		if !errors.As(got, &de) || de.Kind != domain.KindUnavailable || de.Code != domain.CodeServiceUnavailable || !errors.Is(got, err) {
			t.Errorf("Decode(%T) = %v, want service_unavailable keeping its cause", err, got)
		}
	}
}

// TestOtherErrorsAreLeftToTheCaller: Decode classifies only Temporal's
// errors; the API tells a context deadline (503) from a fault (500).
func TestOtherErrorsAreLeftToTheCaller(t *testing.T) {
	if temporalerr.Decode(nil) != nil {
		t.Fatal("Decode(nil) is not nil")
	}
	for _, err := range []error{context.DeadlineExceeded, errors.New("boom"), domain.ErrNotFound} {
		if got := temporalerr.Decode(err); got != err {
			t.Errorf("Decode(%v) = %v, want it as it is", err, got)
		}
	}
}

// TestNonRetryableTypesCoverEveryFinalError: no retry policy retries an
// error retrying cannot fix, whatever its code; it does retry the one the
// local options hand to a regular activity.
func TestNonRetryableTypesCoverEveryFinalError(t *testing.T) {
	types := temporalerr.NonRetryableTypes()
	for _, c := range domain.Codes() {
		err := temporalerr.ActivityError(&domain.Error{Kind: c.Kind, Code: c.Code, Message: "refused"})
		if temporalerr.Final(err) && !slices.Contains(types, c.Code) {
			t.Errorf("%s (kind %v) fails an activity for good but is not in NonRetryableTypes", c.Code, c.Kind)
		}
		if !c.IsPublic() && !slices.Contains(types, c.Code) {
			t.Errorf("internal code %s is not in NonRetryableTypes", c.Code)
		}
	}
	for _, k := range []domain.Kind{domain.KindLimit, domain.KindConflict, domain.KindNotFound, domain.KindInvalid, domain.KindUnprocessable} {
		if !temporalerr.Final(temporalerr.ActivityError(&domain.Error{Kind: k, Code: "x", Message: "refused"})) {
			t.Errorf("an activity failing with kind %v is retried", k)
		}
	}
	for _, k := range []domain.Kind{domain.KindInternal, domain.KindUnavailable, domain.KindProviderFailed, domain.KindProviderTimeout, domain.KindProviderRateLimited} {
		if err := temporalerr.ActivityError(&domain.Error{Kind: k, Code: "x", Message: "down"}); temporalerr.Final(err) {
			t.Errorf("an activity failing with kind %v is not retried", k)
		}
	}
	rejected := temporalerr.ActivityError(&domain.ProviderError{Class: domain.ProviderRejected, HTTPStatus: 400})
	if temporalerr.Type(rejected) != domain.CodeProviderRejected || !temporalerr.Final(rejected) || !slices.Contains(types, domain.CodeProviderRejected) {
		t.Errorf("a provider's 400 fails the activity with %v, want a final %s", rejected, domain.CodeProviderRejected)
	}
	if ours := temporalerr.ActivityError(&domain.ProviderError{Class: domain.ProviderRejected, HTTPStatus: 401}); temporalerr.Final(ours) {
		t.Errorf("a provider's 401 (our credentials) is not retried: %v", ours)
	}
	if slices.Contains(types, temporalerr.TypeRetryAsActivity) {
		t.Errorf("NonRetryableTypes holds %s, which the regular activity must retry", temporalerr.TypeRetryAsActivity)
	}
	types[0] = "changed"
	if temporalerr.NonRetryableTypes()[0] == "changed" {
		t.Error("NonRetryableTypes hands out the package's own slice")
	}
}

// TestRetryableFollowsThePolicy: the retry rule of the direct purchase,
// which runs activities without Temporal.
func TestRetryableFollowsThePolicy(t *testing.T) {
	policy := &temporal.RetryPolicy{NonRetryableErrorTypes: []string{temporalerr.TypeRetryAsActivity}}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{errors.New("connection reset"), true},
		{temporal.NewApplicationError("retry me", "other"), true},
		{temporalerr.RetryAsActivity("as an activity"), false},
		{temporalerr.Errorf(domain.CodeNumberUnavailable, "gone"), false},
	} {
		if got := temporalerr.Retryable(c.err, policy); got != c.want {
			t.Errorf("Retryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestActivityErrorKeepsApplicationErrors: an activity's own application
// error is not turned into another.
func TestActivityErrorKeepsApplicationErrors(t *testing.T) {
	locked := temporalerr.New(domain.Errorf(domain.KindConflict, domain.CodeDeletionLocked, "locked"), &domain.ProviderError{Class: domain.ProviderRejected, HTTPStatus: 422})
	if got := temporalerr.ActivityError(locked); got != locked {
		t.Fatalf("ActivityError(%v) = %v, want it as it is", locked, got)
	}
	if temporalerr.ActivityError(nil) != nil {
		t.Fatal("ActivityError(nil) is not nil")
	}
}

// TestAnswerLeavesOtherErrors: a failure without an application error (a
// timeout, a cancellation) is answered as it is, and typed UnknownType.
func TestAnswerLeavesOtherErrors(t *testing.T) {
	canceled := temporal.NewCanceledError()
	if got := temporalerr.Answer(canceled); got != canceled {
		t.Fatalf("Answer(%v) = %v, want it as it is", canceled, got)
	}
	if temporalerr.Type(canceled) != temporalerr.UnknownType || temporalerr.Final(canceled) || temporalerr.Message(canceled) != canceled.Error() {
		t.Fatalf("a cancellation: type %q, final %v, message %q", temporalerr.Type(canceled), temporalerr.Final(canceled), temporalerr.Message(canceled))
	}
}

// TestRestoreIsTheErrorAsItWas: a continued run answers with the error the
// first run carried over (its type and message).
func TestRestoreIsTheErrorAsItWas(t *testing.T) {
	first := cross(t, temporalerr.Errorf(domain.CodePurchaseReleased, "The purchase of %s was released.", "+14155550100"))
	again := cross(t, temporalerr.Restore(temporalerr.Type(first), temporalerr.Message(first), false))
	if temporalerr.Type(again) != domain.CodePurchaseReleased || temporalerr.Message(again) != temporalerr.Message(first) || !temporalerr.Final(again) {
		t.Fatalf("restored %v, want %v", again, first)
	}
}

// TestRestoredCancellationIsUnavailable: a purchase failed by the
// workflow's cancellation is carried over with UnknownType; restored, it
// is a cancellation again, which callers read as passing (503) as they
// did in the run before, and it carries over the same way once more.
func TestRestoredCancellationIsUnavailable(t *testing.T) {
	first := temporal.NewCanceledError()
	again := temporalerr.Restore(temporalerr.Type(first), temporalerr.Message(first), true)
	if !temporal.IsCanceledError(again) {
		t.Fatalf("restored %v, want a cancellation", again)
	}
	if temporalerr.Type(again) != temporalerr.Type(first) || temporalerr.Message(again) != temporalerr.Message(first) {
		t.Fatalf("restored %q (%q), carried over %q (%q)", temporalerr.Type(again), temporalerr.Message(again), temporalerr.Type(first), temporalerr.Message(first))
	}
	for _, err := range []error{first, again} {
		var de *domain.Error
		if got := temporalerr.Decode(err); !errors.As(got, &de) || de.Kind != domain.KindUnavailable || de.Code != domain.CodeServiceUnavailable {
			t.Fatalf("Decode(%v) = %v, want service_unavailable", err, got)
		}
	}
}
