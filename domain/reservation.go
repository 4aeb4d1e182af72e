package domain

import (
	"context"
	"time"
)

// ReservationStatus is where a plan-slot reservation is in its life.
type ReservationStatus string

// Reservation states. A held reservation counts against the plan; a
// released one is history and never counts again.
const (
	ReservationHeld     ReservationStatus = "held"
	ReservationReleased ReservationStatus = "released"
)

// Reservation is one plan slot taken by one purchase: while it is held, the
// team's counter includes it.
type Reservation struct {
	ID          string
	TeamID      string
	WorkflowID  string // the key of the purchase that holds the slot
	PhoneNumber string
	// IsTrial reports that the team was on the free plan, so the number is
	// its one trial number.
	IsTrial    bool
	Status     ReservationStatus
	CreatedAt  time.Time
	ReleasedAt *time.Time
}

// SlotStore takes and frees plan slots; it is where the plan limit holds.
type SlotStore interface {
	// Reserve takes one slot of the team for the purchase named key,
	// idempotently; a KindLimit error when the plan allows no more.
	Reserve(ctx context.Context, teamID, key, phoneNumber string) (Reservation, error)
	// Release frees the slot of key, once; releasing again does nothing.
	Release(ctx context.Context, key string) error
	// Cancel frees the slot of a purchase that was undone, and gives a free
	// team its trial back.
	Cancel(ctx context.Context, key string) error
	// HeldKeyOf returns the key of the held slot the live record n was
	// bought under ("" when none is held), for a release that runs
	// without the purchase's workflow.
	HeldKeyOf(ctx context.Context, n PhoneNumber) (string, error)
}
