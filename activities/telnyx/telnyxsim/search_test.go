package telnyxsim

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestSearchIsDeterministicAndValid(t *testing.T) {
	f := newFixture(t, Options{})
	const q = "filter[country_code]=US&filter[national_destination_code]=415&filter[limit]=10"
	first, second := f.search(q), f.search(q)
	if len(first.Data) != 10 {
		t.Fatalf("want 10 numbers, got %d", len(first.Data))
	}
	if !slices.Equal(first.numbers(), second.numbers()) {
		t.Fatalf("two equal searches differ:\n%v\n%v", first.numbers(), second.numbers())
	}
	// Another simulator with the same seed offers the same numbers; another
	// seed offers others.
	if again := newFixture(t, Options{Seed: 42}).search(q); !slices.Equal(first.numbers(), again.numbers()) {
		t.Fatal("same seed, different inventory")
	}
	if other := newFixture(t, Options{Seed: 7}).search(q); slices.Equal(first.numbers(), other.numbers()) {
		t.Fatal("different seeds, same inventory")
	}

	for _, d := range first.Data {
		num, err := phonenumbers.Parse(d.PhoneNumber, "")
		if err != nil || !phonenumbers.IsValidNumberForRegion(num, "US") {
			t.Errorf("%s is not a valid US number", d.PhoneNumber)
		}
		if !strings.HasPrefix(d.PhoneNumber, "+1415") {
			t.Errorf("%s is not in area code 415", d.PhoneNumber)
		}
		if d.RecordType != "available_phone_number" || d.BestEffort || !d.Quickship || !d.Reservable {
			t.Errorf("flags of %s: %+v", d.PhoneNumber, d)
		}
		if c := d.CostInformation; c.MonthlyCost != "1.00" || c.UpfrontCost != "1.00" || c.Currency != "USD" {
			t.Errorf("cost of %s: %+v", d.PhoneNumber, c)
		}
		var feats []string
		for _, x := range d.Features {
			feats = append(feats, x.Name)
		}
		if !slices.Equal(feats, []string{"voice", "sms", "mms"}) {
			t.Errorf("features of %s: %v", d.PhoneNumber, feats)
		}
		regions := map[string]string{}
		for _, r := range d.RegionInformation {
			regions[r.RegionType] = r.RegionName
		}
		if regions["country_code"] != "US" || regions["state"] != "CA" || regions["location"] != "San Francisco" || regions["rate_center"] != "SAN FRANCISCO" {
			t.Errorf("region_information of %s: %v", d.PhoneNumber, regions)
		}
	}
	if first.Meta.TotalResults != 10 || first.Meta.BestEffortResults != 0 {
		t.Errorf("meta: %+v", first.Meta)
	}
}

func TestSearchDefaultsAndLimits(t *testing.T) {
	f := newFixture(t, Options{})
	if got := f.search("filter[country_code]=US"); len(got.Data) != defaultSearchLimit {
		t.Errorf("default limit: got %d numbers", len(got.Data))
	}
	ca := f.search("filter[country_code]=CA&filter[limit]=30")
	if len(ca.Data) != 30 {
		t.Fatalf("CA: got %d numbers", len(ca.Data))
	}
	for _, n := range ca.numbers() {
		num, _ := phonenumbers.Parse(n, "")
		if !phonenumbers.IsValidNumberForRegion(num, "CA") {
			t.Errorf("%s is not a valid CA number", n)
		}
	}
	if got := f.search("filter[country_code]=CA&filter[features]=mms"); len(got.Data) != 0 {
		t.Errorf("CA numbers have no mms, got %v", got.numbers())
	}
	if got := f.search("filter[country_code]=US&filter[features]=sms,voice&filter[limit]=3"); len(got.Data) != 3 {
		t.Errorf("sms+voice: got %d", len(got.Data))
	}
	if got := f.search("filter[country_code]=US&filter[features]=sms,fax"); len(got.Data) != 0 {
		t.Errorf("no number has fax, got %v", got.numbers())
	}
	seattle := f.search("filter[country_code]=US&filter[locality]=seattle&filter[limit]=5")
	if len(seattle.Data) != 5 || !strings.HasPrefix(seattle.Data[0].PhoneNumber, "+1206") {
		t.Errorf("locality Seattle: %v", seattle.numbers())
	}
	texas := f.search("filter[country_code]=US&filter[administrative_area]=TX&filter[limit]=50")
	for _, n := range texas.numbers() {
		if !slices.Contains([]string{"214", "512", "713"}, n[2:5]) {
			t.Errorf("%s is not a Texas area code", n)
		}
	}
}

