package workflows

import (
	"strings"
	"time"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
)

// The contract of the number workflow: its type, ID, updates and queries
// (the task queue is the deployment's: TEMPORAL_TASK_QUEUE). Other systems (the API, operators' tools, billing) rely on
// these names; renaming one breaks them.
const (
	// NumberWorkflowType is the registered name of PhoneNumberWorkflow,
	// the type every purchase starts (and every run continues as).
	NumberWorkflowType = "PhoneNumberWorkflowV2"
	// NumberWorkflowTypeV1 is the registered name of PhoneNumberWorkflowV1:
	// the runs started before the purchase's fast path.
	NumberWorkflowTypeV1 = "PhoneNumberWorkflow"

	// UpdatePurchase asks for the number (PurchaseRequest) and returns the
	// PurchaseResult once it is active; the same team asking again while
	// the purchase runs joins it.
	UpdatePurchase = "purchase"
	// UpdateRelease releases the held number (ReleaseRequest) and returns
	// its final NumberView. A purchase waiting on documents may be
	// released too: it is cancelled (domain.CodePurchaseReleased).
	UpdateRelease = "release"
	// QueryState returns the NumberState.
	QueryState = "state"
	// SignalOrderEvent tells a purchase that Telnyx announced a change of
	// its order (a verified webhook, OrderEvent): the order wait looks at
	// the order at once instead of at its next poll.
	SignalOrderEvent = "telnyx-order-event"
	// SignalAttachRequirementGroup hands a purchase waiting on documents
	// the team's requirement group (AttachRequirementGroup): the workflow
	// attaches it to the waiting sub-order and looks at the order at once.
	// temporalclient.NumberService.Purchase sends it when a request carrying a group is
	// refused with domain.CodeAwaitingDocuments.
	SignalAttachRequirementGroup = "attach-requirement-group"
)

// AttachRequirementGroup is SignalAttachRequirementGroup's payload; a
// signal whose team is not the purchase's is ignored.
type AttachRequirementGroup struct {
	TeamID             string
	RequirementGroupID string
}

// NumberWorkflowID is the ID of the workflow that owns a number's life:
// one open run per number, so two purchases of it can never run at once.
func NumberWorkflowID(e164 string) string { return numberWorkflowIDPrefix + e164 }

const numberWorkflowIDPrefix = "phone-number:"

// NumberOfKey reads the E.164 number out of a purchase key (the Telnyx
// order's customer_reference); ok is false for a key not of ours.
func NumberOfKey(key string) (e164 string, ok bool) {
	id, ok := NumberWorkflowIDOfKey(key)
	if !ok {
		return "", false
	}
	return strings.TrimPrefix(id, numberWorkflowIDPrefix), true
}

// NumberWorkflowIDOfKey reads the number workflow's ID out of a purchase
// key (workflow ID "/" first run ID, the Telnyx order's customer_reference).
func NumberWorkflowIDOfKey(key string) (string, bool) {
	i := strings.LastIndexByte(key, '/')
	if i <= 0 || i == len(key)-1 || !strings.HasPrefix(key, numberWorkflowIDPrefix) {
		return "", false
	}
	return key[:i], true
}

// PurchaseRequest is the start input and the purchase update's argument. It
// carries ids only: no tokens or secrets go into workflow histories.
type PurchaseRequest struct {
	PhoneNumber  string
	TeamID       string
	UserID       string
	ConnectionID string
	// RequirementGroupID is passed to Telnyx with the order: the team's
	// documents for a regulated number.
	RequirementGroupID string `json:",omitempty"`
	// UpdateID is the ID of the purchase update that started the run
	// (temporalclient.NumberService.Purchase sets it; a hash, never the caller's key): a
	// retry of that request after the purchase completed is answered with
	// the number, even when the first attempt's update was lost with a
	// workflow task that never completed (a worker killed mid-purchase),
	// so Temporal does not know it.
	UpdateID string `json:",omitempty"`
	// Continued is set only by the workflow itself, when a run continues
	// as new: where the next run takes over. Callers leave it nil, and a
	// purchase update's copy is ignored.
	Continued *ContinuedRun `json:",omitempty"`
}

// RunPhase is where in a number's life a run of the number workflow is.
// A run continues as new only in one of the three phases here, and the
// next run starts in the same one; the run's other phases (number.go)
// never cross runs.
type RunPhase string

// The phases a run may continue as new in: never in the middle of the
// purchase saga or of a release attempt.
const (
	// PhaseHolding: the number is held (a trial or a paid number). The
	// team's purchase updates are answered already_owned (a retry of one
	// that got the number, with the number); a release update or
	// billing's signal ends it, billing's conversion makes a trial paid,
	// and a trial's expiry ends it.
	PhaseHolding RunPhase = "holding"
	// PhaseEnding: the number is being released; a refused release (a
	// deletion lock) is tried again when asked and every few hours, the
	// number held and billed meanwhile.
	PhaseEnding RunPhase = "ending"
	// PhaseUndoing: the purchase failed and giving the number back to the
	// provider has not succeeded yet; the plan slot stays taken until it
	// does, retried with back-off. Purchase updates are answered with the
	// purchase's error, releases refused (nothing to release).
	PhaseUndoing RunPhase = "undoing"
)

