package persistence

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
)

// liveStatuses is the SQL list of the statuses that hold a number; it
// matches domain.NumberStatus.Live and the predicate of the unique index
// phone_numbers_live_number_key (one live record per E.164 number).
const liveStatuses = "('pending', 'active')"

// createPendingAttempts bounds how often CreatePending inserts again when
// the live record that refused it has ended before it could be read: the
// number is free by then, so the purchase should not fail on a stale
// conflict, but a number that keeps changing hands must not loop forever.
const createPendingAttempts = 3

// ErrNumberEnded is returned when a released, expired or failed number is
// asked to change (activated, assigned an assistant, converted from trial):
// a number that has ended stays ended, and a new purchase makes a new
// record. It is a conflict: retrying cannot fix it.
var ErrNumberEnded = &domain.Error{
	Kind:    domain.KindConflict,
	Code:    domain.CodeNumberEnded,
	Message: "This phone number was released, expired or failed, so it can no longer be changed.",
}

// PhoneNumberStore keeps the numbers teams hold, and held, in PostgreSQL;
// it implements domain.PhoneNumberStore.
//
// Every write is idempotent, because the Temporal activities that call them
// are retried: a write that already happened returns the record as it is
// instead of failing or writing again. Each write is a single conditional
// statement, so concurrent callers cannot interleave between a check and
// the change it guards.
type PhoneNumberStore struct {
	db *gorm.DB
}

var _ domain.PhoneNumberStore = (*PhoneNumberStore)(nil)

// NewPhoneNumberStore returns a PhoneNumberStore on db.
func NewPhoneNumberStore(db *gorm.DB) *PhoneNumberStore {
	return &PhoneNumberStore{db: db}
}

// CreatePending records the number n.PhoneNumber being bought by n.TeamID,
// under the id n.ID that the caller chose (so a retry names the same
// record). The record is pending whatever n.Status says; n.CreatedAt is
// used when set, and the database's clock otherwise.
//
// Creating an id that exists returns the stored record unchanged. When
// another live record holds the number, the result is a *domain.Error of
// KindConflict: code already_owned when that record is the same team's
// active number, number_unavailable when it is another team's active
// number, and number_in_purchase when it is pending (another purchase, of
// this team or another, is under way, or stopped without ending it). A team or buyer that does not
// exist is domain.ErrNotFound.
func (s *PhoneNumberStore) CreatePending(ctx context.Context, n domain.PhoneNumber) (domain.PhoneNumber, error) {
	if err := checkPending(n); err != nil {
		return domain.PhoneNumber{}, err
	}
	return createPending(ctx, s.db, n)
}

// checkPending refuses a pending record missing what identifies it.
func checkPending(n domain.PhoneNumber) error {
	switch {
	case n.ID == "":
		return domain.Invalid("id", "A phone number record needs an id.")
	case n.TeamID == "":
		return domain.Invalid("teamId", "A phone number record needs a team.")
	case n.PhoneNumber == "":
		return domain.Invalid("phoneNumber", "A phone number record needs the number.")
	case n.CreatedByUserID == "":
		return domain.Invalid("createdByUserId", "A phone number record needs the user who buys it.")
	}
	return nil
}

