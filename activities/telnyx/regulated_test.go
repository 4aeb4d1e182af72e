package telnyx

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit"
)

// The "+" of an E.164 number must not reach filter[phone_number]: Telnyx
// (and the simulator) match nothing for it, and the number just bought
// would never be found.
func TestOwnedNumberFilterSendsDigitsOnly(t *testing.T) {
	rec := &recorder{}
	c, _ := simClient(t, telnyxsim.Options{}, rec.wrap, Config{})
	ctx := context.Background()
	nums, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	e164 := nums[0].PhoneNumber
	if _, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: e164, CustomerReference: "ref-digits"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: e164})
	if err != nil || len(got) != 1 || got[0].PhoneNumber != e164 {
		t.Fatalf("list by %s: %+v, %v", e164, got, err)
	}
	if sent := rec.last().URL.Query().Get("filter[phone_number]"); sent != strings.TrimPrefix(e164, "+") {
		t.Errorf("filter[phone_number] sent as %q", sent)
	}
	one, err := c.GetOwnedNumber(ctx, got[0].ID)
	if err != nil || one != got[0] {
		t.Errorf("GetOwnedNumber: %+v, %v; listed %+v", one, err, got[0])
	}
	_, err = c.GetOwnedNumber(ctx, "1293384261075731999")
	if pe := providerError(t, err); !pe.NotFound() || pe.Op != "get_number" {
		t.Errorf("unknown number: %+v", pe)
	}
}

func TestSearchPatternsAreNational(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    domain.SearchFilter
		want url.Values
	}{
		{"E.164 start", domain.SearchFilter{CountryCode: "US", StartsWith: "1415555"},
			url.Values{"filter[phone_number][starts_with]": {"415555"}}},
		{"E.164 start with area code", domain.SearchFilter{CountryCode: "US", AreaCode: "415", StartsWith: "1415555"},
			url.Values{"filter[phone_number][starts_with]": {"555"}}},
		{"after the area code already", domain.SearchFilter{CountryCode: "US", AreaCode: "415", StartsWith: "555"},
			url.Values{"filter[phone_number][starts_with]": {"555"}}},
		{"E.164 area code alone", domain.SearchFilter{CountryCode: "US", AreaCode: "415", StartsWith: "1415"},
			url.Values{"filter[phone_number][starts_with]": nil, "filter[national_destination_code]": {"415"}}},
		{"area code alone", domain.SearchFilter{CountryCode: "US", AreaCode: "415", StartsWith: "415"},
			url.Values{"filter[phone_number][starts_with]": nil}},
		{"+ and area code alone", domain.SearchFilter{CountryCode: "US", AreaCode: "415", StartsWith: "+1 415"},
			url.Values{"filter[phone_number][starts_with]": nil}},
		{"area code digits after the area code", domain.SearchFilter{CountryCode: "US", AreaCode: "415", StartsWith: "1415415"},
			url.Values{"filter[phone_number][starts_with]": {"415"}}},
		{"national start", domain.SearchFilter{CountryCode: "GB", StartsWith: "207"},
			url.Values{"filter[phone_number][starts_with]": {"207"}}},
		{"GB E.164 start", domain.SearchFilter{CountryCode: "GB", StartsWith: "44207"},
			url.Values{"filter[phone_number][starts_with]": {"207"}}},
		{"contains and ends_with untouched", domain.SearchFilter{CountryCode: "US", Contains: "1234", EndsWith: "99"},
			url.Values{"filter[phone_number][contains]": {"1234"}, "filter[phone_number][ends_with]": {"99"}}},
		{"features", domain.SearchFilter{CountryCode: "US", Features: []string{"sms", "voice", "mms"}},
			url.Values{"filter[features]": {"sms,voice,mms"}}},
	} {
		q := searchQuery(tc.f)
		for k, v := range tc.want {
			if got, sent := q[k]; v == nil && sent {
				t.Errorf("%s: %s = %v, want it left out", tc.name, k, got)
			} else if strings.Join(got, "|") != strings.Join(v, "|") {
				t.Errorf("%s: %s = %v, want %v", tc.name, k, got, v)
			}
		}
	}

	// Against the simulator, which matches patterns after the country code
	// as Telnyx does: an E.164-style pattern still finds numbers.
	c, _ := simClient(t, telnyxsim.Options{}, nil, Config{})
	got, err := c.SearchAvailable(context.Background(), domain.SearchFilter{CountryCode: "US", AreaCode: "312", StartsWith: "131277", Limit: 3})
	if err != nil || len(got) != 3 {
		t.Fatalf("search: %+v, %v", got, err)
	}
	for _, n := range got {
		if !strings.HasPrefix(n.PhoneNumber, "+131277") {
			t.Errorf("%s does not start with +1 312 77", n.PhoneNumber)
		}
	}
	// The area code given twice asks for the area code's numbers, not
	// for 415-415-xxxx: the same as without the pattern.
	plain, err := c.SearchAvailable(context.Background(), domain.SearchFilter{CountryCode: "US", AreaCode: "415", Limit: 5})
	if err != nil || len(plain) != 5 {
		t.Fatalf("plain 415 search: %+v, %v", plain, err)
	}
	for _, sw := range []string{"1415", "415", "+1 (415)"} {
		got, err := c.SearchAvailable(context.Background(), domain.SearchFilter{CountryCode: "US", AreaCode: "415", StartsWith: sw, Limit: 5})
		if err != nil || len(got) != 5 {
			t.Fatalf("starts with %q: %+v, %v", sw, got, err)
		}
		for i := range got {
			if got[i].PhoneNumber != plain[i].PhoneNumber {
				t.Errorf("starts with %q: %s, want %s as without the pattern", sw, got[i].PhoneNumber, plain[i].PhoneNumber)
			}
		}
	}
}

