package telnyx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit"
)

const testKey = "KEY0123-test-secret-do-not-leak"

// simClient starts the simulator behind a real HTTP server, with a handler
// wrapped around it when wrap is not nil, and returns a client for it.
func simClient(t *testing.T, opts telnyxsim.Options, wrap func(http.Handler) http.Handler, cfg Config) (*Client, *telnyxsim.Simulator) {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	sim := telnyxsim.New(opts)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	cfg.BaseURL = testkit.Serve(t, h).URL + "/v2"
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 20 * time.Millisecond
	}
	return mustNew(t, cfg), sim
}

// mustNew is New, failing the test on an error.
func mustNew(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// firstAnswer is a wrap for simClient that answers the first request with
// answer and passes the later ones to the simulator; calls counts them
// all.
func firstAnswer(calls *atomic.Int32, answer func(http.ResponseWriter)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				answer(w)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// recorder counts and keeps the requests that pass through it.
type recorder struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
}

func (rec *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec.mu.Lock()
		rec.requests = append(rec.requests, r.Clone(context.Background()))
		rec.bodies = append(rec.bodies, body)
		rec.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.requests)
}

func (rec *recorder) last() *http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.requests[len(rec.requests)-1]
}

func providerError(t *testing.T, err error) *domain.ProviderError {
	t.Helper()
	var pe *domain.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("want a *domain.ProviderError, got %T: %v", err, err)
	}
	return pe
}

func TestSearchAvailableAgainstSimulator(t *testing.T) {
	rec := &recorder{}
	c, _ := simClient(t, telnyxsim.Options{}, rec.wrap, Config{})
	ctx := context.Background()

	got, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", AreaCode: "415", NumberType: domain.NumberTypeLocal,
		Limit: 5, Features: []string{"sms", "voice"}, Locality: "San Francisco", AdministrativeArea: "CA", EndsWith: "7"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("got %d numbers", len(got))
	}
	for _, n := range got {
		if !strings.HasPrefix(n.PhoneNumber, "+1415") || !strings.HasSuffix(n.PhoneNumber, "7") ||
			n.MonthlyPrice != "1.00" || n.SetupPrice != "1.00" || n.Currency != "USD" || n.BestEffort ||
			n.Locality != "San Francisco" || n.Region != "CA" || !slices.Equal(n.Features, []string{"voice", "sms", "mms"}) {
			t.Errorf("mapped %+v", n)
		}
	}

	r := rec.last()
	q := r.URL.Query()
	for k, want := range map[string]string{
		"filter[country_code]":              "US",
		"filter[national_destination_code]": "415",
		"filter[phone_number_type]":         "local",
		"filter[limit]":                     "5",
		"filter[locality]":                  "San Francisco",
		"filter[administrative_area]":       "CA",
		"filter[phone_number][ends_with]":   "7",
		"filter[phone_number][starts_with]": "",
		"filter[phone_number][contains]":    "",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// One comma-separated value, as Telnyx's SDK sends it.
	if feats := q["filter[features]"]; !slices.Equal(feats, []string{"sms,voice"}) || q.Has("filter[features][]") {
		t.Errorf("features sent as %v", q)
	}
	if r.Header.Get("Authorization") != "Bearer "+testKey || r.Header.Get("Accept") != "application/json" ||
		r.Header.Get("User-Agent") != "talkturo-phonenumbers" {
		t.Errorf("headers: %v", r.Header)
	}

	// Our "toll-free" must reach Telnyx as "toll_free" (the simulator
	// refuses the hyphen, as Telnyx does).
	tf, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", NumberType: domain.NumberTypeTollFree, Limit: 3})
	if err != nil || len(tf) != 3 {
		t.Fatalf("toll-free: %v, %v", tf, err)
	}
	if rec.last().URL.Query().Get("filter[phone_number_type]") != "toll_free" || tf[0].MonthlyPrice != "2.00" {
		t.Errorf("toll-free sent as %q, got %+v", rec.last().URL.Query().Get("filter[phone_number_type]"), tf[0])
	}

	// An unknown country is Telnyx's 422, not retried.
	before := rec.count()
	_, err = c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "XX"})
	if pe := providerError(t, err); pe.Class != domain.ProviderRejected || pe.HTTPStatus != 422 || pe.Op != "search" || pe.Pointer != "filter[country_code]" {
		t.Errorf("unknown country: %+v", pe)
	}
	if rec.count() != before+1 {
		t.Errorf("a 422 was retried")
	}
}

