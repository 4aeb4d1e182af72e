package persistence_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

// purchaseKey is the reservation key of a purchase of e164, as the number
// workflow makes it (workflow ID and run).
func purchaseKey(e164, run string) string {
	return "phone-number:" + e164 + "/" + run
}

func TestBeginReservesAndRecordsPending(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPurchaseStore)
	acct := newAccount(t, db, domain.PlanFree)
	const e164 = "+14155550201"

	in := pendingNumber(acct, e164)
	in.Status = domain.NumberActive // ignored: a new record is pending
	r, n, err := store.Begin(ctx, purchaseKey(e164, "run-1"), in)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if r.Status != domain.ReservationHeld || !r.IsTrial || r.TeamID != acct.TeamID ||
		r.WorkflowID != purchaseKey(e164, "run-1") || r.PhoneNumber != e164 {
		t.Errorf("reservation = %+v, want a held trial slot of %s", r, acct.TeamID)
	}
	if n.ID != in.ID || n.Status != domain.NumberPending || !n.IsTrial || n.Provider != domain.ProviderName ||
		n.TeamID != acct.TeamID || n.PhoneNumber != e164 || n.CreatedAt.IsZero() {
		t.Errorf("record = %+v, want a pending trial record of %s", n, e164)
	}
	if held := numbersHeld(t, db, acct.TeamID); held != 1 || !trialUsed(t, db, acct.TeamID) {
		t.Errorf("numbers_held = %d, trial_used = %v; want 1 and true", held, trialUsed(t, db, acct.TeamID))
	}

	// A paid plan's purchase is not a trial.
	paid := newAccount(t, db, domain.PlanStarter)
	_, pn, err := store.Begin(ctx, purchaseKey("+14155550202", "run-1"), pendingNumber(paid, "+14155550202"))
	if err != nil || pn.IsTrial {
		t.Errorf("Begin on a paid plan = %+v, %v; want a record that is not a trial", pn, err)
	}
}

func TestBeginIsIdempotent(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPurchaseStore)
	acct := newAccount(t, db, domain.PlanStarter)
	const e164 = "+14155550211"
	key, in := purchaseKey(e164, "run-1"), pendingNumber(acct, e164)

	firstR, firstN, err := store.Begin(ctx, key, in)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	// Local-activity retries, racing each other.
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			r, n, err := store.Begin(ctx, key, in)
			if err != nil {
				t.Errorf("retried Begin: %v", err)
				return
			}
			if r.ID != firstR.ID || r.Status != firstR.Status || !r.CreatedAt.Equal(firstR.CreatedAt) || !sameNumber(n, firstN) {
				t.Errorf("retried Begin = %+v, %+v; want %+v, %+v", r, n, firstR, firstN)
			}
		})
	}
	wg.Wait()
	if held := numbersHeld(t, db, acct.TeamID); held != 1 {
		t.Errorf("numbers_held = %d after retries, want 1", held)
	}
	if rows := countRows(t, db, "SELECT count(*) FROM number_reservations WHERE team_id = ?", acct.TeamID); rows != 1 {
		t.Errorf("%d reservation rows, want 1", rows)
	}
	if rows := countRows(t, db, "SELECT count(*) FROM phone_numbers WHERE team_id = ?", acct.TeamID); rows != 1 {
		t.Errorf("%d number rows, want 1", rows)
	}

	// A retry after the purchase was undone does not take the slot back.
	if err := persistence.NewReservationStore(db).Release(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Begin(ctx, key, in); !errors.Is(err, persistence.ErrReservationReleased) {
		t.Errorf("Begin after release = %v, want ErrReservationReleased", err)
	}
	if held := numbersHeld(t, db, acct.TeamID); held != 0 {
		t.Errorf("numbers_held = %d after release and retry, want 0", held)
	}
}

