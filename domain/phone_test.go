package domain

import (
	"errors"
	"testing"
)

func TestParseE164(t *testing.T) {
	for _, ok := range []string{"+14155550101", "+442079460958", "+18005550199"} {
		if got, err := ParseE164("phoneNumber", ok); err != nil || got != ok {
			t.Errorf("ParseE164(%q) = %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{"", "14155550101", "+1 415 555 0101", "+1-415-555-0101", "+1415555", "+99912345678", "+1415555010199", "hello"} {
		_, err := ParseE164("phoneNumber", bad)
		var de *Error
		if !errors.As(err, &de) || de.Kind != KindInvalid || de.Field != "phoneNumber" {
			t.Errorf("ParseE164(%q) = %v, want an invalid phoneNumber error", bad, err)
		}
	}
}

func TestNormalizeCountry(t *testing.T) {
	for in, want := range map[string]string{"us": "US", "Gb": "GB", "CA": "CA", "de": "DE"} {
		if got, err := NormalizeCountry("c", in); err != nil || got != want {
			t.Errorf("NormalizeCountry(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "XX", "USA", "U", "001", "zz"} {
		if _, err := NormalizeCountry("c", bad); ErrorKind(err) != KindInvalid {
			t.Errorf("NormalizeCountry(%q) = %v, want invalid", bad, err)
		}
	}
}

func TestSearchInputValidate(t *testing.T) {
	n := func(i int) *int { return &i }
	f, err := SearchInput{CountryCode: "us", AreaCode: "415"}.Validate()
	if err != nil || f.CountryCode != "US" || f.NumberType != NumberTypeLocal || f.Limit != DefaultSearchLimit || f.AreaCode != "415" {
		t.Fatalf("defaults: %+v, %v", f, err)
	}
	f, err = SearchInput{CountryCode: "US", NumberType: "toll-free", Limit: n(100), Features: []string{"SMS", "voice", "sms"}, StartsWith: "+1800"}.Validate()
	if err != nil || f.NumberType != NumberTypeTollFree || f.Limit != 100 || len(f.Features) != 2 || f.StartsWith != "1800" {
		t.Fatalf("toll-free: %+v, %v", f, err)
	}
	for name, tc := range map[string]struct {
		in    SearchInput
		field string
	}{
		"missing country":       {SearchInput{}, "filters.countryCode"},
		"unknown country":       {SearchInput{CountryCode: "XX"}, "filters.countryCode"},
		"area code for GB":      {SearchInput{CountryCode: "GB", AreaCode: "207"}, "filters.areaCode"},
		"two-digit area code":   {SearchInput{CountryCode: "US", AreaCode: "41"}, "filters.areaCode"},
		"letters in area code":  {SearchInput{CountryCode: "US", AreaCode: "4a5"}, "filters.areaCode"},
		"area code + toll-free": {SearchInput{CountryCode: "US", AreaCode: "415", NumberType: "toll-free"}, "filters.areaCode"},
		"bad number type":       {SearchInput{CountryCode: "US", NumberType: "mobile-ish"}, "filters.numberType"},
		"limit 0":               {SearchInput{CountryCode: "US", Limit: n(0)}, "filters.limit"},
		"limit 101":             {SearchInput{CountryCode: "US", Limit: n(101)}, "filters.limit"},
		"bad feature":           {SearchInput{CountryCode: "US", Features: []string{"voice", "teleport"}}, "filters.features[1]"},
		"letters in contains":   {SearchInput{CountryCode: "US", Contains: "abc"}, "filters.contains"},
	} {
		_, err := tc.in.Validate()
		var de *Error
		if !errors.As(err, &de) || de.Field != tc.field || de.Code != CodeInvalidRequest {
			t.Errorf("%s: %v, want invalid_request on %s", name, err, tc.field)
		}
	}
}

func TestAPITokens(t *testing.T) {
	a, ha := NewAPIToken()
	b, hb := NewAPIToken()
	if a == b || ha == hb || len(ha) != 64 {
		t.Fatalf("tokens are not unique or hashes malformed: %q %q", ha, hb)
	}
	if HashAPIToken(a) != ha || HashAPIToken(" "+a+" ") != ha {
		t.Fatal("hash is not stable")
	}
	if APITokenDisplayPrefix(a) != a[:7] || APITokenDisplayPrefix(a)[:3] != APITokenPrefix {
		t.Fatalf("prefix = %q", APITokenDisplayPrefix(a))
	}
}

func TestPlans(t *testing.T) {
	if p, err := ParsePlanName(" Growth "); err != nil || p != PlanGrowth {
		t.Fatalf("ParsePlanName = %q, %v", p, err)
	}
	_, err := ParsePlanName("gold")
	if de := (*Error)(nil); !errors.As(err, &de) || de.Field != "plan" || de.Message != `Unknown plan "gold": use one of free, starter, growth, scale.` {
		t.Fatalf("gold is not a plan: %v", err)
	}
	limits := map[PlanName]int{}
	for _, p := range DefaultPlans() {
		limits[p.Name] = p.MaxNumbers
	}
	if limits[PlanFree] != 1 || limits[PlanStarter] != 3 || limits[PlanGrowth] != 10 || limits[PlanScale] != 50 {
		t.Fatalf("limits = %v", limits)
	}
}

func TestProviderErrorsMapToStatusKinds(t *testing.T) {
	for class, kind := range map[ProviderErrorClass]Kind{
		ProviderRateLimited: KindProviderRateLimited,
		ProviderTimeout:     KindProviderTimeout,
		ProviderServerError: KindProviderFailed,
		ProviderUnreachable: KindProviderFailed,
	} {
		de := (&ProviderError{Class: class}).AsDomainError()
		if de.Kind != kind || de.Code != CodeProviderUnavailable {
			t.Errorf("class %d: %+v", class, de)
		}
	}
}
