package api_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

const telnyxWebhookPath = "/api/telnyx/webhook"

// orderRecorder records the order events the webhook hands on, failing
// each with fail when it is set.
type orderRecorder struct {
	scriptedWorkflows
	mu     sync.Mutex
	events []workflows.OrderEvent
	fail   error
}

func (o *orderRecorder) NotifyOrder(_ context.Context, ev workflows.OrderEvent) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, ev)
	return o.fail
}

func (o *orderRecorder) all() []workflows.OrderEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]workflows.OrderEvent(nil), o.events...)
}

func newTelnyxKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// orderEvent is a number_order.complete delivery as Telnyx sends it.
func orderEvent(ref, orderID, status string) string {
	return `{"data": {"event_type": "number_order.complete", "id": "evt_` + orderID + `", "occurred_at": "2026-12-01T12:00:00Z", "record_type": "event",
  "payload": {"id": "` + orderID + `", "record_type": "number_order", "status": "` + status + `", "customer_reference": "` + ref + `",
    "phone_numbers": [{"id": "pn_tx_1", "phone_number": "+14155550101", "status": "` + status + `", "requirements_met": true, "regulatory_requirements": []}],
    "connection_id": null, "requirements_met": true}},
 "meta": {"attempt": 1, "delivered_to": "https://example.com/api/telnyx/webhook"}}`
}

// signed is a webhook delivery signed with key at the time at.
func signed(key ed25519.PrivateKey, body string, at time.Time) request {
	ts, sig := api.SignTelnyxWebhook(key, []byte(body), at)
	return request{method: http.MethodPost, path: telnyxWebhookPath, body: body,
		header: map[string]string{"telnyx-timestamp": ts, "telnyx-signature-ed25519": sig}}
}

// TestTelnyxWebhookHandsOrderEventsOn: a verified order event reaches the
// purchase its customer reference names; every verified delivery is a 2xx,
// a duplicate, another event type and an order of no purchase included.
func TestTelnyxWebhookHandsOrderEventsOn(t *testing.T) {
	t.Parallel()
	pub, priv := newTelnyxKey(t)
	rec := &orderRecorder{}
	e := newEnv(t, withConfig(api.Config{TelnyxPublicKey: pub}), withWorkflows(rec))

	const ref = "phone-number:+14155550101/0195a7f3-run"
	body := orderEvent(ref, "ord_1", "success")
	for range 2 { // Telnyx may deliver the same event twice
		r := e.do(signed(priv, body, time.Now()))
		if r.status != http.StatusOK || r.body["handled"] != true {
			t.Fatalf("a signed number_order.complete: %d %s", r.status, r.raw)
		}
	}
	want := workflows.OrderEvent{CustomerReference: ref, OrderID: "ord_1", Status: domain.OrderSuccess}
	if got := rec.all(); len(got) != 2 || got[0] != want || got[1] != want {
		t.Fatalf("handed on %+v, want %+v twice", got, want)
	}

	// Verified, but nothing to act on: still a 2xx, so Telnyx stops.
	for name, body := range map[string]string{
		"another event type": `{"data": {"event_type": "call.initiated", "id": "evt_2", "payload": {"call_control_id": "x"}}}`,
		"no reference":       orderEvent("", "ord_2", "success"),
		"a null reference":   `{"data": {"event_type": "number_order.complete", "id": "evt_3", "payload": {"id": "ord_3", "status": "success", "customer_reference": null}}}`,
	} {
		if r := e.do(signed(priv, body, time.Now())); r.status != http.StatusOK || r.body["handled"] != false {
			t.Errorf("%s: %d %s, want 200 with handled false", name, r.status, r.raw)
		}
	}
	// An order of no purchase of ours is for NotifyOrder to drop (it
	// answers nil): handed on, 200.
	if r := e.do(signed(priv, orderEvent("someone-else", "ord_4", "pending"), time.Now())); r.status != http.StatusOK {
		t.Errorf("an order of another system: %d %s", r.status, r.raw)
	}
	if got := rec.all(); len(got) != 3 || got[2].CustomerReference != "someone-else" || got[2].Status != domain.OrderPending {
		t.Errorf("handed on %+v", got)
	}

	series := scrape(t, e)
	for outcome, n := range map[string]float64{"notified": 3, "ignored": 3, "unauthorized": 0, "invalid": 0, "unavailable": 0} {
		if got := series[`talkturo_telnyx_webhooks_total{outcome="`+outcome+`"}`]; got != n {
			t.Errorf("talkturo_telnyx_webhooks_total{outcome=%q} = %v, want %v", outcome, got, n)
		}
	}
}

