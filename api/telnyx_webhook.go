package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

// The headers Telnyx signs its webhooks with.
const (
	headerTelnyxSignature = "telnyx-signature-ed25519"
	headerTelnyxTimestamp = "telnyx-timestamp"
)

// telnyxNotifyTimeout bounds signalling an order event to its purchase
// when the request's deadline is further away.
const telnyxNotifyTimeout = 10 * time.Second

// telnyxWebhookBodyLimit caps a delivery below the API's 1 MiB: Telnyx's
// order events are a few KiB, and a larger body is refused before its
// signature is checked.
const telnyxWebhookBodyLimit = 64 << 10

// Outcomes of a Telnyx webhook delivery, the values of
// talkturo_telnyx_webhooks_total's label.
const (
	// 200: given to NotifyOrder, which signals the purchase the reference
	// names, or drops the event when no running purchase has that
	// reference (the API cannot tell the two apart).
	webhookHandedOn     = "handed_on"
	webhookDuplicate    = "duplicate"    // 200: this process handed the same delivery on already
	webhookIgnored      = "ignored"      // 200: verified, but not an order event we can use
	webhookUnauthorized = "unauthorized" // 401: missing, wrong or stale signature
	webhookInvalid      = "invalid"      // 400: verified, but not a Telnyx event envelope
	webhookTooLarge     = "too_large"    // 413: over telnyxWebhookBodyLimit, not verified
	webhookUnavailable  = "unavailable"  // 503: no key configured, or Temporal did not take the signal
)

// webhookOutcomes are all of them, so that each series exists from the start.
var webhookOutcomes = []string{webhookHandedOn, webhookDuplicate, webhookIgnored, webhookUnauthorized, webhookInvalid, webhookTooLarge, webhookUnavailable}

var errBadTelnyxSignature = &domain.Error{Kind: domain.KindUnauthorized, Code: domain.CodeUnauthorized,
	Message: "The telnyx-signature-ed25519 or telnyx-timestamp header is missing, malformed, stale or does not match the body."}

// decodeBase64 takes standard base64 with or without padding.
func decodeBase64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// verifyTelnyxSignature checks Telnyx's Ed25519 signature of
// "{timestamp}|{body}" and returns the signature's bytes. The cheap checks
// (header shapes, the timestamp's window) come first, so an unsigned flood
// costs no hashing.
func verifyTelnyxSignature(key ed25519.PublicKey, sigHeader, tsHeader string, body []byte, now time.Time) ([]byte, error) {
	if tsHeader == "" || len(tsHeader) > 20 || sigHeader == "" || len(sigHeader) > 128 {
		return nil, errBadTelnyxSignature
	}
	for _, r := range tsHeader {
		if r < '0' || r > '9' {
			return nil, errBadTelnyxSignature
		}
	}
	sec, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return nil, errBadTelnyxSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > signatureTolerance || d < -signatureTolerance {
		return nil, errBadTelnyxSignature
	}
	sig, err := decodeBase64(sigHeader)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, errBadTelnyxSignature
	}
	msg := make([]byte, 0, len(tsHeader)+1+len(body))
	msg = append(append(append(msg, tsHeader...), '|'), body...)
	if !ed25519.Verify(key, msg, sig) {
		return nil, errBadTelnyxSignature
	}
	return sig, nil
}

// SignTelnyxWebhook returns the telnyx-timestamp and
// telnyx-signature-ed25519 headers for body, as Telnyx signs a delivery
// (for tests and for signing a delivery by hand).
func SignTelnyxWebhook(key ed25519.PrivateKey, body []byte, at time.Time) (timestamp, signature string) {
	timestamp = strconv.FormatInt(at.Unix(), 10)
	msg := append([]byte(timestamp+"|"), body...)
	return timestamp, base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg))
}

// telnyxEvent is the part of Telnyx's webhook envelope we read:
// {"data": {"event_type", "id", "occurred_at", "payload", "record_type"}, "meta": {...}}.
type telnyxEvent struct {
	Data *struct {
		EventType string          `json:"event_type"`
		ID        string          `json:"id"`
		Payload   json.RawMessage `json:"payload"`
	} `json:"data"`
}

