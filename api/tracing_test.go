package api_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/testkit"
)

// TestRequestsAreServerSpans: every request but the probes is a server
// span named by method and route pattern, the child of the caller's
// traceparent when there is one; no attribute holds a credential, a raw
// path with ids names no span, and the answer carries no trace header.
func TestRequestsAreServerSpans(t *testing.T) {
	t.Parallel()
	tp, spans := testkit.Tracing(t)
	e := newEnv(t, withTracing(api.Tracing{Provider: tp, Propagator: propagation.TraceContext{}}))
	acct := e.newAccount("tracing@example.com")

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	search := `{"filters": {"countryCode": "US", "limit": 1}}`
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(acct.Token+":"))
	for _, r := range []request{
		{method: "GET", path: "/healthz"},
		{method: "GET", path: "/readyz"},
		{method: "POST", path: "/api/phone-numbers/search", token: acct.Token, body: search,
			header: map[string]string{"Traceparent": "00-" + traceID + "-" + parentID + "-01", "X-Request-Id": "req-traced"}},
		{method: "POST", path: "/api/phone-numbers/search", authorization: basic, body: search},
		{method: "DELETE", path: "/api/phone-numbers/purchase/pn_01jtracedidinpath?teamId=" + acct.TeamID, token: acct.Token + "x"},
		{method: "GET", path: "/no-such-endpoint"},
	} {
		resp := e.do(r)
		if resp.header.Get("Traceparent") != "" {
			t.Errorf("%s %s answered with a traceparent", r.method, r.path)
		}
	}

	ended := spans.Ended()
	var names []string
	for _, s := range ended {
		names = append(names, s.Name())
		if s.SpanKind() != trace.SpanKindServer {
			t.Errorf("span %s is a %v span", s.Name(), s.SpanKind())
		}
		if strings.Contains(s.Name(), "pn_01j") || strings.Contains(s.Name(), "?") {
			t.Errorf("span %s is named after the raw path", s.Name())
		}
		for _, a := range s.Attributes() {
			v := a.Value.Emit()
			if strings.Contains(v, acct.Token) || strings.Contains(v, telnyxAPIKey) || strings.Contains(v, "Bearer") || strings.Contains(v, "Basic") {
				t.Errorf("span %s: attribute %s = %q holds a credential", s.Name(), a.Key, v)
			}
		}
	}
	want := []string{"POST /api/phone-numbers/search", "POST /api/phone-numbers/search", "DELETE /api/phone-numbers/purchase/:id", "GET"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Fatalf("spans %q, want %q (the probes untraced)", names, want)
	}

	traced := ended[0]
	if got := traced.SpanContext().TraceID().String(); got != traceID {
		t.Errorf("the traced search is in trace %s, want the caller's %s", got, traceID)
	}
	if got := traced.Parent(); got.SpanID().String() != parentID || !got.IsRemote() {
		t.Errorf("the traced search's parent is %v, want the caller's span %s", got, parentID)
	}
	attrs := map[string]string{}
	for _, a := range traced.Attributes() {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	for k, v := range map[string]string{"http.request.method": "POST", "http.route": "/api/phone-numbers/search", "http.response.status_code": "200",
		"url.path": "/api/phone-numbers/search", "talkturo.request_id": "req-traced"} {
		if attrs[k] != v {
			t.Errorf("the traced search's %s = %q, want %q (all: %v)", k, attrs[k], v, attrs)
		}
	}
	if ended[1].Parent().IsValid() || ended[1].SpanContext().TraceID().String() == traceID {
		t.Errorf("a request without traceparent joined a trace: %v", ended[1].Parent())
	}
	for _, a := range ended[2].Attributes() {
		if a.Key == "http.response.status_code" && a.Value.AsInt64() != http.StatusUnauthorized {
			t.Errorf("the refused release's status is %d", a.Value.AsInt64())
		}
	}
}
