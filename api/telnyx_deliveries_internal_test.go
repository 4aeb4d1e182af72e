package api

import (
	"strconv"
	"testing"
	"time"
)

// TestSeenDeliveriesOutliveTheSignatureWindow: a captured delivery
// verifies for up to twice the tolerance after Telnyx stamped it, so it
// must be remembered longer than that (and at least ten minutes).
func TestSeenDeliveriesOutliveTheSignatureWindow(t *testing.T) {
	if seenDeliveryTTL <= 2*signatureTolerance || seenDeliveryTTL < 10*time.Minute {
		t.Fatalf("seenDeliveryTTL %v: a delivery verifies for %v", seenDeliveryTTL, 2*signatureTolerance)
	}
}

// TestSeenDeliveriesExpireAndStayBounded: a delivery is remembered for the
// TTL and no longer; beyond the capacity the oldest are forgotten first,
// and the memory held stays within the capacity however many pass.
func TestSeenDeliveriesExpireAndStayBounded(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := newSeenDeliveries(10*time.Minute, 3, func() time.Time { return now })
	key := func(i int) deliveryKey { return deliveryKeyOf("evt_"+strconv.Itoa(i), nil) }

	s.add(key(1))
	now = now.Add(10*time.Minute - time.Second)
	if !s.seen(key(1)) {
		t.Fatal("forgotten within the TTL")
	}
	now = now.Add(time.Second)
	if s.seen(key(1)) {
		t.Fatal("remembered past the TTL")
	}

	for i := 2; i <= 5; i++ { // key(1) expired, then one more than fits
		s.add(key(i))
		now = now.Add(time.Second)
	}
	if s.seen(key(2)) || !s.seen(key(3)) || !s.seen(key(4)) || !s.seen(key(5)) {
		t.Errorf("at capacity 3 after 2..5: want 3, 4 and 5 remembered, the oldest (2) forgotten")
	}
	if n := s.len(); n != 3 {
		t.Errorf("%d remembered, want 3", n)
	}
	s.add(key(5)) // again: still one entry
	for i := 6; i < 10_000; i++ {
		s.add(key(i))
	}
	if n := s.len(); n != 3 || len(s.queue) > 2*3+1 {
		t.Errorf("after 10,000 deliveries: %d remembered, queue of %d, want both bounded by the capacity", n, len(s.queue))
	}
	if !s.seen(key(9_999)) || s.seen(key(9_996)) {
		t.Error("the newest three are not the ones remembered")
	}

	// An id and a signature never stand for each other.
	if deliveryKeyOf("x", nil) == deliveryKeyOf("", []byte("x")) {
		t.Error("the id x and the signature x are one key")
	}
}
