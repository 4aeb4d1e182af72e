package telnyxsim

import (
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"
)

var uuidShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestOrderedNumberLeavesInventory(t *testing.T) {
	f := newFixture(t, Options{})
	const q = "filter[country_code]=US&filter[national_destination_code]=415&filter[limit]=5"
	before := f.search(q).numbers()
	o := f.order("ref-1", before[0])

	if o.Data.Status != orderSuccess || o.Data.PhoneNumbers[0].Status != orderSuccess {
		t.Fatalf("with no latency the order settles at once: %+v", o.Data)
	}
	after := f.search(q).numbers()
	if slices.Contains(after, before[0]) {
		t.Fatalf("%s still on sale after being ordered", before[0])
	}
	if !slices.Equal(after[:4], before[1:]) {
		t.Errorf("the rest of the inventory moved: %v then %v", before, after)
	}
	if got := f.sim.OwnedNumbers(); !slices.Equal(got, []string{before[0]}) {
		t.Errorf("OwnedNumbers = %v", got)
	}

	// Ordering it again, from this account or another, is refused.
	e := f.do(http.MethodPost, "/v2/number_orders", orderBody("ref-2", before[0])).apiError(t, http.StatusUnprocessableEntity)
	if e.Code != CodeBadRequest || e.Title != "Number not available" || e.Source["pointer"] != "/phone_numbers/0/phone_number" {
		t.Errorf("reorder: %+v", e)
	}
	if f.sim.OrderCount("ref-1") != 1 || f.sim.OrderCount("ref-2") != 0 {
		t.Errorf("order counts: %d, %d", f.sim.OrderCount("ref-1"), f.sim.OrderCount("ref-2"))
	}
}

func TestOrderJSON(t *testing.T) {
	f := newFixture(t, Options{})
	n := f.firstAvailable(1)[0]
	var o orderResult
	body := orderBody("purchase-abc", n)
	body["connection_id"] = "1234567890"
	f.do(http.MethodPost, "/v2/number_orders", body).decode(t, http.StatusOK, &o)
	d := o.Data
	if !uuidShape.MatchString(d.ID) || d.RecordType != "number_order" || d.PhoneNumbersCount != 1 ||
		d.CustomerReference != "purchase-abc" || d.ConnectionID == nil || *d.ConnectionID != "1234567890" ||
		!d.RequirementsMet || len(d.SubNumberOrdersIDs) != 1 {
		t.Errorf("order: %+v", d)
	}
	if _, err := time.Parse(time.RFC3339, d.CreatedAt); err != nil {
		t.Errorf("created_at %q: %v", d.CreatedAt, err)
	}
	pn := d.PhoneNumbers[0]
	if !uuidShape.MatchString(pn.ID) || pn.PhoneNumber != n || !pn.RequirementsMet || pn.RegulatoryRequirements == nil {
		t.Errorf("order phone number: %+v", pn)
	}
}

func TestOrderSettlesAfterLatency(t *testing.T) {
	f := newFixture(t, Options{OrderLatency: time.Minute})
	n := f.firstAvailable(1)[0]
	o := f.order("ref-latency", n)
	if o.Data.Status != orderPending || o.Data.PhoneNumbers[0].Status != orderPending {
		t.Fatalf("want pending, got %+v", o.Data)
	}
	// Both spellings of the status filter find the number being bought.
	for _, status := range []string{"purchase-pending", "purchase_pending"} {
		if l := f.listNumbers("filter[status]=" + status); len(l.Data) != 1 || l.Data[0].PhoneNumber != n {
			t.Errorf("filter[status]=%s: %+v", status, l.Data)
		}
	}

	f.clock.Advance(59 * time.Second)
	var got orderResult
	f.do(http.MethodGet, "/v2/number_orders/"+o.Data.ID, nil).decode(t, http.StatusOK, &got)
	if got.Data.Status != orderPending {
		t.Fatalf("settled early: %s", got.Data.Status)
	}

	f.clock.Advance(time.Second)
	f.do(http.MethodGet, "/v2/number_orders/"+o.Data.ID, nil).decode(t, http.StatusOK, &got)
	if got.Data.Status != orderSuccess || got.Data.PhoneNumbers[0].Status != orderSuccess {
		t.Fatalf("want success, got %+v", got.Data)
	}
	if got.Data.UpdatedAt == got.Data.CreatedAt {
		t.Errorf("updated_at did not move: %s", got.Data.UpdatedAt)
	}
	if l := f.listNumbers("filter[phone_number]=" + n[1:]); len(l.Data) != 1 || l.Data[0].Status != numberActive {
		t.Errorf("owned number after settling: %+v", l.Data)
	}

	// The latency can change at run time, for orders placed afterwards.
	f.sim.SetOrderLatency(0)
	if o := f.order("ref-now", f.firstAvailable(1)[0]); o.Data.Status != orderSuccess {
		t.Errorf("after SetOrderLatency(0): %s", o.Data.Status)
	}
}

