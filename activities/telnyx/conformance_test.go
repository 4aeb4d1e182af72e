package telnyx

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
)

// The conformance test holds both sides to testdata/telnyx-schema.json,
// written from shared/TELNYX.md: every kind of answer the simulator gives,
// and every request the client really sends. Without it the client and the
// simulator could agree with each other on a wire format Telnyx does not
// speak.

const schemaFile = "testdata/telnyx-schema.json"

// telnyxSchemas compiles the definitions of the schema file by name.
func telnyxSchemas(t *testing.T) func(def string) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(schemaFile, doc); err != nil {
		t.Fatal(err)
	}
	cache := map[string]*jsonschema.Schema{}
	return func(def string) *jsonschema.Schema {
		t.Helper()
		if sch, ok := cache[def]; ok {
			return sch
		}
		sch, err := c.Compile(schemaFile + "#/$defs/" + def)
		if err != nil {
			t.Fatalf("compile %s: %v", def, err)
		}
		cache[def] = sch
		return sch
	}
}

func validateJSON(sch *jsonschema.Schema, raw []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// queryDoc turns a query into the object the schema describes: one key
// per parameter, a string, or an array when the parameter is repeated.
func queryDoc(r *http.Request) []byte {
	doc := map[string]any{}
	for k, v := range r.URL.Query() {
		if len(v) == 1 {
			doc[k] = v[0]
		} else {
			doc[k] = v
		}
	}
	raw, _ := json.Marshal(doc)
	return raw
}

// exchange is one request and the simulator's answer, recorded in front
// of the simulator.
type exchange struct {
	req     *http.Request
	reqBody []byte
	status  int
	body    []byte
}

type tap struct {
	mu  sync.Mutex
	log []exchange
}

func (tp *tap) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqBody, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		tp.mu.Lock()
		tp.log = append(tp.log, exchange{req: r.Clone(context.Background()), reqBody: reqBody, status: rec.Code, body: rec.Body.Bytes()})
		tp.mu.Unlock()
	})
}

// responseSchema names the definition an answer must satisfy.
func responseSchema(x exchange) string {
	if x.status < 200 || x.status > 299 {
		return "errorBody"
	}
	seg := strings.Split(strings.Trim(x.req.URL.Path, "/"), "/") // v2, collection, id...
	switch {
	case seg[1] == "available_phone_numbers":
		return "searchResponse"
	case seg[1] == "number_orders" && len(seg) == 2 && x.req.Method == http.MethodGet:
		return "numberOrderList"
	case seg[1] == "number_orders":
		return "numberOrderEnvelope"
	case seg[1] == "phone_numbers" && len(seg) == 2:
		return "ownedNumberList"
	case seg[1] == "phone_numbers":
		return "ownedNumberEnvelope"
	case seg[1] == "sub_number_orders":
		return "subNumberOrderEnvelope"
	}
	return "unknown route " + x.req.URL.Path
}

// requestSchema names the definition a request must satisfy, and what of
// it: the query or the body.
func requestSchema(x exchange) (def string, doc []byte) {
	seg := strings.Split(strings.Trim(x.req.URL.Path, "/"), "/")
	switch {
	case seg[1] == "available_phone_numbers":
		return "searchQuery", queryDoc(x.req)
	case seg[1] == "number_orders" && x.req.Method == http.MethodPost:
		return "orderRequest", x.reqBody
	case seg[1] == "phone_numbers" && len(seg) == 2:
		return "ownedListQuery", queryDoc(x.req)
	}
	return "", nil
}

