package persistence_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

func TestRequirementsAreRecordedListedAndClearedOnActivation(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	acct := newAccount(t, db, domain.PlanGrowth)
	n := newPending(t, store, acct, "+4930555000101")
	if n.Requirements != nil || n.FailureReason != "" {
		t.Fatalf("a new record carries %+v / %q", n.Requirements, n.FailureReason)
	}
	deadline := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	want := &domain.PendingRequirements{
		Status:   domain.RequirementsInfoPending,
		Missing:  []domain.RegulatoryRequirement{{RequirementID: "req-1", FieldType: "address"}},
		Deadline: &deadline,
	}
	got, err := store.SetRequirements(ctx, n.ID, want)
	if err != nil || !reflect.DeepEqual(got.Requirements, want) {
		t.Fatalf("SetRequirements = %+v, %v; want %+v", got.Requirements, err, want)
	}
	// A retry writes nothing: the row's updated_at stays.
	again, err := store.SetRequirements(ctx, n.ID, want)
	if err != nil || !again.UpdatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("retried SetRequirements touched the row: %v -> %v (%v)", got.UpdatedAt, again.UpdatedAt, err)
	}
	page, err := store.List(ctx, domain.NumberListQuery{TeamID: acct.TeamID})
	if err != nil || len(page.Items) != 1 || !reflect.DeepEqual(page.Items[0].Requirements, want) {
		t.Fatalf("List = %+v, %v; want the requirements listed", page.Items, err)
	}
	active, err := store.Activate(ctx, domain.ActivateNumber{ID: n.ID, ProviderNumberID: "tx-1"})
	if err != nil || active.Requirements != nil {
		t.Fatalf("Activate left requirements %+v (%v)", active.Requirements, err)
	}
	// An active number waits on nothing: a late write is ignored.
	late, err := store.SetRequirements(ctx, n.ID, want)
	if err != nil || late.Requirements != nil {
		t.Fatalf("SetRequirements on an active number = %+v, %v", late.Requirements, err)
	}
}

func TestFailRecordsTheReasonOnce(t *testing.T) {
	ctx, db, store := newStore(t, persistence.NewPhoneNumberStore)
	acct := newAccount(t, db, domain.PlanGrowth)
	n := newPending(t, store, acct, "+4930555000102")
	reqs := &domain.PendingRequirements{Status: domain.RequirementsInfoPending, Missing: []domain.RegulatoryRequirement{{RequirementID: "r", FieldType: "document"}}}
	if _, err := store.SetRequirements(ctx, n.ID, reqs); err != nil {
		t.Fatal(err)
	}
	failed, err := store.Fail(ctx, n.ID, domain.CodeRequirementsDeadlinePassed)
	if err != nil || failed.Status != domain.NumberFailed || failed.FailureReason != domain.CodeRequirementsDeadlinePassed || failed.ReleasedAt == nil {
		t.Fatalf("Fail = %+v, %v", failed, err)
	}
	if !reflect.DeepEqual(failed.Requirements, reqs) {
		t.Fatalf("a failed record keeps what it waited on: %+v", failed.Requirements)
	}
	again, err := store.Fail(ctx, n.ID, "other")
	if err != nil || again.FailureReason != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("failing again = %+v, %v; want the first reason kept", again, err)
	}
	page, err := store.List(ctx, domain.NumberListQuery{TeamID: acct.TeamID, IncludeReleased: true})
	if err != nil || len(page.Items) != 1 || page.Items[0].FailureReason != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("List = %+v, %v", page.Items, err)
	}
	if _, err := store.Fail(ctx, "pn_missing", "x"); err == nil {
		t.Fatal("failing a missing record succeeded")
	}
	wantError(t, "Fail without a reason", func() error { _, err := store.Fail(ctx, n.ID, ""); return err }(), domain.KindInvalid, domain.CodeInvalidRequest)
}
