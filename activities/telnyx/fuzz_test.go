package telnyx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
)

// FuzzResponses serves arbitrary bodies with arbitrary statuses to every
// client call: none may panic, and every failure must be a classified
// *domain.ProviderError (never a raw decoding error the callers cannot
// sort into retry or not). The seed corpus is the fixtures in testdata.
func FuzzResponses(f *testing.F) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range fixtures {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, status := range []int{200, 201, 400, 404, 422, 429, 500} {
			f.Add(status, b)
		}
	}
	f.Add(200, []byte(`{"data": null}`))
	f.Add(200, []byte(`{"data": [{"phone_number": 5, "features": "x", "cost_information": []}]}`))
	f.Add(200, []byte(`not json`))
	f.Add(429, []byte(``))

	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 200 || status > 599 {
			status = 200 + (status%400+400)%400
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}))
		defer srv.Close()
		c := New(Config{BaseURL: srv.URL, APIKey: "k", Timeout: time.Second, MaxRetries: -1})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		check := func(op string, err error) {
			if err == nil {
				return
			}
			var pe *domain.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("%s: status %d body %q: unclassified error %T %v", op, status, body, err, err)
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
