package telnyx

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureClient returns a client whose every request is answered with the
// given status and fixture.
func fixtureClient(t *testing.T, status int, fixture string) *Client {
	t.Helper()
	body := readFixture(t, fixture)
	srv := testkit.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	return mustNew(t, Config{BaseURL: srv.URL + "/v2", APIKey: testKey, MaxRetries: -1, Timeout: 10 * time.Second})
}

func TestParseSearchResponse(t *testing.T) {
	c := fixtureClient(t, http.StatusOK, "search_response.json")
	got, err := c.SearchAvailable(context.Background(), domain.SearchFilter{CountryCode: "US", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.AvailableNumber{
		{PhoneNumber: "+14155552671", MonthlyPrice: "1.00", SetupPrice: "1.00", Currency: "USD",
			Features: []string{"voice", "sms", "mms"}, Locality: "San Francisco", Region: "CA"},
		{PhoneNumber: "+14155553890", MonthlyPrice: "1.25", SetupPrice: "0.50", Currency: "USD",
			Features: []string{"voice"}, BestEffort: true, Locality: "OAKLAND", Region: "CA"},
	}
	assertNumbers(t, got, want)

	// The limit is enforced even if the server sends more.
	got, err = c.SearchAvailable(context.Background(), domain.SearchFilter{CountryCode: "US", Limit: 1})
	if err != nil || len(got) != 1 {
		t.Errorf("limit 1: %v, %v", got, err)
	}

	var resp searchResponse
	if err := json.Unmarshal(readFixture(t, "search_response.json"), &resp); err != nil {
		t.Fatal(err)
	}
	if m := resp.summary(); m.TotalResults != 2 || m.BestEffortResults != 1 {
		t.Errorf("meta: %+v", m)
	}
}

func TestParseSearchResponseLenient(t *testing.T) {
	// "metadata" instead of "meta", numeric costs, features as bare
	// strings, and an item without a number.
	c := fixtureClient(t, http.StatusOK, "search_response_metadata.json")
	got, err := c.SearchAvailable(context.Background(), domain.SearchFilter{CountryCode: "US", NumberType: domain.NumberTypeTollFree})
	if err != nil {
		t.Fatal(err)
	}
	assertNumbers(t, got, []domain.AvailableNumber{{PhoneNumber: "+18885550147", MonthlyPrice: "2.5", SetupPrice: "1",
		Currency: "USD", Features: []string{"voice", "sms"}}})

	var resp searchResponse
	if err := json.Unmarshal(readFixture(t, "search_response_metadata.json"), &resp); err != nil {
		t.Fatal(err)
	}
	if m := resp.summary(); m.TotalResults != 1 {
		t.Errorf("metadata: %+v", m)
	}
}

func assertNumbers(t *testing.T, got, want []domain.AvailableNumber) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d numbers, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("[%d]\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestParseOrder(t *testing.T) {
	c := fixtureClient(t, http.StatusOK, "number_order.json")
	got, err := c.GetOrder(context.Background(), "12ade33a-21c0-473b-b055-b3c836e1c292")
	if err != nil {
		t.Fatal(err)
	}
	// An order can be pending while its number already succeeded.
	if got.ID != "12ade33a-21c0-473b-b055-b3c836e1c292" || got.Status != domain.OrderPending ||
		got.CustomerReference != "phone-number:+14155552671" || got.ConnectionID != "346789098765567" || got.RequirementsMet ||
		!slices.Equal(got.SubNumberOrderIDs, []string{"3fa85f64-5717-4562-b3fc-2c963f66afa6", "7b1c5f2e-0d2a-4c1b-9e57-1f0c8d7a9b11"}) {
		t.Errorf("order: %+v", got)
	}
	if !got.CreatedAt.Equal(time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		!got.UpdatedAt.Equal(time.Date(2018, 1, 1, 0, 0, 5, 123e6, time.UTC)) {
		t.Errorf("times: %v, %v", got.CreatedAt, got.UpdatedAt)
	}
	deadline := time.Date(2018, 1, 4, 0, 0, 0, 0, time.UTC)
	want := []domain.OrderedNumber{
		{ID: "dc8e4d67-33a0-4629-8f5d-8f4a1d0a1e8b", PhoneNumber: "+14155552671", Status: domain.OrderSuccess,
			RequirementsMet: true, RequirementsStatus: domain.RequirementsApproved},
		// Requirements as objects, a bare string (an id), an object value
		// (kept as JSON); a number and a null entry are skipped, and the
		// underscore spelling of the status is normalised.
		{ID: "5e1a5c22-9b5c-4d6e-8a41-7c0f3b2d9e10", PhoneNumber: "+442079460321", Status: domain.OrderPending,
			RequirementsStatus: domain.RequirementsInfoPending, Deadline: &deadline,
			Requirements: []domain.RegulatoryRequirement{
				{RequirementID: "8ffb3622-7c6b-4ccc-b65f-7a3dc0099576", FieldType: "address"},
				{RequirementID: "53970723-fbff-4f46-a975-f62be6c1a585", FieldType: "document", FieldValue: "doc-123"},
				{RequirementID: "0e8bd0a4-9d3c-4b1e-a0a7-6f1bbd0b5f9e"},
				{RequirementID: "c1d2", FieldType: "address", FieldValue: `{"street": "1 Main St"}`},
			}},
	}
	if !reflect.DeepEqual(got.Numbers, want) {
		t.Errorf("numbers: %+v", got.Numbers)
	}
}

func TestParseOrderList(t *testing.T) {
	list, one := readFixture(t, "number_orders_list.json"), readFixture(t, "number_order.json")
	var gets []string
	srv := testkit.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v2/number_orders" {
			_, _ = w.Write(list)
			return
		}
		gets = append(gets, r.URL.Path)
		_, _ = w.Write(one)
	}))
	c := mustNew(t, Config{BaseURL: srv.URL + "/v2", APIKey: testKey, MaxRetries: -1, Timeout: 10 * time.Second})
	got, err := c.FindOrdersByCustomerReference(context.Background(), "phone-number:+14155552671")
	if err != nil {
		t.Fatal(err)
	}
	// The order with another reference is dropped even though the server
	// sent it; the one found is read again by id, since the list shows its
	// numbers without their status.
	if len(got) != 1 || got[0].ID != "12ade33a-21c0-473b-b055-b3c836e1c292" || len(got[0].Numbers) != 2 ||
		got[0].Numbers[0].Status != domain.OrderSuccess || got[0].Numbers[1].RequirementsStatus != domain.RequirementsInfoPending {
		t.Errorf("orders: %+v", got)
	}
	if !slices.Equal(gets, []string{"/v2/number_orders/12ade33a-21c0-473b-b055-b3c836e1c292"}) {
		t.Errorf("follow-up reads: %v", gets)
	}
	// The list alone is lenient: a numeric connection_id and an
	// unreadable time are tolerated.
	var raw orderList
	if err := json.Unmarshal(list, &raw); err != nil {
		t.Fatal(err)
	}
	if o := toOrder(raw.Data[0]); o.ConnectionID != "346789098765567" || !o.UpdatedAt.IsZero() || o.Numbers[0].Status != "" {
		t.Errorf("list item: %+v", o)
	}
}

