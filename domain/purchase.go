package domain

import "context"

// PurchaseStore takes a purchase's database steps as few transactions:
// the number workflow runs each as one local activity, so a purchase costs
// two round trips to the database and no history events of its own. Both
// are idempotent (a local activity runs again after a worker dies).
type PurchaseStore interface {
	// Begin takes one plan slot of n.TeamID for the purchase named key and
	// records n as pending (IsTrial set from the reservation), in one
	// transaction. Calling it again with the same key and n.ID returns
	// the same reservation and record, and takes no second slot. A team at
	// its limit is a KindLimit error (plan_limit_reached, with its
	// eligibility), a number another live record holds a KindConflict
	// (number_in_purchase; number_unavailable or already_owned when that
	// record is active); neither leaves anything behind.
	Begin(ctx context.Context, key string, n PhoneNumber) (Reservation, PhoneNumber, error)
	// Complete activates the pending number (as PhoneNumberStore.Activate)
	// and reads its team's eligibility after it, in one transaction.
	Complete(ctx context.Context, a ActivateNumber, teamID string) (PhoneNumber, Eligibility, error)
}

// OrderEvents carries word that a provider order changed (a verified
// webhook) to whatever waits on that order, in any process: the activity
// waiting on the order looks at it at once instead of at its next poll.
// It is a hint, never the record: a word lost (no listener at the time,
// a dropped connection) costs only the wait until the next poll.
type OrderEvents interface {
	// Publish tells every subscriber of the order, in every process, that
	// it changed.
	Publish(ctx context.Context, orderID string) error
	// Subscribe returns a channel that receives after each Publish of the
	// order (several close together may arrive as one), and a function
	// that ends the subscription; call it when done. The channel is never
	// closed.
	Subscribe(orderID string) (<-chan struct{}, func())
}