// createPending is CreatePending's work on db, the pool or a transaction
// (PurchaseStore.Begin's).
//
// Inside a transaction its retry needs no savepoint: ON CONFLICT DO NOTHING
// never fails the statement, so the transaction is still usable after a
// refused insert, and under READ COMMITTED each statement reads what was
// committed when it started, so the next attempt sees the ended record
// ended. Every error it returns ends the attempt, and the caller's whole
// transaction with it.
func createPending(ctx context.Context, db *gorm.DB, n domain.PhoneNumber) (domain.PhoneNumber, error) {
	m := phoneNumberFromDomain(n)
	var createdAt *time.Time
	if !n.CreatedAt.IsZero() {
		t := n.CreatedAt.UTC().Truncate(time.Microsecond) // as stored
		createdAt = &t
	}

	for attempt := 1; ; attempt++ {
		// ON CONFLICT without a target covers both unique indexes: the
		// primary key (a retry of this call) and the live-number index
		// (another live record of the number). Neither fails the statement,
		// so neither is logged as an error; which one it was is read
		// afterwards. Concurrent inserts of either wait for each other, so
		// the reads below see whichever row won.
		var inserted []phoneNumberModel
		err := db.WithContext(ctx).Raw(`
			INSERT INTO phone_numbers (id, team_id, phone_number, provider, provider_number_id,
				provider_order_id, connection_id, status, is_trial, trial_expires_at, assistant_id,
				created_by_user_id, workflow_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, coalesce(?, now()), now())
			ON CONFLICT DO NOTHING
			RETURNING *`,
			m.ID, m.TeamID, m.PhoneNumber, m.Provider, m.ProviderNumberID,
			m.ProviderOrderID, m.ConnectionID, m.IsTrial, m.TrialExpiresAt, m.AssistantID,
			m.CreatedByUserID, m.WorkflowID, createdAt).Find(&inserted).Error
		switch {
		case errors.Is(err, gorm.ErrForeignKeyViolated):
			return domain.PhoneNumber{}, domain.ErrNotFound // the team, buyer or assistant
		case errors.Is(err, gorm.ErrCheckConstraintViolated):
			return domain.PhoneNumber{}, domain.Invalid("phoneNumber", "%s is not a phone number in E.164 format.", n.PhoneNumber)
		case err != nil:
			return domain.PhoneNumber{}, storeError("recording a pending number", err)
		case len(inserted) == 1:
			return inserted[0].toDomain(), nil
		}

		existing, err := loadNumber(ctx, db, n.ID)
		if err == nil {
			return existingPendingMatch(n, existing)
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return domain.PhoneNumber{}, storeError("reading a pending number", err)
		}
		holder, found, err := liveHolder(ctx, db, n.PhoneNumber)
		if err != nil {
			return domain.PhoneNumber{}, storeError("reading the live record of a number", err)
		}
		if found || attempt == createPendingAttempts {
			return domain.PhoneNumber{}, liveNumberConflict(n, holder, found)
		}
		// The live record ended before it could be read: the number is
		// free again, so insert again.
	}
}

// existingPendingMatch returns the stored record of a retried CreatePending,
// refusing one that records another team's or another number's purchase: an
// id reused for something else is a bug the caller must hear about.
func existingPendingMatch(n domain.PhoneNumber, m phoneNumberModel) (domain.PhoneNumber, error) {
	if m.TeamID != n.TeamID || m.PhoneNumber != n.PhoneNumber {
		return domain.PhoneNumber{}, domain.Errorf(domain.KindConflict, domain.CodeNumberIDTaken,
			"Phone number record %s already records another team's or another number's purchase.", n.ID)
	}
	return m.toDomain(), nil
}

// onPhoneNumber is de, naming the request's phoneNumber as its field.
func onPhoneNumber(de *domain.Error) *domain.Error {
	de.Field = "phoneNumber"
	return de
}

// liveNumberConflict explains why n cannot be recorded while holder (when
// found) holds its number. An active number is owned, whether or not its
// workflow still runs: the team's own is already_owned, another team's
// number_unavailable, as the purchase's own validator answers while the
// workflow runs.
func liveNumberConflict(n domain.PhoneNumber, holder phoneNumberModel, found bool) *domain.Error {
	if found && domain.NumberStatus(holder.Status) == domain.NumberActive {
		if holder.TeamID == n.TeamID {
			return onPhoneNumber(domain.AlreadyOwned(n.PhoneNumber))
		}
		return onPhoneNumber(domain.NumberUnavailable(n.PhoneNumber))
	}
	return &domain.Error{
		Kind:    domain.KindConflict,
		Code:    domain.CodeNumberInPurchase,
		Field:   "phoneNumber",
		Message: n.PhoneNumber + " is being bought by another purchase right now; try again in a minute or pick another number.",
	}
}

