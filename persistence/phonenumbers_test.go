package persistence_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

func TestCreatePendingIsIdempotent(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	acct := newAccount(t, db, domain.PlanGrowth)

	in := pendingNumber(acct, "+14155550101")
	in.Status = domain.NumberActive // ignored: a new record is pending
	first, err := store.CreatePending(ctx, in)
	if err != nil {
		t.Fatalf("CreatePending: %v", err)
	}
	if first.ID != in.ID || first.Status != domain.NumberPending || first.Provider != "telnyx" ||
		first.TeamID != acct.TeamID || first.CreatedByUserID != acct.UserID || first.WorkflowID != in.WorkflowID ||
		first.CreatedAt.IsZero() || first.CreatedAt.Location() != time.UTC || first.ReleasedAt != nil {
		t.Errorf("CreatePending = %+v", first)
	}

	// Activity retries, racing each other.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			again, err := store.CreatePending(ctx, in)
			if err != nil {
				t.Errorf("retried CreatePending: %v", err)
				return
			}
			if !sameNumber(again, first) {
				t.Errorf("retried CreatePending = %+v, want %+v", again, first)
			}
		})
	}
	wg.Wait()
	if n := countRows(t, db, "SELECT count(*) FROM phone_numbers WHERE phone_number = ?", in.PhoneNumber); n != 1 {
		t.Errorf("%d rows for the number, want 1", n)
	}

	// The id recording another number is a bug, not a retry.
	other := in
	other.PhoneNumber = "+14155550199"
	if _, err := store.CreatePending(ctx, other); domain.ErrorKind(err) != domain.KindConflict {
		t.Errorf("CreatePending(same id, other number) = %v, want KindConflict", err)
	}
}

func TestCreatePendingRefusesALiveNumber(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	a := newAccount(t, db, domain.PlanGrowth)
	b := newAccount(t, db, domain.PlanGrowth)
	const e164 = "+14155550102"

	pending := newPending(t, store, a, e164)
	_, err := store.CreatePending(ctx, pendingNumber(b, e164))
	wantError(t, "another team, number pending", err, domain.KindConflict, domain.CodeNumberInPurchase)
	_, err = store.CreatePending(ctx, pendingNumber(a, e164))
	wantError(t, "same team, number pending", err, domain.KindConflict, domain.CodeNumberInPurchase)

	if _, err := store.Activate(ctx, domain.ActivateNumber{ID: pending.ID, ProviderNumberID: "tx-1"}); err != nil {
		t.Fatal(err)
	}
	_, err = store.CreatePending(ctx, pendingNumber(a, e164))
	// The purchase's validator answers the same while its workflow runs.
	if de := wantError(t, "same team, number active", err, domain.KindConflict, domain.CodeAlreadyOwned); de.Message != domain.AlreadyOwned(e164).Message || de.Field != "phoneNumber" {
		t.Errorf("already_owned %q (field %q), want %q on phoneNumber", de.Message, de.Field, domain.AlreadyOwned(e164).Message)
	}
	_, err = store.CreatePending(ctx, pendingNumber(b, e164))
	if de := wantError(t, "another team, number active", err, domain.KindConflict, domain.CodeNumberUnavailable); de.Message != domain.NumberUnavailable(e164).Message || de.Field != "phoneNumber" {
		t.Errorf("number_unavailable %q (field %q), want %q on phoneNumber", de.Message, de.Field, domain.NumberUnavailable(e164).Message)
	}

	// Once released, the number may be bought again.
	if _, err := store.End(ctx, pending.ID, domain.NumberReleased); err != nil {
		t.Fatal(err)
	}
	again := newPending(t, store, b, e164)
	if again.TeamID != b.TeamID || again.Status != domain.NumberPending {
		t.Errorf("CreatePending after release = %+v", again)
	}

	if _, err := store.CreatePending(ctx, pendingNumber(a, "4155550102")); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("CreatePending(not E.164) = %v, want KindInvalid", err)
	}
	missingTeam := pendingNumber(a, "+14155550103")
	missingTeam.TeamID = "team_missing"
	if _, err := store.CreatePending(ctx, missingTeam); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("CreatePending(missing team) = %v, want ErrNotFound", err)
	}
	if _, err := store.CreatePending(ctx, domain.PhoneNumber{TeamID: a.TeamID, PhoneNumber: e164, CreatedByUserID: a.UserID}); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("CreatePending(no id) = %v, want KindInvalid", err)
	}
}

