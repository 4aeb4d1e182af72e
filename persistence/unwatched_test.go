package persistence_test

import (
	"testing"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

// Search leaves out what LiveAmong reports: pending and active numbers of
// any team, never ended ones or unknown ones.
func TestLiveAmongReportsTheNumbersAnyTeamHolds(t *testing.T) {
	t.Parallel()
	ctx, db := newTestDB(t)
	store := persistence.NewPhoneNumberStore(db)
	a := newAccount(t, db, domain.PlanGrowth)
	b := newAccount(t, db, domain.PlanGrowth)

	newPending(t, store, a, "+14155550121")
	newActive(t, store, b, "+14155550122")
	ended := newActive(t, store, a, "+14155550123")
	if _, err := store.End(ctx, ended.ID, domain.NumberReleased); err != nil {
		t.Fatal(err)
	}
	got, err := store.LiveAmong(ctx, []string{"+14155550121", "+14155550122", "+14155550123", "+14155550124", "+1415\x00"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got["+14155550121"] || !got["+14155550122"] {
		t.Fatalf("LiveAmong = %v, want the pending and the active number only", got)
	}
	if got, err := store.LiveAmong(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("LiveAmong(nil) = %v, %v", got, err)
	}
}

// HeldKeyOf finds the slot a record was bought under, from the record
// alone: not a later purchase's slot of the same number, not a released one.
func TestHeldKeyOfFindsTheSlotOfTheRecord(t *testing.T) {
	t.Parallel()
	ctx, db := newTestDB(t)
	slots := persistence.NewReservationStore(db)
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
