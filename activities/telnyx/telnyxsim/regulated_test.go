package telnyxsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// fullNumber is a number of an order as GET /number_orders/{id} shows it.
type fullNumber struct {
	ID                     string  `json:"id"`
	PhoneNumber            string  `json:"phone_number"`
	Status                 string  `json:"status"`
	RequirementsMet        bool    `json:"requirements_met"`
	RequirementsStatus     string  `json:"requirements_status"`
	Deadline               *string `json:"deadline"`
	RegulatoryRequirements []struct {
		RequirementID string  `json:"requirement_id"`
		FieldType     string  `json:"field_type"`
		FieldValue    *string `json:"field_value"`
		RecordType    string  `json:"record_type"`
	} `json:"regulatory_requirements"`
}

type fullOrder struct {
	ID                 string       `json:"id"`
	Status             string       `json:"status"`
	RequirementsMet    bool         `json:"requirements_met"`
	SubNumberOrdersIDs []string     `json:"sub_number_orders_ids"`
	PhoneNumbers       []fullNumber `json:"phone_numbers"`
}

func (f *fixture) placeRegulated(body map[string]any) fullOrder {
	f.t.Helper()
	var out struct{ Data fullOrder }
	f.do(http.MethodPost, "/v2/number_orders", body).decode(f.t, http.StatusOK, &out)
	return out.Data
}

func (f *fixture) getOrder(id string) fullOrder {
	f.t.Helper()
	var out struct{ Data fullOrder }
	f.do(http.MethodGet, "/v2/number_orders/"+id, nil).decode(f.t, http.StatusOK, &out)
	return out.Data
}

func (f *fixture) ownedStatus(e164 string) string {
	f.t.Helper()
	for _, st := range []string{"", "deleted"} {
		q := "filter[phone_number]=" + strings.TrimPrefix(e164, "+")
		if st != "" {
			q += "&filter[status]=" + st
		}
		if l := f.listNumbers(q); len(l.Data) > 0 {
			return l.Data[len(l.Data)-1].Status
		}
	}
	return ""
}

func (f *fixture) searchCountry(cc string, n int) []string {
	f.t.Helper()
	got := f.search("filter[country_code]=" + cc + "&filter[limit]=" + itoa(n)).numbers()
	if len(got) != n {
		f.t.Fatalf("%s: want %d numbers, got %v", cc, n, got)
	}
	return got
}

func TestRegulatedOrderWaitsForDocuments(t *testing.T) {
	f := newFixture(t, Options{OrderLatency: time.Minute})
	n := f.searchCountry("GB", 1)[0]
	o := f.placeRegulated(orderBody("ref-gb", n))
	pn := o.PhoneNumbers[0]
	wantDeadline := timestamp(f.clock.Now().Add(DefaultRequirementsDeadline))
	if o.Status != orderPending || o.RequirementsMet || pn.Status != orderPending || pn.RequirementsMet ||
		pn.RequirementsStatus != reqInfoPending || pn.Deadline == nil || *pn.Deadline != wantDeadline ||
		len(pn.RegulatoryRequirements) != 1 || pn.RegulatoryRequirements[0].FieldType != "address" ||
		pn.RegulatoryRequirements[0].FieldValue != nil || pn.RegulatoryRequirements[0].RecordType == "" {
		t.Fatalf("regulated order: %+v", o)
	}
	if st := f.ownedStatus(n); st != numberInfoPending {
		t.Errorf("owned status %q", st)
	}
	// Both spellings of the status filter find it.
	for _, st := range []string{"requirement-info-pending", "requirement_info_pending"} {
		if l := f.listNumbers("filter[status]=" + st); len(l.Data) != 1 || l.Data[0].PhoneNumber != n {
			t.Errorf("filter[status]=%s: %+v", st, l.Data)
		}
	}
	// Without documents it waits, however long (short of the deadline).
	f.clock.Advance(24 * time.Hour)
	if got := f.getOrder(o.ID); got.Status != orderPending || got.PhoneNumbers[0].RequirementsStatus != reqInfoPending {
		t.Fatalf("waiting: %+v", got)
	}

	var sub struct {
		Data struct {
			ID, Status, OrderRequestID string
		}
	}
	f.do(http.MethodPost, "/v2/sub_number_orders/"+o.SubNumberOrdersIDs[0]+"/requirement_group",
		map[string]string{"requirement_group_id": "rg-1"}).decode(t, http.StatusOK, &sub)
	got := f.getOrder(o.ID)
	if got.Status != orderPending || got.PhoneNumbers[0].RequirementsStatus != reqUnderReview ||
		*got.PhoneNumbers[0].RegulatoryRequirements[0].FieldValue != "rg-1" {
		t.Fatalf("under review: %+v", got)
	}
	if st := f.ownedStatus(n); st != numberUnderReview {
		t.Errorf("owned status under review %q", st)
	}
	f.clock.Advance(time.Minute)
	got = f.getOrder(o.ID)
	if got.Status != orderSuccess || !got.RequirementsMet || got.PhoneNumbers[0].Status != orderSuccess ||
		got.PhoneNumbers[0].RequirementsStatus != reqApproved || !got.PhoneNumbers[0].RequirementsMet {
		t.Fatalf("approved: %+v", got)
	}
	// The order reads success as soon as the purchase is through, while
	// the number is provisioned for one more order latency.
	if st := f.ownedStatus(n); st != numberProvisioning {
		t.Errorf("owned status approved %q, want provision-pending", st)
	}
	f.clock.Advance(time.Minute - time.Nanosecond)
	if st := f.ownedStatus(n); st != numberProvisioning {
		t.Errorf("owned status before the provisioning ends %q", st)
	}
	f.clock.Advance(time.Nanosecond)
	if st := f.ownedStatus(n); st != numberActive {
		t.Errorf("owned status provisioned %q", st)
	}
	// A settled sub-order takes no documents any more.
	f.do(http.MethodPost, "/v2/sub_number_orders/"+o.SubNumberOrdersIDs[0]+"/requirement_group",
		map[string]string{"requirement_group_id": "rg-2"}).apiError(t, http.StatusUnprocessableEntity)
}

