package api_test

// Fuzz targets for the decoding and validation of every endpoint: whatever
// the body, path, query or header, the API answers a 2xx or a 4xx with the
// JSON error body, never a 5xx, never a panic, never a leak, and always
// what api/openapi.json says. The seed corpora are in testdata/fuzz; with
// plain `go test` they run as ordinary tests.
//
// Inputs may hold placeholders that the target replaces before sending, so
// that committed seeds reach past authentication although every run makes
// fresh ids: {team} (the caller's team), {otherTeam} (a team the caller is
// not in), {active} and {pending} (numbers of {team}), {assistant} (an
// assistant of {team}), {token} (the caller's API token). The billing
// signature target also knows {t} (the current Unix time) and {v1} (the
// valid signature of the body at {t}).

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/api/openapitest"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/workflows"
)

const fuzzBillingSecret = "whsec_fuzz_only"

// fuzzTelnyxKey signs the Telnyx webhook's deliveries in the fuzz targets.
var fuzzTelnyxKey = ed25519.NewKeyFromSeed([]byte("fuzz-only-telnyx-webhook-seed-32"))

// fuzzWorkflows stands for the number workflows: the targets check the
// HTTP layer, so every call answers at once and the same way for the same
// input. A purchase's outcome is chosen by the number's last digit.
type fuzzWorkflows struct{}

func (fuzzWorkflows) Purchase(_ context.Context, req workflows.PurchaseRequest, _ string, _ time.Duration) (temporalclient.PurchaseOutcome, error) {
	view := workflows.NumberView{ID: "pn_fuzz", PhoneNumber: req.PhoneNumber, ProviderNumberID: "tx_fuzz", Status: domain.NumberActive}
	switch req.PhoneNumber[len(req.PhoneNumber)-1] {
	case '2':
		view.Status, view.ProviderNumberID = domain.NumberPending, ""
		return temporalclient.PurchaseOutcome{Pending: true, State: workflows.NumberState{TeamID: req.TeamID, Number: view}}, nil
	case '3':
		return temporalclient.PurchaseOutcome{}, &domain.Error{Kind: domain.KindLimit, Code: domain.CodePlanLimitReached, Message: "The team is at its plan's limit.",
			Details: map[string]any{"eligibility": domain.Eligibility{CurrentCount: 10, MaxAllowed: 10, HasSubscription: true, PlanName: "Growth"}}}
	case '4':
		return temporalclient.PurchaseOutcome{}, &domain.Error{Kind: domain.KindConflict, Code: domain.CodeNumberUnavailable, Message: "Telnyx no longer has this number."}
	case '5':
		return temporalclient.PurchaseOutcome{}, &domain.Error{Kind: domain.KindConflict, Code: domain.CodeAlreadyOwned, Message: "The team already holds this number."}
	}
	elig := domain.Eligibility{CurrentCount: 1, MaxAllowed: 10, HasSubscription: true, PlanName: "Growth"}
	return temporalclient.PurchaseOutcome{Result: workflows.PurchaseResult{Number: view, Eligibility: elig}}, nil
}

// Release leaves the record as it is (the answer must not depend on
// earlier inputs), so it reports the release as still in progress: a
// release reported done while the record is live would be a 503.
func (fuzzWorkflows) Release(_ context.Context, e164 string, _ workflows.ReleaseRequest, _ time.Duration) (workflows.NumberView, bool, error) {
	return workflows.NumberView{PhoneNumber: e164, Status: domain.NumberActive}, true, nil
}

// ReleaseUnwatched answers as a purchase still running would.
func (fuzzWorkflows) ReleaseUnwatched(context.Context, domain.PhoneNumber, string, time.Duration) (workflows.NumberView, bool, error) {
	return workflows.NumberView{}, false, temporalclient.ErrNumberWorkflowRunning
}

func (fuzzWorkflows) SendBillingEvent(context.Context, workflows.BillingEvent) error { return nil }

func (fuzzWorkflows) NotifyOrder(context.Context, workflows.OrderEvent) error { return nil }

