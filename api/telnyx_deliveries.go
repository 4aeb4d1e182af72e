package api

import (
	"crypto/sha256"
	"sync"
	"time"
)

const (
	// seenDeliveryTTL is how long a handed-on delivery is remembered. A
	// captured delivery verifies while its timestamp is within
	// signatureTolerance of our clock either way, so for up to twice the
	// tolerance after Telnyx stamped it (when Telnyx's clock runs ahead of
	// ours); remembering it longer than that leaves no window to replay
	// it in.
	seenDeliveryTTL = 2*signatureTolerance + 5*time.Minute
	// seenDeliveryCapacity bounds the memory the deliveries take (about
	// 100 bytes each). Only deliveries Telnyx signed get in, so the bound
	// is met only by a burst of real order events; then the oldest are
	// forgotten first, and a repeat of one of those costs the workflow a
	// look at its order, nothing more.
	seenDeliveryCapacity = 50_000
)

// deliveryKey names a delivery: its event id when it has one (a retry by
// Telnyx is signed anew but carries the same id), else its signature (the
// decoded bytes, so that the padded and unpadded base64 of one signature
// are one delivery).
type deliveryKey [sha256.Size]byte

func deliveryKeyOf(eventID string, signature []byte) deliveryKey {
	if eventID != "" {
		return sha256.Sum256(append([]byte("id\x00"), eventID...))
	}
	return sha256.Sum256(append([]byte("signature\x00"), signature...))
}

// seenDeliveries remembers, in this process only, the deliveries already
// handed on, for seenDeliveryTTL and at most seenDeliveryCapacity of
// them. Entries expire in the order they were added (the TTL is the same
// for all), so a queue in that order finds both the expired and the
// oldest.
type seenDeliveries struct {
	ttl      time.Duration
	capacity int
	now      func() time.Time

	mu    sync.Mutex
	at    map[deliveryKey]time.Time // when each was added
	queue []deliveryKey             // in the order they were added
	head  int                       // queue[head:] are live
}

func newSeenDeliveries(ttl time.Duration, capacity int, now func() time.Time) *seenDeliveries {
	if now == nil {
		now = time.Now
	}
	return &seenDeliveries{ttl: ttl, capacity: capacity, now: now, at: make(map[deliveryKey]time.Time)}
}

// seen reports whether k was added within the TTL.
func (s *seenDeliveries) seen(k deliveryKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.at[k]
	return ok && s.now().Sub(at) < s.ttl
}

// add remembers k, forgetting the expired and, beyond the capacity, the
// oldest.
func (s *seenDeliveries) add(k deliveryKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for s.head < len(s.queue) {
		oldest := s.queue[s.head]
		if len(s.at) < s.capacity && now.Sub(s.at[oldest]) < s.ttl {
			break
		}
		delete(s.at, oldest)
		s.head++
	}
	if _, ok := s.at[k]; ok {
		return // two deliveries of one event handed on at once
	}
	s.at[k] = now
	s.queue = append(s.queue, k)
	if s.head > len(s.queue)/2 {
		// Reuse the dead front rather than grow without end.
		s.queue = append(s.queue[:0], s.queue[s.head:]...)
		s.head = 0
	}
}

// len is how many deliveries are remembered (for tests).
func (s *seenDeliveries) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.at)
}
