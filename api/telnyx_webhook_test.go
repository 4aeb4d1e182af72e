package api_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
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
// another event type and an order of no purchase included.
func TestTelnyxWebhookHandsOrderEventsOn(t *testing.T) {
	t.Parallel()
	pub, priv := newTelnyxKey(t)
	rec := &orderRecorder{}
	e := newEnv(t, withConfig(api.Config{TelnyxPublicKey: pub}), withWorkflows(rec))

	const ref = "phone-number:+14155550101/0195a7f3-run"
	r := e.do(signed(priv, orderEvent(ref, "ord_1", "success"), time.Now()))
	if r.status != http.StatusOK || r.body["handled"] != true {
		t.Fatalf("a signed number_order.complete: %d %s", r.status, r.raw)
	}
	wantKeys(t, "the answer", r.body, "success", "handled")
	want := workflows.OrderEvent{EventID: "evt_ord_1", CustomerReference: ref, OrderID: "ord_1", Status: domain.OrderSuccess}
	if got := rec.all(); len(got) != 1 || got[0] != want {
		t.Fatalf("handed on %+v, want %+v once", got, want)
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
	if r := e.do(signed(priv, orderEvent("someone-else", "ord_4", "pending"), time.Now())); r.status != http.StatusOK || r.body["handled"] != true {
		t.Errorf("an order of another system: %d %s", r.status, r.raw)
	}
	if got := rec.all(); len(got) != 2 || got[1].CustomerReference != "someone-else" || got[1].Status != domain.OrderPending {
		t.Errorf("handed on %+v", got)
	}

	wantWebhookOutcomes(t, e, map[string]float64{"handed_on": 2, "ignored": 3})
}

// wantWebhookOutcomes checks talkturo_telnyx_webhooks_total: want's
// counts, and zero for every other outcome.
func wantWebhookOutcomes(t *testing.T, e *env, want map[string]float64) {
	t.Helper()
	series := scrape(t, e)
	for _, outcome := range []string{"handed_on", "duplicate", "ignored", "unauthorized", "invalid", "too_large", "unavailable"} {
		got, ok := series[`talkturo_telnyx_webhooks_total{outcome="`+outcome+`"}`]
		if !ok || got != want[outcome] {
			t.Errorf("talkturo_telnyx_webhooks_total{outcome=%q} = %v (present %v), want %v", outcome, got, ok, want[outcome])
		}
	}
}

// TestTelnyxWebhookDropsRepeatedDeliveries: a captured signed delivery
// replayed within the signature's window, and Telnyx delivering an event
// again, reach the purchase once; a delivery that could not be handed on
// is not remembered, so Telnyx's retry of it is handed on.
func TestTelnyxWebhookDropsRepeatedDeliveries(t *testing.T) {
	t.Parallel()
	pub, priv := newTelnyxKey(t)
	rec := &orderRecorder{}
	e := newEnv(t, withConfig(api.Config{TelnyxPublicKey: pub}), withWorkflows(rec))
	const ref = "phone-number:+14155550101/0195a7f3-run"
	handedOn := func(r request) bool {
		t.Helper()
		resp := e.do(r)
		if resp.status != http.StatusOK {
			t.Fatalf("a signed delivery: %d %s", resp.status, resp.raw)
		}
		if resp.body["handled"] == false {
			wantKeys(t, "a duplicate's answer", resp.body, "success", "handled", "duplicate")
			if resp.body["duplicate"] != true {
				t.Errorf("not handed on, yet not a duplicate: %s", resp.raw)
			}
		}
		return resp.body["handled"] == true
	}

	body := orderEvent(ref, "ord_1", "success")
	captured := signed(priv, body, time.Now().Add(-10*time.Second))
	if !handedOn(captured) {
		t.Fatal("the first delivery was not handed on")
	}
	// The same request again, byte for byte; with the signature unpadded
	// (the same signature); Telnyx's own redelivery, signed anew.
	unpadded := signed(priv, body, time.Now().Add(-10*time.Second))
	unpadded.header["telnyx-signature-ed25519"] = strings.TrimRight(captured.header["telnyx-signature-ed25519"], "=")
	unpadded.header["telnyx-timestamp"] = captured.header["telnyx-timestamp"]
	for name, r := range map[string]request{"replayed": captured, "unpadded": unpadded, "redelivered": signed(priv, body, time.Now())} {
		if handedOn(r) {
			t.Errorf("%s: handed on again", name)
		}
	}
	if got := rec.all(); len(got) != 1 {
		t.Fatalf("handed on %d times, want once: %+v", len(got), got)
	}
	// Another event of the same order is news.
	if !handedOn(signed(priv, strings.Replace(body, `"evt_ord_1"`, `"evt_ord_1b"`, 1), time.Now())) {
		t.Error("another event id was taken for a repeat")
	}

	// Without data.id a delivery is known by its signature: a replay is
	// dropped, another delivery of the same body (another timestamp) is not.
	noID := strings.Replace(orderEvent(ref, "ord_2", "success"), `"id": "evt_ord_2", `, "", 1)
	first := signed(priv, noID, time.Now().Add(-5*time.Second))
	firstUnpadded := request{method: first.method, path: first.path, body: first.body, header: map[string]string{
		"telnyx-timestamp": first.header["telnyx-timestamp"], "telnyx-signature-ed25519": strings.TrimRight(first.header["telnyx-signature-ed25519"], "=")}}
	if !handedOn(first) || handedOn(first) || handedOn(firstUnpadded) || !handedOn(signed(priv, noID, time.Now())) {
		t.Error("without data.id: want handed on, dropped as a replay (padded or not), handed on when signed anew")
	}

	// Not handed on (Temporal down): Telnyx's retry goes through.
	rec.mu.Lock()
	rec.fail = &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable, Message: "x"}
	rec.mu.Unlock()
	later := orderEvent(ref, "ord_3", "success")
	wantError(t, e.do(signed(priv, later, time.Now())), http.StatusServiceUnavailable, "service_unavailable", "")
	rec.mu.Lock()
	rec.fail = nil
	rec.mu.Unlock()
	if !handedOn(signed(priv, later, time.Now())) {
		t.Error("the retry of a delivery answered 503 was dropped")
	}
	if got := rec.all(); len(got) != 6 {
		t.Errorf("handed on (or tried) %d times, want 6: %+v", len(got), got)
	}
	wantWebhookOutcomes(t, e, map[string]float64{"handed_on": 5, "duplicate": 5, "unavailable": 1})
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

// TestTelnyxWebhookMalformedBodies: once verified, a body that is not a
// Telnyx event at all is a 400 naming what is wrong; an order event whose
// order we cannot use is a 200 with handled false (a 400 would have Telnyx
// retry it for days), and neither is handed on.
func TestTelnyxWebhookMalformedBodies(t *testing.T) {
	t.Parallel()
	pub, priv := newTelnyxKey(t)
	rec := &orderRecorder{}
	e := newEnv(t, withConfig(api.Config{TelnyxPublicKey: pub}), withWorkflows(rec))
	notEvents := map[string]string{
		`not json`:                    "body",
		`[]`:                          "body",
		`{}`:                          "data",
		`{"data": 5}`:                 "data",
		`{"data": {}}`:                "data.event_type",
		`{"data": {"event_type": 7}}`: "data.event_type",
		`{"data": {"event_type": "` + strings.Repeat("e", 129) + `"}}`: "data.event_type",
		`{"data": {"event_type": "number_order.complete\u0000"}}`:      "data.event_type",
	}
	for body, field := range notEvents {
		wantError(t, e.do(signed(priv, body, time.Now())), http.StatusBadRequest, "invalid_request", field)
	}
	order := func(payload string) string {
		return `{"data": {"event_type": "number_order.complete", "id": "evt_1", "payload": ` + payload + `}}`
	}
	const ref = `"customer_reference": "phone-number:+14155550101/run"`
	unusable := map[string]string{
		"no payload":                  `{"data": {"event_type": "number_order.complete"}}`,
		"a null payload":              order(`null`),
		"a string payload":            order(`"x"`),
		"a reference of another type": order(`{"customer_reference": 5}`),
		"no reference":                order(`{"id": "ord_1", "status": "success"}`),
		"a reference with a NUL":      order(`{"customer_reference": "a\u0000b"}`),
		"a reference over 255 bytes":  order(`{"customer_reference": "` + strings.Repeat("r", 256) + `"}`),
		"an id over 255 bytes":        order(`{"id": "` + strings.Repeat("o", 256) + `", ` + ref + `}`),
		"a non-ASCII id":              order(`{"id": "ord_é", ` + ref + `}`),
		"a status over 64 bytes":      order(`{"status": "` + strings.Repeat("s", 65) + `", ` + ref + `}`),
	}
	for name, body := range unusable {
		r := e.do(signed(priv, body, time.Now()))
		if r.status != http.StatusOK || r.body["handled"] != false {
			t.Errorf("%s: %d %s, want 200 with handled false", name, r.status, r.raw)
		}
	}
	// The envelope's own id may be anything: it only tells repeats apart.
	long := `{"data": {"event_type": "number_order.complete", "id": "` + strings.Repeat("i", 300) + `", "payload": {"id": "ord_9", ` + ref + `}}}`
	if r := e.do(signed(priv, long, time.Now())); r.status != http.StatusOK || r.body["handled"] != true {
		t.Errorf("an event id over 255 bytes: %d %s, want handed on", r.status, r.raw)
	}
	if got := rec.all(); len(got) != 1 || got[0].OrderID != "ord_9" {
		t.Fatalf("handed on %+v, want only ord_9", got)
	}
	wantWebhookOutcomes(t, e, map[string]float64{"invalid": float64(len(notEvents)), "ignored": float64(len(unusable)), "handed_on": 1})
}

// TestTelnyxWebhookCapsTheBody: the webhook takes at most 64 KiB (Telnyx's
// events are a few KiB), answering more with the API's 413 before the
// signature is checked.
func TestTelnyxWebhookCapsTheBody(t *testing.T) {
	t.Parallel()
	pub, priv := newTelnyxKey(t)
	rec := &orderRecorder{}
	e := newEnv(t, withConfig(api.Config{TelnyxPublicKey: pub}), withWorkflows(rec))
	event := orderEvent("phone-number:+14155550101/run", "ord_1", "success")
	padded := func(size int) string { // the event, grown to size bytes
		body := strings.TrimSuffix(event, "}") + `, "pad": "`
		return body + strings.Repeat("p", size-len(body)-2) + `"}`
	}
	atLimit := padded(64 << 10)
	if len(atLimit) != 64<<10 {
		t.Fatalf("padded to %d bytes", len(atLimit))
	}
	if r := e.do(signed(priv, atLimit, time.Now())); r.status != http.StatusOK || r.body["handled"] != true {
		t.Fatalf("a 64 KiB delivery: %d %s, want handed on", r.status, r.raw)
	}
	over := strings.Replace(padded(64<<10+1), "ord_1", "ord_2", 1)
	wantError(t, e.do(signed(priv, over, time.Now())), http.StatusRequestEntityTooLarge, "invalid_request", "")
	// Unsigned, it is a 413 all the same: the size is looked at first.
	wantError(t, e.do(request{method: http.MethodPost, path: telnyxWebhookPath, body: over}), http.StatusRequestEntityTooLarge, "invalid_request", "")
	if got := rec.all(); len(got) != 1 || got[0].OrderID != "ord_1" {
		t.Fatalf("handed on %+v, want only the 64 KiB delivery", got)
	}
	wantWebhookOutcomes(t, e, map[string]float64{"handed_on": 1, "too_large": 2})
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

// publishedEvents records OrderEvents.Publish.
type publishedEvents struct {
	mu     sync.Mutex
	orders []string
}

func (p *publishedEvents) Publish(_ context.Context, orderID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.orders = append(p.orders, orderID)
	return nil
}

func (p *publishedEvents) Subscribe(string) (<-chan struct{}, func()) { return nil, func() {} }

func (p *publishedEvents) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.orders...)
}