// telnyxOrderPayload is what an order event's payload (the order) tells us.
type telnyxOrderPayload struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	CustomerReference string `json:"customer_reference"`
}

// readEvent is a verified delivery as read: Order is set for an order
// event we can hand on, else Ignored says why it is not one.
type readEvent struct {
	Type, ID string
	Order    *telnyxOrderPayload
	Ignored  string
}

// telnyxWebhook is POST /api/telnyx/webhook: Telnyx announces a change of
// a number order. Telnyx retries every delivery not answered 2xx, for
// days, so every verified delivery that is an event is answered 200, even
// one we cannot use or one not for us, since a retry cannot change it; a
// 400 only for a body that is no event at all, and a 503 only when the
// event could not be handed on, so that Telnyx retries it.
// maxEventIDInHistory bounds a Telnyx event id carried into a workflow's
// history (Telnyx's are UUIDs).
const maxEventIDInHistory = 64

func (s *Server) telnyxWebhook(c *fiber.Ctx) error {
	if len(s.cfg.TelnyxPublicKey) == 0 {
		s.metrics.webhook(webhookUnavailable)
		return &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable, Message: "The Telnyx webhook is not configured (TELNYX_PUBLIC_KEY is unset)."}
	}
	// The bytes received, as Telnyx signed them: c.Body() would inflate a
	// compressed body first (identityBodiesOnly refuses those).
	body := c.Request().Body()
	if len(body) > telnyxWebhookBodyLimit {
		s.metrics.webhook(webhookTooLarge)
		return fiber.ErrRequestEntityTooLarge // the API's own 413
	}
	sig, err := verifyTelnyxSignature(s.cfg.TelnyxPublicKey, c.Get(headerTelnyxSignature), c.Get(headerTelnyxTimestamp), body, time.Now())
	if err != nil {
		s.metrics.webhook(webhookUnauthorized)
		return err
	}
	ev, err := readTelnyxEvent(body)
	if err != nil {
		s.metrics.webhook(webhookInvalid)
		requestLogger(c, s.log).WarnContext(c.UserContext(), "a signed Telnyx webhook is not an event", "error", err)
		return err
	}
	log := requestLogger(c, s.log).With("event_type", ev.Type)
	if boundedText(ev.ID, 255) {
		log = log.With("event_id", ev.ID)
	}
	if ev.Order == nil {
		s.metrics.webhook(webhookIgnored)
		log.InfoContext(c.UserContext(), "telnyx webhook ignored", "reason", ev.Ignored)
		return c.JSON(fiber.Map{"success": true, "handled": false})
	}
	key := deliveryKeyOf(ev.ID, sig)
	if s.deliveries.seen(key) {
		s.metrics.webhook(webhookDuplicate)
		log.InfoContext(c.UserContext(), "telnyx order event already handed on", "order_id", ev.Order.ID)
		return c.JSON(fiber.Map{"success": true, "handled": false, "duplicate": true})
	}
	ctx := c.UserContext()
	sendCtx, cancel := sendContext(ctx, telnyxNotifyTimeout)
	defer cancel()
	order := ev.Order
	oe := workflows.OrderEvent{CustomerReference: order.CustomerReference, OrderID: order.ID, Status: domain.OrderStatus(order.Status)}
	if len(ev.ID) <= maxEventIDInHistory {
		// Events tell changes apart by their id (the order's own status
		// stays pending while its documents move on); a longer one stays
		// out of the history.
		oe.EventID = ev.ID
	}
	if err := s.announceOrder(sendCtx, oe); err != nil {
		s.metrics.webhook(webhookUnavailable)
		// Whatever the failure, Telnyx must try again: a 503, not a 500.
		// Not remembered, so the retry is handed on.
		return &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable,
			Message: "The order event could not be handed to its purchase; try again.", Err: err}
	}
	// Remembered only once handed on: two deliveries of one event at the
	// same moment may both go through, which the workflow tolerates.
	s.deliveries.add(key)
	s.metrics.webhook(webhookHandedOn)
	log.InfoContext(c.UserContext(), "telnyx order event handed on", "order_id", order.ID, "order_status", order.Status, "customer_reference", order.CustomerReference)
	return c.JSON(fiber.Map{"success": true, "handled": true})
}

