package telnyxsim

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestDeleteReturnsNumberToInventory(t *testing.T) {
	f := newFixture(t, Options{})
	const q = "filter[country_code]=US&filter[national_destination_code]=415&filter[limit]=3"
	before := f.search(q).numbers()
	f.order("ref-del", before[0])
	l := f.listNumbers("filter[customer_reference]=ref-del")
	if len(l.Data) != 1 {
		t.Fatalf("list: %+v", l)
	}
	id := l.Data[0].ID

	var got struct{ Data phoneNumberJSON }
	f.do(http.MethodGet, "/v2/phone_numbers/"+id, nil).decode(t, http.StatusOK, &got)
	if got.Data.PhoneNumber != before[0] || got.Data.Status != numberActive || got.Data.RecordType != "phone_number" {
		t.Errorf("get: %+v", got.Data)
	}

	f.do(http.MethodDelete, "/v2/phone_numbers/"+id, nil).decode(t, http.StatusOK, &got)
	if got.Data.Status != numberDeleted || got.Data.ID != id {
		t.Errorf("delete answered %+v", got.Data)
	}
	if after := f.search(q).numbers(); !slices.Equal(after, before) {
		t.Errorf("released number not back on sale: %v, want %v", after, before)
	}
	if len(f.sim.OwnedNumbers()) != 0 {
		t.Errorf("still owned: %v", f.sim.OwnedNumbers())
	}
	// Gone from reads and from a second delete; listed only when asked for.
	f.do(http.MethodGet, "/v2/phone_numbers/"+id, nil).apiError(t, http.StatusNotFound)
	if e := f.do(http.MethodDelete, "/v2/phone_numbers/"+id, nil).apiError(t, http.StatusNotFound); e.Code != CodeResourceNotFound {
		t.Errorf("second delete: %+v", e)
	}
	if l := f.listNumbers(""); len(l.Data) != 0 {
		t.Errorf("deleted number listed by default: %+v", l.Data)
	}
	if l := f.listNumbers("filter[status]=deleted"); len(l.Data) != 1 {
		t.Errorf("filter[status]=deleted: %+v", l.Data)
	}
	// It can be bought again, under a new ID.
	f.order("ref-again", before[0])
	if l := f.listNumbers("filter[customer_reference]=ref-again"); len(l.Data) != 1 || l.Data[0].ID == id {
		t.Errorf("rebought: %+v", l.Data)
	}
}

func TestDeletionLockAndPendingRefuseDelete(t *testing.T) {
	f := newFixture(t, Options{})
	n := f.firstAvailable(1)[0]
	f.order("ref-lock", n)
	id := f.listNumbers("filter[customer_reference]=ref-lock").Data[0].ID
	f.sim.DeletionLock(n, true)
	if l := f.listNumbers("filter[customer_reference]=ref-lock"); !l.Data[0].DeletionLockEnabled {
		t.Errorf("deletion_lock_enabled not shown")
	}
	e := f.do(http.MethodDelete, "/v2/phone_numbers/"+id, nil).apiError(t, http.StatusUnprocessableEntity)
	if e.Code != CodeBadRequest || !strings.Contains(e.Detail, "deletion lock") {
		t.Errorf("locked delete: %+v", e)
	}
	f.sim.DeletionLock(n, false)
	f.do(http.MethodDelete, "/v2/phone_numbers/"+id, nil).decode(t, http.StatusOK, nil)

	f.sim.SetOrderLatency(1 << 40)
	p := f.firstAvailable(1)[0]
	f.order("ref-pending", p)
	pid := f.listNumbers("filter[customer_reference]=ref-pending").Data[0].ID
	f.do(http.MethodDelete, "/v2/phone_numbers/"+pid, nil).apiError(t, http.StatusUnprocessableEntity)
}