// ContinuedRun is everything a run of the number workflow hands the next
// one when it continues as new, so that the next run goes on where it
// stopped without buying the number again.
type ContinuedRun struct {
	Phase RunPhase
	// Key is the purchase's key (the plan slot's and the Telnyx order's
	// customer_reference). The first run made it from its run ID; it never
	// changes along the chain.
	Key         string
	State       NumberState
	IsTrial     bool
	Eligibility domain.Eligibility
	// Signals received (the channels drained before continuing) and not
	// yet acted on.
	ConvertAsked bool
	ReleaseAsked bool
	// ReleaseBy is who asked the release (the release update's reason, or
	// "billing"), for the next run's current details; empty in inputs
	// recorded before it.
	ReleaseBy string `json:",omitempty"`
	// Final is the status an ending number is recorded with (released or
	// expired); EndAttempts counts its refused releases; RetryAt is when
	// the next one is due unless someone asks first.
	Final       domain.NumberStatus
	EndAttempts int
	RetryAt     *time.Time
	// PurchaseError is the failure a purchase update is answered with
	// while an undo goes on (PhaseUndoing).
	PurchaseError *PurchaseError
	// PurchaseUpdateIDs are the IDs of the purchase updates that got the
	// number: a retry of one of them (the same Idempotency-Key) in a later
	// run is answered with the purchase again, as Temporal answers it
	// within a run, not with already_owned.
	PurchaseUpdateIDs []string
	// Runs counts the runs of this chain before the next one.
	Runs int
}

// PurchaseError is a purchase's failure carried to the next run.
type PurchaseError struct {
	Type    string
	Message string
	// Cancelled: the purchase failed because the workflow was cancelled
	// (Type is then "internal"), for the next run's current details.
	Cancelled bool `json:",omitempty"`
}

// NumberView is the number as the API shows it.
type NumberView struct {
	ID               string
	PhoneNumber      string
	ProviderNumberID string
	Status           domain.NumberStatus
	IsTrial          bool
	TrialExpiresAt   *time.Time
	// Requirements is set while a regulated purchase waits on documents.
	Requirements *domain.PendingRequirements `json:",omitempty"`
}

// NumberViewOf is the view of the number record n.
func NumberViewOf(n domain.PhoneNumber) NumberView { return viewOf(n) }

// OrderEvent is a verified Telnyx order webhook, as the number workflow
// receives it. CustomerReference is the purchase's key: a run whose key
// differs (another purchase of the same number) ignores the event.
type OrderEvent struct {
	// EventID is Telnyx's id of the event (empty when unknown): a
	// redelivery of one event is dropped, a new event about the same
	// order and status is not.
	EventID           string `json:",omitempty"`
	CustomerReference string
	OrderID           string
	Status            domain.OrderStatus
}

// WaitsForOrderSignal says whether the purchase recorded as n may wait for
// its order at the workflow level at now, where only SignalOrderEvent
// wakes it before its next timer: a regulated order waiting on documents,
// or one whose documents were accepted (its record's requirements then
// cleared) and whose number is being provisioned. A pending purchase
// younger than signalAfter is in its first workflow task, whose wait
// (WaitForOrder) domain.OrderEvents wakes, so a webhook about it needs no
// signal (a billable action and a workflow task); an older one may be in
// AwaitOrder, which OrderEvents wakes too, and a needless signal there
// costs that much and no more.
func WaitsForOrderSignal(n domain.PhoneNumber, now time.Time) bool {
	return n.Status == domain.NumberPending && (n.Requirements != nil || now.Sub(n.CreatedAt) >= signalAfter)
}

// signalAfter is how old a pending purchase is before its order's webhook
// is also signalled: the in-task wait, and a margin for the clocks of the
// API and the database, which stamps created_at.
const signalAfter = activities.OrderWaitInTask + 10*time.Second

// PurchaseResult is what a successful purchase returns.
type PurchaseResult struct {
	Number      NumberView
	Eligibility domain.Eligibility
}

// ReleaseRequest asks to release the number; only its team may.
type ReleaseRequest struct {
	TeamID string
	// Reason is recorded in the history ("api", "billing", …).
	Reason string
	// RequestKey names the caller's request (for the API: the number's id
	// and the request's Idempotency-Key, else its request id): a retry
	// with the same key is the same release update, deduplicated by
	// Temporal within a run. It stays out of the history (a caller's key
	// could be anything): only a hash of it names the update.
	RequestKey string `json:"-"`
}

// NumberState is what QueryState returns: where the number's life is.
type NumberState struct {
	TeamID  string
	Number  NumberView
	OrderID string
	// CustomerReference is what the Telnyx order carries: an operator
	// reconciling with Telnyx searches orders by it.
	CustomerReference string
	// Error is the code of the failure that ended the purchase, if any.
	Error string
	// RequirementGroupID is the last requirement group the team supplied:
	// with the order, or while the purchase waited on documents
	// (SignalAttachRequirementGroup).
	RequirementGroupID string `json:",omitempty"`
	// RequirementGroups are the groups the purchase took while waiting on
	// documents (at most MaxRequirementGroups): each is handed to Telnyx
	// once, and a request naming one again, or one past the bound, sends
	// the workflow nothing.
	RequirementGroups []string `json:",omitempty"`
	// Undo is set while a failed purchase cannot give the number back to
	// the provider: the plan slot stays taken and the record pending until
	// the provider confirms the release.
	Undo *UndoState `json:",omitempty"`
	// Runs counts the runs before this one (continue-as-new).
	Runs int `json:",omitempty"`
}

// UndoState is the progress of giving a failed purchase's number back.
type UndoState struct {
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
}

// MaxRequirementGroups bounds the requirement groups a purchase waiting on
// documents hands to Telnyx (and so the signals and history it spends on
// them): a team that needs more buys the number again.
const MaxRequirementGroups = 10