// readTelnyxEvent reads a verified delivery. The error, a 400, is for a
// body that is not a Telnyx event envelope (not JSON, no data object, no
// event type we can name); an event we cannot use is no error.
func readTelnyxEvent(body []byte) (readEvent, error) {
	var ev readEvent
	if len(bytes.TrimSpace(body)) == 0 {
		return ev, domain.Invalid("body", "The request body must be a Telnyx webhook event (a JSON object).")
	}
	var env telnyxEvent
	if err := decodeOne(body, &env); err != nil {
		return ev, err
	}
	if env.Data == nil {
		return ev, domain.Invalid("data", "data is required: the event.")
	}
	ev.Type, ev.ID = env.Data.EventType, env.Data.ID
	if !boundedText(ev.Type, 128) || ev.Type == "" {
		return ev, domain.Invalid("data.event_type", "data.event_type is required, at most 128 printable characters.")
	}
	if !strings.HasPrefix(ev.Type, "number_order.") {
		ev.Ignored = "not a number order event"
		return ev, nil
	}
	ev.Order, ev.Ignored = readOrderPayload(env.Data.Payload)
	return ev, nil
}

// readOrderPayload reads an order event's payload: the order, or nil and
// why it cannot be handed on.
func readOrderPayload(raw json.RawMessage) (*telnyxOrderPayload, string) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, "data.payload is missing"
	}
	var p telnyxOrderPayload
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, "data.payload is not an order object"
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{{"data.payload.id", p.ID, 255}, {"data.payload.status", p.Status, 64}, {"data.payload.customer_reference", p.CustomerReference, 255}} {
		if !boundedText(f.value, f.max) {
			return nil, f.name + " is over " + strconv.Itoa(f.max) + " bytes or not printable ASCII"
		}
	}
	if p.CustomerReference == "" {
		return nil, "no data.payload.customer_reference: not an order of this service"
	}
	return &p, ""
}

// boundedText reports whether s is at most max bytes of printable ASCII
// (spaces allowed): what an id or a status from Telnyx looks like, and
// safe to log and to put in a workflow signal.
func boundedText(s string, max int) bool {
	return len(s) <= max && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e })
}

// announceOrder hands a verified order event on: to the activities waiting
// on the order, in any process (OrderEvents), and as a signal to a
// purchase that may wait at the workflow level (waiting on documents, or
// provisioning after them: workflows.WaitsForOrderSignal), where only a
// signal wakes it. A record that cannot be read gets
// the signal: a needless one costs a workflow task, a missing one a wait
// of up to hours. The word to the activities is a hint (they poll too):
// failing to give it is logged, not refused.
func (s *Server) announceOrder(ctx context.Context, ev workflows.OrderEvent) error {
	if s.orders != nil && ev.OrderID != "" {
		// Each database step gets a share of the budget, so that a slow
		// database leaves time for the signal.
		pubCtx, cancel := context.WithTimeout(ctx, announceStepTimeout)
		err := s.orders.Publish(pubCtx, ev.OrderID)
		cancel()
		if err != nil {
			s.log.Warn("the order event could not be handed to the activities waiting on it; they will see it at their next poll", "order_id", ev.OrderID, "error", err)
		}
	}
	if s.orders != nil {
		e164, ok := workflows.NumberOfKey(ev.CustomerReference)
		if !ok {
			return nil // no purchase of ours
		}
		readCtx, cancel := context.WithTimeout(ctx, announceStepTimeout)
		n, err := s.numbers.LiveByNumber(readCtx, e164)
		cancel()
		switch {
		case errors.Is(err, domain.ErrNotFound):
			return nil // its purchase is over
		case err == nil && !workflows.WaitsForOrderSignal(n, time.Now()):
			return nil
		}
	}
	return s.workflows.NotifyOrder(ctx, ev)
}

// announceStepTimeout bounds each database step of announceOrder.
const announceStepTimeout = 2 * time.Second
