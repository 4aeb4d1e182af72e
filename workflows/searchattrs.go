package workflows

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
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

// SearchAttributes maps each custom search attribute to its index type, as
// a namespace must declare them.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		AttrTeamID.GetName():         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		AttrPhoneNumber.GetName():    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		AttrNumberStatus.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		AttrIsTrial.GetName():        enumspb.INDEXED_VALUE_TYPE_BOOL,
		AttrTrialExpiresAt.GetName(): enumspb.INDEXED_VALUE_TYPE_DATETIME,
	}
}

// RegisterSearchAttributes adds the custom search attributes that the
// namespace lacks. It is safe to call at every start: attributes already
// there are left alone, so a namespace created by an older version gains the
// new ones.
func RegisterSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, namespace string) error {
	existing, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %q: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range SearchAttributes() {
		if have, ok := existing.GetCustomAttributes()[name]; ok {
			if have != typ {
				return fmt.Errorf("search attribute %s of namespace %q has type %s, want %s", name, namespace, have, typ)
			}
			continue
		}
		missing[name] = typ
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	if err != nil {
		return fmt.Errorf("add search attributes to namespace %q: %w", namespace, err)
	}
	return nil
}