func TestRequirementsByPatchAndValidation(t *testing.T) {
	f := newFixture(t, Options{OrderLatency: time.Minute})
	n := f.searchCountry("DE", 1)[0]
	o := f.placeRegulated(orderBody("ref-de", n))
	subID := o.SubNumberOrdersIDs[0]
	reqID := o.PhoneNumbers[0].RegulatoryRequirements[0].RequirementID

	f.do(http.MethodPost, "/v2/sub_number_orders/"+subID+"/requirement_group", map[string]string{}).apiError(t, http.StatusUnprocessableEntity)
	e := f.do(http.MethodPatch, "/v2/sub_number_orders/"+subID,
		map[string]any{"regulatory_requirements": []map[string]string{{"requirement_id": "nope", "field_value": "x"}}}).apiError(t, http.StatusUnprocessableEntity)
	if e.Source["pointer"] != "/regulatory_requirements/0" {
		t.Errorf("unknown requirement: %+v", e)
	}
	f.do(http.MethodGet, "/v2/sub_number_orders/00000000-0000-4000-8000-000000000000", nil).apiError(t, http.StatusNotFound)

	f.do(http.MethodPatch, "/v2/sub_number_orders/"+subID,
		map[string]any{"regulatory_requirements": []map[string]string{{"requirement_id": reqID, "field_value": "addr-77"}}}).decode(t, http.StatusOK, nil)
	if got := f.getOrder(o.ID).PhoneNumbers[0]; got.RequirementsStatus != reqUnderReview || *got.RegulatoryRequirements[0].FieldValue != "addr-77" {
		t.Errorf("after PATCH: %+v", got)
	}
	f.clock.Advance(time.Minute)
	if got := f.getOrder(o.ID); got.Status != orderSuccess {
		t.Errorf("after review: %+v", got)
	}
}

func TestRequirementsDeadlineCancelsTheOrder(t *testing.T) {
	f := newFixture(t, Options{OrderLatency: time.Minute, RequirementsDeadline: 2 * time.Hour})
	n := f.searchCountry("GB", 1)[0]
	o := f.placeRegulated(orderBody("ref-late", n))
	f.clock.Advance(2*time.Hour - time.Second)
	if got := f.getOrder(o.ID); got.Status != orderPending {
		t.Fatalf("before the deadline: %+v", got)
	}
	f.clock.Advance(time.Second)
	got := f.getOrder(o.ID)
	if got.Status != orderCancelled || got.PhoneNumbers[0].RequirementsStatus != reqCancelled || got.PhoneNumbers[0].Status != orderFailure {
		t.Fatalf("after the deadline: %+v", got)
	}
	var sub struct{ Data struct{ Status string } }
	f.do(http.MethodGet, "/v2/sub_number_orders/"+o.SubNumberOrdersIDs[0], nil).decode(t, http.StatusOK, &sub)
	if sub.Data.Status != orderCancelled {
		t.Errorf("sub-order: %+v", sub.Data)
	}
	if st := f.ownedStatus(n); st != numberDeleted {
		t.Errorf("owned status %q", st)
	}
	if slices.Contains(f.sim.OwnedNumbers(), n) || !slices.Contains(f.search("filter[country_code]=GB&filter[limit]=1").numbers(), n) {
		t.Errorf("the number is not back in the inventory")
	}
	// Documents after the deadline come too late.
	f.do(http.MethodPost, "/v2/sub_number_orders/"+o.SubNumberOrdersIDs[0]+"/requirement_group",
		map[string]string{"requirement_group_id": "rg-late"}).apiError(t, http.StatusUnprocessableEntity)
}

