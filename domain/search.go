package domain

import (
	"fmt"
	"slices"
	"strings"
)

// NumberType is the kind of number a search asks for, as our API spells it.
type NumberType string

// The number types the API accepts.
const (
	NumberTypeLocal    NumberType = "local"
	NumberTypeTollFree NumberType = "toll-free"
)

// Search limits.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
)

// Features a number can have, as Telnyx names them.
var KnownFeatures = []string{"voice", "sms", "mms", "fax", "emergency", "hd_voice", "international_sms", "local_calling"}

// SearchFilter is a validated search for available numbers.
type SearchFilter struct {
	CountryCode        string
	AreaCode           string
	NumberType         NumberType
	Limit              int
	Locality           string
	AdministrativeArea string
	StartsWith         string
	Contains           string
	EndsWith           string
	Features           []string
}

// SearchInput is a search as the client sent it, before validation. Pointers
// tell "absent" from "zero".
type SearchInput struct {
	CountryCode        string
	AreaCode           string
	NumberType         string
	Limit              *int
	Locality           string
	AdministrativeArea string
	StartsWith         string
	Contains           string
	EndsWith           string
	Features           []string
}

// Validate turns a SearchInput into a SearchFilter, or returns an Invalid
// error naming the first field at fault (fields prefixed with "filters.").
func (in SearchInput) Validate() (SearchFilter, error) {
	country, err := NormalizeCountry("filters.countryCode", in.CountryCode)
	if err != nil {
		return SearchFilter{}, err
	}
	f := SearchFilter{CountryCode: country, NumberType: NumberTypeLocal, Limit: DefaultSearchLimit}

	switch NumberType(strings.ToLower(in.NumberType)) {
	case "", NumberTypeLocal:
	case NumberTypeTollFree, "toll_free", "tollfree":
		f.NumberType = NumberTypeTollFree
	default:
		return SearchFilter{}, Invalid("filters.numberType", "filters.numberType must be \"local\" or \"toll-free\", not %q.", in.NumberType)
	}

	if in.AreaCode != "" {
		if !NANPCountries[country] {
			return SearchFilter{}, Invalid("filters.areaCode", "filters.areaCode is only supported for US and CA numbers, not %s.", country)
		}
		if !isDigits(in.AreaCode, 3) {
			return SearchFilter{}, Invalid("filters.areaCode", "filters.areaCode must be exactly three digits, such as \"415\".")
		}
		if f.NumberType == NumberTypeTollFree {
			return SearchFilter{}, Invalid("filters.areaCode", "filters.areaCode cannot be combined with numberType \"toll-free\": toll-free numbers have no area.")
		}
		f.AreaCode = in.AreaCode
	}

	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > MaxSearchLimit {
			return SearchFilter{}, Invalid("filters.limit", "filters.limit must be between 1 and %d.", MaxSearchLimit)
		}
		f.Limit = *in.Limit
	}

	for _, p := range []struct {
		field string
		value string
		dst   *string
	}{
		{"filters.startsWith", in.StartsWith, &f.StartsWith},
		{"filters.contains", in.Contains, &f.Contains},
		{"filters.endsWith", in.EndsWith, &f.EndsWith},
	} {
		if p.value == "" {
			continue
		}
		v := strings.TrimPrefix(p.value, "+")
		if len(v) > 15 || !isDigits(v, len(v)) {
			return SearchFilter{}, Invalid(p.field, "%s must be up to 15 digits.", p.field)
		}
		*p.dst = v
	}

	for _, p := range []struct {
		field, value string
		dst          *string
	}{
		{"filters.locality", in.Locality, &f.Locality},
		{"filters.administrativeArea", in.AdministrativeArea, &f.AdministrativeArea},
	} {
		if len(p.value) > 100 {
			return SearchFilter{}, Invalid(p.field, "%s must be at most 100 characters.", p.field)
		}
		*p.dst = strings.TrimSpace(p.value)
	}

	for i, feat := range in.Features {
		feat = strings.ToLower(feat)
		if !slices.Contains(KnownFeatures, feat) {
			return SearchFilter{}, Invalid(fmt.Sprintf("filters.features[%d]", i), "filters.features[%d] %q is not one of %s.", i, in.Features[i], strings.Join(KnownFeatures, ", "))
		}
		if !slices.Contains(f.Features, feat) {
			f.Features = append(f.Features, feat)
		}
	}
	return f, nil
}

func isDigits(s string, n int) bool {
	if len(s) != n || n == 0 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// AvailableNumber is a number the provider offers for sale.
type AvailableNumber struct {
	PhoneNumber  string
	MonthlyPrice string // decimal string in Currency, as the provider sends it
	SetupPrice   string
	Currency     string
	Features     []string
	// BestEffort is true when the provider offers a near match, not what was asked.
	BestEffort bool
	Locality   string
	Region     string
}
