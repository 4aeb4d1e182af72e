package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/workflows"
)

const purchasePath = "/api/phone-numbers/purchase"

// purchaseRecorder records the purchase requests the API makes. A number
// ending in 2 waits on documents (202 with requirements), one ending in 4
// too but with no deadline; any other is bought at once.
type purchaseRecorder struct {
	scriptedWorkflows
	mu   sync.Mutex
	reqs []workflows.PurchaseRequest
}

var regulatedDeadline = time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC)

func (p *purchaseRecorder) Purchase(_ context.Context, req workflows.PurchaseRequest, _ string, _ time.Duration) (temporalclient.PurchaseOutcome, error) {
	p.mu.Lock()
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	view := workflows.NumberView{ID: "pn_" + req.PhoneNumber[1:], PhoneNumber: req.PhoneNumber, ProviderNumberID: "tx_1", Status: domain.NumberActive}
	if strings.HasSuffix(req.PhoneNumber, "2") || strings.HasSuffix(req.PhoneNumber, "4") {
		view.Status, view.ProviderNumberID = domain.NumberPending, ""
		view.Requirements = &domain.PendingRequirements{Status: domain.RequirementsInfoPending, Deadline: &regulatedDeadline,
			Missing: []domain.RegulatoryRequirement{{RequirementID: "req_addr", FieldType: "address"}, {RequirementID: "req_id", FieldType: "document"}}}
		if strings.HasSuffix(req.PhoneNumber, "4") {
			view.Requirements.Deadline = nil
		}
		return temporalclient.PurchaseOutcome{Pending: true, State: workflows.NumberState{TeamID: req.TeamID, Number: view}}, nil
	}
	elig := domain.Eligibility{CurrentCount: 1, MaxAllowed: 10, HasSubscription: true, PlanName: "Growth"}
	return temporalclient.PurchaseOutcome{Result: workflows.PurchaseResult{Number: view, Eligibility: elig}}, nil
}

func (p *purchaseRecorder) last(t *testing.T) workflows.PurchaseRequest {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.reqs) == 0 {
		t.Fatal("no purchase reached the workflow")
	}
	return p.reqs[len(p.reqs)-1]
}

func (p *purchaseRecorder) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.reqs)
}

func purchaseBody(number, team, extra string) string {
	return `{"phoneNumber": "` + number + `", "teamId": "` + team + `"` + extra + `}`
}

// groupA and groupB are requirement group ids as Telnyx makes them.
const (
	groupA = "4f9d1c2e-6b1a-4c3d-9e8f-0a1b2c3d4e5f"
	groupB = "0195a7f3-0000-7000-8000-00000000000b"
)