func TestCancelSubOrder(t *testing.T) {
	f := newFixture(t, Options{OrderLatency: time.Minute})
	gb := f.searchCountry("GB", 1)[0]
	us := f.firstAvailable(1)[0]
	o := f.placeRegulated(orderBody("ref-two", gb, us))
	// One sub-order per country and type.
	if len(o.SubNumberOrdersIDs) != 2 {
		t.Fatalf("sub-orders: %v", o.SubNumberOrdersIDs)
	}
	var subs []struct {
		ID              string `json:"id"`
		Status          string `json:"status"`
		CountryCode     string `json:"country_code"`
		OrderRequestID  string `json:"order_request_id"`
		PhoneNumbersCnt int    `json:"phone_numbers_count"`
	}
	for _, id := range o.SubNumberOrdersIDs {
		var sub struct {
			Data struct {
				ID              string `json:"id"`
				Status          string `json:"status"`
				CountryCode     string `json:"country_code"`
				OrderRequestID  string `json:"order_request_id"`
				PhoneNumbersCnt int    `json:"phone_numbers_count"`
			}
		}
		f.do(http.MethodGet, "/v2/sub_number_orders/"+id, nil).decode(t, http.StatusOK, &sub)
		subs = append(subs, sub.Data)
	}
	if subs[0].CountryCode != "GB" || subs[1].CountryCode != "US" || subs[0].OrderRequestID != o.ID || subs[0].PhoneNumbersCnt != 1 {
		t.Errorf("sub-orders: %+v", subs)
	}

	f.clock.Advance(time.Minute) // the US number settles; GB waits
	if got := f.getOrder(o.ID); got.Status != orderPending || got.PhoneNumbers[1].Status != orderSuccess {
		t.Fatalf("half settled: %+v", got)
	}
	var cancelled struct{ Data struct{ Status string } }
	f.do(http.MethodPatch, "/v2/sub_number_orders/"+o.SubNumberOrdersIDs[0]+"/cancel", nil).decode(t, http.StatusOK, &cancelled)
	if cancelled.Data.Status != orderCancelled {
		t.Errorf("cancel: %+v", cancelled.Data)
	}
	// A repeated cancel is answered like the first.
	f.do(http.MethodPatch, "/v2/sub_number_orders/"+o.SubNumberOrdersIDs[0]+"/cancel", nil).decode(t, http.StatusOK, &cancelled)
	if cancelled.Data.Status != orderCancelled {
		t.Errorf("repeated cancel: %+v", cancelled.Data)
	}
	// A settled sub-order cannot be cancelled.
	e := f.do(http.MethodPatch, "/v2/sub_number_orders/"+o.SubNumberOrdersIDs[1]+"/cancel", nil).apiError(t, http.StatusUnprocessableEntity)
	if e.Code != CodeBadRequest {
		t.Errorf("cancel of a settled sub-order: %+v", e)
	}
	if got := f.getOrder(o.ID); got.Status != orderFailure {
		t.Errorf("an order half cancelled, half bought: %+v", got)
	}
	if st := f.ownedStatus(gb); st != numberDeleted {
		t.Errorf("GB number after cancel: %q", st)
	}
	if !slices.Equal(f.sim.OwnedNumbers(), []string{us}) {
		t.Errorf("owned: %v", f.sim.OwnedNumbers())
	}
}

func TestGroupRequiredCountries(t *testing.T) {
	f := newFixture(t, Options{OrderLatency: time.Minute})
	for _, cc := range []string{"CH", "DK", "IT", "NO", "PT", "SE"} {
		ex := phonenumbers.Format(phonenumbers.GetExampleNumber(cc), phonenumbers.E164)
		e := f.do(http.MethodPost, "/v2/number_orders", orderBody("ref-"+cc, ex)).apiError(t, http.StatusUnprocessableEntity)
		if e.Source["pointer"] != "/phone_numbers/0/requirement_group_id" || e.Code != CodeMissingParameter {
			t.Errorf("%s without a group: %+v", cc, e)
		}
	}
	// Sweden is stocked, and sells with a group: straight to review.
	n := f.searchCountry("SE", 1)[0]
	body := map[string]any{"phone_numbers": []map[string]string{{"phone_number": n, "requirement_group_id": "rg-se"}}, "customer_reference": "ref-se"}
	o := f.placeRegulated(body)
	if o.Status != orderPending || o.PhoneNumbers[0].RequirementsStatus != reqUnderReview {
		t.Fatalf("SE with a group: %+v", o)
	}
	if st := f.ownedStatus(n); st != numberUnderReview {
		t.Errorf("owned %q", st)
	}
	f.clock.Advance(time.Minute)
	if got := f.getOrder(o.ID); got.Status != orderSuccess {
		t.Errorf("SE after review: %+v", got)
	}
	if f.sim.OrderCount("ref-SE") != 0 || f.sim.OrderCount("ref-se") != 1 {
		t.Errorf("order counts")
	}
}

