package telnyxsim

import (
	"bytes"
	"net/http"
	"slices"
	"testing"
	"time"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func TestAdminFaults(t *testing.T) {
	f := newFixture(t, Options{})
	var got map[string]any
	f.do(http.MethodPut, "/_sim/faults", `{"latency":"200ms","error_rate":0.25,"hang_for":"1s"}`).decode(t, http.StatusOK, &got)
	if got["latency"] != "200ms" || got["error_rate"] != 0.25 || got["hang_for"] != "1s" || got["timeout_rate"] != 0.0 {
		t.Errorf("PUT answered %v", got)
	}
	want := Faults{Latency: 200 * time.Millisecond, ErrorRate: 0.25, HangFor: time.Second}
	if f.sim.Faults() != want {
		t.Errorf("Faults() = %+v", f.sim.Faults())
	}
	f.do(http.MethodGet, "/_sim/faults", nil).decode(t, http.StatusOK, &got)
	if got["latency"] != "200ms" {
		t.Errorf("GET answered %v", got)
	}

	for _, bad := range []string{`{"latency":"soon"}`, `{"eror_rate":0.5}`, `not json`} {
		f.do(http.MethodPut, "/_sim/faults", bad).apiError(t, http.StatusBadRequest)
	}
	f.do(http.MethodPut, "/_sim/faults", `{"error_rate":1.5}`).apiError(t, http.StatusUnprocessableEntity)
	if f.sim.Faults() != want {
		t.Errorf("a refused PUT changed the faults: %+v", f.sim.Faults())
	}
}

func TestAdminSellOrdersAndState(t *testing.T) {
	f := newFixture(t, Options{OrderLatency: time.Minute})
	nums := f.firstAvailable(3)

	f.do(http.MethodPost, "/_sim/sell", map[string]string{"phone_number": nums[0]}).decode(t, http.StatusOK, nil)
	f.do(http.MethodPost, "/_sim/sell", map[string]string{"phone_number": "4155550123"}).apiError(t, http.StatusUnprocessableEntity)
	f.do(http.MethodPost, "/v2/number_orders", orderBody("ref-a", nums[0])).apiError(t, http.StatusUnprocessableEntity)

	f.order("ref-a", nums[1])
	f.order("ref-b", nums[2])
	f.do(http.MethodPost, "/_sim/deletion_lock", map[string]any{"phone_number": nums[2], "enabled": true}).decode(t, http.StatusOK, nil)

	var count struct{ Count int }
	f.do(http.MethodGet, "/_sim/orders?customer_reference=ref-a", nil).decode(t, http.StatusOK, &count)
	if count.Count != 1 {
		t.Errorf("count = %d", count.Count)
	}

	var st stateJSON
	f.do(http.MethodGet, "/_sim/state", nil).decode(t, http.StatusOK, &st)
	if st.Orders != 2 || st.PendingOrders != 2 || st.OwnedPending != 2 || st.OwnedActive != 0 || st.Sold != 1 || st.OrderLatency != "1m0s" {
		t.Errorf("state: %+v", st)
	}
	f.clock.Advance(time.Minute)
	f.do(http.MethodGet, "/_sim/state", nil).decode(t, http.StatusOK, &st)
	want := []string{nums[1], nums[2]}
	slices.Sort(want)
	if st.PendingOrders != 0 || st.OwnedActive != 2 || !slices.Equal(st.OwnedNumbers, want) {
		t.Errorf("state after settling: %+v", st)
	}
	if l := f.listNumbers("filter[customer_reference]=ref-b"); !l.Data[0].DeletionLockEnabled {
		t.Errorf("deletion lock set over the admin API not shown")
	}
}
