package api_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

const searchPath = "/api/phone-numbers/search"

var decimalPrice = regexp.MustCompile(`^\d+\.\d{2}$`)

// numbersOf checks the seed's response shape of a search and returns its
// phone numbers.
// search posts a search with filters (the members of the filters object)
// and returns the numbers of its answer, which must be a 200, and the
// answer.
func (e *env) search(t *testing.T, token, filters string) ([]string, response) {
	t.Helper()
	r := e.do(request{method: http.MethodPost, path: searchPath, token: token, body: `{"filters": {` + filters + `}}`})
	return numbersOf(t, r), r
}

// searchMatching is search, failing the test when it finds no number or
// one that match refuses.
func (e *env) searchMatching(t *testing.T, token, filters string, match func(string) bool) {
	t.Helper()
	numbers, _ := e.search(t, token, filters)
	if len(numbers) == 0 {
		t.Errorf("search {%s}: no numbers", filters)
	}
	for _, n := range numbers {
		if !match(n) {
			t.Errorf("search {%s} gave %s", filters, n)
		}
	}
}

// hasPrefix matches the numbers that start with prefix.
func hasPrefix(prefix string) func(string) bool {
	return func(n string) bool { return strings.HasPrefix(n, prefix) }
}

// wantSearched checks that the latest search at Telnyx set the query
// parameter param to want.
func (e *env) wantSearched(t *testing.T, param, want string) {
	t.Helper()
	if got := e.searches.last(t).Get(param); got != want {
		t.Errorf("Telnyx was searched with %s=%q, want %q", param, got, want)
	}
}

func numbersOf(t *testing.T, r response) []string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.raw)
	}
	wantKeys(t, "search response", r.body, "success", "numbers", "provider", "count")
	if r.body["success"] != true {
		t.Errorf("success = %v", r.body["success"])
	}
	if r.body["provider"] != "telnyx" {
		t.Errorf("provider = %v, want telnyx", r.body["provider"])
	}
	list, ok := r.body["numbers"].([]any)
	if !ok {
		t.Fatalf("numbers is not an array: %s", r.raw)
	}
	if n := intOf(t, r.body["count"]); n != len(list) {
		t.Errorf("count = %d, but %d numbers", n, len(list))
	}
	out := make([]string, 0, len(list))
	for i, v := range list {
		what := fmt.Sprintf("numbers[%d]", i)
		wantKeys(t, what, v, "phoneNumber", "monthlyPrice", "setupPrice", "features")
		n := v.(map[string]any)
		pn, _ := n["phoneNumber"].(string)
		if !regexp.MustCompile(`^\+[1-9]\d{6,14}$`).MatchString(pn) {
			t.Errorf("%s.phoneNumber %v is not E.164", what, n["phoneNumber"])
		}
		for _, k := range []string{"monthlyPrice", "setupPrice"} {
			if p, _ := n[k].(string); !decimalPrice.MatchString(p) {
				t.Errorf("%s.%s = %#v, want a decimal string", what, k, n[k])
			}
		}
		feats, ok := n["features"].([]any)
		if !ok {
			t.Errorf("%s.features = %#v, want an array", what, n["features"])
		}
		for _, f := range feats {
			if _, ok := f.(string); !ok {
				t.Errorf("%s.features holds %#v, want strings", what, f)
			}
		}
		out = append(out, pn)
	}
	return out
}

func featuresOf(r response, i int) []string {
	var out []string
	for _, f := range r.body["numbers"].([]any)[i].(map[string]any)["features"].([]any) {
		out = append(out, f.(string))
	}
	return out
}

// TestSearchSeedExample sends the seed's example request and expects the
// seed's response, over a real socket.
func TestSearchSeedExample(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("seed@example.com")
	r := e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: `{
		"filters": {
			"countryCode": "US",
			"areaCode": "415",
			"numberType": "local",
			"limit": 10
		}
	}`})
	numbers := numbersOf(t, r)
	if len(numbers) == 0 || len(numbers) > 10 {
		t.Fatalf("%d numbers, want 1..10", len(numbers))
	}
	for i, n := range numbers {
		if !strings.HasPrefix(n, "+1415") {
			t.Errorf("numbers[%d] = %s, want area code 415", i, n)
		}
		if feats := featuresOf(r, i); !containsAll(feats, "voice", "sms") {
			t.Errorf("numbers[%d].features = %v, want voice and sms", i, feats)
		}
	}
	for k, want := range map[string]string{
		"filter[country_code]":              "US",
		"filter[national_destination_code]": "415",
		"filter[phone_number_type]":         "local",
		"filter[limit]":                     "10",
	} {
		e.wantSearched(t, k, want)
	}
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

func TestSearchCountryCodeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("case@example.com")
	for _, tc := range []struct{ in, out, prefix string }{
		{"us", "US", "+1"},
		{"gb", "GB", "+44"},
		{"Ca", "CA", "+1"},
	} {
		e.searchMatching(t, acct.Token, fmt.Sprintf(`"countryCode": %q, "limit": 3`, tc.in), hasPrefix(tc.prefix))
		e.wantSearched(t, "filter[country_code]", tc.out)
	}
}

// TestSearchValidation covers every rule of SPEC §2.1, and bodies that are
// not one JSON object: each bad request is a 400 invalid_request naming
// the field (the body itself when it is malformed), and Telnyx is never
// asked.
func TestSearchValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("validation@example.com")
	cases := []struct {
		name, body, field string
		// message, when set, must be part of the error message.
		message []string
	}{
		{"no filters", `{}`, "filters", nil},
		{"null filters", `{"filters": null}`, "filters", nil},
		{"filters not an object", `{"filters": "US"}`, "filters", nil},
		{"filters an array", `{"filters": [{"countryCode": "US"}]}`, "filters", nil},
		{"no countryCode", `{"filters": {}}`, "filters.countryCode", []string{"required"}},
		{"empty countryCode", `{"filters": {"countryCode": ""}}`, "filters.countryCode", nil},
		{"unknown country XX", `{"filters": {"countryCode": "XX"}}`, "filters.countryCode", nil},
		{"alpha-3 USA", `{"filters": {"countryCode": "USA"}}`, "filters.countryCode", nil},
		{"one letter", `{"filters": {"countryCode": "U"}}`, "filters.countryCode", nil},
		{"numeric country", `{"filters": {"countryCode": "01"}}`, "filters.countryCode", nil},
		{"countryCode a number", `{"filters": {"countryCode": 1}}`, "filters.countryCode", nil},
		{"areaCode two digits", `{"filters": {"countryCode": "US", "areaCode": "41"}}`, "filters.areaCode", []string{"three digits"}},
		{"areaCode four digits", `{"filters": {"countryCode": "US", "areaCode": "4155"}}`, "filters.areaCode", []string{"three digits"}},
		{"areaCode letters", `{"filters": {"countryCode": "CA", "areaCode": "4a5"}}`, "filters.areaCode", []string{"three digits"}},
		{"areaCode a number", `{"filters": {"countryCode": "US", "areaCode": 415}}`, "filters.areaCode", nil},
		{"areaCode for GB", `{"filters": {"countryCode": "GB", "areaCode": "020"}}`, "filters.areaCode", []string{"only", "US", "CA"}},
		{"areaCode for gb lower-case", `{"filters": {"countryCode": "gb", "areaCode": "207"}}`, "filters.areaCode", []string{"only", "US", "CA"}},
		{"unknown numberType", `{"filters": {"countryCode": "US", "numberType": "premium"}}`, "filters.numberType", []string{"local", "toll-free"}},
		{"numberType mobile", `{"filters": {"countryCode": "US", "numberType": "mobile"}}`, "filters.numberType", nil},
		{"limit 0", `{"filters": {"countryCode": "US", "limit": 0}}`, "filters.limit", []string{"1", "100"}},
		{"limit 101", `{"filters": {"countryCode": "US", "limit": 101}}`, "filters.limit", []string{"1", "100"}},
		{"limit negative", `{"filters": {"countryCode": "US", "limit": -5}}`, "filters.limit", nil},
		{"limit a string", `{"filters": {"countryCode": "US", "limit": "10"}}`, "filters.limit", nil},
		{"limit a fraction", `{"filters": {"countryCode": "US", "limit": 10.5}}`, "filters.limit", nil},
		{"limit a boolean", `{"filters": {"countryCode": "US", "limit": true}}`, "filters.limit", nil},
		{"limit huge", `{"filters": {"countryCode": "US", "limit": 1e30}}`, "filters.limit", nil},
		{"startsWith letters", `{"filters": {"countryCode": "US", "startsWith": "abc"}}`, "filters.startsWith", nil},
		{"contains letters", `{"filters": {"countryCode": "US", "contains": "12x"}}`, "filters.contains", nil},
		{"endsWith too long", `{"filters": {"countryCode": "US", "endsWith": "1234567890123456"}}`, "filters.endsWith", nil},
		{"unknown feature", `{"filters": {"countryCode": "US", "features": ["sms", "teleport"]}}`, "filters.features[1]", nil},
		{"features not an array", `{"filters": {"countryCode": "US", "features": "sms"}}`, "filters.features", nil},
		{"empty", "", "body", nil},
		{"whitespace", " \n\t ", "body", nil},
		{"truncated", `{"filters": {"countryCode": "US"`, "body", nil},
		{"not JSON", `filters=US`, "body", nil},
		{"single quotes", `{'filters': {}}`, "body", nil},
		{"trailing comma", `{"filters": {"countryCode": "US",}}`, "body", nil},
		{"array", `[]`, "body", nil},
		{"array of object", `[{"filters": {"countryCode": "US"}}]`, "body", nil},
		{"string", `"US"`, "body", nil},
		{"number", `42`, "body", nil},
		{"two objects", `{"filters": {"countryCode": "US"}} {"filters": {}}`, "body", nil},
		{"trailing junk", `{"filters": {"countryCode": "US"}} junk`, "body", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: tc.body})
			er := wantError(t, r, http.StatusBadRequest, "invalid_request", tc.field)
			msg, _ := er["message"].(string)
			for _, m := range tc.message {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q does not say %q", msg, m)
				}
			}
		})
	}
	if n := len(e.searches.all()); n != 0 {
		t.Errorf("invalid searches reached Telnyx %d times", n)
	}
}

func TestSearchLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("limit@example.com")
	for _, tc := range []struct {
		limit     string // "" leaves it out
		want      int
		sentLimit string
	}{
		{"", 20, "20"},
		{"1", 1, "1"},
		{"7", 7, "7"},
		{"100", 100, "100"},
	} {
		filters := `"countryCode": "US"`
		if tc.limit != "" {
			filters += `, "limit": ` + tc.limit
		}
		r := e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: `{"filters": {` + filters + `}}`})
		if got := len(numbersOf(t, r)); got != tc.want {
			t.Errorf("limit %q: %d numbers, want %d", tc.limit, got, tc.want)
		}
		e.wantSearched(t, "filter[limit]", tc.sentLimit)
	}
}

func TestSearchNumberTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("types@example.com")
	tollFree := regexp.MustCompile(`^\+18(00|33|44|55|66|77|88)`)
	for _, nt := range []string{"toll-free", "TOLL-FREE"} {
		e.searchMatching(t, acct.Token, `"countryCode": "US", "numberType": "`+nt+`", "limit": 5`, tollFree.MatchString)
		e.wantSearched(t, "filter[phone_number_type]", "toll_free")
	}

	// local is the default.
	e.searchMatching(t, acct.Token, `"countryCode": "US", "limit": 5`, func(n string) bool { return !tollFree.MatchString(n) })
	e.wantSearched(t, "filter[phone_number_type]", "local")

	// A toll-free number has no area code.
	r := e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token,
		body: `{"filters": {"countryCode": "US", "numberType": "toll-free", "areaCode": "415"}}`})
	wantError(t, r, http.StatusBadRequest, "invalid_request", "filters.areaCode")
}

func TestSearchPatternAndFeatureFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("patterns@example.com")
	e.searchMatching(t, acct.Token, `"countryCode": "US", "startsWith": "1212", "limit": 5`, hasPrefix("+1212"))
	// Telnyx matches patterns against the national number: the calling
	// code our users paste is dropped on the way.
	e.wantSearched(t, "filter[phone_number][starts_with]", "212")

	e.searchMatching(t, acct.Token, `"countryCode": "US", "areaCode": "617", "endsWith": "42", "limit": 5`,
		func(n string) bool { return strings.HasPrefix(n, "+1617") && strings.HasSuffix(n, "42") })

	e.searchMatching(t, acct.Token, `"countryCode": "US", "areaCode": "312", "contains": "777", "limit": 5`,
		func(n string) bool { return strings.HasPrefix(n, "+1312") && strings.Contains(n, "777") })
	e.wantSearched(t, "filter[phone_number][contains]", "777")

	// US local numbers have mms; features are matched case-insensitively
	// and sent to Telnyx once each.
	numbers, r := e.search(t, acct.Token, `"countryCode": "US", "features": ["MMS", "voice", "mms"], "limit": 3`)
	if len(numbers) == 0 {
		t.Fatal("features mms+voice: no numbers")
	}
	for i := range numbers {
		if feats := featuresOf(r, i); !containsAll(feats, "mms", "voice") {
			t.Errorf("features filter gave %s with %v", numbers[i], feats)
		}
	}
	// One comma-separated value, as Telnyx's SDK sends it.
	if got := e.searches.last(t)["filter[features]"]; len(got) != 1 || got[0] != "mms,voice" {
		t.Errorf("features reached Telnyx as %v, want [mms,voice]", got)
	}

	// Nobody has fax numbers: an empty list is [] with count 0, not null.
	numbers, r = e.search(t, acct.Token, `"countryCode": "GB", "features": ["fax"]`)
	if len(numbers) != 0 || intOf(t, r.body["count"]) != 0 {
		t.Errorf("fax numbers: %s", r.raw)
	}
	if !strings.Contains(string(r.raw), `"numbers":[]`) {
		t.Errorf("an empty result is not an empty array: %s", r.raw)
	}
}