// TestTelnyxWebhookRefusesWhatTelnyxDidNotSign: a missing, wrong or stale
// signature is a 401 and nothing is handed on; the body of an unsigned
// request is not even read (a malformed one is a 401 too, not a 400).
func TestTelnyxWebhookRefusesWhatTelnyxDidNotSign(t *testing.T) {
	t.Parallel()
	pub, priv := newTelnyxKey(t)
	_, other := newTelnyxKey(t)
	rec := &orderRecorder{}
	e := newEnv(t, withConfig(api.Config{TelnyxPublicKey: pub}), withWorkflows(rec))
	body := orderEvent("phone-number:+14155550101/run", "ord_1", "success")
	now := time.Now()
	good := signed(priv, body, now)
	ts, sig := good.header["telnyx-timestamp"], good.header["telnyx-signature-ed25519"]
	with := func(ts, sig, body string) request {
		h := map[string]string{}
		if ts != "" {
			h["telnyx-timestamp"] = ts
		}
		if sig != "" {
			h["telnyx-signature-ed25519"] = sig
		}
		return request{method: http.MethodPost, path: telnyxWebhookPath, body: body, header: h}
	}
	otherTS, otherTSSig := api.SignTelnyxWebhook(priv, []byte(body), now.Add(time.Second))
	rawSig := strings.TrimRight(sig, "=")
	for name, r := range map[string]request{
		"no headers":             with("", "", body),
		"no signature":           with(ts, "", body),
		"no timestamp":           with("", sig, body),
		"another key":            signed(other, body, now),
		"another body":           with(ts, sig, strings.Replace(body, "ord_1", "ord_2", 1)),
		"another timestamp":      with(otherTS, sig, body),
		"timestamp not signed":   with(ts, otherTSSig, body),
		"stale":                  signed(priv, body, now.Add(-301*time.Second)),
		"from the future":        signed(priv, body, now.Add(301*time.Second)),
		"not base64":             with(ts, "not*base64!", body),
		"too short":              with(ts, base64.StdEncoding.EncodeToString([]byte("short")), body),
		"a signed + timestamp":   with("+"+ts, base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte("+"+ts+"|"+body))), body),
		"malformed and unsigned": with(ts, sig, `{"data": 5`),
	} {
		if resp := e.do(r); resp.status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", name, resp.status, resp.raw)
		} else {
			wantError(t, resp, http.StatusUnauthorized, "unauthorized", "")
		}
	}
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("unverified deliveries were handed on: %+v", got)
	}
	// Within the tolerance both ways, and the signature without padding.
	for name, r := range map[string]request{
		"299 s old":   signed(priv, body, now.Add(-299*time.Second)),
		"299 s ahead": signed(priv, body, now.Add(299*time.Second)),
		"unpadded":    with(ts, rawSig, body),
	} {
		if resp := e.do(r); resp.status != http.StatusOK {
			t.Errorf("%s: %d %s, want 200", name, resp.status, resp.raw)
		}
	}
	if n := scrape(t, e)[`talkturo_telnyx_webhooks_total{outcome="unauthorized"}`]; n != 13 {
		t.Errorf("unauthorized deliveries counted %v, want 13", n)
	}
	// Nothing secret in the logs: not the signature sent.
	if strings.Contains(e.logs.String(), sig) {
		t.Error("the log holds a delivery's signature")
	}
}

