package persistence_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

func TestReservePlanLimitHoldsUnderConcurrency(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewReservationStore)
	acct := newAccount(t, db, domain.PlanStarter) // 3 slots

	var (
		mu  sync.Mutex
		won []domain.Reservation
	)
	raceStarterSlots(t, db, acct, 50, func(i int) error {
		r, err := store.Reserve(ctx, acct.TeamID, fmt.Sprintf("purchase-%d", i), fmt.Sprintf("+1415555%04d", i))
		if err == nil {
			mu.Lock()
			won = append(won, r)
			mu.Unlock()
		}
		return err
	})
	for _, r := range won {
		if r.IsTrial || r.Status != domain.ReservationHeld || r.TeamID != acct.TeamID || r.CreatedAt.IsZero() {
			t.Errorf("reservation = %+v, want a held paid slot of %s", r, acct.TeamID)
		}
	}
	elig, err := persistence.NewAccountStore(db).Eligibility(ctx, acct.TeamID)
	if err != nil || elig.CurrentCount != 3 {
		t.Errorf("Eligibility = %+v, %v; want currentCount 3", elig, err)
	}
}

func TestReserveIsIdempotentPerWorkflow(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewReservationStore)
	acct := newAccount(t, db, domain.PlanStarter)

	first, err := store.Reserve(ctx, acct.TeamID, "phone-number:+14155550101/run-1", "+14155550101")
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	// An activity retry, even racing the first attempt.
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			again, err := store.Reserve(ctx, acct.TeamID, "phone-number:+14155550101/run-1", "+14155550101")
			if err != nil {
				t.Errorf("retried Reserve: %v", err)
				return
			}
			if again.ID != first.ID {
				t.Errorf("retried Reserve returned %s, want the first reservation %s", again.ID, first.ID)
			}
		})
	}
	wg.Wait()
	if n := numbersHeld(t, db, acct.TeamID); n != 1 {
		t.Errorf("numbers_held = %d after retries, want 1", n)
	}

	// The retry still succeeds when the team has filled its plan since.
	for i := range 2 {
		if _, err := store.Reserve(ctx, acct.TeamID, fmt.Sprintf("other-%d", i), "+14155550102"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Reserve(ctx, acct.TeamID, "phone-number:+14155550101/run-1", "+14155550101"); err != nil {
		t.Errorf("retried Reserve at the limit: %v", err)
	}

	// The same key for another team or number is a conflict, not a slot.
	other := newAccount(t, db, domain.PlanGrowth)
	if _, err := store.Reserve(ctx, other.TeamID, "phone-number:+14155550101/run-1", "+14155550101"); domain.ErrorKind(err) != domain.KindConflict {
		t.Errorf("Reserve with another team's key = %v, want KindConflict", err)
	}
	if n := numbersHeld(t, db, other.TeamID); n != 0 {
		t.Errorf("other team numbers_held = %d, want 0", n)
	}
}

func TestFreeTeamGetsOneTrialEver(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewReservationStore)
	acct := newAccount(t, db, domain.PlanFree)

	trial, err := store.Reserve(ctx, acct.TeamID, "trial-1", "+14155550101")
	if err != nil {
		t.Fatalf("Reserve the trial: %v", err)
	}
	if !trial.IsTrial {
		t.Error("a free team's reservation is not a trial")
	}
	_, err = store.Reserve(ctx, acct.TeamID, "trial-2", "+14155550102")
	if e := limitEligibility(t, err); e != (domain.Eligibility{CurrentCount: 1, MaxAllowed: 1, HasSubscription: false, PlanName: "Free"}) {
		t.Errorf("second trial eligibility = %+v", e)
	}

	if err := store.Release(ctx, "trial-1"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if n := numbersHeld(t, db, acct.TeamID); n != 0 {
		t.Errorf("numbers_held after release = %d, want 0", n)
	}
	_, err = store.Reserve(ctx, acct.TeamID, "trial-3", "+14155550103")
	if e := limitEligibility(t, err); e.CurrentCount != 0 || e.MaxAllowed != 1 {
		t.Errorf("trial after release eligibility = %+v, want 0 of 1", e)
	}

	// Subscribing lifts the trial rule: a paid plan counts slots only.
	if err := db.Exec("UPDATE teams SET plan_name = 'starter' WHERE id = ?", acct.TeamID).Error; err != nil {
		t.Fatal(err)
	}
	paid, err := store.Reserve(ctx, acct.TeamID, "paid-1", "+14155550104")
	if err != nil {
		t.Fatalf("Reserve after subscribing: %v", err)
	}
	if paid.IsTrial {
		t.Error("a paid team's reservation is a trial")
	}
}

func TestReleaseDecrementsOnce(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewReservationStore)
	acct := newAccount(t, db, domain.PlanGrowth)
	for _, wf := range []string{"wf-a", "wf-b"} {
		if _, err := store.Reserve(ctx, acct.TeamID, wf, "+14155550101"); err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if err := store.Release(ctx, "wf-a"); err != nil {
				t.Errorf("Release: %v", err)
			}
		})
	}
	wg.Wait()
	if err := store.Release(ctx, "wf-a"); err != nil {
		t.Errorf("Release again: %v", err)
	}
	if err := store.Release(ctx, "wf-never-reserved"); err != nil {
		t.Errorf("Release(unknown): %v", err)
	}
	if n := numbersHeld(t, db, acct.TeamID); n != 1 {
		t.Errorf("numbers_held = %d, want 1", n)
	}
	var status string
	db.Raw("SELECT status FROM number_reservations WHERE workflow_id = 'wf-a'").Find(&status)
	if status != string(domain.ReservationReleased) {
		t.Errorf("reservation status = %q, want released", status)
	}

	// A late retry of the released purchase does not take the slot back.
	if _, err := store.Reserve(ctx, acct.TeamID, "wf-a", "+14155550101"); !errors.Is(err, persistence.ErrReservationReleased) {
		t.Errorf("Reserve of a released key = %v, want ErrReservationReleased", err)
	}
	if n := numbersHeld(t, db, acct.TeamID); n != 1 {
		t.Errorf("numbers_held = %d after the late retry, want 1", n)
	}
}