func TestListPagingAndFilters(t *testing.T) {
	f := newFixture(t, Options{})
	numbers := f.search("filter[country_code]=US&filter[limit]=25").numbers()
	for i, n := range numbers {
		ref := "odd"
		if i%2 == 0 {
			ref = "even"
		}
		f.order(ref, n)
	}

	all := f.listNumbers("")
	if len(all.Data) != defaultPageSize || all.Meta.TotalResults != 25 || all.Meta.TotalPages != 2 || all.Meta.PageNumber != 1 || all.Meta.PageSize != 20 {
		t.Errorf("default page: %d items, meta %+v", len(all.Data), all.Meta)
	}
	var seen []string
	for page := 1; page <= 3; page++ {
		l := f.listNumbers("page[size]=10&page[number]=" + itoa(page))
		if l.Meta.TotalPages != 3 || l.Meta.PageNumber != page {
			t.Errorf("page %d meta %+v", page, l.Meta)
		}
		for _, d := range l.Data {
			seen = append(seen, d.PhoneNumber)
		}
	}
	if !slices.Equal(seen, numbers) {
		t.Errorf("paging lost or reordered numbers:\n%v\n%v", seen, numbers)
	}
	if l := f.listNumbers("page[number]=9&page[size]=10"); len(l.Data) != 0 || l.Meta.TotalResults != 25 {
		t.Errorf("past the end: %+v", l)
	}
	if l := f.listNumbers("page[size]=250"); len(l.Data) != 25 {
		t.Errorf("page[size]=250: %d", len(l.Data))
	}
	for _, bad := range []string{"page[size]=0", "page[size]=251", "page[size]=x", "page[number]=0", "page[number]=-1"} {
		e := f.do(http.MethodGet, "/v2/phone_numbers?"+bad, nil).apiError(t, http.StatusBadRequest)
		if !strings.HasPrefix(e.Source["parameter"], "page[") {
			t.Errorf("%s: %+v", bad, e)
		}
	}

	if l := f.listNumbers("filter[customer_reference]=even&page[size]=250"); l.Meta.TotalResults != 13 {
		t.Errorf("customer_reference filter: %d", l.Meta.TotalResults)
	}
	if l := f.listNumbers("filter[phone_number]=" + strings.TrimPrefix(numbers[3], "+")); len(l.Data) != 1 || l.Data[0].PhoneNumber != numbers[3] {
		t.Errorf("phone_number filter: %+v", l.Data)
	}
	// Telnyx: non-digits, or fewer than three digits, match nothing.
	for _, bad := range []string{"%2B" + numbers[3][1:], "+" + numbers[3][1:], numbers[3][1:4] + "-" + numbers[3][4:], "41"} {
		if l := f.listNumbers("filter[phone_number]=" + bad); len(l.Data) != 0 || l.Meta.TotalResults != 0 {
			t.Errorf("phone_number filter %q must match nothing: %+v", bad, l.Data)
		}
	}
	if l := f.listNumbers("filter[phone_number]=" + numbers[3][len(numbers[3])-4:]); len(l.Data) == 0 || !slices.Contains(phoneNumbersOf(l), numbers[3]) {
		t.Errorf("phone_number filter on the last four digits: %+v", l.Data)
	}
	if l := f.listNumbers("filter[status]=active&page[size]=250"); l.Meta.TotalResults != 25 {
		t.Errorf("status filter: %d", l.Meta.TotalResults)
	}
	if l := f.listNumbers("filter[connection_id]=nope"); len(l.Data) != 0 {
		t.Errorf("connection filter: %+v", l.Data)
	}

	var orders struct {
		Data []struct{ ID string }
		Meta struct {
			TotalResults int `json:"total_results"`
		}
	}
	f.do(http.MethodGet, "/v2/number_orders?filter[customer_reference]=odd&page[size]=5", nil).decode(t, http.StatusOK, &orders)
	if len(orders.Data) != 5 || orders.Meta.TotalResults != 12 {
		t.Errorf("orders by reference: %d of %d", len(orders.Data), orders.Meta.TotalResults)
	}
}

func TestAuthAndRouting(t *testing.T) {
	f := newFixture(t, Options{})
	for name, headers := range map[string]map[string]string{
		"no header":  nil,
		"wrong key":  {"Authorization": "Bearer KEY-wrong-secret"},
		"not bearer": {"Authorization": "Basic " + testKey},
		"empty":      {"Authorization": "Bearer "},
	} {
		r := f.doWith(http.MethodGet, "/v2/phone_numbers", nil, headers)
		e := r.apiError(t, http.StatusUnauthorized)
		if e.Code != CodeAuthenticationFailed {
			t.Errorf("%s: %+v", name, e)
		}
		if strings.Contains(string(r.body), "KEY-") {
			t.Errorf("%s: the token is echoed: %s", name, r.body)
		}
	}

	// Without a configured key any non-empty bearer token is accepted.
	open := New(Options{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v2/phone_numbers", nil)
	req.Header.Set("Authorization", "Bearer anything")
	open.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("open simulator: %d %s", rec.Code, rec.Body)
	}

	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/v2/nope", http.StatusNotFound},
		{http.MethodGet, "/v2/phone_numbers/", http.StatusNotFound},
		{http.MethodGet, "/v1/phone_numbers", http.StatusNotFound},
		{http.MethodGet, "/", http.StatusNotFound},
		{http.MethodGet, "/_sim/nope", http.StatusNotFound},
		{http.MethodPut, "/v2/phone_numbers", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/v2/number_orders/abc", http.StatusMethodNotAllowed},
		{http.MethodPost, "/_sim/state", http.StatusMethodNotAllowed},
	} {
		r := f.do(tc.method, tc.path, nil)
		e := r.apiError(t, tc.status)
		if e.Code == "" || e.Title == "" {
			t.Errorf("%s %s: %+v", tc.method, tc.path, e)
		}
		if tc.status == http.StatusMethodNotAllowed && r.header.Get("Allow") == "" {
			t.Errorf("%s %s: no Allow header", tc.method, tc.path)
		}
	}
}

func phoneNumbersOf(l numberList) []string {
	var out []string
	for _, n := range l.Data {
		out = append(out, n.PhoneNumber)
	}
	return out
}