// fuzzEnv is one API server per fuzz process (each fuzzing worker builds
// its own), with the data the placeholders name.
type fuzzEnv struct {
	*env
	acct         account
	placeholders *strings.Replacer
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	e := newEnv(f, withWorkflows(fuzzWorkflows{}), withConfig(api.Config{BillingSecret: fuzzBillingSecret, TelnyxPublicKey: fuzzTelnyxKey.Public().(ed25519.PublicKey)}))
	// No request may wait on a dead connection for long: a hang is a
	// finding too, and it must not stall the fuzzer.
	e.http.Timeout = 10 * time.Second
	acct := e.newAccount("fuzz@example.com")
	other := e.newAccount("other@example.com")

	ctx := f.Context()
	numbers := persistence.NewPhoneNumberStore(e.db)
	newNumber := func(e164 string, activate bool) domain.PhoneNumber {
		n, err := numbers.CreatePending(ctx, domain.PhoneNumber{ID: domain.NewID(domain.PrefixPhoneNumber), TeamID: acct.TeamID,
			PhoneNumber: e164, Provider: domain.ProviderName, CreatedByUserID: acct.UserID, WorkflowID: "phone-number:" + e164})
		if err != nil {
			f.Fatalf("creating %s: %v", e164, err)
		}
		if activate {
			if n, err = numbers.Activate(ctx, domain.ActivateNumber{ID: n.ID, ProviderNumberID: "tx_" + e164[1:]}); err != nil {
				f.Fatalf("activating %s: %v", e164, err)
			}
		}
		return n
	}
	active := newNumber("+14155550181", true)
	pending := newNumber("+14155550182", false)
	asst, err := persistence.NewAssistantStore(e.db).CreateAssistant(ctx, domain.Assistant{ID: domain.NewID(domain.PrefixAssistant), TeamID: acct.TeamID, Name: "Sales Agent"})
	if err != nil {
		f.Fatalf("creating the assistant: %v", err)
	}
	return &fuzzEnv{env: e, acct: acct, placeholders: strings.NewReplacer(
		"{team}", acct.TeamID,
		"{otherTeam}", other.TeamID,
		"{active}", active.ID,
		"{pending}", pending.ID,
		"{assistant}", asst.ID,
		"{token}", acct.Token,
	)}
}

// fill replaces the placeholders.
func (fe *fuzzEnv) fill(s string) string { return fe.placeholders.Replace(s) }

// fuzzRequest is one request of a fuzz exec, placeholders already filled.
type fuzzRequest struct {
	method string
	// path is escaped already; rawQuery is sent as is (see queryOf).
	path, rawQuery string
	body           []byte
	// authorization replaces the bearer token of the caller when not nil.
	authorization *string
	header        map[string]string
	// headers are added after header, every value a line of its own.
	headers http.Header
}

