package workflows

import (
	"time"

	"github.com/talkturo/phonenumbers/domain"
)

// The contract of the number workflow: its type, ID, task queue, updates
// and queries. Other systems (the API, operators' tools, billing) rely on
// these names; renaming one breaks them.
const (
	// NumberWorkflowType is the registered name of PhoneNumberWorkflow.
	NumberWorkflowType = "PhoneNumberWorkflow"
	// DefaultTaskQueue is where the worker polls unless TEMPORAL_TASK_QUEUE says otherwise.
	DefaultTaskQueue = "phone-numbers"

	// UpdatePurchase asks for the number (PurchaseRequest) and returns the
	// PurchaseResult once it is active; the same team asking again while
	// the purchase runs joins it.
	UpdatePurchase = "purchase"
	// UpdateRelease releases the held number (ReleaseRequest) and returns
	// its final NumberView.
	UpdateRelease = "release"
	// QueryState returns the NumberState.
	QueryState = "state"
)

// NumberWorkflowID is the ID of the workflow that owns a number's life:
// one open run per number, so two purchases of it can never run at once.
func NumberWorkflowID(e164 string) string { return "phone-number:" + e164 }

// PurchaseRequest is the start input and the purchase update's argument. It
// carries ids only: no tokens or secrets go into workflow histories.
type PurchaseRequest struct {
	PhoneNumber  string
	TeamID       string
	UserID       string
	ConnectionID string
}

// NumberView is the number as the API shows it.
type NumberView struct {
	ID               string
	PhoneNumber      string
	ProviderNumberID string
	Status           domain.NumberStatus
	IsTrial          bool
	TrialExpiresAt   *time.Time
}

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
}
