package direct

import (
	"context"
	"time"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
)

// KeyPrefix starts the slot key, workflow id and Telnyx customer reference
// of a direct purchase, so its rows and orders are told apart from a
// workflow's.
const KeyPrefix = "direct:"

// Purchase buys e164 for the team on behalf of the user, doing what the
// purchase part of PhoneNumberWorkflow does in the same order: reserve a
// plan slot, record the number pending, order it, wait for the order,
// activate the number, read the team's eligibility. It returns the active
// number. A failure stops it where it is: nothing is undone.
func Purchase(ctx context.Context, a *activities.Activities, teamID, userID, e164 string) (domain.PhoneNumber, error) {
	key := KeyPrefix + e164
	reserved, err := a.ReserveSlot(ctx, activities.ReserveInput{TeamID: teamID, Key: key, PhoneNumber: e164})
	if err != nil {
		return domain.PhoneNumber{}, err
	}
	n, err := a.CreatePendingNumber(ctx, domain.PhoneNumber{
		ID: domain.NewID(domain.PrefixPhoneNumber), TeamID: teamID, PhoneNumber: e164,
		IsTrial: reserved.IsTrial, CreatedByUserID: userID, WorkflowID: key,
	})
	if err != nil {
		return domain.PhoneNumber{}, err
	}
	order, err := a.PlaceOrder(ctx, activities.OrderInput{NumberID: n.ID, PhoneNumber: e164, CustomerReference: key})
	if err != nil {
		return domain.PhoneNumber{}, err
	}
	settled, err := a.AwaitOrder(ctx, activities.AwaitInput{OrderID: order.OrderID, PhoneNumber: e164})
	if err != nil {
		return domain.PhoneNumber{}, err
	}
	activate := domain.ActivateNumber{ID: n.ID, ProviderNumberID: settled.ProviderNumberID, ProviderOrderID: order.OrderID, IsTrial: reserved.IsTrial}
	if reserved.IsTrial {
		expires := time.Now().Add(reserved.TrialDuration).UTC().Truncate(time.Second)
		activate.TrialExpiresAt = &expires
	}
	active, err := a.ActivateNumber(ctx, activate)
	if err != nil {
		return domain.PhoneNumber{}, err
	}
	_, err = a.Eligibility(ctx, teamID)
	return active, err
}
