package persistence_test

import (
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
)

// insertNumber writes a phone_numbers row directly, past PhoneNumberStore:
// these tests are about the constraints underneath it.
func insertNumber(db *gorm.DB, teamID, userID, e164 string, status domain.NumberStatus) (string, error) {
	id := domain.NewID(domain.PrefixPhoneNumber)
	err := db.Exec(`INSERT INTO phone_numbers (id, team_id, phone_number, status, created_by_user_id)
		VALUES (?, ?, ?, ?, ?)`, id, teamID, e164, string(status), userID).Error
	return id, err
}

func TestOneLiveRecordPerNumber(t *testing.T) {
	_, db := newTestDB(t)
	a := newAccount(t, db, domain.PlanGrowth)
	b := newAccount(t, db, domain.PlanGrowth)
	const e164 = "+14155550101"

	first, err := insertNumber(db, a.TeamID, a.UserID, e164, domain.NumberPending)
	if err != nil {
		t.Fatalf("first pending row: %v", err)
	}
	for _, status := range []domain.NumberStatus{domain.NumberPending, domain.NumberActive} {
		if _, err := insertNumber(db, b.TeamID, b.UserID, e164, status); !errors.Is(err, gorm.ErrDuplicatedKey) {
			t.Errorf("second %s row for a live number: %v, want ErrDuplicatedKey", status, err)
		}
	}
	// History does not block: released, expired and failed rows may repeat.
	for _, status := range []domain.NumberStatus{domain.NumberReleased, domain.NumberExpired, domain.NumberFailed} {
		if _, err := insertNumber(db, b.TeamID, b.UserID, e164, status); err != nil {
			t.Errorf("%s row next to a live one: %v", status, err)
		}
	}
	if err := db.Exec("UPDATE phone_numbers SET status = 'released', released_at = now() WHERE id = ?", first).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := insertNumber(db, b.TeamID, b.UserID, e164, domain.NumberActive); err != nil {
		t.Errorf("new active row after the first was released: %v", err)
	}
}

func TestNumberConstraints(t *testing.T) {
	_, db := newTestDB(t)
	a := newAccount(t, db, domain.PlanGrowth)
	b := newAccount(t, db, domain.PlanGrowth)

	if _, err := insertNumber(db, a.TeamID, a.UserID, "+14155550102", "sold"); !errors.Is(err, gorm.ErrCheckConstraintViolated) {
		t.Errorf("unknown status: %v, want ErrCheckConstraintViolated", err)
	}
	if _, err := insertNumber(db, a.TeamID, a.UserID, "4155550102", domain.NumberActive); !errors.Is(err, gorm.ErrCheckConstraintViolated) {
		t.Errorf("number not in E.164: %v, want ErrCheckConstraintViolated", err)
	}

	// A number can only be assigned an assistant of its own team, and
	// deleting the assistant unassigns the number.
	own := newAssistant(t, db, a.TeamID, "Own")
	foreign := newAssistant(t, db, b.TeamID, "Foreign")
	num, err := insertNumber(db, a.TeamID, a.UserID, "+14155550103", domain.NumberActive)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE phone_numbers SET assistant_id = ? WHERE id = ?", foreign.ID, num).Error; !errors.Is(err, gorm.ErrForeignKeyViolated) {
		t.Errorf("assigning another team's assistant: %v, want ErrForeignKeyViolated", err)
	}
	if err := db.Exec("UPDATE phone_numbers SET assistant_id = ? WHERE id = ?", own.ID, num).Error; err != nil {
		t.Fatalf("assigning the team's assistant: %v", err)
	}
	if err := db.Exec("DELETE FROM assistants WHERE id = ?", own.ID).Error; err != nil {
		t.Fatalf("deleting the assistant: %v", err)
	}
	var row struct {
		TeamID      string
		AssistantID *string
	}
	db.Raw("SELECT team_id, assistant_id FROM phone_numbers WHERE id = ?", num).Find(&row)
	if row.AssistantID != nil || row.TeamID != a.TeamID {
		t.Errorf("after deleting its assistant, number = %+v, want team %s and no assistant", row, a.TeamID)
	}

	// The team counter cannot go negative.
	if err := db.Exec("UPDATE teams SET numbers_held = -1 WHERE id = ?", a.TeamID).Error; !errors.Is(err, gorm.ErrCheckConstraintViolated) {
		t.Errorf("negative numbers_held: %v, want ErrCheckConstraintViolated", err)
	}
}