func TestReserveUnknownTeamAndBadInput(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewReservationStore)
	if _, err := store.Reserve(ctx, "team_missing", "wf", "+14155550101"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Reserve(missing team) = %v, want ErrNotFound", err)
	}
	acct := newAccount(t, db, domain.PlanGrowth)
	for name, args := range map[string][3]string{
		"no team":     {"", "wf", "+14155550101"},
		"no workflow": {acct.TeamID, "", "+14155550101"},
		"no number":   {acct.TeamID, "wf", ""},
	} {
		if _, err := store.Reserve(ctx, args[0], args[1], args[2]); domain.ErrorKind(err) != domain.KindInvalid {
			t.Errorf("Reserve(%s) = %v, want KindInvalid", name, err)
		}
	}
	if err := store.Release(ctx, ""); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("Release(\"\") = %v, want KindInvalid", err)
	}
}

func TestCancelGivesTheTrialBack(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewReservationStore)
	acct := newAccount(t, db, domain.PlanFree)
	if _, err := store.Reserve(ctx, acct.TeamID, "wf-1", "+14155550101"); err != nil {
		t.Fatal(err)
	}
	if err := store.Cancel(ctx, "wf-1"); err != nil {
		t.Fatal(err)
	}
	if err := store.Cancel(ctx, "wf-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Reserve(ctx, acct.TeamID, "wf-2", "+14155550102"); err != nil {
		t.Fatalf("after an undone trial purchase the team cannot try again: %v", err)
	}
	if err := store.Release(ctx, "wf-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Reserve(ctx, acct.TeamID, "wf-3", "+14155550103"); domain.ErrorKind(err) != domain.KindLimit {
		t.Fatalf("a released (held) trial is still used: %v", err)
	}
}

// HeldKeyOf finds the slot a record was bought under, from the record
// alone: not a later purchase's slot of the same number, not a released one.
func TestHeldKeyOfFindsTheSlotOfTheRecord(t *testing.T) {
	ctx, db, slots := newStore(t, persistence.NewReservationStore)
	store := persistence.NewPhoneNumberStore(db)
	a := newAccount(t, db, domain.PlanGrowth)
	const e164 = "+14155550131"
	wf := "phone-number:" + e164

	// An earlier purchase, ended with its slot freed.
	if _, err := slots.Reserve(ctx, a.TeamID, wf+"/run-0", e164); err != nil {
		t.Fatal(err)
	}
	if err := slots.Release(ctx, wf+"/run-0"); err != nil {
		t.Fatal(err)
	}
	if _, err := slots.Reserve(ctx, a.TeamID, wf+"/run-1", e164); err != nil {
		t.Fatal(err)
	}
	rec := newPending(t, store, a, e164)
	// A later purchase that reserved, then met the live record.
	if _, err := slots.Reserve(ctx, a.TeamID, wf+"/run-2", e164); err != nil {
		t.Fatal(err)
	}
	key, err := slots.HeldKeyOf(ctx, rec)
	if err != nil || key != wf+"/run-1" {
		t.Fatalf("HeldKeyOf = %q, %v; want %s/run-1", key, err, wf)
	}
	if err := slots.Release(ctx, key); err != nil {
		t.Fatal(err)
	}
	if key, err := slots.HeldKeyOf(ctx, rec); err != nil || key != "" {
		t.Fatalf("HeldKeyOf after the release = %q, %v; want none", key, err)
	}
	if _, err := slots.HeldKeyOf(ctx, domain.PhoneNumber{}); domain.ErrorKind(err) != domain.KindInvalid {
		t.Fatalf("HeldKeyOf(empty) = %v, want invalid", err)
	}
}
