package telnyxsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/testkit"
)

const testKey = "KEY-sim-test-0123456789"

type fixture struct {
	t     *testing.T
	sim   *Simulator
	srv   *httptest.Server
	clock *testkit.Clock
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	clock := testkit.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	if opts.Clock == nil {
		opts.Clock = clock.Now
	}
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	sim := New(opts)
	return &fixture{t: t, sim: sim, srv: testkit.Serve(t, sim), clock: clock}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the test key, body encoded as JSON unless it is
// already a string.
func (f *fixture) do(method, path string, body any) response {
	f.t.Helper()
	return f.doWith(method, path, body, map[string]string{"Authorization": "Bearer " + testKey})
}

func (f *fixture) doWith(method, path string, body any, headers map[string]string) response {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// decode unmarshals the body, failing the test on a status other than want.
func (r response) decode(t *testing.T, want int, out any) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
	}
}

// testError is the first error of an error body, read with plain maps so
// that the shape (code a string, source an object) is checked too.
type testError struct {
	Code   string            `json:"code"`
	Title  string            `json:"title"`
	Detail string            `json:"detail"`
	Source map[string]string `json:"source"`
}

func (r response) apiError(t *testing.T, want int) testError {
	t.Helper()
	var body struct {
		Errors []testError `json:"errors"`
	}
	r.decode(t, want, &body)
	if len(body.Errors) != 1 {
		t.Fatalf("want one error, got %s", r.body)
	}
	var raw struct {
		Errors []map[string]any `json:"errors"`
	}
	_ = json.Unmarshal(r.body, &raw)
	if _, ok := raw.Errors[0]["code"].(string); !ok {
		t.Fatalf("code must be a JSON string: %s", r.body)
	}
	if _, ok := raw.Errors[0]["source"].(map[string]any); !ok {
		t.Fatalf("source must be an object: %s", r.body)
	}
	return body.Errors[0]
}

type searchResult struct {
	Data []struct {
		RecordType        string `json:"record_type"`
		PhoneNumber       string `json:"phone_number"`
		BestEffort        bool   `json:"best_effort"`
		Quickship         bool   `json:"quickship"`
		Reservable        bool   `json:"reservable"`
		RegionInformation []struct {
			RegionType string `json:"region_type"`
			RegionName string `json:"region_name"`
		} `json:"region_information"`
		CostInformation struct {
			UpfrontCost string `json:"upfront_cost"`
			MonthlyCost string `json:"monthly_cost"`
			Currency    string `json:"currency"`
		} `json:"cost_information"`
		Features []struct {
			Name string `json:"name"`
		} `json:"features"`
	} `json:"data"`
	Meta struct {
		TotalResults      int `json:"total_results"`
		BestEffortResults int `json:"best_effort_results"`
	} `json:"meta"`
}

func (s searchResult) numbers() []string {
	out := make([]string, 0, len(s.Data))
	for _, d := range s.Data {
		out = append(out, d.PhoneNumber)
	}
	return out
}

func (f *fixture) search(query string) searchResult {
	f.t.Helper()
	var out searchResult
	f.do(http.MethodGet, "/v2/available_phone_numbers?"+query, nil).decode(f.t, http.StatusOK, &out)
	return out
}

type orderResult struct {
	Data struct {
		ID                 string   `json:"id"`
		RecordType         string   `json:"record_type"`
		Status             string   `json:"status"`
		PhoneNumbersCount  int      `json:"phone_numbers_count"`
		ConnectionID       *string  `json:"connection_id"`
		CustomerReference  string   `json:"customer_reference"`
		RequirementsMet    bool     `json:"requirements_met"`
		SubNumberOrdersIDs []string `json:"sub_number_orders_ids"`
		CreatedAt          string   `json:"created_at"`
		UpdatedAt          string   `json:"updated_at"`
		PhoneNumbers       []struct {
			ID                     string   `json:"id"`
			PhoneNumber            string   `json:"phone_number"`
			Status                 string   `json:"status"`
			RequirementsMet        bool     `json:"requirements_met"`
			RegulatoryRequirements []string `json:"regulatory_requirements"`
		} `json:"phone_numbers"`
	} `json:"data"`
}

func orderBody(ref string, numbers ...string) map[string]any {
	pns := []map[string]string{}
	for _, n := range numbers {
		pns = append(pns, map[string]string{"phone_number": n})
	}
	body := map[string]any{"phone_numbers": pns}
	if ref != "" {
		body["customer_reference"] = ref
	}
	return body
}

func (f *fixture) order(ref string, numbers ...string) orderResult {
	f.t.Helper()
	var out orderResult
	f.do(http.MethodPost, "/v2/number_orders", orderBody(ref, numbers...)).decode(f.t, http.StatusOK, &out)
	return out
}

// numberList is GET /v2/phone_numbers as the simulator writes it.
type numberList struct {
	Data []phoneNumberJSON `json:"data"`
	Meta pageMetaJSON      `json:"meta"`
}

func (f *fixture) listNumbers(query string) numberList {
	f.t.Helper()
	var out numberList
	f.do(http.MethodGet, "/v2/phone_numbers?"+query, nil).decode(f.t, http.StatusOK, &out)
	return out
}

// firstAvailable returns n numbers a default US search offers.
func (f *fixture) firstAvailable(n int) []string {
	f.t.Helper()
	got := f.search("filter[country_code]=US&filter[national_destination_code]=415&filter[limit]=" + itoa(n)).numbers()
	if len(got) != n {
		f.t.Fatalf("want %d numbers, got %d", n, len(got))
	}
	return got
}

func itoa(n int) string { return strconv.Itoa(n) }
