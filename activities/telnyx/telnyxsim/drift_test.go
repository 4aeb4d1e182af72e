package telnyxsim

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestAddOwnedPlantsANumberBoughtElsewhere(t *testing.T) {
	f := newFixture(t, Options{})
	nums := f.firstAvailable(2)
	bought := f.clock.Now().Add(-3 * time.Hour)

	id, err := f.sim.AddOwned(nums[0], bought)
	if err != nil {
		t.Fatal(err)
	}
	l := f.listNumbers("filter[phone_number]=" + nums[0][1:])
	if len(l.Data) != 1 {
		t.Fatalf("the planted number is listed %d times", len(l.Data))
	}
	rec := l.Data[0]
	if rec.ID != id || rec.Status != numberActive || rec.CreatedAt != timestamp(bought) || rec.CustomerReference != nil {
		t.Fatalf("planted record = %+v, want id %s, active, created %s, no customer reference", rec, id, timestamp(bought))
	}
	if got := f.search("filter[country_code]=US&filter[national_destination_code]=415&filter[limit]=2").numbers(); slices.Contains(got, nums[0]) {
		t.Fatalf("a search still offers the planted number: %v", got)
	}
	if n := f.sim.OrderCount(""); n != 0 {
		t.Fatalf("planting placed %d orders", n)
	}

	if _, err := f.sim.AddOwned(nums[0], bought); !errors.Is(err, ErrAlreadyOwned) {
		t.Fatalf("planting it twice: %v, want ErrAlreadyOwned", err)
	}
	f.order("ref-1", nums[1])
	if _, err := f.sim.AddOwned(nums[1], bought); !errors.Is(err, ErrAlreadyOwned) {
		t.Fatalf("planting an ordered number: %v, want ErrAlreadyOwned", err)
	}
	for _, bad := range []string{"", "4155550123", "+1415555", "+99912345678"} {
		if _, err := f.sim.AddOwned(bad, bought); err == nil {
			t.Errorf("AddOwned(%q) accepted an invalid number", bad)
		}
	}

	// It is released like any held number.
	f.do(http.MethodDelete, "/v2/phone_numbers/"+id, nil).decode(t, http.StatusOK, nil)
	if owned := f.sim.OwnedNumbers(); slices.Contains(owned, nums[0]) {
		t.Fatalf("still owned after its release: %v", owned)
	}

	// With no time given, it was bought now.
	if _, err := f.sim.AddOwned(nums[0], time.Time{}); err != nil {
		t.Fatal(err)
	}
	if rec := f.listNumbers("filter[phone_number]=" + nums[0][1:]).Data[0]; rec.CreatedAt != timestamp(f.clock.Now()) {
		t.Fatalf("created_at = %s, want now (%s)", rec.CreatedAt, timestamp(f.clock.Now()))
	}
}

func TestForgetReleasesBehindTheClientsBack(t *testing.T) {
	f := newFixture(t, Options{OrderLatency: time.Minute})
	nums := f.firstAvailable(2)
	f.order("ref-held", nums[0])
	f.clock.Advance(time.Minute)
	id := f.listNumbers("filter[customer_reference]=ref-held").Data[0].ID

	if !f.sim.Forget(nums[0]) {
		t.Fatal("Forget of a held number reported it was not held")
	}
	if owned := f.sim.OwnedNumbers(); slices.Contains(owned, nums[0]) {
		t.Fatalf("still owned after Forget: %v", owned)
	}
	if l := f.listNumbers("filter[phone_number]=" + nums[0][1:]); len(l.Data) != 0 {
		t.Fatalf("a forgotten number is listed: %+v", l.Data)
	}
	if l := f.listNumbers("filter[status]=deleted"); len(l.Data) != 1 || l.Data[0].ID != id {
		t.Fatalf("the forgotten record is not kept as deleted: %+v", l.Data)
	}
	// Releasing it then is what Telnyx answers for a gone number: 404.
	f.do(http.MethodDelete, "/v2/phone_numbers/"+id, nil).apiError(t, http.StatusNotFound)
	if f.sim.Forget(nums[0]) {
		t.Fatal("Forget of a number no longer held reported it held")
	}

	// A number whose order is pending: the order fails, the number is free.
	o := f.order("ref-pending", nums[1])
	if !f.sim.Forget(nums[1]) {
		t.Fatal("Forget of a number being bought reported it was not held")
	}
	f.clock.Advance(time.Minute)
	var got orderResult
	f.do(http.MethodGet, "/v2/number_orders/"+o.Data.ID, nil).decode(t, http.StatusOK, &got)
	if got.Data.Status != orderFailure || got.Data.PhoneNumbers[0].Status != orderFailure {
		t.Fatalf("the order of a forgotten number settled %s/%s, want failure", got.Data.Status, got.Data.PhoneNumbers[0].Status)
	}
	if owned := f.sim.OwnedNumbers(); len(owned) != 0 {
		t.Fatalf("owned after the failed order: %v", owned)
	}
	f.order("ref-again", nums[1]) // and can be bought again
}

