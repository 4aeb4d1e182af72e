package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/api/openapitest"
)

// loadOpenAPI loads api/openapi.json as kin-openapi reads it.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIDocument())
	if err != nil {
		t.Fatalf("loading api/openapi.json: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("api/openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	// What every operation must say.
	ids := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			what := method + " " + path
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s: operationId %q is missing or not unique", what, op.OperationID)
			}
			ids[op.OperationID] = true
			for status, resp := range op.Responses.Map() {
				if status == "default" {
					t.Errorf("%s: a default response would let any status pass; list each one", what)
				}
				if resp.Value.Headers["X-Request-Id"] == nil {
					t.Errorf("%s %s: the answer does not list X-Request-Id", what, status)
				}
				if len(resp.Value.Content) == 0 {
					t.Errorf("%s %s: the answer has no content", what, status)
				}
			}
			// A malformed request (400), headers over the read buffer (431)
			// and a compressed body (415) are refused before routing.
			for _, status := range []string{"200", "400", "415", "431"} {
				if op.Responses.Value(status) == nil && (status != "200" || op.Responses.Value("201") == nil) {
					t.Errorf("%s: no %s answer", what, status)
				}
			}
			public := op.Security != nil && len(*op.Security) == 0
			if wantPublic := !strings.HasPrefix(path, "/api/") || path == "/api/openapi.json" || path == "/api/billing/webhook" || path == "/api/telnyx/webhook"; public != wantPublic {
				t.Errorf("%s: public %v, want %v", what, public, wantPublic)
			}
			if !public && op.Responses.Value("401") == nil {
				t.Errorf("%s: needs a bearer token but lists no 401", what)
			}
		}
	}
}

// TestOpenAPIDocumentCoversEveryRoute fails when a route is added to (or
// removed from) the app without the document following.
func TestOpenAPIDocumentCoversEveryRoute(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}

	srv, err := api.New(withRequiredConfig(api.Config{}), api.Deps{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	routed := map[string]bool{}
	for _, r := range srv.App().GetRoutes(true) {
		if r.Method == http.MethodHead {
			continue // Fiber adds HEAD to every GET route by itself
		}
		routed[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	if len(routed) < 10 {
		t.Fatalf("only %d routes found: %v", len(routed), routed)
	}
	for k := range routed {
		if !documented[k] {
			t.Errorf("route %s is not in api/openapi.json", k)
		}
	}
	for k := range documented {
		if !routed[k] {
			t.Errorf("api/openapi.json documents %s, which the app does not route", k)
		}
	}
}

func TestOpenAPIDocumentIsServedWithoutAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, err := e.http.Get(e.base + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !bytes.Equal(raw, api.OpenAPIDocument()) {
		t.Error("GET /api/openapi.json is not the embedded document")
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil || doc["openapi"] == nil {
		t.Fatalf("not an OpenAPI document: %v", err)
	}
	if err := openapitest.Validate(resp.Request, nil, resp.StatusCode, resp.Header, raw); err != nil {
		t.Error(err)
	}
}

// TestOpenAPIValidationCatchesDrift checks the checker: answers that differ
// from the document are caught.
func TestOpenAPIValidationCatchesDrift(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/healthz", nil)
	h := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req_1"}}
	if err := openapitest.Validate(req, nil, 200, h, []byte(`{"success":true,"status":"ok"}`)); err != nil {
		t.Fatalf("a good answer: %v", err)
	}
	for name, tc := range map[string]struct {
		status int
		header http.Header
		body   string
	}{
		"extra member":        {200, h, `{"success":true,"status":"ok","uptime":3}`},
		"undocumented status": {201, h, `{"success":true,"status":"ok"}`},
		"no request id":       {200, http.Header{"Content-Type": {"application/json"}}, `{"success":true,"status":"ok"}`},
		"wrong type":          {200, h, `{"success":"yes","status":"ok"}`},
	} {
		if err := openapitest.Validate(req, nil, tc.status, tc.header, []byte(tc.body)); err == nil {
			t.Errorf("%s: not caught", name)
		}
	}
	// An undocumented route answered 200 is caught; a 404 is what it should be.
	req, _ = http.NewRequest(http.MethodGet, "http://127.0.0.1/nope", nil)
	if err := openapitest.Validate(req, nil, 200, h, []byte(`{"success":true}`)); err == nil {
		t.Error("an undocumented route answering 200: not caught")
	}
	if err := openapitest.Validate(req, nil, 404, h, []byte(`{"success":false,"error":{"code":"not_found","message":"There is no such endpoint."}}`)); err != nil {
		t.Errorf("an unknown route's 404: %v", err)
	}
	// A request the document calls invalid must not be accepted.
	req, _ = http.NewRequest(http.MethodPost, "http://127.0.0.1/api/phone-numbers/search", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Content-Type", "application/json")
	ok := []byte(`{"success":true,"numbers":[],"provider":"telnyx","count":0}`)
	if err := openapitest.Validate(req, []byte(`{}`), 200, h, ok); err == nil {
		t.Error("a request without filters answered 200: not caught")
	}
	if err := openapitest.Validate(req, []byte(`{"filters":{"countryCode":"US"}}`), 200, h, ok); err != nil {
		t.Errorf("a good search: %v", err)
	}
}