func TestBeginPlanLimitHoldsUnderConcurrency(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPurchaseStore)
	acct := newAccount(t, db, domain.PlanStarter) // 3 slots

	raceStarterSlots(t, db, acct, 50, func(i int) error {
		e164 := fmt.Sprintf("+1415556%04d", i)
		_, _, err := store.Begin(ctx, purchaseKey(e164, "run-1"), pendingNumber(acct, e164))
		return err
	})
	if rows := countRows(t, db, "SELECT count(*) FROM phone_numbers"); rows != 3 {
		t.Errorf("%d number rows, want 3 (refusals record nothing)", rows)
	}
	// Every record has its reservation, and the other way round.
	orphans := countRows(t, db, `
		SELECT count(*) FROM phone_numbers p
		FULL JOIN number_reservations r ON r.phone_number = p.phone_number AND r.team_id = p.team_id
		WHERE p.id IS NULL OR r.id IS NULL`)
	if orphans != 0 {
		t.Errorf("%d records or reservations without the other", orphans)
	}
}

func TestBeginRefusalsLeaveNothingBehind(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPurchaseStore)
	holder := newAccount(t, db, domain.PlanGrowth)
	buyer := newAccount(t, db, domain.PlanFree)
	const pending, active = "+14155550221", "+14155550222"
	numbers := persistence.NewPhoneNumberStore(db)
	newPending(t, numbers, holder, pending)
	newActive(t, numbers, holder, active)

	refusals := []struct {
		e164, code string
	}{
		{pending, domain.CodeNumberInPurchase},
		{active, domain.CodeNumberUnavailable},
	}
	for _, c := range refusals {
		key := purchaseKey(c.e164, "run-1")
		_, _, err := store.Begin(ctx, key, pendingNumber(buyer, c.e164))
		wantError(t, "Begin of "+c.e164, err, domain.KindConflict, c.code)
		if rows := countRows(t, db, "SELECT count(*) FROM number_reservations WHERE workflow_id = ?", key); rows != 0 {
			t.Errorf("%s: %d reservation rows left, want none", c.e164, rows)
		}
	}
	// The free team's one trial is still there to take.
	if held := numbersHeld(t, db, buyer.TeamID); held != 0 || trialUsed(t, db, buyer.TeamID) {
		t.Errorf("numbers_held = %d, trial_used = %v after refusals; want 0 and false", held, trialUsed(t, db, buyer.TeamID))
	}
	if rows := countRows(t, db, "SELECT count(*) FROM phone_numbers WHERE team_id = ?", buyer.TeamID); rows != 0 {
		t.Errorf("%d records of the buyer, want none", rows)
	}
	if _, _, err := store.Begin(ctx, purchaseKey("+14155550223", "run-1"), pendingNumber(buyer, "+14155550223")); err != nil {
		t.Errorf("Begin after the refusals: %v", err)
	}

	// At the limit: the free team has taken its trial.
	_, _, err := store.Begin(ctx, purchaseKey("+14155550224", "run-1"), pendingNumber(buyer, "+14155550224"))
	want := domain.Eligibility{CurrentCount: 1, MaxAllowed: 1, HasSubscription: false, PlanName: "Free"}
	if e := limitEligibility(t, err); e != want {
		t.Errorf("refusal eligibility = %+v, want %+v", e, want)
	}
	if rows := countRows(t, db, "SELECT count(*) FROM phone_numbers WHERE phone_number = ?", "+14155550224"); rows != 0 {
		t.Errorf("%d records of a refused purchase, want none", rows)
	}

	if _, _, err := store.Begin(ctx, "", pendingNumber(buyer, "+14155550225")); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("Begin(no key) = %v, want KindInvalid", err)
	}
	noID := pendingNumber(buyer, "+14155550225")
	noID.ID = ""
	if _, _, err := store.Begin(ctx, purchaseKey("+14155550225", "run-1"), noID); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("Begin(no record id) = %v, want KindInvalid", err)
	}
}