// do sends r and checks what every answer must be, failing t otherwise.
// It returns the answer's status and error code ("" on success; 0 and ""
// when there is no answer to check).
func (fe *fuzzEnv) do(t *testing.T, r fuzzRequest) (int, string) {
	t.Helper()
	fe.logs.Drain()
	target := fe.base + r.path
	if r.rawQuery != "" {
		target += "?" + r.rawQuery
	}
	req, err := http.NewRequestWithContext(t.Context(), r.method, target, bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("building %s %s: %v", r.method, target, err)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.authorization != nil {
		req.Header.Set("Authorization", *r.authorization)
	} else {
		req.Header.Set("Authorization", "Bearer "+fe.acct.Token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	for k, vs := range r.headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	what := func() string {
		return r.method + " " + r.path + "?" + r.rawQuery + " " + strconv.Quote(string(r.body)) + " headers " + headerString(req.Header)
	}
	resp, err := fe.http.Do(req)
	if err != nil {
		if fe.headTooLarge(req) && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
			// fasthttp answers a head larger than its read buffer with a 431
			// and closes at once, without reading the rest: the client may
			// get the reset instead of the answer. A transport limit, not
			// the decoding under test.
			return 0, ""
		}
		t.Fatalf("%s: %v\nserver log:\n%s", what(), err, fe.logs.Drain())
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: reading the answer: %v", what(), err)
	}
	return fe.check(t, req, r.body, resp, raw, what())
}

// check fails t unless resp (whose body is raw) is what every answer to
// req (whose body is reqBody) must be. It returns the status and the error
// code.
func (fe *fuzzEnv) check(t *testing.T, req *http.Request, reqBody []byte, resp *http.Response, raw []byte, what string) (int, string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nanswer %d %s\n%s\nserver log:\n%s", what, resp.StatusCode, raw, fmt.Sprintf(format, args...), fe.logs.Drain())
	}
	if resp.StatusCode >= 500 {
		fail("a 5xx")
	}
	if resp.Header.Get("X-Request-Id") == "" {
		fail("no X-Request-Id")
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		fail("Content-Type %q, want application/json", ct)
	}
	var body map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || body == nil {
		fail("not a JSON object: %v", err)
	}
	success, ok := body["success"].(bool)
	if !ok || success != (resp.StatusCode < 300) {
		fail("success is %v (%T)", body["success"], body["success"])
	}
	if !success {
		if resp.StatusCode < 400 {
			fail("a failure with a status below 400")
		}
		e, ok := body["error"].(map[string]any)
		if !ok {
			fail("a failure without an error object")
		}
		for _, k := range []string{"code", "message"} {
			if s, _ := e[k].(string); s == "" {
				fail("error.%s is not a non-empty string", k)
			}
		}
		if f, ok := e["field"]; ok {
			if s, _ := f.(string); s == "" {
				fail("error.field is not a non-empty string")
			}
		}
	}
	// Only failures are searched: a success holds data (random ids such as
	// asst_…pgx…, names the client chose), a failure only our words.
	if leak := leakIn(string(raw), what); !success && leak != "" {
		fail("the answer shows %q", leak)
	}
	if err := openapitest.Validate(req, reqBody, resp.StatusCode, resp.Header, raw); err != nil {
		fail("%v", err)
	}
	code := ""
	if e, ok := body["error"].(map[string]any); ok {
		code, _ = e["code"].(string)
	}
	return resp.StatusCode, code
}

// headTooLarge reports whether req's head (request line and headers) may
// not fit the server's read buffer, counting generously for what net/http
// adds (Host, User-Agent, Content-Length, Accept-Encoding).
func (fe *fuzzEnv) headTooLarge(req *http.Request) bool {
	n := len(req.Method) + len(req.URL.RequestURI()) + 512
	for k, vs := range req.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n > fe.srv.App().Config().ReadBufferSize
}

// leakIn returns what a client must never see (a stack trace, SQL, the
// provider's key) in an answer, unless the request itself holds it: the
// API quotes a refused value back, and the fuzzer may well send "panic".
func leakIn(answer, request string) string {
	answer, request = strings.ToLower(answer), strings.ToLower(request)
	for _, bad := range []string{"goroutine ", ".go:", "runtime/", "panic", "sql", "select ", "gorm", "pgx", "postgres", strings.ToLower(telnyxAPIKey)} {
		if strings.Contains(answer, bad) && !strings.Contains(request, bad) {
			return bad
		}
	}
	return ""
}

func headerString(h http.Header) string {
	var sb strings.Builder
	for _, k := range []string{"Authorization", "Idempotency-Key", "Talkturo-Signature", "Telnyx-Signature-Ed25519", "Telnyx-Timestamp", "Content-Encoding"} {
		for _, v := range h.Values(k) {
			sb.WriteString(k + ": " + strconv.Quote(v) + "; ")
		}
	}
	return sb.String()
}

// headerValue makes s a header value as the API receives it: without
// control characters (except tab), which net/http refuses to send, and
// without the spaces and tabs around it, which are not part of a field
// value (RFC 9110, section 5.5) and which the server strips.
func headerValue(s string) string {
	return strings.Trim(strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return -1
		}
		return r
	}, s), " \t")
}

// queryOf makes s a query string net/http sends as is: bytes that cannot
// appear in a request line (spaces, controls, '#', non-ASCII) are
// percent-encoded; everything else, '%', '&', '=' and ';' included, is
// left for the API to make sense of.
func queryOf(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > 0x20 && c < 0x7f && c != '#' && c != '"' && c != '<' && c != '>' && c != '\\' && c != '^' && c != '`' && c != '{' && c != '|' && c != '}' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return sb.String()
}

// pathOf is a path parameter, escaped as a client library would.
func pathOf(s string) string { return url.PathEscape(s) }

// fuzzBody fuzzes the body of method path.
func fuzzBody(f *testing.F, method, path string) {
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fe.do(t, fuzzRequest{method: method, path: path, body: []byte(fe.fill(string(body)))})
	})
}

// fuzzQuery fuzzes the query string of method path.
func fuzzQuery(f *testing.F, method, path string) {
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, query string) {
		fe.do(t, fuzzRequest{method: method, path: path, rawQuery: queryOf(fe.fill(query))})
	})
}

// fuzzIDAndQuery fuzzes the id in method path (its {id}) and the query
// string.
func fuzzIDAndQuery(f *testing.F, method, path string) {
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, id, query string) {
		fe.do(t, fuzzRequest{method: method, path: strings.Replace(path, "{id}", pathOf(fe.fill(id)), 1), rawQuery: queryOf(fe.fill(query))})
	})
}

func FuzzSearch(f *testing.F) { fuzzBody(f, http.MethodPost, "/api/phone-numbers/search") }

