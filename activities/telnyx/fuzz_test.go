package telnyx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
)

// fuzzAPIKey is distinctive so that finding it in an error means it leaked.
const fuzzAPIKey = "KEY0FuzzSecret-1c2d3e"

// cannedTransport answers every request with one canned response, in
// process: no listener, no socket, no TIME_WAIT. A server per exec (the
// target's first form) cost milliseconds and a TCP connection per call, and
// minimising one multi-KB interesting input takes thousands of execs: both
// workers sat in minimisation for the whole -fuzztime and the rate read
// 0/sec while 29,000 sockets piled up in TIME_WAIT.
type cannedTransport struct {
	status int
	header http.Header
	body   []byte
}

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		// As a real transport does: the request body is consumed and closed.
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		Status:        strconv.Itoa(c.status) + " " + http.StatusText(c.status),
		StatusCode:    c.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        c.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)),
		Request:       r,
	}, nil
}

// FuzzResponses feeds arbitrary statuses, rate-limit headers and bodies to
// every client call. None may panic; every failure must be a classified
// *domain.ProviderError (never a raw decoding error the callers cannot sort
// into retry or not); a non-2xx answer is never taken for a success; a
// Retry-After is never negative; the API key never appears in an error,
// even when the body echoes it. The seed corpus is the fixtures in testdata
// with several statuses, plus testdata/fuzz/FuzzResponses.
func FuzzResponses(f *testing.F) {
	fixtures, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(fixtures) == 0 {
		f.Fatalf("no fixtures in testdata (%v)", err)
	}
	for _, name := range fixtures {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, status := range []int{200, 201, 400, 404, 422, 429, 500} {
			f.Add(status, "", "", b)
		}
	}

	f.Fuzz(func(t *testing.T, status int, retryAfterHeader, rateLimitReset string, body []byte) {
		if status < 200 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		header := http.Header{"Content-Type": {"application/json"}}
		if retryAfterHeader != "" {
			header.Set("Retry-After", retryAfterHeader)
		}
		if rateLimitReset != "" {
			header.Set("X-Ratelimit-Reset", rateLimitReset)
		}
		c := mustNew(t, Config{
			BaseURL:    "http://telnyx.invalid/v2",
			APIKey:     fuzzAPIKey,
			Timeout:    time.Second,
			MaxRetries: -1,
			HTTPClient: &http.Client{Transport: cannedTransport{status: status, header: header, body: body}},
		})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ok2xx := status >= 200 && status <= 299
		check := func(op string, err error) {
			t.Helper()
			if err == nil {
				// A release of a number Telnyx does not know is done: releasing is idempotent.
				if !ok2xx && (op != "release" || status != http.StatusNotFound) {
					t.Fatalf("%s: status %d body %q: no error", op, status, body)
				}
				return
			}
			var pe *domain.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("%s: status %d body %q: unclassified error %T %v", op, status, body, err, err)
			}
			if !ok2xx && pe.HTTPStatus != status {
				t.Errorf("%s: status %d reported as HTTP status %d", op, status, pe.HTTPStatus)
			}
			if pe.RetryAfter < 0 {
				t.Errorf("%s: Retry-After %q / X-Ratelimit-Reset %q gave a negative wait %v", op, retryAfterHeader, rateLimitReset, pe.RetryAfter)
			}
			if strings.Contains(err.Error(), fuzzAPIKey) {
				t.Errorf("%s: the error shows the API key: %v", op, err)
			}
		}
		_, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", NumberType: domain.NumberTypeLocal, Limit: 5})
		check("search", err)
		_, err = c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: "+14155550101", CustomerReference: "r"})
		check("create_order", err)
		_, err = c.GetOrder(ctx, "o1")
		check("get_order", err)
		_, err = c.FindOrdersByCustomerReference(ctx, "r")
		check("find_orders", err)
		_, err = c.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: "+14155550101"})
		check("list_numbers", err)
		check("release", c.ReleaseNumber(ctx, "n1"))
	})
}