func TestCompleteActivatesAndCounts(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPurchaseStore)
	acct := newAccount(t, db, domain.PlanFree)
	const e164 = "+14155550231"
	_, n, err := store.Begin(ctx, purchaseKey(e164, "run-1"), pendingNumber(acct, e164))
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Now().UTC().Add(14 * 24 * time.Hour).Truncate(time.Microsecond)
	a := domain.ActivateNumber{ID: n.ID, ProviderNumberID: "tx-1", ProviderOrderID: "order-1", IsTrial: true, TrialExpiresAt: &expires}

	// Not the number's team: refused, and the number stays pending.
	other := newAccount(t, db, domain.PlanGrowth)
	if _, _, err := store.Complete(ctx, a, other.TeamID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Complete(another team) = %v, want ErrNotFound", err)
	}
	if got, err := persistence.NewPhoneNumberStore(db).Get(ctx, acct.TeamID, n.ID); err != nil || got.Status != domain.NumberPending {
		t.Errorf("after a refused Complete the number is %+v, %v; want it pending", got, err)
	}

	want := domain.Eligibility{CurrentCount: 1, MaxAllowed: 1, HasSubscription: false, PlanName: "Free"}
	first, elig, err := store.Complete(ctx, a, acct.TeamID)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if first.Status != domain.NumberActive || first.ProviderNumberID != "tx-1" || first.ProviderOrderID != "order-1" ||
		!first.IsTrial || first.TrialExpiresAt == nil || !first.TrialExpiresAt.Equal(expires) {
		t.Errorf("Complete = %+v, want the active trial number", first)
	}
	if elig != want {
		t.Errorf("eligibility = %+v, want %+v", elig, want)
	}

	// A retry, even with what a later poll says, returns it unchanged.
	a.ProviderNumberID = "tx-2"
	again, elig, err := store.Complete(ctx, a, acct.TeamID)
	if err != nil || !sameNumber(again, first) || elig != want {
		t.Errorf("second Complete = %+v, %+v, %v; want %+v, %+v", again, elig, err, first, want)
	}

	ended := newPending(t, persistence.NewPhoneNumberStore(db), other, "+14155550232")
	if _, err := persistence.NewPhoneNumberStore(db).End(ctx, ended.ID, domain.NumberFailed); err != nil {
		t.Fatal(err)
	}
	_, _, err = store.Complete(ctx, domain.ActivateNumber{ID: ended.ID, ProviderNumberID: "tx-3"}, other.TeamID)
	if !errors.Is(err, persistence.ErrNumberEnded) {
		t.Errorf("Complete(ended) = %v, want ErrNumberEnded", err)
	}
	if _, _, err := store.Complete(ctx, domain.ActivateNumber{ID: n.ID}, acct.TeamID); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("Complete(no provider id) = %v, want KindInvalid", err)
	}
	if _, _, err := store.Complete(ctx, a, ""); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("Complete(no team) = %v, want KindInvalid", err)
	}
}

func TestBeginOneNumberRacedByManyTeams(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPurchaseStore)
	const teams, e164 = 10, "+14155550241"
	accts := make([]account, teams)
	for i := range accts {
		accts[i] = newAccount(t, db, domain.PlanFree)
	}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []account
	)
	start := make(chan struct{})
	for _, acct := range accts {
		wg.Go(func() {
			<-start
			_, _, err := store.Begin(ctx, purchaseKey(e164, acct.TeamID), pendingNumber(acct, e164))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				wantError(t, "a losing Begin", err, domain.KindConflict, domain.CodeNumberInPurchase)
				return
			}
			winners = append(winners, acct)
		})
	}
	close(start)
	wg.Wait()

	if len(winners) != 1 {
		t.Fatalf("%d teams began buying the number, want 1", len(winners))
	}
	for _, acct := range accts {
		want := 0
		if acct.TeamID == winners[0].TeamID {
			want = 1
		}
		if held := numbersHeld(t, db, acct.TeamID); held != want || trialUsed(t, db, acct.TeamID) != (want == 1) {
			t.Errorf("team %s: numbers_held = %d, trial_used = %v; want %d", acct.TeamID, held, trialUsed(t, db, acct.TeamID), want)
		}
	}
	if rows := countRows(t, db, "SELECT count(*) FROM number_reservations"); rows != 1 {
		t.Errorf("%d reservation rows, want the winner's alone", rows)
	}
}
