package telnyxsim

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/testkit"
)

// hookSink is a webhook receiver that checks signatures as a Telnyx
// customer must, and answers the first `fail` deliveries 500.
type hookSink struct {
	t    *testing.T
	pub  ed25519.PublicKey
	mu   sync.Mutex
	fail int
	got  []delivery
	srv  *httptest.Server
}

type delivery struct {
	timestamp string
	raw       []byte
	event     struct {
		Data struct {
			EventType  string `json:"event_type"`
			ID         string `json:"id"`
			OccurredAt string `json:"occurred_at"`
			RecordType string `json:"record_type"`
			Payload    struct {
				ID                string `json:"id"`
				Status            string `json:"status"`
				CustomerReference string `json:"customer_reference"`
				PhoneNumbers      []struct {
					PhoneNumber        string `json:"phone_number"`
					Status             string `json:"status"`
					RequirementsStatus string `json:"requirements_status"`
				} `json:"phone_numbers"`
			} `json:"payload"`
		} `json:"data"`
		Meta struct {
			Attempt     int    `json:"attempt"`
			DeliveredTo string `json:"delivered_to"`
		} `json:"meta"`
	}
}

func newHookSink(t *testing.T, pub ed25519.PublicKey, fail int) *hookSink {
	h := &hookSink{t: t, pub: pub, fail: fail}
	h.srv = testkit.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("telnyx-timestamp")
		sig, err := base64.StdEncoding.DecodeString(r.Header.Get("telnyx-signature-ed25519"))
		if err != nil || !ed25519.Verify(h.pub, append([]byte(ts+"|"), raw...), sig) {
			t.Errorf("bad signature on %s", raw)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		d := delivery{timestamp: ts, raw: raw}
		if err := json.Unmarshal(raw, &d.event); err != nil {
			t.Errorf("body %s: %v", raw, err)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.got = append(h.got, d)
		if h.fail > 0 {
			h.fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	return h
}

// waitFor waits until n deliveries arrived, or fails the test.
func (h *hookSink) waitFor(n int) []delivery {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		if len(h.got) >= n {
			out := append([]delivery(nil), h.got...)
			h.mu.Unlock()
			return out
		}
		h.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.t.Fatalf("want %d deliveries, got %d", n, len(h.got))
	return nil
}

func TestWebhooksAreSignedAndRetried(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	sink := newHookSink(t, pub, 1)
	f := newFixture(t, Options{OrderLatency: time.Minute, WebhookURL: sink.srv.URL, WebhookKey: key, WebhookBackoff: 10 * time.Millisecond})
	t.Cleanup(f.sim.Close)

	n := f.searchCountry("GB", 1)[0]
	o := f.placeRegulated(orderBody("ref-hook", n))
	f.do(http.MethodPost, "/v2/sub_number_orders/"+o.SubNumberOrdersIDs[0]+"/requirement_group",
		map[string]string{"requirement_group_id": "rg-1"}).decode(t, http.StatusOK, nil)
	// Nobody reads the order: the simulator settles it on its own.
	f.clock.Advance(time.Minute)

	got := sink.waitFor(2)
	first, second := got[0].event, got[1].event
	if first.Meta.Attempt != 1 || second.Meta.Attempt != 2 || second.Meta.DeliveredTo != sink.srv.URL {
		t.Errorf("attempts: %+v, %+v", first.Meta, second.Meta)
	}
	d := second.Data
	if d.EventType != "number_order.complete" || d.RecordType != "event" || d.ID == "" || d.ID != first.Data.ID ||
		d.Payload.ID != o.ID || d.Payload.Status != orderSuccess || d.Payload.CustomerReference != "ref-hook" ||
		len(d.Payload.PhoneNumbers) != 1 || d.Payload.PhoneNumbers[0].RequirementsStatus != reqApproved {
		t.Errorf("event: %+v", d)
	}
	if d.OccurredAt != timestamp(f.clock.Now()) {
		t.Errorf("occurred_at %s", d.OccurredAt)
	}
	if got[1].timestamp != strconv.FormatInt(f.clock.Now().Unix(), 10) {
		t.Errorf("telnyx-timestamp %s", got[1].timestamp)
	}

	// A cancelled order is announced too.
	n2 := f.searchCountry("DE", 1)[0]
	o2 := f.placeRegulated(orderBody("ref-hook-2", n2))
	f.do(http.MethodPatch, "/v2/sub_number_orders/"+o2.SubNumberOrdersIDs[0]+"/cancel", nil).decode(t, http.StatusOK, nil)
	got = sink.waitFor(3)
	if p := got[2].event.Data.Payload; p.ID != o2.ID || p.Status != orderCancelled {
		t.Errorf("cancel event: %+v", p)
	}
}

// Close ends the background work even while a delivery is backing off.
func TestWebhookCloseIsBounded(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	sink := newHookSink(t, pub, 1000)
	f := newFixture(t, Options{WebhookURL: sink.srv.URL, WebhookKey: key, WebhookBackoff: time.Hour})
	f.order("ref-close", f.firstAvailable(1)[0]) // settles at once: one event
	sink.waitFor(1)
	done := make(chan struct{})
	go func() { f.sim.Close(); f.sim.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close hangs on a backing-off delivery")
	}
}

// With WebhookDuplicates every event arrives twice, identical but for its
// signature, so a receiver's dedupe (by data.id) can be tested; without,
// once.
func TestWebhookDuplicates(t *testing.T) {
	for _, dup := range []bool{false, true} {
		pub, key, _ := ed25519.GenerateKey(nil)
		sink := newHookSink(t, pub, 0)
		f := newFixture(t, Options{WebhookURL: sink.srv.URL, WebhookKey: key, WebhookDuplicates: dup})
		nums := f.firstAvailable(2)
		f.order("ref-dup-1", nums[0]) // each settles at once: one event
		f.order("ref-dup-2", nums[1])
		want := 2
		if dup {
			want = 4
		}
		got := sink.waitFor(want)
		time.Sleep(100 * time.Millisecond) // nothing more comes
		f.sim.Close()
		sink.mu.Lock()
		got = append([]delivery(nil), sink.got...)
		sink.mu.Unlock()
		if len(got) != want {
			t.Fatalf("duplicates %v: %d deliveries, want %d", dup, len(got), want)
		}
		ids := map[string]int{}
		for _, d := range got {
			ids[d.event.Data.ID]++
			if d.event.Meta.Attempt != 1 {
				t.Errorf("duplicate is a fresh delivery, attempt 1: %+v", d.event.Meta)
			}
		}
		if len(ids) != 2 {
			t.Errorf("duplicates %v: event ids %v, want 2 distinct", dup, ids)
		}
		if dup && string(got[0].raw) != string(got[1].raw) {
			t.Errorf("duplicate differs:\n%s\n%s", got[0].raw, got[1].raw)
		}
	}
}