// TestPurchaseWithARequirementGroupWaitsOnDocuments: requirementGroupId
// reaches the workflow, and a purchase that waits on documents answers 202
// with what it waits on and a message saying how to supply them, by when.
func TestPurchaseWithARequirementGroupWaitsOnDocuments(t *testing.T) {
	t.Parallel()
	rec := &purchaseRecorder{}
	e := newEnv(t, withWorkflows(rec))
	acct := e.newAccount("regulated@example.com")

	r := e.do(request{method: http.MethodPost, path: purchasePath, token: acct.Token,
		body: purchaseBody("+14155550102", acct.TeamID, `, "requirementGroupId": " `+groupA+` "`)})
	if r.status != http.StatusAccepted {
		t.Fatalf("a regulated purchase: %d %s, want 202", r.status, r.raw)
	}
	if got := rec.last(t); got.RequirementGroupID != groupA {
		t.Errorf("RequirementGroupID %q, want %s", got.RequirementGroupID, groupA)
	}
	n := r.body["phoneNumber"].(map[string]any)
	if n["status"] != "pending" {
		t.Errorf("phoneNumber %v: want pending", n)
	}
	// What to do, and by when.
	msg, _ := n["message"].(string)
	for _, want := range []string{"documents", "requirementGroupId", "new Idempotency-Key", "Telnyx portal", "requirements.deadline (2026-12-31T23:59:00Z)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message does not say %q: %s", want, msg)
		}
	}
	req := n["requirements"].(map[string]any)
	wantKeys(t, "requirements", req, "status", "deadline", "missing")
	if req["status"] != "requirement-info-pending" || req["deadline"] != "2026-12-31T23:59:00Z" {
		t.Errorf("requirements %v", req)
	}
	missing := req["missing"].([]any)
	if len(missing) != 2 {
		t.Fatalf("missing %v, want 2", missing)
	}
	wantKeys(t, "missing[0]", missing[0], "requirement_id", "field_type")
	if m := missing[0].(map[string]any); m["requirement_id"] != "req_addr" || m["field_type"] != "address" {
		t.Errorf("missing[0] = %v", m)
	}

	// With no deadline from Telnyx, the message does not invent one.
	r = e.do(request{method: http.MethodPost, path: purchasePath, token: acct.Token, body: purchaseBody("+14155550104", acct.TeamID, "")})
	if r.status != http.StatusAccepted {
		t.Fatalf("a regulated purchase without a deadline: %d %s", r.status, r.raw)
	}
	n = r.body["phoneNumber"].(map[string]any)
	if msg, _ := n["message"].(string); !strings.Contains(msg, "requirementGroupId") || !strings.Contains(msg, "no deadline") || strings.Contains(msg, "requirements.deadline (") {
		t.Errorf("the message without a deadline: %s", msg)
	}
	if n["requirements"].(map[string]any)["deadline"] != nil {
		t.Errorf("requirements %v: want a null deadline", n["requirements"])
	}

	// A purchase that does not wait on documents has no requirements.
	r = e.do(request{method: http.MethodPost, path: purchasePath, token: acct.Token, body: purchaseBody("+14155550101", acct.TeamID, "")})
	if r.status != http.StatusOK {
		t.Fatalf("a plain purchase: %d %s", r.status, r.raw)
	}
	if _, ok := r.body["phoneNumber"].(map[string]any)["requirements"]; ok {
		t.Errorf("an active number with requirements: %s", r.raw)
	}
	if got := rec.last(t); got.RequirementGroupID != "" {
		t.Errorf("RequirementGroupID %q for a request without one", got.RequirementGroupID)
	}

	// Telnyx's group ids are UUIDs: anything else is refused here, before
	// an order is placed, naming the field.
	before := rec.count()
	for _, bad := range []string{`"rg_0195"`, `"rg 1"`, `"` + strings.Repeat("r", 129) + `"`, `"rg\u00e9"`, `5`,
		`"4f9d1c2e6b1a4c3d9e8f0a1b2c3d4e5f"`, `"{` + groupA + `}"`, `"urn:uuid:` + groupA + `"`, `"4f9d1c2e-6b1a-4c3d-9e8f-0a1b2c3d4e5g"`,
		`"4f9d1c2e-6b1a-4c3d-9e8f0-a1b2c3d4e5f"`, `"` + groupA + `0"`, `"4f9d1c2e-6b1a-4c3d-9e8f-0a1b2c3d4e5"`} {
		e2 := wantError(t, e.do(request{method: http.MethodPost, path: purchasePath, token: acct.Token,
			body: purchaseBody("+14155550103", acct.TeamID, `, "requirementGroupId": `+bad)}), http.StatusBadRequest, "invalid_request", "requirementGroupId")
		if msg, _ := e2["message"].(string); bad != `5` && !strings.Contains(msg, "UUID") {
			t.Errorf("requirementGroupId %s: the message does not say a UUID is wanted: %v", bad, e2)
		}
	}
	if rec.count() != before {
		t.Error("a refused requirementGroupId reached the workflow")
	}
	// Either case, and empty or null for none.
	for extra, want := range map[string]string{`, "requirementGroupId": "` + strings.ToUpper(groupA) + `"`: strings.ToUpper(groupA),
		`, "requirementGroupId": ""`: "", `, "requirementGroupId": null`: ""} {
		if r := e.do(request{method: http.MethodPost, path: purchasePath, token: acct.Token, body: purchaseBody("+14155550101", acct.TeamID, extra)}); r.status != http.StatusOK {
			t.Errorf("purchase with %s: %d %s", extra, r.status, r.raw)
		} else if got := rec.last(t).RequirementGroupID; got != want {
			t.Errorf("purchase with %s: RequirementGroupID %q, want %q", extra, got, want)
		}
	}
}

