package telnyxsim

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Drift: the account changing behind Talkturo's back, which reconciliation
// must notice. Real causes are a number bought in the Telnyx portal or by a
// script with the same API key, an order that completed after its purchase
// was given up, and a number released in the portal or by Telnyx support.

// ErrAlreadyOwned is AddOwned's answer for a number the account holds or
// is buying already.
var ErrAlreadyOwned = errors.New("telnyxsim: the account already holds this number")

// AddOwned plants e164 as an active number of the account, created (and
// purchased) at createdAt, as if someone had bought it outside Talkturo with
// the account's key. No order records it. It returns the number's id; an
// invalid E.164 number is an error, and so is one the account holds already
// (ErrAlreadyOwned). A number marked sold to someone else is taken back
// from them: the account holds it now.
func (s *Simulator) AddOwned(e164 string, createdAt time.Time) (string, error) {
	num, err := phonenumbers.Parse(e164, "")
	if !e164Shape.MatchString(e164) || err != nil || !phonenumbers.IsValidNumber(num) || phonenumbers.Format(num, phonenumbers.E164) != e164 {
		return "", fmt.Errorf("telnyxsim: %q is not a valid E.164 number", e164)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	s.settle(now)
	if s.live[e164] != nil {
		return "", fmt.Errorf("%w: %s", ErrAlreadyOwned, e164)
	}
	if createdAt.IsZero() {
		createdAt = now
	}
	own := s.hold(&ownedNumber{
		e164:        e164,
		region:      phonenumbers.GetRegionCodeForNumber(num),
		kind:        kindOf(num),
		status:      numberActive,
		createdAt:   createdAt,
		updatedAt:   createdAt,
		purchasedAt: createdAt,
	})
	delete(s.sold, e164)
	return own.id, nil
}

// Forget releases a number the account holds behind Talkturo's back: its
// record turns deleted, as a release in the Telnyx portal would leave it,
// and the number returns to the inventory. A number still being bought is
// forgotten too (its order will not complete). It reports whether the
// account held the number.
func (s *Simulator) Forget(e164 string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	own, now := s.held(e164)
	if own == nil {
		return false
	}
	// A pending order for it settles to failure (see settleOrder).
	own.status, own.updatedAt = numberDeleted, now
	delete(s.live, e164)
	return true
}

// Backdate moves the created_at of a number the account holds (or is
// buying) to createdAt, as if it had been ordered then: reconciliation
// reads it to leave young numbers alone, and a test must not wait an hour
// for a number to be old. It reports whether the account holds the number.
func (s *Simulator) Backdate(e164 string, createdAt time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backdate(e164, createdAt) != nil
}

// held settles what is due and returns the account's record of e164 (nil
// when it does not hold the number) and the time it settled to. The caller
// holds s.mu.
func (s *Simulator) held(e164 string) (*ownedNumber, time.Time) {
	now := s.clock()
	s.settle(now)
	return s.live[e164], now
}

// backdate is Backdate for a caller holding s.mu; it returns the record,
// nil when the account does not hold the number.
func (s *Simulator) backdate(e164 string, createdAt time.Time) *ownedNumber {
	own, _ := s.held(e164)
	if own == nil {
		return nil
	}
	own.createdAt = createdAt
	if !own.purchasedAt.IsZero() && own.purchasedAt.After(createdAt) {
		own.purchasedAt = createdAt
	}
	return own
}

// driftRequestJSON is the body of the drift admin routes.
type driftRequestJSON struct {
	PhoneNumber string    `json:"phone_number"`
	CreatedAt   time.Time `json:"created_at"`
}

// handleAddOwned plants a number bought outside Talkturo (see AddOwned);
// created_at defaults to now.
func (s *Simulator) handleAddOwned(w http.ResponseWriter, r *http.Request, _ string) {
	var body driftRequestJSON
	e164, ok := decodeNumber(w, r, &body, &body.PhoneNumber)
	if !ok {
		return
	}
	id, err := s.AddOwned(e164, body.CreatedAt)
	if err != nil {
		writeError(w, apiError{status: http.StatusConflict, code: CodeDuplicateResource, title: "Duplicate resource", detail: err.Error(), pointer: "/phone_number"})
		return
	}
	s.writeOwned(w, id)
}

// handleForget releases a number behind Talkturo's back (see Forget).
func (s *Simulator) handleForget(w http.ResponseWriter, r *http.Request, _ string) {
	var body struct {
		PhoneNumber string `json:"phone_number"`
	}
	e164, ok := decodeNumber(w, r, &body, &body.PhoneNumber)
	if !ok {
		return
	}
	if !s.Forget(e164) {
		writeError(w, notFound("The account does not hold "+e164+"."))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"phone_number": e164, "forgotten": true})
}

// handleBackdate moves a held number's created_at (see Backdate).
func (s *Simulator) handleBackdate(w http.ResponseWriter, r *http.Request, _ string) {
	var body driftRequestJSON
	e164, ok := decodeNumber(w, r, &body, &body.PhoneNumber)
	if !ok {
		return
	}
	if body.CreatedAt.IsZero() {
		writeError(w, apiError{status: http.StatusUnprocessableEntity, code: CodeMissingParameter, title: "Missing required parameter",
			detail: "created_at is required: the time the number should look ordered at (RFC 3339).", pointer: "/created_at"})
		return
	}
	s.mu.Lock()
	own := s.backdate(e164, body.CreatedAt)
	var rec phoneNumberJSON
	if own != nil {
		rec = s.numberJSON(own)
	}
	s.mu.Unlock()
	if own == nil {
		writeError(w, notFound("The account does not hold "+e164+"."))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": rec})
}

// writeOwned answers with the owned number's record, as GET
// /v2/phone_numbers/{id} renders it.
func (s *Simulator) writeOwned(w http.ResponseWriter, id string) {
	s.mu.Lock()
	rec := s.numberJSON(s.numbersByID[id])
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": rec})
}