// A German number waits for documents; naming a requirement group at
// ordering time skips the wait, and is what Sweden requires.
func TestRegulatedOrdersThroughTheClient(t *testing.T) {
	clock := testkit.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	rec := &recorder{}
	c, sim := simClient(t, telnyxsim.Options{OrderLatency: time.Minute, Clock: clock.Now, RequirementsDeadline: 48 * time.Hour}, rec.wrap, Config{})
	ctx := context.Background()

	de, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "DE", Limit: 2})
	if err != nil || len(de) != 2 {
		t.Fatalf("DE search: %+v, %v", de, err)
	}
	o, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: de[0].PhoneNumber, CustomerReference: "ref-de"})
	if err != nil {
		t.Fatal(err)
	}
	n := o.Numbers[0]
	if o.Status != domain.OrderPending || o.RequirementsMet || len(o.SubNumberOrderIDs) != 1 ||
		n.RequirementsStatus != domain.RequirementsInfoPending || !n.RequirementsStatus.WaitsOnDocuments() ||
		n.Deadline == nil || !n.Deadline.Equal(clock.Now().Add(48*time.Hour)) ||
		len(n.Requirements) == 0 || n.Requirements[0].FieldType != "address" || n.Requirements[0].FieldValue != "" {
		t.Fatalf("regulated order: %+v", o)
	}
	owned, err := c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: de[0].PhoneNumber})
	if err != nil || len(owned) != 1 || owned[0].Status != domain.OwnedRequirementInfoPending || !owned[0].Status.Held() {
		t.Fatalf("owned while waiting: %+v, %v", owned, err)
	}
	clock.Advance(time.Hour) // no documents: still waiting, however long
	if got, _ := c.GetOrder(ctx, o.ID); got.Status != domain.OrderPending {
		t.Errorf("waiting order: %+v", got)
	}

	// Cancelling it releases the number; a second cancel is no error.
	if err := c.CancelSubNumberOrder(ctx, o.SubNumberOrderIDs[0]); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelSubNumberOrder(ctx, o.SubNumberOrderIDs[0]); err != nil {
		t.Errorf("repeated cancel: %v", err)
	}
	if got, _ := c.GetOrder(ctx, o.ID); got.Status != domain.OrderCancelled || got.Numbers[0].RequirementsStatus != domain.RequirementsCancelled {
		t.Errorf("cancelled order: %+v", got)
	}
	if gone, err := c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: de[0].PhoneNumber, Status: domain.OwnedDeleted}); err != nil ||
		len(gone) != 1 || gone[0].Status.Held() {
		t.Errorf("cancelled number: %+v, %v", gone, err)
	}

	// With a requirement group the order goes straight to review, and the
	// group id is sent per number.
	o2, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: de[1].PhoneNumber, CustomerReference: "ref-de-2", RequirementGroupID: "rg-123"})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		PhoneNumbers []map[string]string `json:"phone_numbers"`
	}
	if err := json.Unmarshal(rec.lastBody(), &body); err != nil || body.PhoneNumbers[0]["requirement_group_id"] != "rg-123" {
		t.Errorf("order body: %s", rec.lastBody())
	}
	if o2.Numbers[0].RequirementsStatus != domain.RequirementsUnderReview || o2.Numbers[0].Requirements[0].FieldValue != "rg-123" {
		t.Errorf("order with a group: %+v", o2)
	}
	clock.Advance(time.Minute)
	if got, _ := c.GetOrder(ctx, o2.ID); got.Status != domain.OrderSuccess || !got.RequirementsMet ||
		got.Numbers[0].RequirementsStatus != domain.RequirementsApproved {
		t.Errorf("reviewed order: %+v", got)
	}
	// Settled: a cancel is refused by Telnyx, but the sub-order shows it
	// is no longer pending, which is not an error.
	if err := c.CancelSubNumberOrder(ctx, o2.SubNumberOrderIDs[0]); err != nil {
		t.Errorf("cancel of a settled sub-order: %v", err)
	}

	// Sweden refuses an order without a group, naming the field.
	se, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "SE", Limit: 1})
	if err != nil || len(se) != 1 {
		t.Fatalf("SE search: %+v, %v", se, err)
	}
	_, err = c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: se[0].PhoneNumber, CustomerReference: "ref-se"})
	if pe := providerError(t, err); pe.Class != domain.ProviderRejected || pe.HTTPStatus != 422 || pe.Pointer != "/phone_numbers/0/requirement_group_id" {
		t.Errorf("SE without a group: %+v", pe)
	}
	if sim.OrderCount("ref-se") != 0 {
		t.Errorf("refused order counted")
	}
}

// An order for a number no search offered is refused, as at Telnyx.
func TestOrderWithoutSearchIsRefused(t *testing.T) {
	c, sim := simClient(t, telnyxsim.Options{}, nil, Config{})
	_, err := c.CreateOrder(context.Background(), domain.OrderRequest{PhoneNumber: "+14155550123", CustomerReference: "ref-blind"})
	if pe := providerError(t, err); pe.Class != domain.ProviderRejected || pe.HTTPStatus != 422 || pe.Pointer != "/phone_numbers/0/phone_number" {
		t.Errorf("blind order: %+v", pe)
	}
	if err := sim.SearchFor("+14155550123"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateOrder(context.Background(), domain.OrderRequest{PhoneNumber: "+14155550123", CustomerReference: "ref-blind"}); err != nil {
		t.Errorf("after SearchFor: %v", err)
	}
}

func (rec *recorder) lastBody() []byte {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.bodies[len(rec.bodies)-1]
}
