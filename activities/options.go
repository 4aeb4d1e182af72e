package activities

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/temporalerr"
)

// Retry policies, one per kind of work. Every policy gives up at once on
// the non-retryable types; what differs is how long a dependency may be
// down before the purchase should wait on it longer.

// DatabaseOptions suit the PostgreSQL activities: quick, and retried for
// as long as it takes a database to come back (a purchase must not be lost
// to a database restart).
func DatabaseOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy:         backoff(200*time.Millisecond, 30*time.Second),
	}
}

// ProviderOptions suit a single Telnyx call: each attempt is bounded by
// the client's own timeout, a dead worker is noticed by its missing
// heartbeats, and a provider outage is waited out with back-off up to a
// minute between attempts.
func ProviderOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 45 * time.Second,
		HeartbeatTimeout:    3 * heartbeatEvery,
		RetryPolicy:         backoff(time.Second, time.Minute),
	}
}

// OrderOptions suit placing a purchase's order: ProviderOptions with the
// retries kept close together (at most 10 s apart). A customer waits for
// the purchase, and a minute between tries after a run of faults (429s,
// 5xx, workers dying mid-call) left purchases without an answer for
// minutes; refused retried orders (PlaceOrder) are looked for at these
// intervals too.
func OrderOptions() workflow.ActivityOptions {
	o := ProviderOptions()
	o.RetryPolicy = backoff(time.Second, 10*time.Second)
	return o
}

// UndoReleaseOptions suit giving a failed purchase's number back: one
// bounded try (a few attempts within 15 s), so that the purchase's caller
// gets its answer promptly; the workflow retries a failed try with its own
// durable back-off, keeping the plan slot meanwhile.
func UndoReleaseOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 15 * time.Second,
		HeartbeatTimeout:       3 * heartbeatEvery,
		RetryPolicy:            backoff(time.Second, 4*time.Second),
	}
}

// CheckOrderOptions suit one look at an order waiting on documents (and
// cancelling its sub-order): retried for a few minutes at most, since the
// workflow's next look is due anyway and a long outage must not hold it.
func CheckOrderOptions() workflow.ActivityOptions {
	o := ProviderOptions()
	o.ScheduleToCloseTimeout = 5 * time.Minute
	return o
}

// AwaitOrderOptions suit AwaitOrder: it runs as long as the order is
// pending (regulated numbers take hours), heartbeating so that a dead
// worker is noticed within seconds and another one takes over.
func AwaitOrderOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    3 * heartbeatEvery,
		RetryPolicy:         backoff(time.Second, time.Minute),
	}
}

// backoff retries without limit, doubling the wait from initial up to
// maxInterval, and never retries the non-retryable types.
func backoff(initial, maxInterval time.Duration) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        initial,
		BackoffCoefficient:     2,
		MaximumInterval:        maxInterval,
		NonRetryableErrorTypes: temporalerr.NonRetryableTypes(),
	}
}

// Local activity options of the purchase's fast path (PhoneNumberWorkflowV2):
// each step gets a few quick tries inside the workflow task, bounded so
// that the task ends well inside its 10-second timeout; a dependency away
// for longer hands the step to the same activity run the regular way, with
// the durable retries above.

// LocalDatabaseOptions suit BeginPurchase and CompletePurchase as local
// activities; DatabaseOptions take over when they give up.
func LocalDatabaseOptions() workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout:    2 * time.Second,
		ScheduleToCloseTimeout: 3 * time.Second,
		RetryPolicy:            backoff(50*time.Millisecond, 500*time.Millisecond),
	}
}

// LocalOrderOptions suit PlaceOrder as a local activity; OrderOptions take
// over when it gives up (with OrderInput.Retried set).
func LocalOrderOptions() workflow.LocalActivityOptions {
	p := backoff(100*time.Millisecond, time.Second)
	p.NonRetryableErrorTypes = append(slices.Clone(p.NonRetryableErrorTypes), temporalerr.TypeRetryAsActivity)
	return workflow.LocalActivityOptions{StartToCloseTimeout: 4 * time.Second, ScheduleToCloseTimeout: 5 * time.Second, RetryPolicy: p}
}

// OrderWaitInTask is how long the purchase's workflow task waits for its
// order (WaitForOrder) before the order is waited for durably: most orders
// settle in well under a second, and the task must end well inside its
// 10-second timeout (past 8 s the SDK heartbeats it, at the cost of a
// workflow task and a billable action each time).
const OrderWaitInTask = 3 * time.Second

// LocalWaitOptions suit WaitForOrder waiting up to OrderWaitInTask: one
// try, since the durable wait (AwaitOrder) takes over from any failure
// retrying may fix.
func LocalWaitOptions() workflow.LocalActivityOptions {
	p := backoff(time.Second, time.Second)
	p.MaximumAttempts = 1
	return workflow.LocalActivityOptions{StartToCloseTimeout: OrderWaitInTask + 2*time.Second, RetryPolicy: p}
}
