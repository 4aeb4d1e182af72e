package persistence_test

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
)

// account is a team with one user and one API key, as Bootstrap made it.
type account struct {
	domain.BootstrapResult
	Token string
}

// newAccount bootstraps a team on plan with a fresh user and key.
func newAccount(t *testing.T, db *gorm.DB, plan domain.PlanName) account {
	t.Helper()
	token, hash := domain.NewAPIToken()
	res, err := persistence.NewAccountStore(db).Bootstrap(t.Context(), domain.BootstrapInput{
		TeamName:  "Team " + string(plan),
		Plan:      plan,
		UserEmail: domain.NewID("u") + "@example.com",
		UserName:  "Ann Example",
		TokenHash: hash,
	})
	if err != nil {
		t.Fatalf("Bootstrap(%s): %v", plan, err)
	}
	return account{BootstrapResult: res, Token: token}
}

// newTestDB is pgtest.NewDB with the test's context at hand.
func newTestDB(t *testing.T) (context.Context, *gorm.DB) {
	t.Helper()
	return t.Context(), pgtest.NewDB(t)
}

// numbersHeld reads the team's plan counter straight from the table.
func numbersHeld(t *testing.T, db *gorm.DB, teamID string) int {
	t.Helper()
	var n int
	if err := db.Raw("SELECT numbers_held FROM teams WHERE id = ?", teamID).Find(&n).Error; err != nil {
		t.Fatalf("reading numbers_held: %v", err)
	}
	return n
}
