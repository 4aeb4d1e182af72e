package workflows

import (
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
)

// These tests follow the branches of the purchase's fast path with mocked
// activities: which steps run locally, when one is handed to a regular
// activity, when the order is waited for durably, and what a refusal
// undoes. The real activities are in number_test.go and, through the
// embedded server, cmd/talkturo's tests.

func TestFastPurchaseRunsEveryStepLocally(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	bought := m.buy(t)
	if bought.err != nil || bought.rejected != nil {
		t.Fatalf("purchase: %v / %v", bought.err, bought.rejected)
	}
	res := bought.value.(PurchaseResult)
	if res.Number.Status != domain.NumberActive || res.Eligibility.CurrentCount != 1 {
		t.Errorf("answered %+v, want the active number and the eligibility read with it", res)
	}
	want := []string{"BeginPurchase:local", "PlaceOrder:local", "WaitForOrder:local", "CompletePurchase:local"}
	got := m.called()
	if len(got) < len(want) {
		t.Fatalf("calls %v, want %v first", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("calls %v, want %v first: every step of a purchase whose order settles at once runs locally", got, want)
		}
	}
	if len(m.placed) != 1 || m.placed[0].Retried {
		t.Errorf("orders placed %+v, want one, not marked retried", m.placed)
	}
	if len(m.statuses) != 0 {
		t.Errorf("NumberStatus upserted %v: a paid number bought from the first task updates no search attribute (each is a billable action)", m.statuses)
	}
	if len(m.numberIDs) != 1 || res.Number.ID != m.numberIDs[0] {
		t.Errorf("the number's id %q, want the one the workflow made for BeginPurchase (%v)", res.Number.ID, m.numberIDs)
	}
}

func TestFastPurchaseNumberIDIsTheKeys(t *testing.T) {
	t.Parallel()
	// The id is made from the run's start time and key, so a local
	// activity run again after a crash creates the same record; two
	// purchases never share one.
	a := domain.IDFor(domain.PrefixPhoneNumber, time.Unix(1700000000, 0), "phone-number:+14155550170/run-1")
	b := domain.IDFor(domain.PrefixPhoneNumber, time.Unix(1700000000, 0), "phone-number:+14155550170/run-1")
	c := domain.IDFor(domain.PrefixPhoneNumber, time.Unix(1700000000, 0), "phone-number:+14155550170/run-2")
	if a != b || a == c {
		t.Errorf("IDFor gave %s, %s for one key and %s for another", a, b, c)
	}
}

func TestLocalStepThatGivesUpRunsAsAnActivity(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.localFails = map[string]bool{"BeginPurchase": true, "PlaceOrder": true, "CompletePurchase": true}
	bought := m.buy(t)
	if bought.err != nil || bought.rejected != nil {
		t.Fatalf("purchase: %v / %v", bought.err, bought.rejected)
	}
	got := m.called()
	for _, step := range []string{"BeginPurchase", "PlaceOrder", "CompletePurchase"} {
		if !contains(got, step+":activity") {
			t.Errorf("calls %v: %s gave up locally and was never run as an activity", got, step)
		}
	}
	if len(m.placed) != 1 || !m.placed[0].Retried {
		t.Errorf("orders placed %+v, want the activity's one, marked retried (an earlier local try may have placed it)", m.placed)
	}
	if len(m.statuses) == 0 || m.statuses[0] != string(domain.NumberPending) {
		t.Errorf("NumberStatus went %v, want pending first: the purchase outlived its first workflow task", m.statuses)
	}
}

func TestOrderNotSettledInTheTaskIsWaitedForDurably(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.pendingInTask = true
	bought := m.buy(t)
	if bought.err != nil || bought.rejected != nil {
		t.Fatalf("purchase: %v / %v", bought.err, bought.rejected)
	}
	if len(m.awaitIn) != 1 || !contains(m.called(), "AwaitOrder:activity") {
		t.Errorf("calls %v, want the order awaited once by the AwaitOrder activity", m.called())
	}
	if len(m.statuses) < 2 || m.statuses[0] != string(domain.NumberPending) || m.statuses[1] != string(domain.NumberActive) {
		t.Errorf("NumberStatus went %v, want pending while the order is awaited durably, then active (then released, as the test ends the run)", m.statuses)
	}
}

