package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Custom search attributes: operators filter the Temporal UI by these, for
// example `TeamId = "team_01j…" AND NumberStatus = "pending"`.
var (
	AttrTeamID         = temporal.NewSearchAttributeKeyKeyword("TeamId")
	AttrPhoneNumber    = temporal.NewSearchAttributeKeyKeyword("PhoneNumber")
	AttrNumberStatus   = temporal.NewSearchAttributeKeyKeyword("NumberStatus")
	AttrIsTrial        = temporal.NewSearchAttributeKeyBool("IsTrial")
	AttrTrialExpiresAt = temporal.NewSearchAttributeKeyTime("TrialExpiresAt")
)

// NumberStatusReleasing is the NumberStatus of a run whose purchase failed
// and whose number the provider has not yet taken back: its plan slot stays
// taken until it does (the record stays pending). Besides the statuses of
// domain.NumberStatus, it is the one value only operators see.
const NumberStatusReleasing = "releasing"

// NumberStatusRequirementsPending is the NumberStatus of a purchase whose
// regulated order waits on the team's documents (its state's
// Number.Requirements says which, and until when): operators find them with
// `NumberStatus = "requirements-pending"`. The record is pending meanwhile.
const NumberStatusRequirementsPending = "requirements-pending"

// searchAttributeKeys are every custom search attribute; each key knows
// its own index type.
var searchAttributeKeys = []temporal.SearchAttributeKey{AttrTeamID, AttrPhoneNumber, AttrNumberStatus, AttrIsTrial, AttrTrialExpiresAt}

// SearchAttributes maps each custom search attribute to its index type, as
// a namespace must declare them. The map is the caller's own.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	attrs := make(map[string]enumspb.IndexedValueType, len(searchAttributeKeys))
	for _, k := range searchAttributeKeys {
		attrs[k.GetName()] = k.GetValueType()
	}
	return attrs
}