// MarkOrderAttempt stamps order_attempted_at on a pending number the first
// time it is called; first reports whether this call did. An active number
// was ordered already (a purchase run again from its start, as after an
// operator's reset): first is false, so its order is looked up, not placed
// again. An ended number is ErrNumberEnded and a missing one
// domain.ErrNotFound: no order may be placed for it.
func (s *PhoneNumberStore) MarkOrderAttempt(ctx context.Context, id string) (first bool, err error) {
	if id == "" {
		return false, domain.Invalid("id", "Marking an order attempt needs the phone number record's id.")
	}
	// One statement answers both: the row's earlier stamp (NULL when this
	// call set it) and whether the row is pending at all.
	var rows []struct {
		Before *time.Time `gorm:"column:before"`
	}
	err = s.db.WithContext(ctx).Raw(`
		UPDATE phone_numbers p SET order_attempted_at = coalesce(p.order_attempted_at, now()), updated_at = now()
		FROM (SELECT id, order_attempted_at AS before FROM phone_numbers WHERE id = ? FOR UPDATE) old
		WHERE p.id = old.id AND p.status = 'pending'
		RETURNING old.before`, id).Scan(&rows).Error
	if err != nil {
		return false, storeError("marking a number's order attempt", err)
	}
	if len(rows) == 1 {
		return rows[0].Before == nil, nil
	}
	m, err := s.load(ctx, id)
	switch {
	case err != nil:
		return false, err
	case domain.NumberStatus(m.Status) == domain.NumberActive:
		return false, nil
	}
	return false, ErrNumberEnded
}

