package domain

import "time"

// RequirementsStatus is where a regulated number's documents are, as Telnyx
// names it on each number of an order (requirements_status).
type RequirementsStatus string

// The requirements states Telnyx documents for a number in an order.
const (
	RequirementsPending      RequirementsStatus = "pending"
	RequirementsApproved     RequirementsStatus = "approved"
	RequirementsCancelled    RequirementsStatus = "cancelled"
	RequirementsDeleted      RequirementsStatus = "deleted"
	RequirementsInfoPending  RequirementsStatus = "requirement-info-pending"
	RequirementsUnderReview  RequirementsStatus = "requirement-info-under-review"
	RequirementsInfoRejected RequirementsStatus = "requirement-info-exception"
)

// WaitsOnDocuments reports whether an order in this state waits on the
// customer or on Telnyx's vetting of the customer's documents: it may stay
// pending for days, and polling it every few seconds is pointless.
func (s RequirementsStatus) WaitsOnDocuments() bool {
	return s == RequirementsInfoPending || s == RequirementsUnderReview || s == RequirementsInfoRejected
}

// RegulatoryRequirement is one regulatory requirement of a number in an
// order: FieldValue is empty while the customer has not supplied it.
type RegulatoryRequirement struct {
	RequirementID string
	FieldType     string
	FieldValue    string
}

// PendingRequirements is what a regulated purchase waits on, as the team
// and operators see it: the state of its documents, the requirements still
// without a value, and the deadline after which Telnyx cancels the order.
type PendingRequirements struct {
	Status   RequirementsStatus
	Missing  []RegulatoryRequirement
	Deadline *time.Time
}

// OwnedNumberStatus is the status of a number the provider account holds
// (Telnyx's PhoneNumberDetailed.status), spelt with hyphens.
type OwnedNumberStatus string

// The 13 owned-number states Telnyx documents.
const (
	OwnedPurchasePending            OwnedNumberStatus = "purchase-pending"
	OwnedPurchaseFailed             OwnedNumberStatus = "purchase-failed"
	OwnedPortPending                OwnedNumberStatus = "port-pending"
	OwnedPortFailed                 OwnedNumberStatus = "port-failed"
	OwnedActive                     OwnedNumberStatus = "active"
	OwnedDeleted                    OwnedNumberStatus = "deleted"
	OwnedEmergencyOnly              OwnedNumberStatus = "emergency-only"
	OwnedPortedOut                  OwnedNumberStatus = "ported-out"
	OwnedPortOutPending             OwnedNumberStatus = "port-out-pending"
	OwnedRequirementInfoPending     OwnedNumberStatus = "requirement-info-pending"
	OwnedRequirementInfoUnderReview OwnedNumberStatus = "requirement-info-under-review"
	OwnedRequirementInfoException   OwnedNumberStatus = "requirement-info-exception"
	OwnedProvisionPending           OwnedNumberStatus = "provision-pending"
)

// Held reports whether the account holds (and may be billed for) a number
// in this state: everything but a number that is gone or never arrived. A
// state this code does not know counts as held, since wrongly thinking a
// number gone leaves it billed with nobody releasing it.
func (s OwnedNumberStatus) Held() bool {
	switch s {
	case OwnedDeleted, OwnedPurchaseFailed, OwnedPortFailed, OwnedPortedOut:
		return false
	}
	return true
}

// Usable reports whether a number in this state can carry calls: the
// purchase is complete once the number is active.
func (s OwnedNumberStatus) Usable() bool { return s == OwnedActive || s == OwnedEmergencyOnly }
