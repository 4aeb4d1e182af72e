package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/testkit"
	"github.com/talkturo/phonenumbers/workflows"
)

// scriptedWorkflows answers each purchase by its number: one number per
// outcome the purchase metric counts.
type scriptedWorkflows struct{}

const (
	numberSuccess     = "+14155550101"
	numberPending     = "+14155550102"
	numberLimit       = "+14155550103"
	numberUnavailable = "+14155550104"
	numberConflict    = "+14155550105"
	numberFailed      = "+14155550106"
	// Errors with codes a handler should never meet (TestNoInternalCodeIsAnswered).
	numberIDTaken      = "+14155550107"
	numberRefused      = "+14155550108"
	numberUnregistered = "+14155550109"
)

func (scriptedWorkflows) Purchase(_ context.Context, req workflows.PurchaseRequest, _ string, _ time.Duration) (temporalclient.PurchaseOutcome, error) {
	elig := domain.Eligibility{CurrentCount: 1, MaxAllowed: 10, HasSubscription: true, PlanName: "Growth"}
	view := workflows.NumberView{ID: "pn_" + req.PhoneNumber[1:], PhoneNumber: req.PhoneNumber, ProviderNumberID: "tx_1", Status: domain.NumberActive}
	switch req.PhoneNumber {
	case numberSuccess:
		return temporalclient.PurchaseOutcome{Result: workflows.PurchaseResult{Number: view, Eligibility: elig}}, nil
	case numberPending:
		view.Status, view.ProviderNumberID = domain.NumberPending, ""
		return temporalclient.PurchaseOutcome{Pending: true, State: workflows.NumberState{TeamID: req.TeamID, Number: view}}, nil
	case numberLimit:
		return temporalclient.PurchaseOutcome{}, &domain.Error{Kind: domain.KindLimit, Code: domain.CodePlanLimitReached, Message: "The team is at its plan's limit.",
			Details: map[string]any{"eligibility": domain.Eligibility{CurrentCount: 10, MaxAllowed: 10, HasSubscription: true, PlanName: "Growth"}}}
	case numberUnavailable:
		return temporalclient.PurchaseOutcome{}, &domain.Error{Kind: domain.KindConflict, Code: domain.CodeNumberUnavailable, Message: "Telnyx no longer has this number."}
	case numberConflict:
		return temporalclient.PurchaseOutcome{}, &domain.Error{Kind: domain.KindConflict, Code: domain.CodeAlreadyOwned, Message: "The team already holds this number."}
	case numberIDTaken:
		return temporalclient.PurchaseOutcome{}, &domain.Error{Kind: domain.KindConflict, Code: domain.CodeNumberIDTaken, Message: "The record id pn_x is another purchase's."}
	case numberRefused:
		return temporalclient.PurchaseOutcome{}, &domain.Error{Kind: domain.KindConflict, Code: domain.CodeReleaseRefused, Message: "Telnyx refused to release the number."}
	case numberUnregistered:
		return temporalclient.PurchaseOutcome{}, &domain.Error{Kind: domain.KindConflict, Code: "made_up_code", Message: "Nobody registered this code."}
	default:
		return temporalclient.PurchaseOutcome{}, &domain.ProviderError{Op: "create order", Class: domain.ProviderServerError, HTTPStatus: 500}
	}
}

func (scriptedWorkflows) Release(context.Context, string, workflows.ReleaseRequest, time.Duration) (workflows.NumberView, bool, error) {
	return workflows.NumberView{}, false, errors.New("not scripted")
}

func (scriptedWorkflows) ReleaseUnwatched(context.Context, domain.PhoneNumber, string, time.Duration) (workflows.NumberView, bool, error) {
	return workflows.NumberView{}, false, errors.New("not scripted")
}

func (scriptedWorkflows) SendBillingEvent(context.Context, workflows.BillingEvent) error {
	return errors.New("not scripted")
}

