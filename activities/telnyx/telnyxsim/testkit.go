package telnyxsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

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
