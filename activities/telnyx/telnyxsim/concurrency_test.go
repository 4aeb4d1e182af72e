package telnyxsim

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentOrdersHaveOneWinnerPerNumber hammers the simulator with 50
// orders at once: ten numbers wanted by five buyers each. Run with -race.
func TestConcurrentOrdersHaveOneWinnerPerNumber(t *testing.T) {
	f := newFixture(t, Options{OrderLatency: 10 * time.Millisecond, Faults: Faults{LatencyJitter: 5 * time.Millisecond}})
	numbers := f.search("filter[country_code]=US&filter[limit]=10").numbers()

	var wg sync.WaitGroup
	statuses := make([]int, 50)
	for i := range 50 {
		wg.Go(func() {
			n := numbers[i%len(numbers)]
			statuses[i] = f.do(http.MethodPost, "/v2/number_orders", orderBody(fmt.Sprintf("buyer-%d", i), n)).status
		})
		// Readers at the same time, for the race detector.
		wg.Go(func() {
			switch i % 3 {
			case 0:
				f.search("filter[country_code]=US&filter[limit]=10")
			case 1:
				f.listNumbers("page[size]=250")
			default:
				f.sim.OwnedNumbers()
			}
		})
	}
	wg.Wait()

	won := map[string]int{}
	for i, st := range statuses {
		switch st {
		case http.StatusOK:
			won[numbers[i%len(numbers)]]++
		case http.StatusUnprocessableEntity:
		default:
			t.Errorf("buyer %d: status %d", i, st)
		}
	}
	for _, n := range numbers {
		if won[n] != 1 {
			t.Errorf("%s has %d winners", n, won[n])
		}
	}
	total := 0
	for i := range 50 {
		total += f.sim.OrderCount(fmt.Sprintf("buyer-%d", i))
	}
	if total != len(numbers) || len(f.sim.OwnedNumbers()) != len(numbers) {
		t.Errorf("%d orders, %d owned; want %d", total, len(f.sim.OwnedNumbers()), len(numbers))
	}
	for ref, n := range f.sim.OrderCounts() {
		if n != 1 || !strings.HasPrefix(ref, "buyer-") {
			t.Errorf("OrderCounts()[%q] = %d, want 1 order per winning buyer", ref, n)
		}
	}
	if got := len(f.sim.OrderCounts()); got != total {
		t.Errorf("OrderCounts() has %d references, OrderCount summed to %d", got, total)
	}
}