func TestSoldMeanwhileSettlesToFailure(t *testing.T) {
	f := newFixture(t, Options{OrderLatency: time.Second})
	n := f.firstAvailable(1)[0]
	placed := f.order("ref-sold", n)
	f.sim.MarkSold(n)
	f.clock.Advance(time.Second)

	var list struct {
		Data []struct {
			Status       string `json:"status"`
			PhoneNumbers []struct {
				Status string `json:"status"`
			} `json:"phone_numbers"`
		} `json:"data"`
	}
	f.do(http.MethodGet, "/v2/number_orders?filter[customer_reference]=ref-sold", nil).decode(t, http.StatusOK, &list)
	if len(list.Data) != 1 || list.Data[0].Status != orderFailure {
		t.Fatalf("want one failed order, got %+v", list.Data)
	}
	var one orderResult
	f.do(http.MethodGet, "/v2/number_orders/"+placed.Data.ID, nil).decode(t, http.StatusOK, &one)
	if one.Data.Status != orderFailure || one.Data.PhoneNumbers[0].Status != orderFailure {
		t.Fatalf("the order read by id: %+v", one.Data)
	}
	if l := f.listNumbers("filter[customer_reference]=ref-sold"); len(l.Data) != 1 || l.Data[0].Status != numberPurchaseFailed {
		t.Errorf("owned record: %+v", l.Data)
	}
	if got := f.sim.OwnedNumbers(); len(got) != 0 {
		t.Errorf("OwnedNumbers = %v", got)
	}
	if slices.Contains(f.search("filter[country_code]=US&filter[national_destination_code]=415&filter[limit]=5").numbers(), n) {
		t.Errorf("a number sold to someone else is back on sale")
	}
}

func TestOrderValidation(t *testing.T) {
	f := newFixture(t, Options{})
	owned := f.firstAvailable(1)[0]
	f.order("", owned)
	sold := f.firstAvailable(1)[0]
	f.sim.MarkSold(sold)
	offered := f.firstAvailable(1)[0]

	for _, tc := range []struct {
		name    string
		body    any
		status  int
		code    string
		pointer string
	}{
		{"not json", "{", http.StatusBadRequest, CodeBadRequest, "/"},
		{"wrong type", `{"phone_numbers": "+14155550123"}`, http.StatusBadRequest, CodeBadRequest, "/"},
		{"no numbers", `{}`, http.StatusUnprocessableEntity, CodeMissingParameter, "/phone_numbers"},
		{"empty number", orderBody("", ""), http.StatusUnprocessableEntity, CodeMissingParameter, "/phone_numbers/0/phone_number"},
		{"not e164", orderBody("", "4155550123"), http.StatusUnprocessableEntity, CodeNotE164, "/phone_numbers/0/phone_number"},
		{"invalid", orderBody("", "+1415555"), http.StatusUnprocessableEntity, CodeInvalidPhoneNumber, "/phone_numbers/0/phone_number"},
		{"duplicate", orderBody("", "+14155550123", "+14155550123"), http.StatusUnprocessableEntity, CodeDuplicateResource, "/phone_numbers/1/phone_number"},
		{"not searched", orderBody("", "+14155550123"), http.StatusUnprocessableEntity, CodeBadRequest, "/phone_numbers/0/phone_number"},
		{"owned", orderBody("", offered, owned), http.StatusUnprocessableEntity, CodeBadRequest, "/phone_numbers/1/phone_number"},
		{"sold", orderBody("", sold), http.StatusUnprocessableEntity, CodeBadRequest, "/phone_numbers/0/phone_number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := f.do(http.MethodPost, "/v2/number_orders", tc.body).apiError(t, tc.status)
			if e.Code != tc.code || e.Source["pointer"] != tc.pointer {
				t.Errorf("got %+v", e)
			}
		})
	}
	// Nothing of the refused orders was recorded.
	if got := f.sim.OwnedNumbers(); !slices.Equal(got, []string{owned}) {
		t.Errorf("OwnedNumbers = %v", got)
	}
}

func TestGetUnknownOrder(t *testing.T) {
	f := newFixture(t, Options{})
	e := f.do(http.MethodGet, "/v2/number_orders/00000000-0000-4000-8000-000000000000", nil).apiError(t, http.StatusNotFound)
	if e.Code != CodeResourceNotFound {
		t.Errorf("got %+v", e)
	}
}