func TestOrderThenGetThenFindByReference(t *testing.T) {
	clock := testkit.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	c, sim := simClient(t, telnyxsim.Options{OrderLatency: 30 * time.Second, Clock: clock.Now}, nil, Config{})
	ctx := context.Background()
	nums, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", AreaCode: "212", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	ref := "phone-number:" + nums[0].PhoneNumber

	order, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: nums[0].PhoneNumber, ConnectionID: "conn-1", CustomerReference: ref})
	if err != nil {
		t.Fatal(err)
	}
	if order.ID == "" || order.Status != domain.OrderPending || order.CustomerReference != ref || order.ConnectionID != "conn-1" ||
		len(order.Numbers) != 1 || order.Numbers[0].PhoneNumber != nums[0].PhoneNumber || order.Numbers[0].Status != domain.OrderPending ||
		order.CreatedAt.IsZero() {
		t.Errorf("created: %+v", order)
	}

	clock.Advance(30 * time.Second)
	got, err := c.GetOrder(ctx, order.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != order.ID || got.Status != domain.OrderSuccess || got.Numbers[0].Status != domain.OrderSuccess || !got.UpdatedAt.After(got.CreatedAt) {
		t.Errorf("settled: %+v", got)
	}

	found, err := c.FindOrdersByCustomerReference(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].ID != order.ID || found[0].Status != domain.OrderSuccess {
		t.Errorf("found: %+v", found)
	}
	if none, err := c.FindOrdersByCustomerReference(ctx, "no-such-reference"); err != nil || len(none) != 0 {
		t.Errorf("unknown reference: %v, %v", none, err)
	}
	if sim.OrderCount(ref) != 1 {
		t.Errorf("simulator counted %d orders", sim.OrderCount(ref))
	}

	_, err = c.GetOrder(ctx, "00000000-0000-4000-8000-000000000000")
	if pe := providerError(t, err); pe.Class != domain.ProviderRejected || !pe.NotFound() || pe.Op != "get_order" {
		t.Errorf("unknown order: %+v", pe)
	}
}

func TestListOwnedAndReleaseTwice(t *testing.T) {
	c, sim := simClient(t, telnyxsim.Options{}, nil, Config{})
	ctx := context.Background()
	nums, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range nums {
		if _, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: n.PhoneNumber, CustomerReference: "ref-" + string(rune('a'+i))}); err != nil {
			t.Fatal(err)
		}
	}

	all, err := c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PageSize: 2, PageNumber: 2})
	if err != nil || len(all) != 1 || all[0].PhoneNumber != nums[2].PhoneNumber {
		t.Fatalf("page 2 of 2: %+v, %v", all, err)
	}
	owned, err := c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: nums[1].PhoneNumber, Status: "active", CustomerReference: "ref-b"})
	if err != nil || len(owned) != 1 {
		t.Fatalf("filtered: %+v, %v", owned, err)
	}
	o := owned[0]
	if o.ID == "" || o.PhoneNumber != nums[1].PhoneNumber || o.Status != "active" || o.CustomerReference != "ref-b" || o.CreatedAt.IsZero() || o.DeletionLockEnabled {
		t.Errorf("owned: %+v", o)
	}

	if err := c.ReleaseNumber(ctx, o.ID); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := c.ReleaseNumber(ctx, o.ID); err != nil {
		t.Fatalf("releasing twice must succeed: %v", err)
	}
	if slices.Contains(sim.OwnedNumbers(), o.PhoneNumber) {
		t.Errorf("still owned after release")
	}
	if left, _ := c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: o.PhoneNumber}); len(left) != 0 {
		t.Errorf("still listed: %+v", left)
	}

	_, err = c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PageSize: 500})
	if pe := providerError(t, err); pe.Class != domain.ProviderRejected || pe.HTTPStatus != 400 || pe.Pointer != "page[size]" {
		t.Errorf("page size 500: %+v", pe)
	}
}

func TestReleaseWithDeletionLockIsRejected(t *testing.T) {
	rec := &recorder{}
	c, sim := simClient(t, telnyxsim.Options{}, rec.wrap, Config{})
	ctx := context.Background()
	nums, _ := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", Limit: 1})
	if _, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: nums[0].PhoneNumber, CustomerReference: "ref-lock"}); err != nil {
		t.Fatal(err)
	}
	owned, _ := c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{CustomerReference: "ref-lock"})
	sim.DeletionLock(nums[0].PhoneNumber, true)

	before := rec.count()
	err := c.ReleaseNumber(ctx, owned[0].ID)
	pe := providerError(t, err)
	if pe.Class != domain.ProviderRejected || pe.Retryable() || pe.HTTPStatus != 422 {
		t.Errorf("locked release: %+v", pe)
	}
	if rec.count() != before+1 {
		t.Errorf("a deletion lock was retried")
	}
	// Telnyx documents no error code for the lock: the number itself tells.
	n, err := c.GetOwnedNumber(ctx, owned[0].ID)
	if err != nil || !n.DeletionLockEnabled || n.Status != domain.OwnedActive || n.PhoneNumber != nums[0].PhoneNumber {
		t.Errorf("locked number read back: %+v, %v", n, err)
	}
}