// TestTelnyxWebhookMalformedBodies: once verified, a body we cannot read
// is a 400 naming what is wrong.
func TestTelnyxWebhookMalformedBodies(t *testing.T) {
	t.Parallel()
	pub, priv := newTelnyxKey(t)
	rec := &orderRecorder{}
	e := newEnv(t, withConfig(api.Config{TelnyxPublicKey: pub}), withWorkflows(rec))
	for body, field := range map[string]string{
		`not json`:                    "body",
		`[]`:                          "body",
		`{}`:                          "data",
		`{"data": 5}`:                 "data",
		`{"data": {}}`:                "data.event_type",
		`{"data": {"event_type": 7}}`: "data.event_type",
		`{"data": {"event_type": "number_order.complete"}}`:                                                           "data.payload",
		`{"data": {"event_type": "number_order.complete", "payload": "x"}}`:                                           "data.payload",
		`{"data": {"event_type": "number_order.complete", "payload": {"customer_reference": 5}}}`:                     "data.payload",
		`{"data": {"event_type": "number_order.complete", "payload": {"customer_reference": "a\u0000b"}}}`:            "data.payload.customer_reference",
		`{"data": {"event_type": "number_order.complete", "payload": {"status": "` + strings.Repeat("s", 65) + `"}}}`: "data.payload.status",
	} {
		wantError(t, e.do(signed(priv, body, time.Now())), http.StatusBadRequest, "invalid_request", field)
	}
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("malformed deliveries were handed on: %+v", got)
	}
}

// TestTelnyxWebhookAsksForARetryWhenTemporalIsDown: an event that could
// not be handed on is a 503 with Retry-After, so Telnyx delivers it again.
func TestTelnyxWebhookAsksForARetryWhenTemporalIsDown(t *testing.T) {
	t.Parallel()
	pub, priv := newTelnyxKey(t)
	rec := &orderRecorder{fail: &domain.Error{Kind: domain.KindInternal, Code: domain.CodeInternal, Message: "x", Err: errors.New("temporal: connection refused")}}
	e := newEnv(t, withConfig(api.Config{TelnyxPublicKey: pub}), withWorkflows(rec))
	r := e.do(signed(priv, orderEvent("phone-number:+14155550101/run", "ord_1", "success"), time.Now()))
	wantError(t, r, http.StatusServiceUnavailable, "service_unavailable", "")
	if r.header.Get("Retry-After") == "" {
		t.Error("a 503 without Retry-After")
	}
	if strings.Contains(string(r.raw), "connection refused") {
		t.Errorf("the answer shows the cause: %s", r.raw)
	}
	if n := scrape(t, e)[`talkturo_telnyx_webhooks_total{outcome="unavailable"}`]; n != 1 {
		t.Errorf("unavailable deliveries counted %v, want 1", n)
	}
}

// TestTelnyxWebhookIsOffWithoutAKey: with no TELNYX_PUBLIC_KEY nothing can
// be verified, so every delivery is a 503 (Telnyx keeps it for later).
func TestTelnyxWebhookIsOffWithoutAKey(t *testing.T) {
	t.Parallel()
	_, priv := newTelnyxKey(t)
	rec := &orderRecorder{}
	e := newEnv(t, withWorkflows(rec))
	r := e.do(signed(priv, orderEvent("phone-number:+14155550101/run", "ord_1", "success"), time.Now()))
	e2 := wantError(t, r, http.StatusServiceUnavailable, "service_unavailable", "")
	if msg, _ := e2["message"].(string); !strings.Contains(msg, "TELNYX_PUBLIC_KEY") {
		t.Errorf("the message does not name TELNYX_PUBLIC_KEY: %s", r.raw)
	}
	if len(rec.all()) != 0 {
		t.Error("an unverifiable delivery was handed on")
	}
}

// TestTelnyxWebhookRefusesCompressedBodies: the body is never inflated, so
// a signed but compressed delivery is a 415 before it is read.
func TestTelnyxWebhookRefusesCompressedBodies(t *testing.T) {
	t.Parallel()
	pub, priv := newTelnyxKey(t)
	rec := &orderRecorder{}
	e := newEnv(t, withConfig(api.Config{TelnyxPublicKey: pub}), withWorkflows(rec))
	r := signed(priv, orderEvent("phone-number:+14155550101/run", "ord_1", "success"), time.Now())
	r.header["Content-Encoding"] = "gzip"
	wantError(t, e.do(r), http.StatusUnsupportedMediaType, "unsupported_encoding", "Content-Encoding")
	if len(rec.all()) != 0 {
		t.Error("a compressed delivery was handed on")
	}
}
