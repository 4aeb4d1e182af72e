package telnyxsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// SearchFor runs a real search (the one GET /v2/available_phone_numbers
// serves, without faults) narrowed to e164, so that the number counts as
// offered for the next SearchTTL and may be ordered. It is a convenience
// for tests that pick a number themselves; it fails when no search would
// offer the number (invalid, owned or sold), exactly as ordering it would.
func (s *Simulator) SearchFor(e164 string) error {
	num, err := phonenumbers.Parse(e164, "")
	if !e164Shape.MatchString(e164) || err != nil || !phonenumbers.IsValidNumber(num) {
		return fmt.Errorf("telnyxsim: %q is not a valid E.164 number", e164)
	}
	q := url.Values{}
	q.Set("filter[country_code]", phonenumbers.GetRegionCodeForNumber(num))
	q.Set("filter[phone_number_type]", kindOf(num))
	q.Set("filter[phone_number][ends_with]", phonenumbers.GetNationalSignificantNumber(num))
	q.Set("filter[limit]", "1")
	req := httptest.NewRequest(http.MethodGet, "/v2/available_phone_numbers?"+q.Encode(), nil)
	rec := httptest.NewRecorder()
	s.handleSearch(rec, req, "")
	var body struct {
		Data []struct {
			PhoneNumber string `json:"phone_number"`
		} `json:"data"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		return fmt.Errorf("telnyxsim: search for %s failed: %d %s", e164, rec.Code, rec.Body.Bytes())
	}
	for _, d := range body.Data {
		if d.PhoneNumber == e164 {
			return nil
		}
	}
	return fmt.Errorf("telnyxsim: no search offers %s (owned, sold or not stocked)", e164)
}

var errNotHeld = errors.New("telnyxsim: the account does not hold the number")

// OwnedStatuses are the 13 statuses Telnyx gives an owned number.
var OwnedStatuses = []string{
	"purchase-pending", "purchase-failed", "port-pending", "port-failed", "active", "deleted",
	"emergency-only", "ported-out", "port-out-pending", "requirement-info-pending",
	"requirement-info-under-review", "requirement-info-exception", "provision-pending",
}

// notHeld are the statuses of a record whose number the account no longer
// holds (or never got): the number leaves the account and returns to the
// inventory.
var notHeld = []string{"purchase-failed", "port-failed", "deleted", "ported-out"}

// SetOwnedStatus plants status (one of OwnedStatuses; underscores are read
// as hyphens) on the record of a number the account holds or is buying, as
// Telnyx might show it whatever its order says: tests use it for states
// the simulator never reaches by itself (emergency-only, port-out-pending,
// requirement-info-exception...). The planted status stays until the test
// changes it: a provisioning number is not activated any more, but an
// order still pending for the number settles as usual and overwrites it.
// A status of notHeld releases the number from the account. It fails for
// an unknown status or a number the account does not hold.
func (s *Simulator) SetOwnedStatus(e164, status string) error {
	status = strings.ReplaceAll(status, "_", "-")
	if !slices.Contains(OwnedStatuses, status) {
		return fmt.Errorf("telnyxsim: %q is not an owned-number status", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	own, now := s.held(e164)
	if own == nil {
		return fmt.Errorf("%w: %s", errNotHeld, e164)
	}
	own.status, own.updatedAt, own.activeAt = status, now, time.Time{}
	if status == numberActive && own.purchasedAt.IsZero() {
		own.purchasedAt = now
	}
	if slices.Contains(notHeld, status) {
		delete(s.live, e164)
	}
	return nil
}
