package api

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/talkturo/phonenumbers/domain"
)

// Outcomes of a purchase, the values of talkturo_purchases_total's label;
// purchaseOutcome says which error is which.
const (
	purchaseSuccess     = "success"     // 200: the number is active
	purchasePending     = "pending"     // 202: the order had not settled in time
	purchaseLimit       = "limit"       // 403: the plan's limit
	purchaseUnavailable = "unavailable" // 409: the number cannot be had
	purchaseConflict    = "conflict"    // 409: the team, or another, holds or is buying it
	purchaseFailed      = "failed"      // anything else the workflow answered (5xx, …)
)

// unmatchedRoute labels requests that matched no route, so that scanners
// probing random paths cannot blow up the series count.
const unmatchedRoute = "unmatched"

// metrics are the Server's Prometheus metrics, on a registry of its own
// (never the global one). The process serves the registry on METRICS_ADDR,
// never on the API's own port.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	purchases *prometheus.CounterVec
	telnyx    *prometheus.CounterVec
	// webhooks counts Telnyx webhook deliveries by outcome.
	webhooks *prometheus.CounterVec
	// purchaseLatency is the end-to-end purchase time, by outcome.
	purchaseLatency *prometheus.HistogramVec

	// known holds "METHOD pattern" of every route, patterns each pattern
	// once: set by setRoutes once the routes are registered.
	known    map[string]bool
	patterns []string
	fiberCfg fiber.Config
}

// NewRegistry returns a Prometheus registry with the Go runtime and
// process collectors: one per process, shared by the API, the Temporal
// SDK and the Telnyx call counter.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// NewTelnyxCalls registers talkturo_telnyx_requests_total on reg; wrap a
// provider with CountCalls to count into it.
func NewTelnyxCalls(reg prometheus.Registerer) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "talkturo", Name: "telnyx_requests_total",
		Help: "Calls this process made to Telnyx (retries included), by operation and outcome (ok or the failure's class).",
	}, []string{"operation", "outcome"})
	reg.MustRegister(v)
	return v
}

// CountCalls counts the calls made through p by operation and outcome.
func CountCalls(calls *prometheus.CounterVec, p domain.NumberProvider) domain.NumberProvider {
	if p == nil {
		return nil
	}
	return &countingProvider{next: p, calls: calls}
}

// newMetrics registers the API's metrics on reg (a fresh registry when
// nil); telnyx is the process's Telnyx call counter (made when nil).
func newMetrics(reg *prometheus.Registry, telnyx *prometheus.CounterVec) *metrics {
	if reg == nil {
		reg = NewRegistry()
	}
	if telnyx == nil {
		telnyx = NewTelnyxCalls(reg)
	}
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "talkturo", Name: "http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "talkturo", Name: "http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30},
		}, []string{"route", "method"}),
		purchases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "talkturo", Name: "purchases_total",
			Help: "Purchase requests answered by the number's workflow, by outcome (success, pending, limit, unavailable, conflict, failed). Requests refused before reaching it (invalid, forbidden, Idempotency-Key reused) and replays of a kept answer are not counted.",
		}, []string{"outcome"}),
		purchaseLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "talkturo", Name: "purchase_duration_seconds",
			Help:    "Time from a purchase request to the workflow's answer (the number active, refused, or still pending at PURCHASE_WAIT), by outcome.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 20, 30, 60},
		}, []string{"outcome"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "talkturo", Name: "telnyx_webhooks_total",
			Help: "Telnyx webhook deliveries answered, by outcome (handed_on, duplicate, ignored, unauthorized, invalid, too_large, unavailable).",
		}, []string{"outcome"}),
		telnyx: telnyx,
	}
	reg.MustRegister(m.requests, m.latency, m.purchases, m.purchaseLatency, m.webhooks)
	for _, o := range []string{purchaseSuccess, purchasePending, purchaseLimit, purchaseUnavailable, purchaseConflict, purchaseFailed} {
		m.purchases.WithLabelValues(o)
	}
	for _, o := range webhookOutcomes {
		m.webhooks.WithLabelValues(o)
	}
	return m
}

// setRoutes records the app's routes, to label requests by pattern.
func (m *metrics) setRoutes(app *fiber.App) {
	m.fiberCfg = app.Config()
	m.known = map[string]bool{}
	seen := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		m.known[r.Method+" "+r.Path] = true
		if !seen[r.Path] {
			seen[r.Path] = true
			m.patterns = append(m.patterns, r.Path)
		}
	}
}

// middleware counts and times every request. It runs outside the access
// log, which has turned any error into the final answer by the time it
// returns, so the status seen here is the one sent.
func (m *metrics) middleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		route, method := m.routeOf(c), m.methodOf(c)
		m.requests.WithLabelValues(route, method, strconv.Itoa(c.Response().StatusCode())).Inc()
		m.latency.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		return err
	}
}

