package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/talkturo/phonenumbers/domain"
)

const headerIdempotencyKey = "Idempotency-Key"

// purchaseFingerprint is the purchase request that an Idempotency-Key
// stands for, as sent: connectionID is the one the request names ("" for
// the default), so a change of the default connection does not turn a
// retry into another request. A requirement group is appended only when
// named, so keys claimed before it existed still match.
func purchaseFingerprint(e164, teamID, connectionID, requirementGroupID string) string {
	fingerprint := e164 + "\x00" + teamID + "\x00" + connectionID
	if requirementGroupID != "" {
		fingerprint += "\x00requirementGroupId\x00" + requirementGroupID
	}
	return fingerprint
}

// idempotencyKeyOf returns the request's Idempotency-Key ("" when none)
// and the hash of the request that the key stands for.
func idempotencyKeyOf(c *fiber.Ctx, fingerprint string) (key, requestHash string, err error) {
	key = c.Get(headerIdempotencyKey)
	if key == "" {
		return "", "", nil
	}
	if len(key) > 255 || strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		return "", "", domain.Invalid(headerIdempotencyKey, "The Idempotency-Key header must be 1 to 255 printable ASCII characters.")
	}
	sum := sha256.Sum256([]byte(c.Method() + " " + c.Route().Path + "\x00" + fingerprint))
	return key, hex.EncodeToString(sum[:]), nil
}

// keptAnswer returns the answer kept for this request's Idempotency-Key,
// if any, with a read that claims nothing (so it may run before the rate
// limit).
func (s *Server) keptAnswer(c *fiber.Ctx, teamID, fingerprint string) (domain.IdempotencyClaim, bool, error) {
	key, want, err := idempotencyKeyOf(c, fingerprint)
	if err != nil || key == "" {
		return domain.IdempotencyClaim{}, false, err
	}
	claim, ok, err := s.idem.Answered(c.UserContext(), teamID, key)
	if err != nil || !ok {
		return domain.IdempotencyClaim{}, false, err
	}
	if claim.RequestHash != want {
		return domain.IdempotencyClaim{}, false, errKeyReused()
	}
	return claim, true, nil
}

// updateIDFor names the purchase update, in the returned claim's Target.
// With an Idempotency-Key it is derived from the team and key, so a
// retried request is the same update; the key is remembered with a hash of
// the request (reusing it for another request is a 422) and, once there is
// one, the final answer to replay. Without a key every request is its own
// update (a retry still joins the running purchase of the same number by
// the same team), and the claim has no Key.
func (s *Server) updateIDFor(c *fiber.Ctx, teamID, fingerprint string) (domain.IdempotencyClaim, error) {
	key, want, err := idempotencyKeyOf(c, fingerprint)
	if err != nil {
		return domain.IdempotencyClaim{}, err
	}
	if key == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		return domain.IdempotencyClaim{TeamID: teamID, Target: "req-" + hex.EncodeToString(b[:])}, nil
	}
	sum := sha256.Sum256([]byte(teamID + "\x00" + key))
	claim, err := s.idem.Claim(c.UserContext(), domain.IdempotencyClaim{TeamID: teamID, Key: key, RequestHash: want, Target: "idem-" + hex.EncodeToString(sum[:16])})
	if err != nil {
		return domain.IdempotencyClaim{}, err
	}
	if claim.RequestHash != want {
		return domain.IdempotencyClaim{}, errKeyReused()
	}
	return claim, nil
}

// answer sends a final purchase answer, kept for the Idempotency-Key (if
// any) so that retries replay it byte for byte.
func (s *Server) answer(c *fiber.Ctx, claim domain.IdempotencyClaim, status int, v any) error {
	body, err := marshalJSON(v)
	if err != nil {
		return err
	}
	if claim.Key != "" {
		// A failure to keep it only costs the replay; the purchase stands.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), saveResponseTimeout)
		defer cancel()
		if err := s.idem.SaveResponse(ctx, claim.TeamID, claim.Key, status, body); err != nil {
			requestLogger(c, s.log).WarnContext(c.UserContext(), "keeping the idempotent response failed", "error", err)
		}
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(status).Send(body)
}

// replay sends the answer kept for an Idempotency-Key, byte for byte.
func replay(c *fiber.Ctx, claim domain.IdempotencyClaim) error {
	c.Set("Idempotent-Replayed", "true")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(claim.ResponseStatus).Send(claim.ResponseBody)
}

func errKeyReused() error {
	return &domain.Error{Kind: domain.KindUnprocessable, Code: domain.CodeIdempotencyKeyReused, Field: headerIdempotencyKey,
		Message: "This Idempotency-Key was already used for a different request; use a new key for a new request."}
}

// releaseKey names this release request, so that a retry of it (the same
// Idempotency-Key, else the same X-Request-Id) is the same release update.
func releaseKey(c *fiber.Ctx, numberID string) string {
	if key := c.Get(headerIdempotencyKey); key != "" {
		return numberID + "\x00idempotency-key\x00" + key
	}
	return numberID + "\x00request-id\x00" + requestID(c)
}