func TestConformanceToTelnyxSchema(t *testing.T) {
	schema := telnyxSchemas(t)
	pub, key, _ := ed25519.GenerateKey(nil)
	var hookMu sync.Mutex
	var hooks [][]byte
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("telnyx-timestamp")
		if !verifySignature(pub, ts, r.Header.Get("telnyx-signature-ed25519"), raw) {
			t.Errorf("webhook signature does not verify")
		}
		hookMu.Lock()
		hooks = append(hooks, raw)
		hookMu.Unlock()
	}))
	defer sink.Close()

	clock := &fakeClock{now: time.Now().UTC()}
	tp := &tap{}
	c, sim := simClient(t, telnyxsim.Options{OrderLatency: time.Minute, Clock: clock.Now, WebhookURL: sink.URL, WebhookKey: key}, tp.wrap, Config{})
	defer sim.Close()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// Searches, with every filter the client can send.
	us, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", AreaCode: "415", Limit: 3, Features: []string{"sms", "voice"},
		Locality: "San Francisco", AdministrativeArea: "CA", StartsWith: "14155", Contains: "5", EndsWith: "7"})
	must(err)
	us, err = c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", AreaCode: "415", Limit: 3})
	must(err)
	_, err = c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", NumberType: domain.NumberTypeTollFree, Limit: 2})
	must(err)
	de, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "DE", Limit: 2})
	must(err)
	se, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "SE", Limit: 1})
	must(err)
	_, err = c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "XX"}) // 422
	if err == nil {
		t.Fatal("unknown country accepted")
	}

	// Orders: plain, regulated, with a group, refused.
	o1, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: us[0].PhoneNumber, ConnectionID: "conn-1", CustomerReference: "ref-us"})
	must(err)
	o2, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: de[0].PhoneNumber, CustomerReference: "ref-de"})
	must(err)
	_, err = c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: de[1].PhoneNumber, CustomerReference: "ref-de-2", RequirementGroupID: "rg-1"})
	must(err)
	_, err = c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: se[0].PhoneNumber, CustomerReference: "ref-se"}) // 422, no group
	if err == nil {
		t.Fatal("SE order without a group accepted")
	}
	_, err = c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: us[0].PhoneNumber, CustomerReference: "ref-us-again"}) // 422, owned
	if err == nil {
		t.Fatal("second order for an owned number accepted")
	}
	_, err = c.GetOrder(ctx, o1.ID)
	must(err)
	_, err = c.GetOrder(ctx, "00000000-0000-4000-8000-000000000000") // 404
	if err == nil {
		t.Fatal("unknown order found")
	}

	// Owned numbers while pending, under review, and after.
	_, err = c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: de[0].PhoneNumber, Status: domain.OwnedRequirementInfoPending})
	must(err)
	clock.Advance(time.Minute)
	owned, err := c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: us[0].PhoneNumber, CustomerReference: "ref-us", PageNumber: 1, PageSize: 10})
	must(err)
	if len(owned) != 1 {
		t.Fatalf("owned: %+v", owned)
	}
	_, err = c.GetOwnedNumber(ctx, owned[0].ID)
	must(err)
	_, err = c.FindOrdersByCustomerReference(ctx, "ref-us")
	must(err)
	// A number planted as bought elsewhere is rendered like the others.
	_, err = sim.AddOwned("+14155550177", clock.Now().Add(-time.Hour))
	must(err)
	_, err = c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PageSize: 250})
	must(err)
	must(c.Ping(ctx))

	// Sub-orders: cancel a waiting one (twice), and a settled one (refused,
	// then read back).
	must(c.CancelSubNumberOrder(ctx, o2.SubNumberOrderIDs[0]))
	must(c.CancelSubNumberOrder(ctx, o2.SubNumberOrderIDs[0]))
	must(c.CancelSubNumberOrder(ctx, o1.SubNumberOrderIDs[0]))

	// Release: locked (refused), then released.
	sim.DeletionLock(us[0].PhoneNumber, true)
	if err := c.ReleaseNumber(ctx, owned[0].ID); err == nil {
		t.Fatal("locked number released")
	}
	sim.DeletionLock(us[0].PhoneNumber, false)
	must(c.ReleaseNumber(ctx, owned[0].ID))
	must(c.ReleaseNumber(ctx, owned[0].ID)) // 404, success for us

	// Faults answer with error bodies too.
	sim.SetFaults(telnyxsim.Faults{RateLimitRate: 1})
	_, _ = c.GetOrder(ctx, o1.ID)
	sim.SetFaults(telnyxsim.Faults{ErrorRate: 1})
	_, _ = c.GetOrder(ctx, o1.ID)
	sim.SetFaults(telnyxsim.Faults{})

	seen := map[string]int{}
	for _, x := range tp.log {
		def := responseSchema(x)
		seen[def]++
		if err := validateJSON(schema(def), x.body); err != nil {
			t.Errorf("%s %s answered %d, not a %s:\n%s\n%v", x.req.Method, x.req.URL, x.status, def, x.body, err)
		}
		if def, doc := requestSchema(x); def != "" {
			seen[def]++
			if err := validateJSON(schema(def), doc); err != nil {
				t.Errorf("client sent %s %s, not a %s:\n%s\n%v", x.req.Method, x.req.URL, def, doc, err)
			}
		}
	}

	// The webhooks of the settled orders (the US one, the reviewed and the
	// cancelled German ones).
	deadline := time.Now().Add(5 * time.Second)
	for {
		hookMu.Lock()
		n := len(hooks)
		hookMu.Unlock()
		if n >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	hookMu.Lock()
	for _, h := range hooks {
		seen["webhookEnvelope"]++
		if err := validateJSON(schema("webhookEnvelope"), h); err != nil {
			t.Errorf("webhook is not a webhookEnvelope:\n%s\n%v", h, err)
		}
	}
	hookMu.Unlock()

	// Every kind was exercised at least once, so the test cannot pass on
	// an empty log.
	for _, def := range []string{"searchResponse", "numberOrderEnvelope", "numberOrderList", "ownedNumberList", "ownedNumberEnvelope",
		"subNumberOrderEnvelope", "errorBody", "webhookEnvelope", "searchQuery", "orderRequest", "ownedListQuery"} {
		if seen[def] == 0 {
			t.Errorf("no %s was checked", def)
		}
	}
	if seen["errorBody"] < 6 || seen["webhookEnvelope"] < 3 {
		t.Errorf("checked: %v", seen)
	}
	for def := range seen {
		if strings.HasPrefix(def, "unknown") {
			t.Errorf("%s", def)
		}
	}
}