func (scriptedWorkflows) NotifyOrder(context.Context, workflows.OrderEvent) error {
	return errors.New("not scripted")
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWorkflows(scriptedWorkflows{}))
	acct := e.newAccount("metrics@example.com")

	numbersOf(t, e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch}))
	wantError(t, e.do(request{method: http.MethodPost, path: searchPath, body: seedSearch}), http.StatusUnauthorized, "unauthorized", "")
	wantError(t, e.do(request{method: http.MethodGet, path: "/no/such/page", token: acct.Token}), http.StatusNotFound, "not_found", "")
	wantError(t, e.do(request{method: http.MethodDelete, path: "/api/phone-numbers/purchase/pn_nope?teamId=" + acct.TeamID, token: acct.Token}), http.StatusNotFound, "not_found", "")
	for number, status := range map[string]int{numberSuccess: 200, numberPending: 202, numberLimit: 403, numberUnavailable: 409, numberConflict: 409, numberFailed: 502} {
		r := e.do(request{method: http.MethodPost, path: "/api/phone-numbers/purchase", token: acct.Token,
			body: `{"phoneNumber": "` + number + `", "teamId": "` + acct.TeamID + `"}`})
		if r.status != status {
			t.Errorf("purchase of %s: %d %s, want %d", number, r.status, r.raw, status)
		}
	}
	// Refused before the workflow: not a purchase.
	wantError(t, e.do(request{method: http.MethodPost, path: "/api/phone-numbers/purchase", token: acct.Token,
		body: `{"phoneNumber": "+1415", "teamId": "` + acct.TeamID + `"}`}), http.StatusBadRequest, "invalid_request", "phoneNumber")

	series := scrape(t, e)
	for _, want := range []struct {
		name, labels string
		value        float64
	}{
		{"talkturo_purchases_total", `outcome="success"`, 1},
		{"talkturo_purchases_total", `outcome="pending"`, 1},
		{"talkturo_purchases_total", `outcome="limit"`, 1},
		{"talkturo_purchases_total", `outcome="unavailable"`, 1},
		{"talkturo_purchases_total", `outcome="conflict"`, 1},
		{"talkturo_purchases_total", `outcome="failed"`, 1},
		{"talkturo_http_requests_total", `method="POST",route="/api/phone-numbers/search",status="200"`, 1},
		// Refused by the /api group's authentication: still the route's pattern.
		{"talkturo_http_requests_total", `method="POST",route="/api/phone-numbers/search",status="401"`, 1},
		{"talkturo_http_requests_total", `method="GET",route="unmatched",status="404"`, 1},
		{"talkturo_http_requests_total", `method="DELETE",route="/api/phone-numbers/purchase/:id",status="404"`, 1},
		{"talkturo_http_requests_total", `method="POST",route="/api/phone-numbers/purchase",status="200"`, 1},
		{"talkturo_http_requests_total", `method="POST",route="/api/phone-numbers/purchase",status="202"`, 1},
		{"talkturo_http_requests_total", `method="POST",route="/api/phone-numbers/purchase",status="403"`, 1},
		{"talkturo_http_requests_total", `method="POST",route="/api/phone-numbers/purchase",status="409"`, 2},
		{"talkturo_http_requests_total", `method="POST",route="/api/phone-numbers/purchase",status="502"`, 1},
		{"talkturo_http_requests_total", `method="POST",route="/api/phone-numbers/purchase",status="400"`, 1},
		{"talkturo_http_request_duration_seconds_count", `method="POST",route="/api/phone-numbers/search"`, 2},
		{"talkturo_http_request_duration_seconds_count", `method="POST",route="/api/phone-numbers/purchase"`, 7},
		{"talkturo_telnyx_requests_total", `operation="search",outcome="ok"`, 1},
	} {
		key := want.name + "{" + want.labels + "}"
		got, ok := series[key]
		if !ok {
			t.Errorf("no series %s", key)
		} else if got != want.value {
			t.Errorf("%s = %v, want %v", key, got, want.value)
		}
	}
	if _, ok := series["go_goroutines"]; !ok {
		t.Error("the Go runtime's metrics are missing")
	}
	for key := range series {
		if strings.Contains(key, "pn_nope") || strings.Contains(key, "/no/such/page") {
			t.Errorf("a raw path became a label: %s", key)
		}
	}
}

// TestNoMetricsOnTheAPIPort: /metrics is the process's, on METRICS_ADDR;
// the API's port (the one the internet reaches) does not serve it.
func TestNoMetricsOnTheAPIPort(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wantError(t, e.do(request{method: http.MethodGet, path: "/metrics"}), http.StatusNotFound, "not_found", "")
	if got := scrape(t, e)[`talkturo_http_requests_total{method="GET",route="unmatched",status="404"}`]; got != 1 {
		t.Errorf("GET /metrics on the API port counted %v times as unmatched, want 1", got)
	}
}

// scrape reads the server's registry, as METRICS_ADDR serves it, into
// name{labels} → value.
func scrape(t *testing.T, e *env) map[string]float64 {
	t.Helper()
	srv := testkit.Serve(t, promhttp.HandlerFor(e.registry, promhttp.HandlerOpts{Registry: e.registry}))
	resp, err := e.http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(raw), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("unreadable metrics line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}