func TestRefusedFastPurchaseIsUndone(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.refuse = true
	bought := m.buy(t)
	if appErrorType(bought.err) != domain.CodeNumberUnavailable {
		t.Fatalf("purchase answered %v / %v, want number_unavailable", bought.err, bought.rejected)
	}
	if len(m.placed) != 1 {
		t.Errorf("orders placed %d times, want once: a refusal is not retried as an activity", len(m.placed))
	}
	if len(m.releaseIn) != 1 || len(m.ended) != 1 || m.ended[0].Status != domain.NumberFailed || m.slotsFreed != 1 {
		t.Errorf("undo: released %d, ended %v, slots freed %d; want the number given back, the record failed and the slot freed", len(m.releaseIn), m.ended, m.slotsFreed)
	}
	for _, step := range []string{"ReleaseAtProvider:local", "EndNumber:local", "CancelSlot:local"} {
		if !contains(m.called(), step) {
			t.Errorf("calls %v: want %s (the refusal answered from the task that saw it)", m.called(), step)
		}
	}
	if len(m.statuses) != 0 {
		t.Errorf("NumberStatus upserted %v: a purchase refused in its first task updates no search attribute", m.statuses)
	}
}

func TestTrialBoughtAsTheSubscriptionStartedIsConverted(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.trial, m.hasSub = true, true
	bought := m.buy(t)
	if bought.err != nil {
		t.Fatalf("purchase: %v", bought.err)
	}
	if len(m.statuses) == 0 || m.statuses[0] != string(domain.NumberActive) {
		t.Errorf("NumberStatus went %v, want a trial shown active (operators find the trials about to end)", m.statuses)
	}
	if m.converted != 1 {
		t.Errorf("converted %d times, want once: the eligibility read at activation shows a subscription", m.converted)
	}
	if contains(m.called(), "Eligibility:activity") || contains(m.called(), "Eligibility:local") {
		t.Errorf("calls %v: the eligibility is read with the activation, not by an activity of its own", m.called())
	}
}

func TestPurchaseRunAgainAfterItsEndCompletesWithoutOrdering(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.boughtBefore = true
	bought := m.buy(t)
	if bought.err != nil || bought.rejected != nil {
		t.Fatalf("purchase: %v / %v", bought.err, bought.rejected)
	}
	if res := bought.value.(PurchaseResult); res.Number.Status != domain.NumberActive || res.Number.ProviderNumberID != "tel-1" {
		t.Errorf("answered %+v, want the number the record holds", res.Number)
	}
	// Then the run holds the number until the test ends it (a release).
	got := m.called()
	if len(got) < 2 || got[0] != "BeginPurchase:local" || got[1] != "CompletePurchase:local" || contains(got, "PlaceOrder:local") {
		t.Errorf("calls %v: a purchase whose record is active orders nothing and gives nothing back, it completes (idempotently, for the eligibility)", got)
	}
}

// TestRetryOfTheStartingRequestAfterThePurchaseIsAnswered: the update
// that started the run can be lost with a workflow task that never
// completed (a worker killed in the middle of the purchase) while the
// purchase itself completes on the task's retry; the client's retry, the
// same update ID, is then new to Temporal. It gets the number, not
// already_owned; another request of the team does get already_owned.
func TestRetryOfTheStartingRequestAfterThePurchaseIsAnswered(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	req := PurchaseRequest{PhoneNumber: "+14155550170", TeamID: "team_a", UserID: "user_a", UpdateID: "idem-started"}
	first := purchaseAt(m.env, 0, "idem-other-first", req)
	retry := purchaseAt(m.env, time.Minute, "idem-started", req)
	another := purchaseAt(m.env, 2*time.Minute, "idem-another", req)
	m.runFor(time.Hour, req)
	if first.err != nil || retry.err != nil || retry.rejected != nil {
		t.Fatalf("first %v, retry %v / %v: want both answered with the number", first.err, retry.err, retry.rejected)
	}
	if res, ok := retry.value.(PurchaseResult); !ok || res.Number.Status != domain.NumberActive {
		t.Errorf("the retry answered %+v, want the active number", retry.value)
	}
	if appErrorType(another.rejected) != domain.CodeAlreadyOwned {
		t.Errorf("another request answered %v / %v, want already_owned", another.err, another.rejected)
	}
}
