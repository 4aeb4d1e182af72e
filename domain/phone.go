package domain

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ParseE164 checks that s is a phone number in E.164 form ("+" then the
// country code and national number, no spaces) that the numbering plan of
// its country allows, and returns it unchanged. The check uses
// libphonenumber's metadata, so a number that looks right but is not
// assignable (a wrong length, an unused range) is refused.
func ParseE164(field, s string) (string, error) {
	if s == "" {
		return "", Invalid(field, "%s is required, in E.164 format such as +14155550101.", field)
	}
	if !strings.HasPrefix(s, "+") || strings.ContainsAny(s, " -().") {
		return "", Invalid(field, "%s must be in E.164 format such as +14155550101 (a '+', the country code and the number, no spaces).", field)
	}
	num, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", Invalid(field, "%s %q is not a valid phone number in any country's numbering plan.", field, s)
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if e164 != s {
		return "", Invalid(field, "%s must be in E.164 format: did you mean %s?", field, e164)
	}
	return e164, nil
}

// NormalizeCountry upper-cases an ISO 3166-1 alpha-2 code and checks that it
// names a country with a numbering plan.
func NormalizeCountry(field, code string) (string, error) {
	if code == "" {
		return "", Invalid(field, "%s is required: an ISO 3166-1 alpha-2 country code such as \"US\".", field)
	}
	up := strings.ToUpper(code)
	if len(up) != 2 || !phonenumbers.GetSupportedRegions()[up] {
		return "", Invalid(field, "%s %q is not an ISO 3166-1 alpha-2 code of a country with phone numbers (for example \"US\", \"GB\", \"CA\").", field, code)
	}
	return up, nil
}

// NANPCountries are the countries where an area code (a three-digit
// numbering plan area) can be searched for.
var NANPCountries = map[string]bool{"US": true, "CA": true}
