package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

const (
	headerSignature = "Talkturo-Signature"
	// signatureTolerance is how far a signature's timestamp may be from
	// now: enough for clock skew and retries, too little to replay.
	signatureTolerance = 5 * time.Minute
)

type billingEventRequest struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	TeamID     string `json:"teamId"`
	Plan       string `json:"plan"`
	OccurredAt string `json:"occurredAt"`
}

// billingSendTimeout bounds signalling a billing event to its team's
// workflow when the request's deadline is further away.
const billingSendTimeout = 15 * time.Second

// billingWebhook is POST /api/billing/webhook: a billing system that cannot
// speak Temporal sends subscription events here, signed with
// BILLING_WEBHOOK_SECRET. It answers 200 only once Temporal has recorded
// the signal, so a 200 means the event will be applied (once: a replayed
// event id is accepted again and changes nothing).
func (s *Server) billingWebhook(c *fiber.Ctx) error {
	if s.cfg.BillingSecret == "" {
		return &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable, Message: "The billing webhook is not configured (BILLING_WEBHOOK_SECRET is unset)."}
	}
	// The bytes received, as the billing system signed them: c.Body() would
	// inflate a compressed body first (identityBodiesOnly refuses those).
	if err := verifySignature(c.Get(headerSignature), c.Request().Body(), s.cfg.BillingSecret, time.Now()); err != nil {
		return err
	}
	var req billingEventRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ev, err := req.validate(time.Now())
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if _, err := s.accounts.GetTeam(ctx, ev.TeamID); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return &domain.Error{Kind: domain.KindNotFound, Code: domain.CodeNotFound, Field: "teamId", Message: "No team has this id."}
		}
		return err
	}
	sendCtx, cancel := sendContext(ctx, billingSendTimeout)
	defer cancel()
	if err := s.workflows.SendBillingEvent(sendCtx, ev); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true, "eventId": ev.ID, "teamId": ev.TeamID, "workflowId": workflows.TeamWorkflowID(ev.TeamID)})
}

// validate checks the event against the server's clock now: an occurredAt
// further ahead than domain.BillingEventMaxAhead is refused here, where the
// sender can still hear about it, rather than ignored by the workflow.
func (r billingEventRequest) validate(now time.Time) (workflows.BillingEvent, error) {
	ev := workflows.BillingEvent{ID: strings.TrimSpace(r.ID), Type: r.Type, TeamID: strings.TrimSpace(r.TeamID)}
	if ev.ID == "" || len(ev.ID) > 255 {
		return ev, domain.Invalid("id", "id is required: the billing system's event id, at most 255 characters.")
	}
	switch r.Type {
	case workflows.EventSubscriptionActivated, workflows.EventSubscriptionUpdated:
		p, err := domain.ParsePlanName(r.Plan)
		if err != nil || p == domain.PlanFree {
			return ev, domain.Invalid("plan", "plan must be a paid plan (starter, growth or scale) for %s.", r.Type)
		}
		ev.Plan = string(p)
	case workflows.EventSubscriptionCanceled:
		ev.Plan = string(domain.PlanFree)
	default:
		return ev, domain.Invalid("type", "type must be subscription.activated, subscription.updated or subscription.canceled.")
	}
	if ev.TeamID == "" || len(ev.TeamID) > 64 || !storableText(ev.TeamID) {
		return ev, domain.Invalid("teamId", "teamId is required.")
	}
	at, err := time.Parse(time.RFC3339Nano, r.OccurredAt)
	if err != nil || !rfc3339.MatchString(r.OccurredAt) {
		return ev, domain.Invalid("occurredAt", "occurredAt must be an RFC 3339 time such as 2026-11-27T12:00:00Z.")
	}
	if domain.BillingEventTooFarAhead(at, now) {
		return ev, domain.Invalid("occurredAt", "occurredAt is more than %d minutes ahead of our clock (%s): an event cannot be dated in the future.", int(domain.BillingEventMaxAhead.Minutes()), now.UTC().Format(time.RFC3339))
	}
	ev.OccurredAt = at.UTC()
	return ev, nil
}

// rfc3339 is the shape RFC 3339 allows: time.Parse alone also takes a
// one-digit hour and a comma before the fraction.
var rfc3339 = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`)

var errBadSignature = &domain.Error{Kind: domain.KindUnauthorized, Code: domain.CodeUnauthorized,
	Message: "The Talkturo-Signature header is missing, malformed, stale or does not match the body."}

// verifySignature checks "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">"
// (several v1 values are allowed, for secret rotation) in constant time.
func verifySignature(header string, body []byte, secret string, now time.Time) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > signatureTolerance || d < -signatureTolerance {
		return errBadSignature
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return errBadSignature
}

// SignBillingEvent returns the Talkturo-Signature header for body, as a
// billing system computes it (used by tests and by the README's example).
func SignBillingEvent(body []byte, secret string, at time.Time) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
