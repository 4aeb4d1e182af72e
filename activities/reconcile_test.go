package activities_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/activities/telnyx"
	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/testkit/backend"
)

// The reconciliation activities on a real PostgreSQL schema and the real
// Telnyx client, talking to the simulator over HTTP.

type driftFixture struct {
	t        *testing.T
	db       *gorm.DB
	sim      *telnyxsim.Simulator
	numbers  *persistence.PhoneNumberStore
	acts     *activities.Activities
	teamID   string
	userID   string
	provider domain.NumberProvider
}

func newDriftFixture(t *testing.T) *driftFixture {
	t.Helper()
	b := backend.New(t, backend.Options{Client: telnyx.Config{Timeout: 5 * time.Second}})
	team := b.Team(t, domain.PlanScale)
	return &driftFixture{
		t: t, db: b.DB, sim: b.Sim, numbers: b.Numbers, provider: b.Client, teamID: team.TeamID, userID: team.UserID,
		acts: &activities.Activities{Numbers: b.Numbers, Provider: b.Client},
	}
}

// record stores e164 as the team's number: pending, or active.
func (f *driftFixture) record(e164 string, status domain.NumberStatus) domain.PhoneNumber {
	f.t.Helper()
	n, err := f.numbers.CreatePending(context.Background(), domain.PhoneNumber{
		ID: domain.NewID(domain.PrefixPhoneNumber), TeamID: f.teamID, PhoneNumber: e164, CreatedByUserID: f.userID, WorkflowID: "phone-number:" + e164,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if status == domain.NumberActive {
		if n, err = f.numbers.Activate(context.Background(), domain.ActivateNumber{ID: n.ID, ProviderNumberID: "tx-" + e164}); err != nil {
			f.t.Fatal(err)
		}
	}
	return n
}

// bought plants e164 at the provider, created age ago.
func (f *driftFixture) bought(e164 string, age time.Duration) string {
	f.t.Helper()
	id, err := f.sim.AddOwned(e164, time.Now().Add(-age))
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// numbersFrom returns n valid US numbers +1628555xxxx from start on.
func numbersFrom(start, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+1628555%04d", start+i)
	}
	return out
}

func TestFindDriftComparesEveryNumber(t *testing.T) {
	t.Parallel()
	f := newDriftFixture(t)
	ctx := context.Background()

	// Held by both sides: no finding, whatever its age.
	f.record("+14155550101", domain.NumberActive)
	f.bought("+14155550101", 48*time.Hour)
	// Being bought: pending on both sides.
	f.record("+14155550102", domain.NumberPending)
	f.sim.SetOrderLatency(time.Hour)
	if err := f.sim.SearchFor("+14155550102"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.provider.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: "+14155550102", CustomerReference: "ref-pending"}); err != nil {
		t.Fatal(err)
	}
	// Recorded but not ordered yet: not missing.
	f.record("+14155550103", domain.NumberPending)
	// Active here, gone there: missing.
	missing := f.record("+14155550104", domain.NumberActive)
	// Released behind our back and never ours: nothing.
	f.bought("+14155550105", 48*time.Hour)
	f.sim.Forget("+14155550105")
	// Orphans: one old enough, more young ones than fit in the result
	// and than fit in one page of Telnyx's listing.
	oldID := f.bought("+14155550199", 2*time.Hour)
	f.sim.DeletionLock("+14155550199", true)
	young := numbersFrom(0, activities.MaxFindings+10)
	for _, n := range young {
		f.bought(n, time.Minute)
	}

	d, err := f.acts.FindDrift(ctx, activities.FindDriftInput{OrphanDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if d.OwnedAtProvider != 3+len(young) || d.LiveInDatabase != 4 {
		t.Errorf("counted %d numbers at the provider and %d live records, want %d and 4", d.OwnedAtProvider, d.LiveInDatabase, 3+len(young))
	}
	if d.OrphanCount != 1+len(young) || len(d.Orphans) != activities.MaxFindings {
		t.Fatalf("%d orphans found, %d listed; want %d found, %d listed", d.OrphanCount, len(d.Orphans), 1+len(young), activities.MaxFindings)
	}
	first := d.Orphans[0]
	if first.PhoneNumber != "+14155550199" || !first.Due || first.ProviderNumberID != oldID || !first.DeletionLocked || first.ProviderStatus != "active" {
		t.Errorf("first orphan = %+v, want the old, deletion-locked +14155550199 due first", first)
	}
	for i, o := range d.Orphans[1:] {
		if o.Due || o.PhoneNumber != young[i] {
			t.Fatalf("orphan %d = %+v, want young %s (due ones first, then by number)", i+1, o, young[i])
		}
	}
	want := activities.Missing{PhoneNumber: "+14155550104", NumberID: missing.ID, TeamID: f.teamID, WorkflowID: "phone-number:+14155550104", ProviderNumberID: "tx-+14155550104"}
	if d.MissingCount != 1 || len(d.Missing) != 1 || d.Missing[0] != want {
		t.Fatalf("missing = %d %+v, want only %+v", d.MissingCount, d.Missing, want)
	}
}

func TestReleaseOrphanLooksAgainFirst(t *testing.T) {
	t.Parallel()
	f := newDriftFixture(t)
	ctx := context.Background()
	orphan := func(e164 string) activities.Orphan {
		t.Helper()
		id := f.bought(e164, 2*time.Hour)
		return activities.Orphan{PhoneNumber: e164, ProviderNumberID: id, ProviderStatus: "active", Due: true}
	}

	released := orphan("+14155550111")
	held := orphan("+14155550112")
	f.record(held.PhoneNumber, domain.NumberPending) // a purchase recorded it since
	gone := orphan("+14155550113")
	f.sim.Forget(gone.PhoneNumber)
	replaced := orphan("+14155550114")
	replaced.ProviderNumberID = "1293384261075000000" // the record listed was another
	locked := orphan("+14155550115")
	f.sim.DeletionLock(locked.PhoneNumber, true)
	f.sim.SetOrderLatency(time.Hour)
	if err := f.sim.SearchFor("+14155550116"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.provider.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: "+14155550116", CustomerReference: "ref-nobody"}); err != nil {
		t.Fatal(err)
	}
	owned, _ := f.provider.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: "+14155550116"})
	pending := activities.Orphan{PhoneNumber: "+14155550116", ProviderNumberID: owned[0].ID, ProviderStatus: "purchase-pending", Due: true}

	for _, tc := range []struct {
		orphan    activities.Orphan
		want      string
		stillHeld bool
	}{
		{released, activities.OrphanReleased, false},
		{held, activities.OrphanHeld, true},
		{gone, activities.OrphanGone, false},
		{replaced, activities.OrphanGone, true},
		{locked, activities.OrphanDeletionLocked, true},
		{pending, activities.OrphanPending, true},
	} {
		got, err := f.acts.ReleaseOrphan(ctx, tc.orphan)
		if err != nil || got != tc.want {
			t.Errorf("ReleaseOrphan(%s) = %q, %v; want %q", tc.orphan.PhoneNumber, got, err, tc.want)
		}
		if held := slices.Contains(f.sim.OwnedNumbers(), tc.orphan.PhoneNumber); held != tc.stillHeld {
			t.Errorf("after ReleaseOrphan(%s) the account holds it: %v, want %v", tc.orphan.PhoneNumber, held, tc.stillHeld)
		}
	}
}

