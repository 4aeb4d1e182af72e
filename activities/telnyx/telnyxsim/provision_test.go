package telnyxsim

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// A North American number turns active with its order, unless every order
// is provisioned; then it is provision-pending (held) for one order
// latency, the one in force when it was ordered, after its order reads
// success.
func TestProvisionEveryOrder(t *testing.T) {
	plain := newFixture(t, Options{OrderLatency: time.Minute})
	n := plain.firstAvailable(1)[0]
	o := plain.order("ref-plain", n)
	plain.clock.Advance(time.Minute)
	if got := plain.getOrder(o.Data.ID); got.Status != orderSuccess || plain.ownedStatus(n) != numberActive {
		t.Errorf("plain: order %s, number %s", got.Status, plain.ownedStatus(n))
	}

	f := newFixture(t, Options{OrderLatency: time.Minute, ProvisionEveryOrder: true})
	n = f.firstAvailable(1)[0]
	o = f.order("ref-prov", n)
	f.sim.SetOrderLatency(time.Hour) // later orders only
	if st := f.ownedStatus(n); st != numberPurchasePending {
		t.Errorf("while ordering: %s", st)
	}
	f.clock.Advance(time.Minute)
	got := f.getOrder(o.Data.ID)
	if got.Status != orderSuccess || got.PhoneNumbers[0].Status != orderSuccess || f.ownedStatus(n) != numberProvisioning {
		t.Fatalf("bought: order %s, number %s", got.Status, f.ownedStatus(n))
	}
	if !slices.Contains(f.sim.OwnedNumbers(), n) {
		t.Errorf("a provision-pending number is held: %v", f.sim.OwnedNumbers())
	}
	// Still being provisioned: it cannot be released yet.
	l := f.listNumbers("filter[status]=provision-pending")
	if len(l.Data) != 1 || l.Data[0].PhoneNumber != n {
		t.Fatalf("filter[status]=provision-pending: %+v", l.Data)
	}
	f.do(http.MethodDelete, "/v2/phone_numbers/"+l.Data[0].ID, nil).apiError(t, http.StatusUnprocessableEntity)
	f.clock.Advance(time.Minute)
	if st := f.ownedStatus(n); st != numberActive {
		t.Errorf("provisioned: %s", st)
	}
}

func TestSetOwnedStatus(t *testing.T) {
	f := newFixture(t, Options{})
	nums := f.firstAvailable(2)
	f.order("ref-1", nums[0])
	for _, st := range OwnedStatuses {
		if slices.Contains(notHeld, st) {
			continue
		}
		if err := f.sim.SetOwnedStatus(nums[0], st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
		if got := f.ownedStatus(nums[0]); got != st {
			t.Errorf("planted %s, read %s", st, got)
		}
	}
	// Underscores as older documents spell them.
	if err := f.sim.SetOwnedStatus(nums[0], "port_out_pending"); err != nil || f.ownedStatus(nums[0]) != "port-out-pending" {
		t.Errorf("underscores: %v, %s", err, f.ownedStatus(nums[0]))
	}
	// A planted provision-pending is not activated behind the test's back.
	if err := f.sim.SetOwnedStatus(nums[0], numberProvisioning); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(24 * time.Hour)
	if got := f.ownedStatus(nums[0]); got != numberProvisioning {
		t.Errorf("planted provision-pending became %s", got)
	}
	// ported-out: the account no longer holds the number, which a search
	// offers again.
	if err := f.sim.SetOwnedStatus(nums[0], "ported-out"); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(f.sim.OwnedNumbers(), nums[0]) || f.sim.SearchFor(nums[0]) != nil {
		t.Errorf("ported-out still held: %v", f.sim.OwnedNumbers())
	}
	if err := f.sim.SetOwnedStatus(nums[0], numberActive); err == nil {
		t.Error("status planted on a number the account does not hold")
	}
	if err := f.sim.SetOwnedStatus(nums[1], numberActive); err == nil {
		t.Error("status planted on a number never bought")
	}
	if err := f.sim.SearchFor(nums[1]); err != nil {
		t.Fatal(err)
	}
	f.order("ref-2", nums[1])
	if err := f.sim.SetOwnedStatus(nums[1], "pending"); err == nil {
		t.Error("an order status accepted as an owned status")
	}
	if len(OwnedStatuses) != 13 {
		t.Errorf("%d statuses", len(OwnedStatuses))
	}

	// Over the admin API too.
	f.do(http.MethodPost, "/_sim/owned_status", map[string]string{"phone_number": nums[1], "status": "emergency_only"}).decode(t, http.StatusOK, nil)
	if got := f.ownedStatus(nums[1]); got != "emergency-only" {
		t.Errorf("admin: %s", got)
	}
	f.do(http.MethodPost, "/_sim/owned_status", map[string]string{"phone_number": nums[1], "status": "gone"}).apiError(t, http.StatusUnprocessableEntity)
	f.do(http.MethodPost, "/_sim/owned_status", map[string]string{"phone_number": nums[0], "status": "active"}).apiError(t, http.StatusNotFound)
}