// FuzzPurchase sends the body with idempotencyKey as the Idempotency-Key
// header, or without the header when it is empty.
func FuzzPurchase(f *testing.F) {
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte, idempotencyKey string) {
		r := fuzzRequest{method: http.MethodPost, path: "/api/phone-numbers/purchase", body: []byte(fe.fill(string(body)))}
		if key := headerValue(idempotencyKey); key != "" {
			r.header = map[string]string{"Idempotency-Key": key}
		}
		fe.do(t, r)
	})
}

func FuzzListNumbers(f *testing.F) { fuzzQuery(f, http.MethodGet, "/api/phone-numbers/purchase") }

func FuzzReleaseNumber(f *testing.F) {
	fuzzIDAndQuery(f, http.MethodDelete, "/api/phone-numbers/purchase/{id}")
}

func FuzzAssignAssistant(f *testing.F) {
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		fe.do(t, fuzzRequest{method: http.MethodPut, path: "/api/phone-numbers/purchase/" + pathOf(fe.fill(id)) + "/assistant", body: []byte(fe.fill(string(body)))})
	})
}

func FuzzUnassignAssistant(f *testing.F) {
	fuzzIDAndQuery(f, http.MethodDelete, "/api/phone-numbers/purchase/{id}/assistant")
}

func FuzzCreateAssistant(f *testing.F) { fuzzBody(f, http.MethodPost, "/api/assistants") }

func FuzzListAssistants(f *testing.F) { fuzzQuery(f, http.MethodGet, "/api/assistants") }

// FuzzAuthorization fuzzes the Authorization header of an authenticated
// endpoint.
func FuzzAuthorization(f *testing.F) {
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, authorization string) {
		a := headerValue(fe.fill(authorization))
		fe.do(t, fuzzRequest{method: http.MethodGet, path: "/api/assistants", rawQuery: "teamId=" + url.QueryEscape(fe.acct.TeamID), authorization: &a})
	})
}

// FuzzBillingWebhook fuzzes the body of the billing webhook, signed as a
// billing system signs it, so it gets past the signature.
func FuzzBillingWebhook(f *testing.F) {
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		b := []byte(fe.fill(string(body)))
		sig := api.SignBillingEvent(b, fuzzBillingSecret, time.Now())
		fe.do(t, fuzzRequest{method: http.MethodPost, path: "/api/billing/webhook", body: b,
			header: map[string]string{"Talkturo-Signature": sig}})
	})
}

// FuzzBillingSignature fuzzes the Talkturo-Signature header, where {t} is
// now and {v1} the valid signature of the body at now.
func FuzzBillingSignature(f *testing.F) {
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, signature string, body []byte) {
		b := []byte(fe.fill(string(body)))
		now := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(fuzzBillingSecret))
		mac.Write([]byte(now + "."))
		mac.Write(b)
		sig := strings.NewReplacer("{t}", now, "{v1}", hex.EncodeToString(mac.Sum(nil))).Replace(headerValue(signature))
		fe.do(t, fuzzRequest{method: http.MethodPost, path: "/api/billing/webhook", body: b,
			header: map[string]string{"Talkturo-Signature": sig}})
	})
}

// FuzzTelnyxWebhook fuzzes the body of the Telnyx webhook, signed as
// Telnyx signs it, so it gets past the signature.
func FuzzTelnyxWebhook(f *testing.F) {
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		b := []byte(fe.fill(string(body)))
		ts, sig := api.SignTelnyxWebhook(fuzzTelnyxKey, b, time.Now())
		fe.do(t, fuzzRequest{method: http.MethodPost, path: "/api/telnyx/webhook", body: b,
			header: map[string]string{"telnyx-timestamp": ts, "telnyx-signature-ed25519": sig}})
	})
}

// FuzzTelnyxSignature fuzzes the Telnyx webhook's signature headers, where
// {t} is now and {sig} the valid signature of the body at now.
func FuzzTelnyxSignature(f *testing.F) {
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, timestamp, signature string, body []byte) {
		b := []byte(fe.fill(string(body)))
		now, sig := api.SignTelnyxWebhook(fuzzTelnyxKey, b, time.Now())
		fill := strings.NewReplacer("{t}", now, "{sig}", sig)
		fe.do(t, fuzzRequest{method: http.MethodPost, path: "/api/telnyx/webhook", body: b,
			header: map[string]string{"telnyx-timestamp": fill.Replace(headerValue(timestamp)), "telnyx-signature-ed25519": fill.Replace(headerValue(signature))}})
	})
}