// TestSearchProviderFailures drives the simulator's faults through the real
// Telnyx client: 5xx is 502, 429 is 503 and a hang is 504, each promptly.
func TestSearchProviderFailures(t *testing.T) {
	t.Parallel()
	body := `{"filters": {"countryCode": "US", "limit": 5}}`
	cases := []struct {
		name   string
		faults telnyxsim.Faults
		status int
	}{
		{"server errors", telnyxsim.Faults{ErrorRate: 1}, http.StatusBadGateway},
		{"rate limited", telnyxsim.Faults{RateLimitRate: 1}, http.StatusServiceUnavailable},
		{"hangs", telnyxsim.Faults{TimeoutRate: 1, HangFor: time.Minute}, http.StatusGatewayTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t,
				withConfig(api.Config{SearchTimeout: 300 * time.Millisecond}),
				withTelnyxClient(200*time.Millisecond, 1))
			acct := e.newAccount("faults@example.com")
			e.sim.SetFaults(tc.faults)

			start := time.Now()
			r := e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: body})
			took := time.Since(start)
			er := wantError(t, r, tc.status, "provider_unavailable", "")
			// Every provider failure says when to retry: when Telnyx said
			// to, else in a second.
			if got := r.header.Get("Retry-After"); got != "1" {
				t.Errorf("status %d with Retry-After %q, want 1", r.status, got)
			}
			if msg, _ := er["message"].(string); !strings.Contains(strings.ToLower(msg), "provider") {
				t.Errorf("message %q does not say the provider failed", msg)
			}
			if took > 5*time.Second {
				t.Errorf("the answer took %v: a failing provider must not hold the caller", took)
			}
			if len(e.searches.all()) == 0 {
				t.Error("the provider was never asked")
			}
			if strings.Contains(e.logs.String(), telnyxAPIKey) {
				t.Error("the log holds the Telnyx API key")
			}

			// The provider recovers: so does the API.
			e.sim.SetFaults(telnyxsim.Faults{})
			numbersOf(t, e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: body}))
		})
	}
}

// TestSearchSurvivesOccasionalProviderErrors checks that the client's retry
// hides a provider that fails once in a while.
func TestSearchSurvivesOccasionalProviderErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withTelnyxClient(2*time.Second, 4))
	acct := e.newAccount("blips@example.com")
	e.sim.SetFaults(telnyxsim.Faults{ErrorRate: 0.3})
	ok := 0
	for range 10 {
		r := e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: `{"filters": {"countryCode": "US", "limit": 2}}`})
		switch r.status {
		case http.StatusOK:
			numbersOf(t, r)
			ok++
		case http.StatusBadGateway:
			wantError(t, r, http.StatusBadGateway, "provider_unavailable", "")
		default:
			t.Errorf("status %d: %s", r.status, r.raw)
		}
	}
	if ok < 8 {
		t.Errorf("only %d of 10 searches succeeded with a 30%% provider error rate and retries", ok)
	}
}

// A number the database holds live (pending or active, of any team) is
// left out of a search even though Telnyx still offers it: its record
// outlived its workflow, and buying it would fail.
func TestSearchLeavesOutNumbersTheDatabaseHolds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("held@example.com")
	other := e.newAccount("held-other@example.com")
	body := `{"filters": {"countryCode": "US", "areaCode": "415", "limit": 5}}`
	before := numbersOf(t, e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: body}))
	if len(before) < 3 {
		t.Fatalf("search found %v, want at least 3 numbers", before)
	}
	numbers := persistence.NewPhoneNumberStore(e.db)
	for i, holder := range []account{acct, other} {
		n, err := numbers.CreatePending(t.Context(), domain.PhoneNumber{ID: domain.NewID(domain.PrefixPhoneNumber), TeamID: holder.TeamID,
			PhoneNumber: before[i], CreatedByUserID: holder.UserID, WorkflowID: "phone-number:" + before[i]})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if _, err := numbers.Activate(t.Context(), domain.ActivateNumber{ID: n.ID, ProviderNumberID: "tx_1"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	after := numbersOf(t, e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: body}))
	for _, held := range before[:2] {
		if slices.Contains(after, held) {
			t.Errorf("search still offers %s, which the database holds (found %v)", held, after)
		}
	}
	if !slices.Contains(after, before[2]) {
		t.Errorf("search no longer offers %s, which nobody holds (found %v)", before[2], after)
	}
}