func TestSearchTollFreeAndOtherCountries(t *testing.T) {
	f := newFixture(t, Options{})
	tf := f.search("filter[country_code]=US&filter[phone_number_type]=toll_free&filter[limit]=20")
	if len(tf.Data) != 20 {
		t.Fatalf("toll-free: got %d", len(tf.Data))
	}
	for _, d := range tf.Data {
		num, _ := phonenumbers.Parse(d.PhoneNumber, "")
		if phonenumbers.GetNumberType(num) != phonenumbers.TOLL_FREE || !slices.Contains(tollFreeNPAs, d.PhoneNumber[2:5]) {
			t.Errorf("%s is not a North American toll-free number", d.PhoneNumber)
		}
		if d.CostInformation.MonthlyCost != "2.00" || d.CostInformation.UpfrontCost != "1.00" {
			t.Errorf("toll-free cost: %+v", d.CostInformation)
		}
	}
	if got := f.search("filter[country_code]=US&filter[phone_number_type]=toll_free&filter[national_destination_code]=888&filter[limit]=5"); len(got.Data) != 5 || got.Data[0].PhoneNumber[2:5] != "888" {
		t.Errorf("toll-free 888: %v", got.numbers())
	}

	for _, tc := range []struct {
		country, kind string
		want          phonenumbers.PhoneNumberType
	}{
		{"GB", "local", phonenumbers.FIXED_LINE},
		{"GB", "toll_free", phonenumbers.TOLL_FREE},
		{"DE", "local", phonenumbers.FIXED_LINE},
		{"FR", "mobile", phonenumbers.MOBILE},
		{"AU", "local", phonenumbers.FIXED_LINE},
	} {
		got := f.search("filter[country_code]=" + tc.country + "&filter[phone_number_type]=" + tc.kind + "&filter[limit]=10")
		if len(got.Data) == 0 {
			t.Errorf("%s %s: no numbers", tc.country, tc.kind)
		}
		for _, n := range got.numbers() {
			num, _ := phonenumbers.Parse(n, "")
			typ := phonenumbers.GetNumberType(num)
			if !phonenumbers.IsValidNumberForRegion(num, tc.country) || (typ != tc.want && typ != phonenumbers.FIXED_LINE_OR_MOBILE) {
				t.Errorf("%s %s: %s is type %v", tc.country, tc.kind, n, typ)
			}
		}
	}
}

func TestSearchPatterns(t *testing.T) {
	f := newFixture(t, Options{})
	for _, tc := range []struct {
		query string
		check func(string) bool
	}{
		{"filter[phone_number][starts_with]=415", func(n string) bool { return strings.HasPrefix(n, "+1415") }},
		{"filter[phone_number][starts_with]=212", func(n string) bool { return strings.HasPrefix(n, "+1212") }},
		{"filter[national_destination_code]=312&filter[phone_number][starts_with]=77", func(n string) bool { return strings.HasPrefix(n, "+131277") }},
		{"filter[phone_number][ends_with]=4242", func(n string) bool { return strings.HasSuffix(n, "4242") }},
		{"filter[phone_number][contains]=999", func(n string) bool { return strings.Contains(n[2:], "999") }},
		{"filter[national_destination_code]=617&filter[phone_number][contains]=2025&filter[phone_number][ends_with]=9", func(n string) bool {
			return strings.HasPrefix(n, "+1617") && strings.Contains(n, "2025") && strings.HasSuffix(n, "9")
		}},
	} {
		got := f.search("filter[country_code]=US&filter[limit]=5&" + tc.query)
		if len(got.Data) != 5 {
			t.Errorf("%s: got %d numbers", tc.query, len(got.Data))
		}
		for _, n := range got.numbers() {
			if !tc.check(n) {
				t.Errorf("%s: %s does not match", tc.query, n)
			}
		}
	}
}

// Telnyx matches patterns against the national number: a pattern with the
// country code finds nothing, and one with a "+" is refused.
func TestSearchPatternsExcludeTheCountryCode(t *testing.T) {
	f := newFixture(t, Options{})
	if got := f.search("filter[country_code]=US&filter[phone_number][starts_with]=1212"); len(got.Data) != 0 {
		t.Errorf("starts_with 1212 (country code first) offered %v", got.numbers())
	}
	for _, p := range []string{"starts_with", "contains", "ends_with"} {
		e := f.do(http.MethodGet, "/v2/available_phone_numbers?filter[country_code]=US&filter[phone_number]["+p+"]=%2B1415", nil).apiError(t, http.StatusUnprocessableEntity)
		if e.Source["parameter"] != "filter[phone_number]["+p+"]" {
			t.Errorf("%s with +: %+v", p, e)
		}
	}
}

func TestSearchErrors(t *testing.T) {
	f := newFixture(t, Options{})
	for _, tc := range []struct {
		query, param string
		status       int
	}{
		{"", "filter[country_code]", http.StatusUnprocessableEntity},
		{"filter[country_code]=XX", "filter[country_code]", http.StatusUnprocessableEntity},
		{"filter[country_code]=USA", "filter[country_code]", http.StatusUnprocessableEntity},
		{"filter[country_code]=US&filter[phone_number_type]=toll-free", "filter[phone_number_type]", http.StatusUnprocessableEntity},
		{"filter[country_code]=US&filter[limit]=0", "filter[limit]", http.StatusBadRequest},
		{"filter[country_code]=US&filter[limit]=many", "filter[limit]", http.StatusBadRequest},
		{"filter[country_code]=US&filter[features]=telepathy", "filter[features]", http.StatusUnprocessableEntity},
		// The spelling an older client sent, and any other parameter
		// Telnyx does not document, is refused rather than ignored.
		{"filter[country_code]=US&filter[features][]=sms", "filter[features][]", http.StatusBadRequest},
		{"filter[country_code]=US&filter[features][]=sms&filter[features][]=voice", "filter[features][]", http.StatusBadRequest},
		{"filter[country_code]=US&filter[area_code]=415", "filter[area_code]", http.StatusBadRequest},
		{"filter[country_code]=US&page[size]=5", "page[size]", http.StatusBadRequest},
		{"filter[country_code]=US&filter[phone_number][contains]=4x", "filter[phone_number][contains]", http.StatusUnprocessableEntity},
	} {
		e := f.do(http.MethodGet, "/v2/available_phone_numbers?"+tc.query, nil).apiError(t, tc.status)
		if e.Source["parameter"] != tc.param || e.Code == "" || e.Title == "" {
			t.Errorf("%q: %+v", tc.query, e)
		}
	}
}
