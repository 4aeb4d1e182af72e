package persistence

import (
	"context"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
)

// prefixReservation starts the ids of reservations ("rsv_01j…").
const prefixReservation = "rsv"

// ErrReservationReleased is returned by Reserve for a key whose reservation
// was already released. A released slot is never taken again under the same
// key, so a late retry of a purchase that has since been undone cannot hold
// a slot that nobody will release. It is a conflict: retrying cannot fix it.
var ErrReservationReleased = &domain.Error{
	Kind:    domain.KindConflict,
	Code:    domain.CodeReservationReleased,
	Message: "This purchase's plan slot was already released; start a new purchase.",
}

var _ domain.SlotStore = (*ReservationStore)(nil)

// ReservationStore takes and frees plan slots. It is the one place that
// enforces the plan limit: a conditional UPDATE of the team's counter, so
// the limit holds across any number of API and worker processes.
type ReservationStore struct {
	db *gorm.DB
}

// NewReservationStore returns a ReservationStore on db.
func NewReservationStore(db *gorm.DB) *ReservationStore {
	return &ReservationStore{db: db}
}

// Reserve takes one plan slot of the team for the purchase identified by
// workflowID, which must be unique to that purchase: use the workflow ID
// with its run ID when the workflow ID itself is reused (as an entity
// workflow per phone number is, once the number is bought again).
//
// Reserve is idempotent: calling it again with the same workflowID returns
// the held reservation without taking a second slot, so an activity may be
// retried freely. When the plan allows no more numbers (for a free team:
// once its one trial number has ever been reserved) it returns a
// *domain.Error of KindLimit, code plan_limit_reached, with the team's
// domain.Eligibility in Details["eligibility"]. A team that does not exist
// is domain.ErrNotFound; a workflowID whose reservation was released is
// ErrReservationReleased.
func (s *ReservationStore) Reserve(ctx context.Context, teamID, workflowID, phoneNumber string) (domain.Reservation, error) {
	if err := checkReserve(teamID, workflowID, phoneNumber); err != nil {
		return domain.Reservation{}, err
	}
	var out domain.Reservation
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		out, err = reserveSlot(ctx, tx, teamID, workflowID, phoneNumber)
		return err
	})
	if err != nil {
		return domain.Reservation{}, storeError("reserving a plan slot", err)
	}
	return out, nil
}

// checkReserve refuses a reservation missing what identifies it.
func checkReserve(teamID, workflowID, phoneNumber string) error {
	switch {
	case teamID == "":
		return domain.Invalid("teamId", "A reservation needs a team.")
	case workflowID == "":
		return domain.Invalid("workflowId", "A reservation needs the purchase's workflow ID.")
	case phoneNumber == "":
		return domain.Invalid("phoneNumber", "A reservation needs the phone number.")
	}
	return nil
}

// reserveSlot is Reserve's work inside the caller's transaction tx, which
// it shares with PurchaseStore.Begin. Returning an error leaves the
// transaction holding a reservation row of nobody's slot: the caller must
// roll it back. It relies on READ COMMITTED (PostgreSQL's default): the
// counter UPDATE re-checks its WHERE against the row a concurrent
// reservation committed, where REPEATABLE READ would fail it instead.
func reserveSlot(ctx context.Context, tx *gorm.DB, teamID, workflowID, phoneNumber string) (domain.Reservation, error) {
	// The reservation row goes first: its unique workflow_id is what makes
	// a retry find the slot it already holds. Selecting from teams makes a
	// missing team insert nothing instead of failing a foreign key.
	var inserted []reservationModel
	err := tx.Raw(`
		INSERT INTO number_reservations (id, team_id, workflow_id, phone_number, is_trial, status, created_at)
		SELECT ?, t.id, ?, ?, NOT p.paid, 'held', now()
		FROM teams t JOIN plans p ON p.name = t.plan_name
		WHERE t.id = ?
		ON CONFLICT (workflow_id) DO NOTHING
		RETURNING *`,
		domain.NewID(prefixReservation), workflowID, phoneNumber, teamID).Find(&inserted).Error
	if err != nil {
		return domain.Reservation{}, err
	}
	if len(inserted) == 0 {
		return existingReservation(tx, teamID, workflowID, phoneNumber)
	}

	// The limit itself: one conditional UPDATE. Concurrent reservations of
	// the team queue on its row lock and each re-checks the WHERE against
	// the committed counter, so no interleaving can pass the limit
	// (counting rows and then inserting could).
	var taken []struct {
		IsTrial bool `gorm:"column:is_trial"`
	}
	err = tx.Raw(`
		UPDATE teams
		SET numbers_held = teams.numbers_held + 1,
		    trial_used = teams.trial_used OR NOT p.paid,
		    updated_at = now()
		FROM plans p
		WHERE teams.id = ?
		  AND p.name = teams.plan_name
		  AND teams.numbers_held < p.max_numbers
		  AND (p.paid OR NOT teams.trial_used)
		RETURNING NOT p.paid AS is_trial`, teamID).Find(&taken).Error
	if err != nil {
		return domain.Reservation{}, err
	}
	if len(taken) == 0 {
		row, err := loadEligibility(ctx, tx, teamID)
		if err != nil {
			return domain.Reservation{}, err
		}
		return domain.Reservation{}, planLimitError(row) // the caller rolls the row back
	}

	r := inserted[0]
	if r.IsTrial != taken[0].IsTrial {
		// The plan changed between the two statements; the counter update
		// saw the current one, so the reservation follows it.
		r.IsTrial = taken[0].IsTrial
		if err := tx.Model(&reservationModel{}).Where("id = ?", r.ID).Update("is_trial", r.IsTrial).Error; err != nil {
			return domain.Reservation{}, err
		}
	}
	return r.toDomain(), nil
}