func TestOrderOfSoldNumberIsRejected(t *testing.T) {
	c, sim := simClient(t, telnyxsim.Options{}, nil, Config{})
	ctx := context.Background()
	nums, _ := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", Limit: 1})
	sim.MarkSold(nums[0].PhoneNumber)

	_, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: nums[0].PhoneNumber, CustomerReference: "ref-sold"})
	pe := providerError(t, err)
	if pe.Class != domain.ProviderRejected || pe.HTTPStatus != 422 || pe.Code != telnyxsim.CodeBadRequest ||
		pe.Title != "Number not available" || pe.Pointer != "/phone_numbers/0/phone_number" || pe.Op != "create_order" {
		t.Errorf("sold: %+v", pe)
	}
	if sim.OrderCount("ref-sold") != 0 {
		t.Errorf("refused order counted")
	}
}

func TestRateLimitIsRetriedThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	limitOnce := firstAnswer(&calls, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "1")
		w.Header().Set("X-Ratelimit-Reset", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"errors":[{"code":"10011","title":"Too many requests"}]}`))
	})
	// MaxBackoff caps the one-second Retry-After so the test stays fast.
	c, _ := simClient(t, telnyxsim.Options{}, limitOnce, Config{MaxBackoff: 50 * time.Millisecond})
	start := time.Now()
	got, err := c.SearchAvailable(context.Background(), domain.SearchFilter{CountryCode: "US", Limit: 2})
	if err != nil || len(got) != 2 {
		t.Fatalf("%v, %v", got, err)
	}
	if calls.Load() != 2 {
		t.Errorf("%d calls, want 2", calls.Load())
	}
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond || elapsed > time.Second {
		t.Errorf("waited %v, want the capped Retry-After of 50ms", elapsed)
	}
}

func TestRateLimitFromSimulatorFaults(t *testing.T) {
	c, _ := simClient(t, telnyxsim.Options{Faults: telnyxsim.Faults{RateLimitRate: 1}}, nil, Config{MaxRetries: -1})
	err := c.Ping(context.Background())
	pe := providerError(t, err)
	if pe.Class != domain.ProviderRateLimited || pe.HTTPStatus != 429 || pe.RetryAfter != time.Second || pe.Code != "10011" || !pe.Retryable() {
		t.Errorf("429: %+v", pe)
	}
}

// timedPing pings under a deadline of d from now (none when d is 0) and
// says how long the ping took.
func timedPing(c *Client, d time.Duration) (time.Duration, error) {
	ctx := context.Background()
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	start := time.Now()
	err := c.Ping(ctx)
	return time.Since(start), err
}

func TestRetryAfterPastDeadlineReturnsNow(t *testing.T) {
	var calls atomic.Int32
	always429 := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		})
	}
	c, _ := simClient(t, telnyxsim.Options{}, always429, Config{MaxBackoff: time.Minute})
	elapsed, err := timedPing(c, 500*time.Millisecond)
	if elapsed > 300*time.Millisecond {
		t.Errorf("slept %v although the wait would pass the deadline", elapsed)
	}
	if pe := providerError(t, err); pe.Class != domain.ProviderRateLimited || pe.RetryAfter != 30*time.Second {
		t.Errorf("got %+v", pe)
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls, want 1", calls.Load())
	}
}

// TestPersistentServerErrorIsRetriedOnlyWhereSafe: a 5xx that does not
// go away is tried MaxRetries+1 times by a listing, and once by an order,
// which the failed attempt may have placed.
func TestPersistentServerErrorIsRetriedOnlyWhereSafe(t *testing.T) {
	for _, tc := range []struct {
		op         string
		call       func(*Client) error
		maxRetries int
		attempts   int
	}{
		{"list_numbers", func(c *Client) error {
			_, err := c.ListOwnedNumbers(context.Background(), domain.OwnedNumberFilter{})
			return err
		}, 2, 3},
		{"create_order", func(c *Client) error {
			_, err := c.CreateOrder(context.Background(), domain.OrderRequest{PhoneNumber: "+14155550123", CustomerReference: "ref-once"})
			return err
		}, 5, 1},
	} {
		rec := &recorder{}
		c, sim := simClient(t, telnyxsim.Options{Faults: telnyxsim.Faults{ErrorRate: 1}}, rec.wrap, Config{MaxRetries: tc.maxRetries})
		pe := providerError(t, tc.call(c))
		if pe.Class != domain.ProviderServerError || (pe.HTTPStatus != 500 && pe.HTTPStatus != 503) || pe.Op != tc.op || pe.Code != "10007" {
			t.Errorf("%s: got %+v", tc.op, pe)
		}
		if rec.count() != tc.attempts || sim.OrderCount("ref-once") != 0 {
			t.Errorf("%s: %d attempts, %d orders; want %d attempts, no order", tc.op, rec.count(), sim.OrderCount("ref-once"), tc.attempts)
		}
	}
}

func TestHangingServerTimesOut(t *testing.T) {
	c, _ := simClient(t, telnyxsim.Options{Faults: telnyxsim.Faults{TimeoutRate: 1}}, nil, Config{Timeout: 200 * time.Millisecond, MaxRetries: -1})
	elapsed, err := timedPing(c, 0)
	pe := providerError(t, err)
	if pe.Class != domain.ProviderTimeout || !pe.Retryable() {
		t.Errorf("got %+v", pe)
	}
	if elapsed < 200*time.Millisecond || elapsed > 700*time.Millisecond {
		t.Errorf("gave up after %v, want about 200ms", elapsed)
	}
}

func TestRetriesStopAtTheCallersDeadline(t *testing.T) {
	c, _ := simClient(t, telnyxsim.Options{Faults: telnyxsim.Faults{TimeoutRate: 1}}, nil, Config{Timeout: 200 * time.Millisecond, MaxRetries: 5})
	elapsed, err := timedPing(c, 300*time.Millisecond)
	if elapsed > 800*time.Millisecond {
		t.Errorf("ran %v past a 300ms deadline", elapsed)
	}
	if pe := providerError(t, err); pe.Class != domain.ProviderTimeout {
		t.Errorf("got %+v", pe)
	}
}

func TestTimedOutOrderIsFoundByReference(t *testing.T) {
	// The hang fault places the order and withholds the answer: the client
	// cannot know, which is why callers look orders up before retrying.
	c, sim := simClient(t, telnyxsim.Options{}, nil, Config{Timeout: 150 * time.Millisecond})
	ctx := context.Background()
	nums, _ := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", Limit: 1})
	sim.SetFaults(telnyxsim.Faults{TimeoutRate: 1})
	_, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: nums[0].PhoneNumber, CustomerReference: "ref-lost"})
	if pe := providerError(t, err); pe.Class != domain.ProviderTimeout {
		t.Fatalf("got %+v", pe)
	}
	sim.SetFaults(telnyxsim.Faults{})
	found, err := c.FindOrdersByCustomerReference(ctx, "ref-lost")
	if err != nil || len(found) != 1 || found[0].Numbers[0].PhoneNumber != nums[0].PhoneNumber {
		t.Errorf("found %+v, %v", found, err)
	}
}

func TestConnectionRefusedIsUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + "/v2"
	srv.Close()
	c := mustNew(t, Config{BaseURL: base, APIKey: testKey, MaxRetries: 1, MaxBackoff: 10 * time.Millisecond, Timeout: 10 * time.Second})
	err := c.Ping(context.Background())
	pe := providerError(t, err)
	if pe.Class != domain.ProviderUnreachable || !pe.Retryable() || pe.Op != "ping" {
		t.Errorf("got %+v", pe)
	}
}

func TestUnreadableBodies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		detail string
	}{
		{"html 502", http.StatusBadGateway, "<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>", "<html><body> <h1>502 Bad Gateway</h1> </body></html>"},
		{"200 not json", http.StatusOK, "this is not json", "unreadable response body"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		}))
		c := mustNew(t, Config{BaseURL: srv.URL, APIKey: testKey, MaxRetries: -1, Timeout: 10 * time.Second})
		err := c.Ping(context.Background())
		srv.Close()
		pe := providerError(t, err)
		if pe.Class != domain.ProviderServerError || pe.HTTPStatus != tc.status || pe.Detail != tc.detail {
			t.Errorf("%s: %+v", tc.name, pe)
		}
	}
}

func TestCallsThatWouldAddressACollectionAreRefusedLocally(t *testing.T) {
	rec := &recorder{}
	c, _ := simClient(t, telnyxsim.Options{}, rec.wrap, Config{})
	ctx := context.Background()
	_, err1 := c.GetOrder(ctx, "")
	_, err2 := c.FindOrdersByCustomerReference(ctx, "")
	err3 := c.ReleaseNumber(ctx, "")
	_, err4 := c.CreateOrder(ctx, domain.OrderRequest{})
	for i, err := range []error{err1, err2, err3, err4} {
		if pe := providerError(t, err); pe.Class != domain.ProviderRejected {
			t.Errorf("[%d] %+v", i, pe)
		}
	}
	if rec.count() != 0 {
		t.Errorf("%d requests sent", rec.count())
	}
}

func TestPing(t *testing.T) {
	rec := &recorder{}
	c, _ := simClient(t, telnyxsim.Options{}, rec.wrap, Config{})
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := rec.last(); r.Method != http.MethodGet || r.URL.Path != "/v2/phone_numbers" || r.URL.Query().Get("page[size]") != "1" {
		t.Errorf("ping sent %s %s", r.Method, r.URL)
	}
}

func TestAPIKeyNeverInErrors(t *testing.T) {
	ctx := context.Background()
	var errs []error

	// Telnyx refusing our key.
	c, _ := simClient(t, telnyxsim.Options{APIKey: "KEY-the-right-one"}, nil, Config{})
	err := c.Ping(ctx)
	if pe := providerError(t, err); pe.Class != domain.ProviderRejected || pe.HTTPStatus != 401 || pe.Code != "10009" {
		t.Errorf("wrong key: %+v", pe)
	}
	errs = append(errs, err)

	// A server that echoes the Authorization header, in an error body and
	// in a body we cannot read.
	echo := testkit.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("not json " + auth))
			return
		}
		if r.URL.Path == "/v2/available_phone_numbers" {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"data": "` + auth + `"}`))
			return
		}
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":[{"code":"10010","title":"` + auth + `","detail":"key ` + auth + `","source":{"pointer":"` + auth + `"}}]}`))
	}))
	ec := mustNew(t, Config{BaseURL: echo.URL + "/v2", APIKey: testKey, MaxRetries: -1, Timeout: 10 * time.Second})
	errs = append(errs, ec.Ping(ctx))
	_, err = ec.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US"})
	errs = append(errs, err)
	_, err = ec.GetOrder(ctx, "x")
	errs = append(errs, err)

	// Timeouts and unreachable servers.
	hc, _ := simClient(t, telnyxsim.Options{Faults: telnyxsim.Faults{TimeoutRate: 1}}, nil, Config{Timeout: 50 * time.Millisecond, MaxRetries: -1})
	errs = append(errs, hc.Ping(ctx))
	dead := mustNew(t, Config{BaseURL: "http://127.0.0.1:1/v2", APIKey: testKey, MaxRetries: -1, Timeout: 10 * time.Second})
	errs = append(errs, dead.Ping(ctx))
	bad := mustNew(t, Config{BaseURL: "http://[::1]:namedport/v2", APIKey: testKey, Timeout: 10 * time.Second})
	errs = append(errs, bad.Ping(ctx))

	for i, err := range errs {
		if err == nil {
			t.Errorf("[%d] no error", i)
			continue
		}
		if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), url.QueryEscape(testKey)) {
			t.Errorf("[%d] the API key leaked: %v", i, err)
		}
		pe := providerError(t, err)
		for _, s := range []string{pe.Code, pe.Title, pe.Detail, pe.Pointer} {
			if strings.Contains(s, testKey) {
				t.Errorf("[%d] the API key leaked into a field: %+v", i, pe)
			}
		}
	}
}

func TestServerErrorRetryAfterIsHonoured(t *testing.T) {
	var calls atomic.Int32
	unavailableOnce := firstAnswer(&calls, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "0.1")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	c, _ := simClient(t, telnyxsim.Options{}, unavailableOnce, Config{MaxBackoff: time.Second})
	start := time.Now()
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond || calls.Load() != 2 {
		t.Errorf("%d calls in %v, want 2 after at least 100ms", calls.Load(), elapsed)
	}
}

// TestNewRefusesNoBaseURLOrTimeout: the app states both (TELNYX_BASE_URL,
// TELNYX_TIMEOUT); the client fills in neither.
func TestNewRefusesNoBaseURLOrTimeout(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{Timeout: time.Second}); err == nil || !strings.Contains(err.Error(), "TELNYX_BASE_URL") {
		t.Errorf("New without a base URL: %v, want an error naming TELNYX_BASE_URL", err)
	}
	if _, err := New(Config{BaseURL: "http://127.0.0.1:1/v2"}); err == nil || !strings.Contains(err.Error(), "TELNYX_TIMEOUT") {
		t.Errorf("New without a timeout: %v, want an error naming TELNYX_TIMEOUT", err)
	}
}