func verifySignature(pub ed25519.PublicKey, ts, sigB64 string, body []byte) bool {
	sig, err := base64Std(sigB64)
	return err == nil && ed25519.Verify(pub, append([]byte(ts+"|"), body...), sig)
}

// The schema has teeth: what the old client sent, and shapes Telnyx does
// not send, fail it.
func TestSchemaRejectsWhatTelnyxRejects(t *testing.T) {
	schema := telnyxSchemas(t)
	for _, tc := range []struct {
		def, doc string
	}{
		{"ownedListQuery", `{"filter[phone_number]": "+14155550101"}`},
		{"ownedListQuery", `{"filter[phone_number]": "41"}`},
		{"ownedListQuery", `{"filter[status]": "purchase_pending"}`},
		{"searchQuery", `{"filter[country_code]": "US", "filter[features][]": ["sms", "voice"]}`},
		{"searchQuery", `{"filter[country_code]": "US", "filter[features]": "sms, voice"}`},
		{"searchQuery", `{"filter[country_code]": "US", "filter[phone_number][starts_with]": "+1415"}`},
		{"searchQuery", `{"filter[phone_number_type]": "local"}`},
		{"orderRequest", `{"phone_numbers": [{"phone_number": "14155550101"}]}`},
		{"orderRequest", `{"phone_numbers": []}`},
		{"errorBody", `{"errors": [{"code": 10015, "title": "Bad Request"}]}`},
		{"errorBody", `{"errors": []}`},
		{"numberOrderListItem", `{"id": "o", "record_type": "number_order", "status": "pending", "phone_numbers_count": 1, "connection_id": null,
			"customer_reference": "r", "requirements_met": true, "sub_number_orders_ids": ["s"], "created_at": "2025-01-01T00:00:00Z",
			"updated_at": "2025-01-01T00:00:00Z", "phone_numbers": [{"id": "n", "phone_number": "+14155550101", "status": "pending"}]}`},
		{"orderedNumber", `{"id": "n", "phone_number": "+14155550101", "status": "pending", "requirements_met": false,
			"requirements_status": "requirement-info-pending", "regulatory_requirements": ["address"]}`},
		{"orderedNumber", `{"id": "n", "phone_number": "+14155550101", "status": "cancelled", "requirements_met": false,
			"requirements_status": "cancelled", "regulatory_requirements": []}`},
		{"ownedNumber", `{"id": "1", "record_type": "phone_number", "phone_number": "+14155550101", "country_iso_alpha2": "US", "status": "active",
			"tags": [], "created_at": "2025-01-01T00:00:00Z", "phone_number_type": "local", "purchased_at": "2025-01-01T00:00:00Z",
			"deletion_lock_enabled": false}`},
		{"ownedNumber", `{"id": "1", "record_type": "phone_number", "phone_number": "+14155550101", "country_iso_alpha2": "US", "status": "purchase_pending",
			"tags": [], "external_pin": null, "created_at": "2025-01-01T00:00:00Z", "phone_number_type": "local", "purchased_at": "2025-01-01T00:00:00Z",
			"deletion_lock_enabled": false}`},
		{"webhookEnvelope", `{"data": {"event_type": "number_order.complete", "id": "e", "occurred_at": "2025-01-01T00:00:00Z", "payload": {}, "record_type": "event"}, "meta": {"attempt": 1, "delivered_to": "x"}}`},
	} {
		if err := validateJSON(schema(tc.def), []byte(tc.doc)); err == nil {
			t.Errorf("%s accepted %s", tc.def, tc.doc)
		}
	}
	// And Telnyx's own shapes pass: null optional ids, the metadata
	// spelling, a deadline.
	for _, tc := range []struct{ def, doc string }{
		{"ownedNumber", `{"id": "1", "record_type": "phone_number", "phone_number": "+14155550101", "country_iso_alpha2": "US", "status": "requirement-info-under-review",
			"tags": ["a"], "external_pin": "1234", "created_at": "2025-01-01T00:00:00Z", "phone_number_type": "local", "purchased_at": "2025-01-01T00:00:00Z",
			"deletion_lock_enabled": true, "connection_id": null, "customer_reference": null, "messaging_profile_id": null, "billing_group_id": null, "emergency_enabled": false}`},
		{"searchResponse", `{"data": [], "metadata": {"total_results": 0, "best_effort_results": 0}}`},
		{"orderedNumber", `{"id": "n", "phone_number": "+442079460321", "status": "pending", "requirements_met": false, "requirements_status": "requirement-info-pending",
			"deadline": "2025-01-04T00:00:00Z", "regulatory_requirements": [{"requirement_id": "r", "field_type": "address", "field_value": null, "record_type": "phone_number_regulatory_requirement"}]}`},
	} {
		if err := validateJSON(schema(tc.def), []byte(tc.doc)); err != nil {
			t.Errorf("%s refused %s: %v", tc.def, tc.doc, err)
		}
	}
}

func base64Std(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