func TestOnlyRecentlySearchedNumbersSell(t *testing.T) {
	f := newFixture(t, Options{SearchTTL: 10 * time.Minute})
	n := f.firstAvailable(2)
	f.clock.Advance(10*time.Minute + time.Second)
	e := f.do(http.MethodPost, "/v2/number_orders", orderBody("ref-stale", n[0])).apiError(t, http.StatusUnprocessableEntity)
	if e.Code != CodeBadRequest || e.Source["pointer"] != "/phone_numbers/0/phone_number" {
		t.Errorf("stale search: %+v", e)
	}
	if f.sim.OrderCount("ref-stale") != 0 {
		t.Error("refused order counted")
	}
	f.firstAvailable(1)
	f.order("ref-fresh", n[0])

	// SearchFor goes through the same search.
	if err := f.sim.SearchFor(n[0]); err == nil {
		t.Error("SearchFor offered an owned number")
	}
	if err := f.sim.SearchFor("+14155550199"); err != nil {
		t.Fatal(err)
	}
	f.order("ref-searched", "+14155550199")
}

// Owned-number records carry every field Telnyx's PhoneNumberDetailed
// requires, in lists and alone.
func TestOwnedRecordsCarryRequiredFields(t *testing.T) {
	f := newFixture(t, Options{})
	n := f.firstAvailable(1)[0]
	f.order("", n)
	var list struct {
		Data []map[string]any `json:"data"`
	}
	f.do(http.MethodGet, "/v2/phone_numbers", nil).decode(t, http.StatusOK, &list)
	if len(list.Data) != 1 {
		t.Fatalf("list: %+v", list)
	}
	rec := list.Data[0]
	for _, k := range []string{"id", "record_type", "phone_number", "country_iso_alpha2", "status", "tags", "external_pin",
		"created_at", "phone_number_type", "purchased_at", "deletion_lock_enabled", "connection_id", "customer_reference",
		"messaging_profile_id", "billing_group_id"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("record lacks %s: %v", k, rec)
		}
	}
	if rec["customer_reference"] != nil || rec["country_iso_alpha2"] != "US" {
		t.Errorf("record: %v", rec)
	}
	var one struct {
		Data map[string]any `json:"data"`
	}
	f.do(http.MethodGet, "/v2/phone_numbers/"+rec["id"].(string), nil).decode(t, http.StatusOK, &one)
	a, _ := json.Marshal(one.Data)
	b, _ := json.Marshal(rec)
	if string(a) != string(b) {
		t.Errorf("GET one differs from the list:\n%s\n%s", a, b)
	}
}

// GET /number_orders lists numbers as {id, phone_number} only.
func TestOrderListShowsNumbersOnlyByID(t *testing.T) {
	f := newFixture(t, Options{})
	n := f.firstAvailable(1)[0]
	o := f.order("ref-list", n)
	var list struct {
		Data []struct {
			Status       string           `json:"status"`
			PhoneNumbers []map[string]any `json:"phone_numbers"`
		} `json:"data"`
	}
	f.do(http.MethodGet, "/v2/number_orders?filter[customer_reference]=ref-list", nil).decode(t, http.StatusOK, &list)
	if len(list.Data) != 1 || list.Data[0].Status != orderSuccess || len(list.Data[0].PhoneNumbers) != 1 {
		t.Fatalf("list: %+v", list)
	}
	pn := list.Data[0].PhoneNumbers[0]
	if len(pn) != 2 || pn["id"] != o.Data.PhoneNumbers[0].ID || pn["phone_number"] != n {
		t.Errorf("listed number: %v", pn)
	}
	if full := f.getOrder(o.Data.ID).PhoneNumbers[0]; full.Status != orderSuccess || full.RequirementsStatus != reqApproved || full.Deadline != nil {
		t.Errorf("full number: %+v", full)
	}
}
