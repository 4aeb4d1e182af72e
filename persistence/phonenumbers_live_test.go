package persistence_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

// The numbers every team holds, as the reconciliation with Telnyx reads
// them: every live record once, whichever team's, and no ended one.
func TestListLivePagesThroughEveryTeamsLiveNumbers(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	a := newAccount(t, db, domain.PlanGrowth)
	b := newAccount(t, db, domain.PlanGrowth)

	want := map[string]string{} // E.164 → team holding it
	newActive(t, store, a, "+14155550101")
	want["+14155550101"] = a.TeamID
	newPending(t, store, b, "+14155550102")
	want["+14155550102"] = b.TeamID
	newActive(t, store, b, "+442079460958")
	want["+442079460958"] = b.TeamID
	newPending(t, store, a, "+14155550105")
	want["+14155550105"] = a.TeamID

	// Ended numbers are history, not holdings, also when a team holds the
	// same number again.
	released := newActive(t, store, a, "+14155550103")
	if _, err := store.End(ctx, released.ID, domain.NumberReleased); err != nil {
		t.Fatal(err)
	}
	newPending(t, store, b, "+14155550103")
	want["+14155550103"] = b.TeamID
	failed := newPending(t, store, b, "+14155550104")
	if _, err := store.End(ctx, failed.ID, domain.NumberFailed); err != nil {
		t.Fatal(err)
	}
	expired := newActive(t, store, a, "+14155550106")
	if _, err := store.End(ctx, expired.ID, domain.NumberExpired); err != nil {
		t.Fatal(err)
	}

	var seen []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatalf("ListLive does not stop: pages so far %v", seen)
		}
		page, err := store.ListLive(ctx, after, 2)
		if err != nil {
			t.Fatalf("ListLive(%q): %v", after, err)
		}
		if len(page) > 2 {
			t.Fatalf("a page of 2 has %d numbers", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, n := range page {
			if !n.Status.Live() {
				t.Errorf("ListLive returned %s, which is %s", n.PhoneNumber, n.Status)
			}
			if want[n.PhoneNumber] != n.TeamID {
				t.Errorf("ListLive returned %s of team %s, want team %q", n.PhoneNumber, n.TeamID, want[n.PhoneNumber])
			}
			seen = append(seen, n.PhoneNumber)
		}
		after = page[len(page)-1].PhoneNumber
	}
	if !slices.IsSorted(seen) || len(seen) != len(want) {
		t.Fatalf("ListLive read %v, want each of %d live numbers once, in order", seen, len(want))
	}
	for e164 := range want {
		if !slices.Contains(seen, e164) {
			t.Errorf("ListLive missed %s", e164)
		}
	}

	for _, bad := range []int{0, -1, 10001} {
		_, err := store.ListLive(ctx, "", bad)
		wantError(t, fmt.Sprintf("ListLive with limit %d", bad), err, domain.KindInvalid, domain.CodeInvalidRequest)
	}
}

func TestLiveByNumberFindsTheHolderOfAnyTeam(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	a := newAccount(t, db, domain.PlanGrowth)
	b := newAccount(t, db, domain.PlanGrowth)

	old := newActive(t, store, a, "+14155550111")
	if _, err := store.End(ctx, old.ID, domain.NumberReleased); err != nil {
		t.Fatal(err)
	}
	if _, err := store.LiveByNumber(ctx, "+14155550111"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a released number: %v, want ErrNotFound", err)
	}
	pending := newPending(t, store, b, "+14155550111")
	got, err := store.LiveByNumber(ctx, "+14155550111")
	if err != nil || got.ID != pending.ID || got.TeamID != b.TeamID || got.Status != domain.NumberPending || got.WorkflowID != pending.WorkflowID {
		t.Fatalf("LiveByNumber = %+v, %v, want team b's pending record %s", got, err, pending.ID)
	}
	for _, unknown := range []string{"+14155550199", "", "+1415\x00"} {
		if _, err := store.LiveByNumber(ctx, unknown); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("LiveByNumber(%q) = %v, want ErrNotFound", unknown, err)
		}
	}
}

// Each page of ListLive can be one range scan of the live-number index: its
// filter is the index's predicate and its order the index's.
func TestListLiveCanUseTheLiveNumberIndex(t *testing.T) {
	_, db := newTestDB(t)
	var plan []string
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
			return err
		}
		return tx.Raw(`EXPLAIN SELECT * FROM phone_numbers
			WHERE status IN ('pending', 'active') AND phone_number > '+1'
			ORDER BY phone_number LIMIT 100`).Scan(&plan).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	if joined := strings.Join(plan, "\n"); !strings.Contains(joined, "phone_numbers_live_number_key") || strings.Contains(joined, "Sort") {
		t.Fatalf("the plan does not scan the live-number index in order:\n%s", joined)
	}
}

// Search leaves out what LiveAmong reports: pending and active numbers of
// any team, never ended ones or unknown ones.
func TestLiveAmongReportsTheNumbersAnyTeamHolds(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
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
