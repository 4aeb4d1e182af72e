package persistence

import (
	"context"
	"database/sql"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
)

var _ domain.PurchaseStore = (*PurchaseStore)(nil)

// readCommitted is the isolation the purchase's transactions rely on,
// named rather than left to the server's default_transaction_isolation:
// the plan limit's UPDATE and createPending's retry both need each
// statement to see what concurrent purchases committed before it began.
var readCommitted = &sql.TxOptions{Isolation: sql.LevelReadCommitted}

// PurchaseStore takes a purchase's database steps as one transaction each,
// implementing domain.PurchaseStore. It runs the very statements of
// ReservationStore.Reserve, PhoneNumberStore.CreatePending and
// PhoneNumberStore.Activate (shared functions, not copies), so the plan
// limit and the one-live-record rule hold the same whichever way a
// purchase goes.
type PurchaseStore struct {
	db *gorm.DB
}

// NewPurchaseStore returns a PurchaseStore on db.
func NewPurchaseStore(db *gorm.DB) *PurchaseStore {
	return &PurchaseStore{db: db}
}

// Begin takes one plan slot of n.TeamID for the purchase named key (as
// ReservationStore.Reserve with workflowID key) and records n as pending
// (as PhoneNumberStore.CreatePending, with n.IsTrial from the reservation
// and the default provider when n names none), in one transaction.
//
// It is idempotent: calling it again with the same key and n.ID returns
// the held reservation and the stored record without taking a second
// slot. Any refusal rolls the whole transaction back, so neither a
// reservation row nor a counter change is left: a team at its limit is a
// KindLimit error (plan_limit_reached, with Details["eligibility"]), a
// number another live record holds is CreatePending's KindConflict
// (number_in_purchase, number_unavailable or already_owned), and a key
// whose reservation was released is ErrReservationReleased.
//
// CreatePending's bounded retry (when the live record that refused the
// insert has ended before it could be read) runs inside the transaction,
// without a savepoint: see createPending.
func (s *PurchaseStore) Begin(ctx context.Context, key string, n domain.PhoneNumber) (domain.Reservation, domain.PhoneNumber, error) {
	if err := checkReserve(n.TeamID, key, n.PhoneNumber); err != nil {
		return domain.Reservation{}, domain.PhoneNumber{}, err
	}
	if err := checkPending(n); err != nil {
		return domain.Reservation{}, domain.PhoneNumber{}, err
	}
	var (
		r   domain.Reservation
		rec domain.PhoneNumber
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		// The slot first, as a purchase run step by step takes it: the
		// team's row lock then queues the team's concurrent purchases
		// before any of them touches the number.
		if r, err = reserveSlot(ctx, tx, n.TeamID, key, n.PhoneNumber); err != nil {
			return err
		}
		n.IsTrial = r.IsTrial
		n.Status = domain.NumberPending
		if n.Provider == "" {
			n.Provider = domain.ProviderName
		}
		rec, err = createPending(ctx, tx, n)
		return err
	}, readCommitted)
	if err != nil {
		return domain.Reservation{}, domain.PhoneNumber{}, storeError("beginning a purchase", err)
	}
	return r, rec, nil
}

// Complete activates the pending number (as PhoneNumberStore.Activate) and
// reads the eligibility of its team, teamID, after it, in one
// transaction, so the counts a purchase reports include the number it
// bought. An active number is returned unchanged (with the eligibility),
// so a retry succeeds; an ended one is ErrNumberEnded. A number that is
// missing or not teamID's is domain.ErrNotFound, and is left as it was.
func (s *PurchaseStore) Complete(ctx context.Context, a domain.ActivateNumber, teamID string) (domain.PhoneNumber, domain.Eligibility, error) {
	if teamID == "" {
		return domain.PhoneNumber{}, domain.Eligibility{}, domain.Invalid("teamId", "Completing a purchase needs its team.")
	}
	if err := checkActivate(a); err != nil {
		return domain.PhoneNumber{}, domain.Eligibility{}, err
	}
	var (
		rec  domain.PhoneNumber
		elig eligibilityRow
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if rec, err = activate(ctx, tx, a); err != nil {
			return err
		}
		if rec.TeamID != teamID {
			// Another team's eligibility would be reported next to the
			// number: a caller's bug, rolled back like any refusal.
			return domain.ErrNotFound
		}
		elig, err = loadEligibility(ctx, tx, teamID)
		return err
	}, readCommitted)
	if err != nil {
		return domain.PhoneNumber{}, domain.Eligibility{}, storeError("completing a purchase", err)
	}
	return rec, elig.toDomain(), nil
}