// TestRequirementGroupIsPartOfTheIdempotencyFingerprint: the same
// Idempotency-Key with another requirement group is another request.
func TestRequirementGroupIsPartOfTheIdempotencyFingerprint(t *testing.T) {
	t.Parallel()
	rec := &purchaseRecorder{}
	e := newEnv(t, withWorkflows(rec))
	acct := e.newAccount("regulated-idem@example.com")
	key := map[string]string{"Idempotency-Key": "key-rg-1"}
	first := e.do(request{method: http.MethodPost, path: purchasePath, token: acct.Token, header: key,
		body: purchaseBody("+14155550101", acct.TeamID, `, "requirementGroupId": "`+groupA+`"`)})
	if first.status != http.StatusOK {
		t.Fatalf("first purchase: %d %s", first.status, first.raw)
	}
	again := e.do(request{method: http.MethodPost, path: purchasePath, token: acct.Token, header: key,
		body: purchaseBody("+14155550101", acct.TeamID, `, "requirementGroupId": "`+groupA+`"`)})
	if again.status != http.StatusOK || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the same request again: %d replayed=%q", again.status, again.header.Get("Idempotent-Replayed"))
	}
	wantError(t, e.do(request{method: http.MethodPost, path: purchasePath, token: acct.Token, header: key,
		body: purchaseBody("+14155550101", acct.TeamID, `, "requirementGroupId": "`+groupB+`"`)}), http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
	wantError(t, e.do(request{method: http.MethodPost, path: purchasePath, token: acct.Token, header: key,
		body: purchaseBody("+14155550101", acct.TeamID, "")}), http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
}

// TestConnectionDefaultAndAllowList: a purchase naming no connection gets
// TELNYX_CONNECTION_ID; with TELNYX_CONNECTION_IDS only those may be named.
func TestConnectionDefaultAndAllowList(t *testing.T) {
	t.Parallel()
	rec := &purchaseRecorder{}
	e := newEnv(t, withWorkflows(rec), withConfig(api.Config{DefaultConnectionID: "conn_default", AllowedConnectionIDs: []string{"conn_default", "conn_fqdn"}}))
	acct := e.newAccount("connections@example.com")
	buy := func(number, extra string) response {
		return e.do(request{method: http.MethodPost, path: purchasePath, token: acct.Token, body: purchaseBody(number, acct.TeamID, extra)})
	}
	for extra, want := range map[string]string{"": "conn_default", `, "connectionId": null`: "conn_default", `, "connectionId": " "`: "conn_default", `, "connectionId": "conn_fqdn"`: "conn_fqdn"} {
		if r := buy("+14155550101", extra); r.status != http.StatusOK {
			t.Fatalf("purchase with %q: %d %s", extra, r.status, r.raw)
		}
		if got := rec.last(t).ConnectionID; got != want {
			t.Errorf("purchase with %q: ConnectionID %q, want %q", extra, got, want)
		}
	}
	before := rec.count()
	for _, bad := range []string{`"conn_other"`, `"conn default"`} {
		wantError(t, buy("+14155550101", `, "connectionId": `+bad), http.StatusBadRequest, "invalid_request", "connectionId")
	}
	if rec.count() != before {
		t.Error("a refused connectionId reached the workflow")
	}

	// Without an allow-list, any well-formed id passes, and none means none.
	open := newEnv(t, withWorkflows(rec))
	acct2 := open.newAccount("connections-open@example.com")
	for extra, want := range map[string]string{"": "", `, "connectionId": "conn_any"`: "conn_any"} {
		if r := open.do(request{method: http.MethodPost, path: purchasePath, token: acct2.Token, body: purchaseBody("+14155550101", acct2.TeamID, extra)}); r.status != http.StatusOK {
			t.Fatalf("purchase with %q: %d %s", extra, r.status, r.raw)
		}
		if got := rec.last(t).ConnectionID; got != want {
			t.Errorf("open: purchase with %q: ConnectionID %q, want %q", extra, got, want)
		}
	}
}

// regulatedStore stands for a store that keeps requirements and failure
// reasons (the columns are the persistence package's): it adds them to
// the records it is told about.
type regulatedStore struct {
	domain.PhoneNumberStore
	requirements map[string]*domain.PendingRequirements
	reasons      map[string]string
}

func (s regulatedStore) List(ctx context.Context, q domain.NumberListQuery) (domain.NumberListPage, error) {
	page, err := s.PhoneNumberStore.List(ctx, q)
	for i := range page.Items {
		page.Items[i].Requirements = s.requirements[page.Items[i].ID]
		page.Items[i].FailureReason = s.reasons[page.Items[i].ID]
	}
	return page, err
}

// TestListShowsRequirementsAndFailureReasons: a pending regulated number
// is listed with what it waits on, a failed one (with includeReleased)
// with why it failed and not what it had waited on (the store keeps
// that); other numbers have neither member.
func TestListShowsRequirementsAndFailureReasons(t *testing.T) {
	t.Parallel()
	store := regulatedStore{requirements: map[string]*domain.PendingRequirements{}, reasons: map[string]string{}}
	e := newEnv(t, withNumbers(func(n domain.PhoneNumberStore) domain.PhoneNumberStore { store.PhoneNumberStore = n; return store }))
	acct := e.newAccount("regulated-list@example.com")
	ctx := t.Context()
	numbers := persistence.NewPhoneNumberStore(e.db)
	create := func(e164 string) domain.PhoneNumber {
		n, err := numbers.CreatePending(ctx, domain.PhoneNumber{ID: domain.NewID(domain.PrefixPhoneNumber), TeamID: acct.TeamID,
			PhoneNumber: e164, Provider: domain.ProviderName, CreatedByUserID: acct.UserID, WorkflowID: "phone-number:" + e164})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waiting := create("+14155550191")
	store.requirements[waiting.ID] = &domain.PendingRequirements{Status: domain.RequirementsUnderReview,
		Missing: []domain.RegulatoryRequirement{{RequirementID: "req_addr", FieldType: "address"}}}
	plain := create("+14155550192")
	failed := create("+14155550193")
	if _, err := numbers.End(ctx, failed.ID, domain.NumberFailed); err != nil {
		t.Fatal(err)
	}
	store.reasons[failed.ID] = "requirements_deadline_passed"
	// What a record may keep that a client must not see: an internal code
	// and a Go error type that crossed Temporal as a failure's type.
	locked, odd, unknown := create("+14155550194"), create("+14155550195"), create("+14155550196")
	if _, err := numbers.End(ctx, unknown.ID, domain.NumberFailed); err != nil {
		t.Fatal(err)
	}
	for n, reason := range map[string]string{locked.ID: domain.CodeDeletionLocked, odd.ID: "*errors.errorString"} {
		if _, err := numbers.End(ctx, n, domain.NumberFailed); err != nil {
			t.Fatal(err)
		}
		store.reasons[n] = reason
	}
	// The store keeps what the failed purchase waited on: not shown.
	store.requirements[failed.ID] = &domain.PendingRequirements{Status: domain.RequirementsInfoPending, Deadline: &regulatedDeadline,
		Missing: []domain.RegulatoryRequirement{{RequirementID: "req_addr", FieldType: "address"}}}

	r := e.do(request{method: http.MethodGet, path: purchasePath + "?includeReleased=true&teamId=" + acct.TeamID, token: acct.Token})
	if r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.raw)
	}
	byID := map[string]map[string]any{}
	for _, it := range r.body["numbers"].([]any) {
		n := it.(map[string]any)
		byID[n["id"].(string)] = n
	}
	req, ok := byID[waiting.ID]["requirements"].(map[string]any)
	if !ok {
		t.Fatalf("the waiting number has no requirements: %s", r.raw)
	}
	if req["status"] != "requirement-info-under-review" || req["deadline"] != nil || len(req["missing"].([]any)) != 1 {
		t.Errorf("requirements %v", req)
	}
	for id, want := range map[string]string{failed.ID: "requirements_deadline_passed", locked.ID: "release_blocked", odd.ID: "internal_error"} {
		if byID[id]["failure_reason"] != want {
			t.Errorf("failed number %s: %v, want failure_reason %s", id, byID[id], want)
		}
	}
	for id, n := range map[string]map[string]any{"plain": byID[plain.ID], "failed": byID[failed.ID]} {
		if _, ok := n["requirements"]; ok {
			t.Errorf("%s number with requirements: %v", id, n)
		}
	}
	for _, id := range []string{waiting.ID, plain.ID, unknown.ID} {
		if _, ok := byID[id]["failure_reason"]; ok {
			t.Errorf("a live number, or a failed one with no reason kept, with a failure_reason: %v", byID[id])
		}
	}
}