// existingReservation explains why Reserve inserted nothing: the purchase
// already holds its slot (returned as is), its slot was released, or the
// team does not exist.
func existingReservation(tx *gorm.DB, teamID, workflowID, phoneNumber string) (domain.Reservation, error) {
	m, err := takeRow[reservationModel](tx, "workflow_id = ?", workflowID)
	if err != nil {
		return domain.Reservation{}, err
	}
	switch {
	case domain.ReservationStatus(m.Status) == domain.ReservationReleased:
		return domain.Reservation{}, ErrReservationReleased
	case m.TeamID != teamID || m.PhoneNumber != phoneNumber:
		return domain.Reservation{}, domain.Errorf(domain.KindConflict, domain.CodeNumberInPurchase,
			"Workflow %s already holds a plan slot for another team or number.", workflowID)
	}
	return m.toDomain(), nil
}

// Release frees the plan slot of the purchase identified by workflowID and
// decrements the team's counter, exactly once: releasing again, or
// releasing a workflowID that never reserved, does nothing.
func (s *ReservationStore) Release(ctx context.Context, workflowID string) error {
	return s.free(ctx, workflowID, false)
}

// Cancel frees the slot of a purchase that never delivered a number (it
// was undone): like Release, and a free team's trial is given back, since
// the team never had its trial number.
func (s *ReservationStore) Cancel(ctx context.Context, workflowID string) error {
	return s.free(ctx, workflowID, true)
}

func (s *ReservationStore) free(ctx context.Context, workflowID string, giveTrialBack bool) error {
	if workflowID == "" {
		return domain.Invalid("workflowId", "Freeing a plan slot needs the purchase's workflow ID.")
	}
	// One statement: the status flip and the decrement commit together, and
	// a concurrent second call waits on the reservation's row lock, then
	// finds it no longer held and changes nothing.
	err := s.db.WithContext(ctx).Exec(`
		WITH released AS (
			UPDATE number_reservations
			SET status = 'released', released_at = now()
			WHERE workflow_id = ? AND status = 'held'
			RETURNING team_id, is_trial
		)
		UPDATE teams
		SET numbers_held = teams.numbers_held - 1,
		    trial_used = teams.trial_used AND NOT (? AND released.is_trial),
		    updated_at = now()
		FROM released
		WHERE teams.id = released.team_id`, workflowID, giveTrialBack).Error
	return storeError("freeing a plan slot", err)
}

// HeldKeyOf returns the key of the held reservation that the live number
// record n was bought under, or "" when none is held. Records do not
// store the key (the workflow ID with its first run's ID); it is derived:
// the reservation of the same team and number, under the record's
// workflow ID, taken last before the record was created (a purchase
// reserves its slot before it records its number, so a later purchase's
// reservation, taken while the record stood, never matches).
//
// It serves releases of a record whose workflow is no longer running.
func (s *ReservationStore) HeldKeyOf(ctx context.Context, n domain.PhoneNumber) (string, error) {
	switch {
	case n.TeamID == "" || n.PhoneNumber == "" || n.WorkflowID == "":
		return "", domain.Invalid("phoneNumber", "Finding a number's plan slot needs its team, number and workflow ID.")
	case n.CreatedAt.IsZero():
		return "", domain.Invalid("createdAt", "Finding a number's plan slot needs the record's creation time.")
	}
	var keys []string
	err := s.db.WithContext(ctx).Raw(`
		SELECT workflow_id FROM number_reservations
		WHERE team_id = ? AND phone_number = ? AND status = 'held'
		  AND starts_with(workflow_id, ?) AND created_at <= ?
		ORDER BY created_at DESC
		LIMIT 1`, n.TeamID, n.PhoneNumber, n.WorkflowID+"/", n.CreatedAt).Scan(&keys).Error
	if err != nil {
		return "", storeError("finding a number's plan slot", err)
	}
	if len(keys) == 0 {
		return "", nil
	}
	return keys[0], nil
}
