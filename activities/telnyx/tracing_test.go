package telnyx

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit"
)

// TestEveryAttemptIsASpanNamedAfterItsCall: each HTTP attempt is a client
// span under the caller's, named after the operation, a retried one
// twice; none carries the API key, and Telnyx is sent no trace context.
func TestEveryAttemptIsASpanNamedAfterItsCall(t *testing.T) {
	t.Parallel()
	tp, spans := testkit.Tracing(t)
	rec := &recorder{}
	var calls atomic.Int32
	failFirstGet := func(next http.Handler) http.Handler {
		return rec.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/number_orders/") && calls.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
	c, _ := simClient(t, telnyxsim.Options{}, failFirstGet, Config{TracerProvider: tp})

	ctx, parent := tp.Tracer("test").Start(context.Background(), "RunActivity:PlaceOrder")
	nums, err := c.SearchAvailable(ctx, domain.SearchFilter{CountryCode: "US", AreaCode: "415", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	order, err := c.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: nums[0].PhoneNumber, CustomerReference: "phone-number:" + nums[0].PhoneNumber + "/run"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetOrder(ctx, order.ID); err != nil {
		t.Fatal(err)
	}
	parent.End()

	var names []string
	for _, s := range spans.Ended() {
		if s.Name() == "RunActivity:PlaceOrder" {
			continue
		}
		names = append(names, s.Name())
		if s.SpanKind() != trace.SpanKindClient || s.Parent().SpanID() != parent.SpanContext().SpanID() || s.SpanContext().TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("span %s: kind %v, parent %v; want a client span under the caller's", s.Name(), s.SpanKind(), s.Parent().SpanID())
		}
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.Emit(), testKey) {
				t.Errorf("span %s: attribute %s holds the API key", s.Name(), a.Key)
			}
		}
	}
	want := []string{"telnyx search", "telnyx create_order", "telnyx get_order", "telnyx get_order"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("spans %v, want %v", names, want)
	}
	for _, r := range rec.requests {
		if r.Header.Get("Traceparent") != "" || r.Header.Get("Baggage") != "" {
			t.Errorf("%s %s carried trace context to Telnyx", r.Method, r.URL.Path)
		}
	}
}

func TestNoTracerProviderNoSpans(t *testing.T) {
	t.Parallel()
	c, _ := simClient(t, telnyxsim.Options{}, nil, Config{})
	if c.traced {
		t.Fatal("a client without a tracer provider is traced")
	}
	if _, ok := c.http.Transport.(*http.Transport); !ok {
		t.Fatalf("the untraced client's transport is %T, want the plain one", c.http.Transport)
	}
}