func TestParsePhoneNumbers(t *testing.T) {
	c := fixtureClient(t, http.StatusOK, "phone_numbers.json")
	got, err := c.ListOwnedNumbers(context.Background(), domain.OwnedNumberFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.OwnedNumber{
		{ID: "1293384261075731499", PhoneNumber: "+14155552671", Status: "active", ConnectionID: "1293384261075731499",
			CustomerReference: "phone-number:+14155552671", DeletionLockEnabled: true, CreatedAt: time.Date(2019, 10, 23, 18, 10, 0, 0, time.UTC)},
		{ID: "1293384261075731500", PhoneNumber: "+14155553890", Status: "purchase-pending", CreatedAt: time.Date(2019, 10, 25, 8, 0, 0, 0, time.UTC)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d]\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestParseErrorBodies(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		status  int
		want    domain.ProviderError
	}{
		{"error_body.json", http.StatusUnprocessableEntity, domain.ProviderError{Op: "create_order", Class: domain.ProviderRejected, HTTPStatus: 422,
			Code: "10015", Title: "Number not available", Detail: "The phone number +14155552671 is no longer available for purchase.",
			Pointer: "/phone_numbers/0/phone_number"}},
		{"error_body_numeric_code.json", http.StatusBadRequest, domain.ProviderError{Op: "create_order", Class: domain.ProviderRejected, HTTPStatus: 400,
			Code: "10015", Title: "Bad Request", Detail: "page[size] must be an integer between 1 and 250.", Pointer: "page[size]"}},
		{"error_body.json", http.StatusServiceUnavailable, domain.ProviderError{Op: "create_order", Class: domain.ProviderServerError, HTTPStatus: 503,
			Code: "10015", Title: "Number not available", Detail: "The phone number +14155552671 is no longer available for purchase.",
			Pointer: "/phone_numbers/0/phone_number"}},
	} {
		c := fixtureClient(t, tc.status, tc.fixture)
		_, err := c.CreateOrder(context.Background(), domain.OrderRequest{PhoneNumber: "+14155552671"})
		var pe *domain.ProviderError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: %T %v", tc.fixture, err, err)
		}
		if *pe != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.fixture, *pe, tc.want)
		}
	}
}