// TestTelnyxWebhookSignalsOnlyAPurchaseThatMayWaitInTheWorkflow: with
// OrderEvents the word goes to the activities waiting on the order, and a
// signal (a billable action and a workflow task) only to a purchase that
// may wait at the workflow level (on documents, or past its first task),
// where only a signal wakes it.
func TestTelnyxWebhookSignalsOnlyAPurchaseThatMayWaitInTheWorkflow(t *testing.T) {
	t.Parallel()
	pub, priv := newTelnyxKey(t)
	rec := &orderRecorder{}
	published := &publishedEvents{}
	e := newEnv(t, withConfig(api.Config{TelnyxPublicKey: pub}), withWorkflows(rec), withOrderEvents(published))
	acct := e.newAccount("order-events@example.com")
	numbers := persistence.NewPhoneNumberStore(e.db)
	create := func(e164 string, age time.Duration) domain.PhoneNumber {
		n, err := numbers.CreatePending(t.Context(), domain.PhoneNumber{ID: domain.NewID(domain.PrefixPhoneNumber), TeamID: acct.TeamID,
			PhoneNumber: e164, Provider: domain.ProviderName, CreatedByUserID: acct.UserID, WorkflowID: "phone-number:" + e164,
			CreatedAt: time.Now().Add(-age)})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	create("+14155550181", 0)
	waiting := create("+14155550182", 0)
	// Past its first workflow task: its documents accepted (requirements
	// cleared) and its number being provisioned, it waits on a timer.
	create("+14155550184", time.Minute)
	if _, err := numbers.SetRequirements(t.Context(), waiting.ID, &domain.PendingRequirements{Status: domain.RequirementsInfoPending,
		Missing: []domain.RegulatoryRequirement{{RequirementID: "req_addr", FieldType: "address"}}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ ref, order string }{
		{"phone-number:+14155550181/run-a", "ord_a"}, // waits in an activity
		{"phone-number:+14155550182/run-b", "ord_b"}, // waits on documents
		{"phone-number:+14155550183/run-c", "ord_c"}, // no live record: over
		{"someone-else", "ord_d"},                    // not ours
		{"phone-number:+14155550184/run-e", "ord_e"}, // past its first task
	} {
		if r := e.do(signed(priv, orderEvent(c.ref, c.order, "success"), time.Now())); r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", c.ref, r.status, r.raw)
		}
	}
	if got := published.all(); !slices.Equal(got, []string{"ord_a", "ord_b", "ord_c", "ord_d", "ord_e"}) {
		t.Errorf("published %v, want every verified order event's order", got)
	}
	if got := rec.all(); len(got) != 2 || got[0].OrderID != "ord_b" || got[1].OrderID != "ord_e" {
		t.Errorf("signalled %+v, want the purchase waiting on documents and the one past its first workflow task", got)
	}
}