// routeOf is the pattern of the route that answered, such as
// /api/phone-numbers/purchase/:id. A request stopped before its handler
// (a 401 from the /api group's authentication, a 405) is labelled with the
// pattern its path matches; one that matches none with "unmatched".
func (m *metrics) routeOf(c *fiber.Ctx) string {
	if r := c.Route(); m.known[r.Method+" "+r.Path] {
		return r.Path
	}
	for _, p := range m.patterns {
		if fiber.RoutePatternMatch(c.Path(), p, m.fiberCfg) {
			return p
		}
	}
	return unmatchedRoute
}

// methodOf is the request's method as one of the app's constant strings:
// c.Method() points into a buffer that Fiber reuses after the request,
// too short-lived for a label value.
func (m *metrics) methodOf(c *fiber.Ctx) string {
	method := c.Method()
	for _, known := range m.fiberCfg.RequestMethods {
		if method == known {
			return known
		}
	}
	return "other"
}

// purchased counts one purchase by outcome: the error the workflow
// answered (nil for success), or pending.
func (m *metrics) purchased(started time.Time, pending bool, err error) {
	outcome := purchaseOutcome(pending, err)
	m.purchases.WithLabelValues(outcome).Inc()
	m.purchaseLatency.WithLabelValues(outcome).Observe(time.Since(started).Seconds())
}

// purchaseOutcome is the one place a purchase's answer becomes its
// outcome: the error's kind, and within the conflicts its code.
func purchaseOutcome(pending bool, err error) string {
	if err == nil {
		if pending {
			return purchasePending
		}
		return purchaseSuccess
	}
	de := toDomainError(err)
	switch {
	case de.Kind == domain.KindLimit:
		return purchaseLimit
	case de.Kind != domain.KindConflict:
		return purchaseFailed
	}
	switch de.Code {
	case domain.CodeNumberUnavailable:
		return purchaseUnavailable
	case domain.CodeAlreadyOwned, domain.CodeNumberInPurchase:
		return purchaseConflict
	}
	// A conflict that ends the purchase (its documents' deadline passed,
	// it was released): it failed.
	return purchaseFailed
}

// webhook counts one Telnyx webhook delivery by outcome.
func (m *metrics) webhook(outcome string) { m.webhooks.WithLabelValues(outcome).Inc() }

// countingProvider is a NumberProvider that counts its calls by operation
// and outcome.
type countingProvider struct {
	next  domain.NumberProvider
	calls *prometheus.CounterVec
}

var _ domain.NumberProvider = (*countingProvider)(nil)

func (p *countingProvider) count(op string, err error) {
	p.calls.WithLabelValues(op, providerOutcome(err)).Inc()
}

// providerOutcome is "ok", or the class of the failure.
func providerOutcome(err error) string {
	if err == nil {
		return "ok"
	}
	var pe *domain.ProviderError
	switch {
	case errors.As(err, &pe):
		switch pe.Class {
		case domain.ProviderRejected:
			return "rejected"
		case domain.ProviderRateLimited:
			return "rate_limited"
		case domain.ProviderServerError:
			return "server_error"
		case domain.ProviderTimeout:
			return "timeout"
		case domain.ProviderUnreachable:
			return "unreachable"
		}
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "error"
}

func (p *countingProvider) SearchAvailable(ctx context.Context, f domain.SearchFilter) ([]domain.AvailableNumber, error) {
	out, err := p.next.SearchAvailable(ctx, f)
	p.count("search", err)
	return out, err
}

func (p *countingProvider) CreateOrder(ctx context.Context, req domain.OrderRequest) (domain.Order, error) {
	out, err := p.next.CreateOrder(ctx, req)
	p.count("create_order", err)
	return out, err
}

func (p *countingProvider) GetOrder(ctx context.Context, id string) (domain.Order, error) {
	out, err := p.next.GetOrder(ctx, id)
	p.count("get_order", err)
	return out, err
}

func (p *countingProvider) FindOrdersByCustomerReference(ctx context.Context, ref string) ([]domain.Order, error) {
	out, err := p.next.FindOrdersByCustomerReference(ctx, ref)
	p.count("find_orders", err)
	return out, err
}

func (p *countingProvider) ListOwnedNumbers(ctx context.Context, f domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) {
	out, err := p.next.ListOwnedNumbers(ctx, f)
	p.count("list_owned_numbers", err)
	return out, err
}

func (p *countingProvider) GetOwnedNumber(ctx context.Context, id string) (domain.OwnedNumber, error) {
	out, err := p.next.GetOwnedNumber(ctx, id)
	p.count("get_owned_number", err)
	return out, err
}

func (p *countingProvider) CancelSubNumberOrder(ctx context.Context, id string) error {
	err := p.next.CancelSubNumberOrder(ctx, id)
	p.count("cancel_sub_order", err)
	return err
}

func (p *countingProvider) AttachRequirementGroup(ctx context.Context, subNumberOrderID, groupID string) error {
	err := p.next.AttachRequirementGroup(ctx, subNumberOrderID, groupID)
	p.count("attach_requirement_group", err)
	return err
}

func (p *countingProvider) ReleaseNumber(ctx context.Context, id string) error {
	err := p.next.ReleaseNumber(ctx, id)
	p.count("release_number", err)
	return err
}

func (p *countingProvider) Ping(ctx context.Context) error {
	err := p.next.Ping(ctx)
	p.count("ping", err)
	return err
}