func TestRetryAfterHeaders(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    time.Duration
	}{
		{"none", nil, 0},
		{"retry-after seconds", map[string]string{"retry-after": "1"}, time.Second},
		{"retry-after fraction", map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{"retry-after date", map[string]string{"Retry-After": now.Add(3 * time.Second).Format(http.TimeFormat)}, 3 * time.Second},
		{"retry-after past date", map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 0},
		{"reset seconds", map[string]string{"x-ratelimit-reset": "7", "x-ratelimit-limit": "20", "x-ratelimit-remaining": "0"}, 7 * time.Second},
		{"reset unix time", map[string]string{"X-RateLimit-Reset": "1740830410"}, 10 * time.Second},
		{"retry-after wins", map[string]string{"retry-after": "2", "x-ratelimit-reset": "9"}, 2 * time.Second},
		{"garbage retry-after falls back", map[string]string{"retry-after": "soon", "x-ratelimit-reset": "4"}, 4 * time.Second},
		{"negative", map[string]string{"retry-after": "-3"}, 0},
	} {
		h := http.Header{}
		for k, v := range tc.headers {
			h.Set(k, v)
		}
		if got := retryAfter(h, now); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestClassifyStatus(t *testing.T) {
	for status, want := range map[int]domain.ProviderErrorClass{
		400: domain.ProviderRejected, 401: domain.ProviderRejected, 403: domain.ProviderRejected,
		404: domain.ProviderRejected, 422: domain.ProviderRejected, 429: domain.ProviderRateLimited,
		500: domain.ProviderServerError, 502: domain.ProviderServerError, 503: domain.ProviderServerError,
		304: domain.ProviderServerError,
	} {
		if got := classifyStatus(status); got != want {
			t.Errorf("%d: got %v, want %v", status, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	c := mustNew(t, Config{BaseURL: "http://telnyx.invalid/v2", Timeout: 10 * time.Second, MaxBackoff: time.Second})
	for attempt := 1; attempt <= 30; attempt++ {
		d := c.backoff(attempt, 0)
		base := min(baseBackoff<<min(attempt-1, 20), time.Second)
		if d < base/2 || d > base {
			t.Errorf("attempt %d: %v outside [%v, %v]", attempt, d, base/2, base)
		}
	}
	if d := c.backoff(1, 700*time.Millisecond); d < 700*time.Millisecond || d > time.Second {
		t.Errorf("retry-after not honoured: %v", d)
	}
	if d := c.backoff(1, time.Hour); d != time.Second {
		t.Errorf("retry-after not capped: %v", d)
	}
}