func TestActivateAndEnd(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	acct := newAccount(t, db, domain.PlanFree)
	n := newPending(t, store, acct, "+14155550104")

	if err := store.SetProviderOrder(ctx, n.ID, "order-1"); err != nil {
		t.Fatalf("SetProviderOrder: %v", err)
	}
	if err := store.SetProviderOrder(ctx, n.ID, "order-1"); err != nil {
		t.Errorf("SetProviderOrder again: %v", err)
	}
	if err := store.SetProviderOrder(ctx, n.ID, "order-2"); domain.ErrorKind(err) != domain.KindConflict {
		t.Errorf("SetProviderOrder(another order) = %v, want KindConflict", err)
	}
	if err := store.SetProviderOrder(ctx, "pn_missing", "order-1"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("SetProviderOrder(missing) = %v, want ErrNotFound", err)
	}

	expires := time.Now().UTC().Add(5 * 24 * time.Hour).Truncate(time.Microsecond)
	// The order recorded first is kept.
	active, err := store.Activate(ctx, domain.ActivateNumber{ID: n.ID, ProviderNumberID: "tx-104", ProviderOrderID: "order-other", IsTrial: true, TrialExpiresAt: &expires})
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	if active.Status != domain.NumberActive || active.ProviderNumberID != "tx-104" || active.ProviderOrderID != "order-1" ||
		!active.IsTrial || active.TrialExpiresAt == nil || !active.TrialExpiresAt.Equal(expires) {
		t.Errorf("Activate = %+v", active)
	}
	again, err := store.Activate(ctx, domain.ActivateNumber{ID: n.ID, ProviderNumberID: "tx-other"})
	if err != nil || !sameNumber(again, active) {
		t.Errorf("Activate again = %+v, %v; want it unchanged: %+v", again, err, active)
	}
	if got, err := store.Get(ctx, acct.TeamID, n.ID); err != nil || !sameNumber(got, active) {
		t.Errorf("Get = %+v, %v; want %+v", got, err, active)
	}

	ended, err := store.End(ctx, n.ID, domain.NumberExpired)
	if err != nil {
		t.Fatalf("End: %v", err)
	}
	if ended.Status != domain.NumberExpired || ended.ReleasedAt == nil || ended.ReleasedAt.Before(ended.CreatedAt) {
		t.Errorf("End = %+v", ended)
	}
	endedAgain, err := store.End(ctx, n.ID, domain.NumberReleased)
	if err != nil || !sameNumber(endedAgain, ended) {
		t.Errorf("End again = %+v, %v; want it unchanged: %+v", endedAgain, err, ended)
	}

	if _, err := store.Activate(ctx, domain.ActivateNumber{ID: n.ID, ProviderNumberID: "tx-104"}); !errors.Is(err, persistence.ErrNumberEnded) {
		t.Errorf("Activate(ended) = %v, want ErrNumberEnded", err)
	}
	if err := store.SetProviderOrder(ctx, n.ID, "order-3"); !errors.Is(err, persistence.ErrNumberEnded) {
		t.Errorf("SetProviderOrder(ended) = %v, want ErrNumberEnded", err)
	}
	if _, err := store.End(ctx, n.ID, domain.NumberActive); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("End(active) = %v, want KindInvalid", err)
	}
	if _, err := store.End(ctx, "pn_missing", domain.NumberFailed); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("End(missing) = %v, want ErrNotFound", err)
	}
	if _, err := store.Activate(ctx, domain.ActivateNumber{ID: "pn_missing", ProviderNumberID: "x"}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Activate(missing) = %v, want ErrNotFound", err)
	}
	if _, err := store.Activate(ctx, domain.ActivateNumber{ID: n.ID, ProviderNumberID: "x", IsTrial: true}); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("Activate(trial without expiry) = %v, want KindInvalid", err)
	}

	// A failed purchase ends a pending number.
	failed, err := store.End(ctx, newPending(t, store, acct, "+14155550105").ID, domain.NumberFailed)
	if err != nil || failed.Status != domain.NumberFailed || failed.ReleasedAt == nil {
		t.Errorf("End(pending, failed) = %+v, %v", failed, err)
	}
}

