package domain

import "time"

// PendingStateQueryTimeout bounds reading a number workflow's state when a
// purchase's or release's wait for it has run out (the number service's
// query, to answer 202 with where the workflow is).
const PendingStateQueryTimeout = 5 * time.Second

// EligibilityReadBudget is what a purchase keeps, after that query, for
// reading the team's eligibility for its answer.
const EligibilityReadBudget = 2 * time.Second

// PurchaseHeadroom is how much of a request's deadline a purchase or a
// release keeps for after its wait for the workflow: the state query and
// the eligibility read. REQUEST_TIMEOUT must exceed PURCHASE_WAIT by at
// least this.
const PurchaseHeadroom = PendingStateQueryTimeout + EligibilityReadBudget
