package domain

import "time"

// BillingEventMaxAhead is how far past our clock a billing event's
// occurredAt may be. Events are applied in occurredAt order, so one dated
// tomorrow would make every real event after it look older and be ignored:
// the team would be stuck on the bogus event's plan. Five minutes covers
// the clock skew of a billing system that is honest, as the webhook's
// signature tolerance does.
const BillingEventMaxAhead = 5 * time.Minute

// BillingEventTooFarAhead reports whether an event that occurred at
// occurredAt cannot have happened yet by the clock now (the server's at
// the webhook, workflow.Now in the billing workflow).
func BillingEventTooFarAhead(occurredAt, now time.Time) bool {
	return occurredAt.Sub(now) > BillingEventMaxAhead
}