func TestConvertTrial(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	acct := newAccount(t, db, domain.PlanFree)
	expires := time.Now().UTC().Add(time.Hour)

	trial := newPending(t, store, acct, "+14155550106")
	activated, err := store.Activate(ctx, domain.ActivateNumber{ID: trial.ID, ProviderNumberID: "tx", ProviderOrderID: "ord-106", IsTrial: true, TrialExpiresAt: &expires})
	if err != nil || activated.ProviderOrderID != "ord-106" || !activated.IsTrial {
		t.Fatalf("Activate = %+v, %v; want trial with order ord-106", activated, err)
	}
	paid, err := store.ConvertTrial(ctx, trial.ID)
	if err != nil {
		t.Fatalf("ConvertTrial: %v", err)
	}
	if paid.IsTrial || paid.TrialExpiresAt != nil || paid.Status != domain.NumberActive {
		t.Errorf("ConvertTrial = %+v, want an active paid number", paid)
	}
	again, err := store.ConvertTrial(ctx, trial.ID)
	if err != nil || !sameNumber(again, paid) {
		t.Errorf("ConvertTrial again = %+v, %v; want it unchanged (no write): %+v", again, err, paid)
	}

	expired := newPending(t, store, acct, "+14155550107")
	if _, err := store.Activate(ctx, domain.ActivateNumber{ID: expired.ID, ProviderNumberID: "tx2", IsTrial: true, TrialExpiresAt: &expires}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.End(ctx, expired.ID, domain.NumberExpired); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ConvertTrial(ctx, expired.ID); !errors.Is(err, persistence.ErrNumberEnded) {
		t.Errorf("ConvertTrial(expired) = %v, want ErrNumberEnded", err)
	}
	if _, err := store.ConvertTrial(ctx, "pn_missing"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("ConvertTrial(missing) = %v, want ErrNotFound", err)
	}
}

func TestAssignAssistant(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	a := newAccount(t, db, domain.PlanGrowth)
	b := newAccount(t, db, domain.PlanGrowth)
	front := newAssistant(t, db, a.TeamID, "Front desk")
	night := newAssistant(t, db, a.TeamID, "Night line")
	foreign := newAssistant(t, db, b.TeamID, "Other team's")
	n := newActive(t, store, a, "+14155550109")

	assigned, err := store.AssignAssistant(ctx, a.TeamID, n.ID, &front.ID)
	if err != nil || assigned.AssistantID == nil || *assigned.AssistantID != front.ID {
		t.Fatalf("AssignAssistant = %+v, %v; want assistant %s", assigned, err, front.ID)
	}
	again, err := store.AssignAssistant(ctx, a.TeamID, n.ID, &front.ID)
	if err != nil || !again.UpdatedAt.Equal(assigned.UpdatedAt) || *again.AssistantID != front.ID {
		t.Errorf("AssignAssistant again = %+v, %v; want it unchanged: %+v", again, err, assigned)
	}
	moved, err := store.AssignAssistant(ctx, a.TeamID, n.ID, &night.ID)
	if err != nil || moved.AssistantID == nil || *moved.AssistantID != night.ID {
		t.Errorf("AssignAssistant(move) = %+v, %v; want assistant %s", moved, err, night.ID)
	}

	for _, id := range []string{foreign.ID, "asst_missing"} {
		_, err := store.AssignAssistant(ctx, a.TeamID, n.ID, &id)
		if de := wantError(t, "assigning assistant "+id, err, domain.KindNotFound, domain.CodeNotFound); !strings.Contains(de.Message, id) {
			t.Errorf("message %q does not name assistant %s", de.Message, id)
		}
	}
	if got, _ := store.Get(ctx, a.TeamID, n.ID); got.AssistantID == nil || *got.AssistantID != night.ID {
		t.Errorf("after refused assignments, number = %+v, want assistant %s", got, night.ID)
	}
	if _, err := store.AssignAssistant(ctx, b.TeamID, n.ID, &foreign.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("AssignAssistant(other team's number) = %v, want ErrNotFound", err)
	}

	unassigned, err := store.AssignAssistant(ctx, a.TeamID, n.ID, nil)
	if err != nil || unassigned.AssistantID != nil {
		t.Errorf("AssignAssistant(nil) = %+v, %v; want no assistant", unassigned, err)
	}
	if again, err := store.AssignAssistant(ctx, a.TeamID, n.ID, nil); err != nil || !sameNumber(again, unassigned) {
		t.Errorf("AssignAssistant(nil) again = %+v, %v; want it unchanged", again, err)
	}

	// A pending number may be assigned; an ended one may not, and ending
	// a number unassigns it.
	pending := newPending(t, store, a, "+14155550110")
	if got, err := store.AssignAssistant(ctx, a.TeamID, pending.ID, &front.ID); err != nil || got.AssistantID == nil {
		t.Errorf("AssignAssistant(pending) = %+v, %v", got, err)
	}
	ended, err := store.End(ctx, pending.ID, domain.NumberReleased)
	if err != nil || ended.AssistantID != nil {
		t.Errorf("End = %+v, %v; want the assistant cleared", ended, err)
	}
	_, err = store.AssignAssistant(ctx, a.TeamID, pending.ID, &front.ID)
	wantError(t, "assigning an ended number", err, domain.KindConflict, "number_ended")
	if got, err := store.AssignAssistant(ctx, a.TeamID, pending.ID, nil); err != nil || got.AssistantID != nil {
		t.Errorf("AssignAssistant(ended, nil) = %+v, %v; want it unchanged", got, err)
	}
}

// TestMarkOrderAttemptIsFirstOnce: the order step learns whether an
// earlier attempt may have placed the number's order; only a pending
// number may be ordered.
func TestMarkOrderAttemptIsFirstOnce(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	acct := newAccount(t, db, domain.PlanScale)
	n := newPending(t, store, acct, "+14155550109")
	if first, err := store.MarkOrderAttempt(ctx, n.ID); err != nil || !first {
		t.Fatalf("MarkOrderAttempt = %v, %v; want the first", first, err)
	}
	for range 2 {
		if first, err := store.MarkOrderAttempt(ctx, n.ID); err != nil || first {
			t.Fatalf("MarkOrderAttempt again = %v, %v; want not the first", first, err)
		}
	}
	if _, err := store.MarkOrderAttempt(ctx, "pn_missing"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("MarkOrderAttempt(missing) = %v, want ErrNotFound", err)
	}
	// An active number was ordered: a purchase run again from its start
	// (an operator's reset) looks its order up.
	if _, err := store.Activate(ctx, domain.ActivateNumber{ID: n.ID, ProviderNumberID: "tx-109"}); err != nil {
		t.Fatal(err)
	}
	if first, err := store.MarkOrderAttempt(ctx, n.ID); err != nil || first {
		t.Fatalf("MarkOrderAttempt(active) = %v, %v; want not the first, no error", first, err)
	}
	if _, err := store.End(ctx, n.ID, domain.NumberFailed); err != nil {
		t.Fatal(err)
	}
	if _, err := store.MarkOrderAttempt(ctx, n.ID); !errors.Is(err, persistence.ErrNumberEnded) {
		t.Errorf("MarkOrderAttempt(ended) = %v, want ErrNumberEnded", err)
	}
}
