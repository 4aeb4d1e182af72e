package persistence_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// newAssistant creates the team's assistant of this name.
func newAssistant(t *testing.T, db *gorm.DB, teamID, name string) domain.Assistant {
	t.Helper()
	a, err := persistence.NewAssistantStore(db).CreateAssistant(t.Context(), domain.Assistant{TeamID: teamID, Name: name})
	if err != nil {
		t.Fatalf("CreateAssistant(%s): %v", name, err)
	}
	return a
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

// newTestDB starts a parallel test on a fresh database, with the test's
// context at hand.
func newTestDB(t *testing.T) (context.Context, *gorm.DB) {
	t.Helper()
	t.Parallel()
	return t.Context(), pgtest.NewDB(t)
}

// newStore is newTestDB with the store under test, which open makes, on
// the database.
func newStore[S any](t *testing.T, open func(*gorm.DB) S) (context.Context, *gorm.DB, S) {
	t.Helper()
	ctx, db := newTestDB(t)
	return ctx, db, open(db)
}

// numbersHeld reads the team's plan counter straight from the table.
func numbersHeld(t *testing.T, db *gorm.DB, teamID string) int {
	t.Helper()
	return teamColumn[int](t, db, teamID, "numbers_held")
}

// trialUsed reads the team's trial flag straight from the table.
func trialUsed(t *testing.T, db *gorm.DB, teamID string) bool {
	t.Helper()
	return teamColumn[bool](t, db, teamID, "trial_used")
}

func teamColumn[T any](t *testing.T, db *gorm.DB, teamID, column string) T {
	t.Helper()
	var v T
	if err := db.Raw("SELECT "+column+" FROM teams WHERE id = ?", teamID).Find(&v).Error; err != nil {
		t.Fatalf("reading %s: %v", column, err)
	}
	return v
}

// countRows runs a count(*) query straight on the tables.
func countRows(t *testing.T, db *gorm.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Raw(query, args...).Find(&n).Error; err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// raceStarterSlots runs attempts calls of try at once on the Starter
// team's three slots. It fails the test unless exactly three succeed,
// every refusal is plan_limit_reached with the full team's eligibility,
// and the team holds three slots in its counter and in
// number_reservations (refusals roll back).
func raceStarterSlots(t *testing.T, db *gorm.DB, acct account, attempts int, try func(i int) error) {
	t.Helper()
	var (
		wg  sync.WaitGroup
		won atomic.Int32
	)
	start := make(chan struct{})
	for i := range attempts {
		wg.Go(func() {
			<-start
			if err := try(i); err != nil {
				want := domain.Eligibility{CurrentCount: 3, MaxAllowed: 3, HasSubscription: true, PlanName: "Starter"}
				if e := limitEligibility(t, err); e != want {
					t.Errorf("refusal eligibility = %+v, want %+v", e, want)
				}
				return
			}
			won.Add(1)
		})
	}
	close(start)
	wg.Wait()
	if n := won.Load(); n != 3 {
		t.Fatalf("%d of %d attempts took a slot, want 3", n, attempts)
	}
	if n := numbersHeld(t, db, acct.TeamID); n != 3 {
		t.Errorf("numbers_held = %d, want 3", n)
	}
	if rows := countRows(t, db, "SELECT count(*) FROM number_reservations WHERE team_id = ?", acct.TeamID); rows != 3 {
		t.Errorf("%d reservation rows, want 3 (refusals roll back)", rows)
	}
}

// newPending records a pending purchase of e164 by the account under a
// fresh id.
func newPending(t *testing.T, store *persistence.PhoneNumberStore, acct account, e164 string) domain.PhoneNumber {
	t.Helper()
	n, err := store.CreatePending(t.Context(), pendingNumber(acct, e164))
	if err != nil {
		t.Fatalf("CreatePending(%s): %v", e164, err)
	}
	return n
}

// pendingNumber is a purchase of e164 by the account, not yet recorded.
func pendingNumber(acct account, e164 string) domain.PhoneNumber {
	return domain.PhoneNumber{
		ID:              domain.NewID(domain.PrefixPhoneNumber),
		TeamID:          acct.TeamID,
		PhoneNumber:     e164,
		CreatedByUserID: acct.UserID,
		WorkflowID:      "phone-number:" + e164,
	}
}

// newActive records e164 as the account's active, paid number.
func newActive(t *testing.T, store *persistence.PhoneNumberStore, acct account, e164 string) domain.PhoneNumber {
	t.Helper()
	n := newPending(t, store, acct, e164)
	active, err := store.Activate(t.Context(), domain.ActivateNumber{ID: n.ID, ProviderNumberID: "tx-" + e164})
	if err != nil {
		t.Fatalf("Activate(%s): %v", e164, err)
	}
	return active
}

// wantError fails the test unless err is a *domain.Error of this kind and
// code.
func wantError(t *testing.T, what string, err error, kind domain.Kind, code string) *domain.Error {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Kind != kind || de.Code != code {
		t.Errorf("%s: error = %v, want kind %d code %s", what, err, kind, code)
		return &domain.Error{}
	}
	if de.Message == "" {
		t.Errorf("%s: error %v has no message", what, err)
	}
	return de
}

// sameNumber reports whether a and b record the same state, comparing
// what their pointer fields point to.
func sameNumber(a, b domain.PhoneNumber) bool {
	sameTime := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	sameString := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	if !sameTime(a.TrialExpiresAt, b.TrialExpiresAt) || !sameTime(a.ReleasedAt, b.ReleasedAt) || !sameString(a.AssistantID, b.AssistantID) {
		return false
	}
	a.TrialExpiresAt, b.TrialExpiresAt, a.ReleasedAt, b.ReleasedAt, a.AssistantID, b.AssistantID = nil, nil, nil, nil, nil, nil
	return a == b
}

// limitEligibility returns the eligibility of a plan_limit_reached error,
// marking the test failed when err is anything else. It uses Errorf, not
// Fatalf, so that goroutines may call it.
func limitEligibility(t *testing.T, err error) domain.Eligibility {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Kind != domain.KindLimit || de.Code != domain.CodePlanLimitReached {
		t.Errorf("error = %v, want KindLimit %s", err, domain.CodePlanLimitReached)
		return domain.Eligibility{}
	}
	e, ok := de.Details["eligibility"].(domain.Eligibility)
	if !ok {
		t.Errorf("Details[eligibility] = %#v, want a domain.Eligibility", de.Details["eligibility"])
	}
	return e
}