func TestConfirmMissingDropsWhatSettledMeanwhile(t *testing.T) {
	t.Parallel()
	f := newDriftFixture(t)
	ctx := context.Background()
	candidate := func(n domain.PhoneNumber) activities.Missing {
		return activities.Missing{PhoneNumber: n.PhoneNumber, NumberID: n.ID, TeamID: n.TeamID, WorkflowID: n.WorkflowID}
	}

	still := candidate(f.record("+14155550121", domain.NumberActive))
	arrived := candidate(f.record("+14155550122", domain.NumberActive))
	f.bought(arrived.PhoneNumber, time.Second) // the purchase's order completed meanwhile
	endedRec := f.record("+14155550123", domain.NumberActive)
	ended := candidate(endedRec)
	if _, err := f.numbers.End(ctx, endedRec.ID, domain.NumberReleased); err != nil { // its release finished
		t.Fatal(err)
	}
	oldRec := f.record("+14155550124", domain.NumberActive)
	replaced := candidate(oldRec)
	if _, err := f.numbers.End(ctx, oldRec.ID, domain.NumberReleased); err != nil {
		t.Fatal(err)
	}
	f.record(replaced.PhoneNumber, domain.NumberActive) // and bought again: another record

	got, err := f.acts.ConfirmMissing(ctx, []activities.Missing{still, arrived, ended, replaced})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != still {
		t.Fatalf("confirmed %+v, want only %+v", got, still)
	}
}

// TestReleaseOrphanLeavesAPortAlone: a number being ported in or out is
// reported (porting), never deleted: deleting it mid-port is destructive.
func TestReleaseOrphanLeavesAPortAlone(t *testing.T) {
	t.Parallel()
	f := newDriftFixture(t)
	for i, status := range []domain.OwnedNumberStatus{domain.OwnedPortPending, domain.OwnedPortOutPending} {
		e164 := fmt.Sprintf("+1415555014%d", i)
		p := &fakeProvider{
			list:    holds(domain.OwnedNumber{ID: "tx-port", PhoneNumber: e164, Status: status}),
			release: func(string) error { return nil },
		}
		a := &activities.Activities{Numbers: f.numbers, Provider: p}
		got, err := a.ReleaseOrphan(t.Context(), activities.Orphan{PhoneNumber: e164, ProviderNumberID: "tx-port", ProviderStatus: string(status), Due: true})
		if err != nil || got != activities.OrphanPorting || p.called("release_number") != 0 {
			t.Fatalf("%s: ReleaseOrphan = %q, %v after %d deletes; want %q and no delete", status, got, err, p.called("release_number"), activities.OrphanPorting)
		}
	}
}
