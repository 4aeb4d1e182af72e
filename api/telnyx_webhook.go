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

// Outcomes of a Telnyx webhook delivery, the values of
// talkturo_telnyx_webhooks_total's label.
const (
	webhookNotified     = "notified"     // 200: handed to the purchase its reference names (or to none: not ours)
	webhookIgnored      = "ignored"      // 200: verified, but not an order event with a reference
	webhookUnauthorized = "unauthorized" // 401: missing, wrong or stale signature
	webhookInvalid      = "invalid"      // 400: verified, but not an event we can read
	webhookUnavailable  = "unavailable"  // 503: no key configured, or Temporal did not take the signal
)

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
// "{timestamp}|{body}". The cheap checks (header shapes, the timestamp's
// window) come first, so an unsigned flood costs no hashing.
func verifyTelnyxSignature(key ed25519.PublicKey, sigHeader, tsHeader string, body []byte, now time.Time) error {
	if tsHeader == "" || len(tsHeader) > 20 || sigHeader == "" || len(sigHeader) > 128 {
		return errBadTelnyxSignature
	}
	for _, r := range tsHeader {
		if r < '0' || r > '9' {
			return errBadTelnyxSignature
		}
	}
	sec, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return errBadTelnyxSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > signatureTolerance || d < -signatureTolerance {
		return errBadTelnyxSignature
	}
	sig, err := decodeBase64(sigHeader)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errBadTelnyxSignature
	}
	msg := make([]byte, 0, len(tsHeader)+1+len(body))
	msg = append(append(append(msg, tsHeader...), '|'), body...)
	if !ed25519.Verify(key, msg, sig) {
		return errBadTelnyxSignature
	}
	return nil
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

// telnyxWebhook is POST /api/telnyx/webhook: Telnyx announces a change of
// a number order. Every verified delivery is answered 2xx, even one that
// is not for us, because Telnyx retries anything else and retrying cannot
// make it ours; a 503 only when the event could not be handed on, so that
// Telnyx retries it.
func (s *Server) telnyxWebhook(c *fiber.Ctx) error {
	if len(s.cfg.TelnyxPublicKey) == 0 {
		s.metrics.webhook(webhookUnavailable)
		return &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable, Message: "The Telnyx webhook is not configured (TELNYX_PUBLIC_KEY is unset)."}
	}
	// The bytes received, as Telnyx signed them: c.Body() would inflate a
	// compressed body first (identityBodiesOnly refuses those).
	body := c.Request().Body()
	if err := verifyTelnyxSignature(s.cfg.TelnyxPublicKey, c.Get(headerTelnyxSignature), c.Get(headerTelnyxTimestamp), body, time.Now()); err != nil {
		s.metrics.webhook(webhookUnauthorized)
		return err
	}
	ev, order, err := readTelnyxEvent(body)
	if err != nil {
		s.metrics.webhook(webhookInvalid)
		requestLogger(c, s.log).Warn("a signed Telnyx webhook could not be read", "error", err)
		return err
	}
	log := requestLogger(c, s.log).With("event_type", ev.EventType, "event_id", ev.ID)
	if order == nil || order.CustomerReference == "" {
		s.metrics.webhook(webhookIgnored)
		log.Info("telnyx webhook ignored: not an order event with a customer reference")
		return c.JSON(fiber.Map{"success": true, "handled": false})
	}
	ctx := c.UserContext()
	// Detached from the request's cancellation (Telnyx hanging up must not
	// cut a signal half-sent), bounded by what is left of its deadline.
	budget := telnyxNotifyTimeout
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl))
	}
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	oe := workflows.OrderEvent{CustomerReference: order.CustomerReference, OrderID: order.ID, Status: domain.OrderStatus(order.Status)}
	if err := s.workflows.NotifyOrder(sendCtx, oe); err != nil {
		s.metrics.webhook(webhookUnavailable)
		// Whatever the failure, Telnyx must try again: a 503, not a 500.
		return &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable,
			Message: "The order event could not be handed to its purchase; try again.", Err: err}
	}
	s.metrics.webhook(webhookNotified)
	log.Info("telnyx order event handed on", "order_id", order.ID, "order_status", order.Status, "customer_reference", order.CustomerReference)
	return c.JSON(fiber.Map{"success": true, "handled": true})
}

// readTelnyxEvent reads a verified delivery. order is nil for an event
// that is not about a number order.
func readTelnyxEvent(body []byte) (ev struct{ EventType, ID string }, order *telnyxOrderPayload, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return ev, nil, domain.Invalid("body", "The request body must be a Telnyx webhook event (a JSON object).")
	}
	var env telnyxEvent
	if err := decodeOne(body, &env); err != nil {
		return ev, nil, err
	}
	if env.Data == nil {
		return ev, nil, domain.Invalid("data", "data is required: the event.")
	}
	ev.EventType, ev.ID = env.Data.EventType, env.Data.ID
	if !boundedText(ev.EventType, 128) || ev.EventType == "" {
		return ev, nil, domain.Invalid("data.event_type", "data.event_type is required, at most 128 printable characters.")
	}
	if !boundedText(ev.ID, 255) {
		return ev, nil, domain.Invalid("data.id", "data.id must be at most 255 printable characters.")
	}
	if !strings.HasPrefix(ev.EventType, "number_order.") {
		return ev, nil, nil
	}
	var p telnyxOrderPayload
	if len(env.Data.Payload) == 0 || bytes.Equal(env.Data.Payload, []byte("null")) {
		return ev, nil, domain.Invalid("data.payload", "data.payload is required for a %s event: the order.", ev.EventType)
	}
	if err := decodeOne(env.Data.Payload, &p); err != nil {
		var de *domain.Error
		if errors.As(err, &de) {
			de.Field = "data.payload"
			if de.Message != "" {
				de.Message = "data.payload: " + de.Message
			}
		}
		return ev, nil, err
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{{"data.payload.id", p.ID, 255}, {"data.payload.status", p.Status, 64}, {"data.payload.customer_reference", p.CustomerReference, 255}} {
		if !boundedText(f.value, f.max) {
			return ev, nil, domain.Invalid(f.name, "%s must be at most %d printable characters.", f.name, f.max)
		}
	}
	return ev, &p, nil
}

// boundedText reports whether s is at most max bytes of printable ASCII
// (spaces allowed): what an id or a status from Telnyx looks like, and
// safe to log and to put in a workflow signal.
func boundedText(s string, max int) bool {
	return len(s) <= max && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e })
}