func TestBackdateMovesCreatedAt(t *testing.T) {
	f := newFixture(t, Options{OrderLatency: time.Hour})
	n := f.firstAvailable(1)[0]
	f.order("ref-slow", n)
	then := f.clock.Now().Add(-5 * time.Hour)
	if !f.sim.Backdate(n, then) {
		t.Fatal("Backdate of a number being bought reported it was not held")
	}
	rec := f.listNumbers("filter[customer_reference]=ref-slow").Data[0]
	if rec.CreatedAt != timestamp(then) || rec.Status != numberPurchasePending {
		t.Fatalf("after Backdate: %+v, want created %s and still purchase-pending", rec, timestamp(then))
	}
	if f.sim.Backdate("+14155550100", then) {
		t.Fatal("Backdate of a number not held reported it held")
	}
}

func TestAdminDriftRoutes(t *testing.T) {
	f := newFixture(t, Options{})
	n := f.firstAvailable(1)[0]
	var planted struct{ Data phoneNumberJSON }
	f.do(http.MethodPost, "/_sim/owned", map[string]any{"phone_number": n, "created_at": "2025-01-01T00:00:00Z"}).decode(t, http.StatusOK, &planted)
	if planted.Data.PhoneNumber != n || planted.Data.Status != numberActive || planted.Data.CreatedAt != "2025-01-01T00:00:00.000Z" || planted.Data.ID == "" {
		t.Fatalf("POST /_sim/owned answered %+v", planted.Data)
	}
	f.do(http.MethodPost, "/_sim/owned", map[string]any{"phone_number": n}).apiError(t, http.StatusConflict)
	f.do(http.MethodPost, "/_sim/owned", map[string]any{"phone_number": "4155550123"}).apiError(t, http.StatusUnprocessableEntity)
	f.do(http.MethodPost, "/_sim/owned", map[string]any{"phone_number": n, "created": "x"}).apiError(t, http.StatusBadRequest)

	var backdated struct{ Data phoneNumberJSON }
	f.do(http.MethodPost, "/_sim/backdate", map[string]any{"phone_number": n, "created_at": "2024-06-01T10:00:00Z"}).decode(t, http.StatusOK, &backdated)
	if backdated.Data.CreatedAt != "2024-06-01T10:00:00.000Z" || backdated.Data.ID != planted.Data.ID {
		t.Fatalf("POST /_sim/backdate answered %+v", backdated.Data)
	}
	f.do(http.MethodPost, "/_sim/backdate", map[string]any{"phone_number": n}).apiError(t, http.StatusUnprocessableEntity)

	f.do(http.MethodPost, "/_sim/forget", map[string]any{"phone_number": n}).decode(t, http.StatusOK, nil)
	f.do(http.MethodPost, "/_sim/forget", map[string]any{"phone_number": n}).apiError(t, http.StatusNotFound)
	f.do(http.MethodPost, "/_sim/backdate", map[string]any{"phone_number": n, "created_at": "2024-06-01T10:00:00Z"}).apiError(t, http.StatusNotFound)
	if owned := f.sim.OwnedNumbers(); len(owned) != 0 {
		t.Fatalf("owned after forgetting: %v", owned)
	}
}