// SetProviderOrder records the provider's order for a live number. Recording
// the same order again does nothing; a number that already records another
// order is a KindConflict error rather than being overwritten, since losing
// track of an order placed at the provider would leave it unaccounted for
// (and a second order for one number is a bug). An ended number is
// ErrNumberEnded, a missing one domain.ErrNotFound.
func (s *PhoneNumberStore) SetProviderOrder(ctx context.Context, id, orderID string) error {
	switch {
	case id == "":
		return domain.Invalid("id", "Recording an order needs the phone number record's id.")
	case orderID == "":
		return domain.Invalid("orderId", "Recording an order needs the provider's order id.")
	}
	// Only an empty order is written, so a retry does not even touch the row.
	res := s.db.WithContext(ctx).Exec(`
		UPDATE phone_numbers SET provider_order_id = ?, updated_at = now()
		WHERE id = ? AND status IN `+liveStatuses+` AND provider_order_id = ''`,
		orderID, id)
	if res.Error != nil {
		return storeError("recording a number's provider order", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	m, err := s.load(ctx, id)
	switch {
	case err != nil:
		return storeError("recording a number's provider order", err)
	case m.ProviderOrderID == orderID:
		return nil
	case !domain.NumberStatus(m.Status).Live():
		return ErrNumberEnded
	default:
		return domain.Errorf(domain.KindConflict, domain.CodeProviderOrderMismatch,
			"Phone number record %s already records provider order %s, not %s.", id, m.ProviderOrderID, orderID)
	}
}

// Activate makes a pending number active with what the provider's settled
// order says: the provider's id for the number, the order (recorded only
// when SetProviderOrder has not recorded one, which is kept for the same
// reason SetProviderOrder never overwrites it) and whether it is a trial
// number, expiring at TrialExpiresAt. A trial number needs an expiry; a
// paid one never keeps one.
//
// An active number is returned unchanged, so a retry succeeds; an ended one
// is ErrNumberEnded, since reviving it would hold a number that the
// purchase has already given up. A missing one is domain.ErrNotFound.
func (s *PhoneNumberStore) Activate(ctx context.Context, a domain.ActivateNumber) (domain.PhoneNumber, error) {
	if err := checkActivate(a); err != nil {
		return domain.PhoneNumber{}, err
	}
	return activate(ctx, s.db, a)
}

// checkActivate refuses an activation missing what the settled order must
// tell.
func checkActivate(a domain.ActivateNumber) error {
	switch {
	case a.ID == "":
		return domain.Invalid("id", "Activating a number needs its record's id.")
	case a.ProviderNumberID == "":
		return domain.Invalid("providerNumberId", "Activating a number needs the provider's id for it.")
	case a.IsTrial && a.TrialExpiresAt == nil:
		return domain.Invalid("trialExpiresAt", "A trial number needs the time its trial ends.")
	}
	return nil
}

// activate is Activate's work on db, the pool or a transaction
// (PurchaseStore.Complete's).
func activate(ctx context.Context, db *gorm.DB, a domain.ActivateNumber) (domain.PhoneNumber, error) {
	expires := a.TrialExpiresAt
	if !a.IsTrial {
		expires = nil
	}
	m, err := writeNumber(ctx, db, a.ID, `
		UPDATE phone_numbers
		SET status = 'active', provider_number_id = ?,
		    provider_order_id = CASE WHEN provider_order_id = '' THEN ? ELSE provider_order_id END,
		    is_trial = ?, trial_expires_at = ?, requirements = NULL, updated_at = now()
		WHERE id = ? AND status = 'pending'
		RETURNING *`,
		a.ProviderNumberID, a.ProviderOrderID, a.IsTrial, expires, a.ID)
	switch {
	case err != nil:
		return domain.PhoneNumber{}, storeError("activating a number", err)
	case domain.NumberStatus(m.Status) == domain.NumberActive:
		return m.toDomain(), nil
	default:
		return domain.PhoneNumber{}, ErrNumberEnded
	}
}

// End moves a live number to a final status (released, expired or failed),
// stamping released_at and unassigning its assistant: an ended number
// takes no calls, and an assistant's numbers are the ones it can use. Ending
// an ended number returns it unchanged, keeping its first final status and
// time. A missing number is domain.ErrNotFound.
//
// End does not free the team's plan slot: that is the purchase's
// reservation (ReservationStore.Release).
func (s *PhoneNumberStore) End(ctx context.Context, id string, status domain.NumberStatus) (domain.PhoneNumber, error) {
	switch {
	case id == "":
		return domain.PhoneNumber{}, domain.Invalid("id", "Ending a number needs its record's id.")
	case status != domain.NumberReleased && status != domain.NumberExpired && status != domain.NumberFailed:
		return domain.PhoneNumber{}, domain.Invalid("status", "A number ends as released, expired or failed, not %q.", status)
	}
	m, err := writeNumber(ctx, s.db, id, `
		UPDATE phone_numbers
		SET status = ?, released_at = now(), assistant_id = NULL, updated_at = now()
		WHERE id = ? AND status IN `+liveStatuses+`
		RETURNING *`, string(status), id)
	if err != nil {
		return domain.PhoneNumber{}, storeError("ending a number", err)
	}
	return m.toDomain(), nil
}

// Fail ends a live number as failed, recording reason (the error code
// of the failure) as its failure_reason; the requirements it waited on
// stay, to say which documents were missing. Failing an ended number
// returns it unchanged (its first final status, time and reason). A
// missing number is domain.ErrNotFound.
func (s *PhoneNumberStore) Fail(ctx context.Context, id, reason string) (domain.PhoneNumber, error) {
	switch {
	case id == "":
		return domain.PhoneNumber{}, domain.Invalid("id", "Failing a number needs its record's id.")
	case reason == "" || malformedText(reason):
		return domain.PhoneNumber{}, domain.Invalid("failureReason", "A failed number needs the code of its failure.")
	}
	m, err := writeNumber(ctx, s.db, id, `
		UPDATE phone_numbers
		SET status = 'failed', failure_reason = ?, released_at = now(), assistant_id = NULL, updated_at = now()
		WHERE id = ? AND status IN `+liveStatuses+`
		RETURNING *`, reason, id)
	if err != nil {
		return domain.PhoneNumber{}, storeError("failing a number", err)
	}
	return m.toDomain(), nil
}

// SetRequirements records what the pending number's regulated purchase
// waits on; nil clears it. Writing what is already there changes nothing
// (a retry does not even touch the row). Only a pending number waits on
// documents: an active or ended one is returned unchanged, so a late
// retry cannot put requirements back on a number that has them no more.
// A missing number is domain.ErrNotFound.
func (s *PhoneNumberStore) SetRequirements(ctx context.Context, id string, r *domain.PendingRequirements) (domain.PhoneNumber, error) {
	if id == "" {
		return domain.PhoneNumber{}, domain.Invalid("id", "Recording requirements needs the number record's id.")
	}
	var value any // NULL
	if c := requirementsFromDomain(r); c != nil {
		v, err := c.Value()
		if err != nil {
			return domain.PhoneNumber{}, storeError("encoding a number's requirements", err)
		}
		value = v
	}
	m, err := writeNumber(ctx, s.db, id, `
		UPDATE phone_numbers SET requirements = ?::jsonb, updated_at = now()
		WHERE id = ? AND status = 'pending' AND requirements IS DISTINCT FROM ?::jsonb
		RETURNING *`, value, id, value)
	if err != nil {
		return domain.PhoneNumber{}, storeError("recording a number's requirements", err)
	}
	return m.toDomain(), nil
}

// ConvertTrial makes a live trial number a paid one: not a trial, no
// expiry. A number that is not a trial is returned unchanged, so a retry
// succeeds; an ended trial number is ErrNumberEnded (an expired trial
// cannot be bought back by converting it). A missing one is
// domain.ErrNotFound.
func (s *PhoneNumberStore) ConvertTrial(ctx context.Context, id string) (domain.PhoneNumber, error) {
	if id == "" {
		return domain.PhoneNumber{}, domain.Invalid("id", "Converting a trial number needs its record's id.")
	}
	m, err := writeNumber(ctx, s.db, id, `
		UPDATE phone_numbers
		SET is_trial = false, trial_expires_at = NULL, updated_at = now()
		WHERE id = ? AND status IN `+liveStatuses+` AND (is_trial OR trial_expires_at IS NOT NULL)
		RETURNING *`, id)
	switch {
	case err != nil:
		return domain.PhoneNumber{}, storeError("converting a trial number", err)
	case !m.IsTrial && m.TrialExpiresAt == nil:
		return m.toDomain(), nil
	default:
		return domain.PhoneNumber{}, ErrNumberEnded
	}
}

// AssignAssistant assigns the team's live number to the team's assistant,
// moving it from any other (a number has at most one assistant); assigning
// it to its own assistant again changes nothing. A nil assistantID
// unassigns the number, whatever its status.
//
// A number that is missing or another team's is domain.ErrNotFound; an
// assistant that is missing or another team's is a KindNotFound error
// naming it; an ended number is ErrNumberEnded.
func (s *PhoneNumberStore) AssignAssistant(ctx context.Context, teamID, numberID string, assistantID *string) (domain.PhoneNumber, error) {
	switch {
	case teamID == "":
		return domain.PhoneNumber{}, domain.Invalid("teamId", "Assigning a number needs its team.")
	case numberID == "":
		return domain.PhoneNumber{}, domain.Invalid("id", "Assigning a number needs its id.")
	case assistantID != nil && *assistantID == "":
		return domain.PhoneNumber{}, domain.Invalid("assistantId", "The assistant id must not be empty; send null to unassign the number.")
	}
	if malformedText(teamID) || malformedText(numberID) {
		return domain.PhoneNumber{}, domain.ErrNotFound // no such id can exist
	}
	if assistantID != nil && malformedText(*assistantID) {
		return domain.PhoneNumber{}, domain.Invalid("assistantId", "The assistant id is not valid text.")
	}
	// The row only changes when the assignment does, so a retry writes
	// nothing. The EXISTS turns another team's (or a missing) assistant
	// into "no row changed" rather than a foreign-key failure that would be
	// logged as a database error; the foreign key (team_id, assistant_id)
	// still holds if the assistant is deleted meanwhile.
	var (
		updated []phoneNumberModel
		err     error
	)
	if assistantID == nil {
		err = s.db.WithContext(ctx).Raw(`
			UPDATE phone_numbers SET assistant_id = NULL, updated_at = now()
			WHERE team_id = ? AND id = ? AND assistant_id IS NOT NULL
			RETURNING *`, teamID, numberID).Find(&updated).Error
	} else {
		err = s.db.WithContext(ctx).Raw(`
			UPDATE phone_numbers p SET assistant_id = ?, updated_at = now()
			WHERE p.team_id = ? AND p.id = ? AND p.status IN `+liveStatuses+`
			  AND p.assistant_id IS DISTINCT FROM ?
			  AND EXISTS (SELECT 1 FROM assistants a WHERE a.team_id = p.team_id AND a.id = ?)
			RETURNING p.*`, *assistantID, teamID, numberID, *assistantID, *assistantID).Find(&updated).Error
	}
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return domain.PhoneNumber{}, assistantNotFound(*assistantID)
	}
	if err != nil {
		return domain.PhoneNumber{}, storeError("assigning a number to an assistant", err)
	}
	if len(updated) == 1 {
		return updated[0].toDomain(), nil
	}
	// Nothing changed: find out which condition did not hold.
	m, err := s.loadOfTeam(ctx, teamID, numberID)
	switch {
	case err != nil:
		return domain.PhoneNumber{}, storeError("assigning a number to an assistant", err)
	case assistantID == nil:
		return m.toDomain(), nil // already unassigned
	case !domain.NumberStatus(m.Status).Live():
		return domain.PhoneNumber{}, ErrNumberEnded
	case m.AssistantID != nil && *m.AssistantID == *assistantID:
		return m.toDomain(), nil // already assigned to it
	default:
		return domain.PhoneNumber{}, assistantNotFound(*assistantID)
	}
}

// assistantNotFound refuses an assistant that is missing or another team's,
// alike, so assistant ids cannot be probed across teams.
func assistantNotFound(id string) *domain.Error {
	return &domain.Error{
		Kind:    domain.KindNotFound,
		Code:    domain.CodeNotFound,
		Field:   "assistantId",
		Message: "Assistant " + id + " does not exist in this team.",
	}
}

// malformedText reports whether s cannot be a PostgreSQL text value
// (invalid UTF-8 or a NUL byte), so that input from a client is refused
// as such instead of failing the query like a database error.
func malformedText(s string) bool {
	return !utf8.ValidString(s) || strings.ContainsRune(s, 0)
}

// writeNumber runs one write of the number id as a conditional UPDATE …
// RETURNING *, on db or inside a transaction, and returns the row as the
// write left it: the changed row, or, when the condition did not hold (a
// retry, or a number in another state), the row as it is, for the caller
// to tell which. A missing number is domain.ErrNotFound.
func writeNumber(ctx context.Context, db *gorm.DB, id, query string, args ...any) (phoneNumberModel, error) {
	var updated []phoneNumberModel
	if err := db.WithContext(ctx).Raw(query, args...).Find(&updated).Error; err != nil {
		return phoneNumberModel{}, err
	}
	if len(updated) == 1 {
		return updated[0], nil
	}
	return loadNumber(ctx, db, id)
}

// load reads a number by id alone (the workflows' writes, which already
// know the record is theirs), or domain.ErrNotFound.
func (s *PhoneNumberStore) load(ctx context.Context, id string) (phoneNumberModel, error) {
	return loadNumber(ctx, s.db, id)
}

// loadNumber is load on db, the pool or a transaction.
func loadNumber(ctx context.Context, db *gorm.DB, id string) (phoneNumberModel, error) {
	return takeRow[phoneNumberModel](db.WithContext(ctx), "id = ?", id)
}

// loadOfTeam reads the team's number, or domain.ErrNotFound (also for
// another team's number).
func (s *PhoneNumberStore) loadOfTeam(ctx context.Context, teamID, id string) (phoneNumberModel, error) {
	return takeRow[phoneNumberModel](s.db.WithContext(ctx), "team_id = ? AND id = ?", teamID, id)
}
