package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/domain"
)

// Config tunes the HTTP server.
type Config struct {
	// Addr is host:port to listen on.
	Addr string
	// SearchTimeout bounds a search at the provider, retries included.
	SearchTimeout time.Duration
	// ReadyTimeout bounds each /readyz run.
	ReadyTimeout time.Duration
	// ShutdownTimeout is how long in-flight requests get to finish on stop
	// (SHUTDOWN_TIMEOUT); required.
	ShutdownTimeout time.Duration
	// PurchaseWait bounds how long a purchase request waits for the order
	// to settle before answering 202 (PURCHASE_WAIT); required.
	PurchaseWait time.Duration
	// RequestTimeout is the deadline of every request (REQUEST_TIMEOUT),
	// which its database and Temporal calls honour; required. It must
	// exceed PurchaseWait by PurchaseHeadroom or more.
	RequestTimeout time.Duration
	// BillingSecret signs the billing webhook (BILLING_WEBHOOK_SECRET);
	// empty turns the webhook off.
	BillingSecret string
	// TelnyxPublicKey verifies Telnyx's webhooks (TELNYX_PUBLIC_KEY); nil
	// turns the webhook off (503).
	TelnyxPublicKey ed25519.PublicKey
	// DefaultConnectionID is the Telnyx connection a bought number gets
	// when the request names none (TELNYX_CONNECTION_ID).
	DefaultConnectionID string
	// AllowedConnectionIDs, when not empty, are the only connection ids a
	// request may name (TELNYX_CONNECTION_IDS).
	AllowedConnectionIDs []string
	// RateLimits are the per-team and per-key limits of search and
	// purchase (RATE_LIMIT_*); zero limits are off.
	RateLimits RateLimits
}

// Deps are what the handlers use. Module takes them from the app (hence
// fx.In and the tags): the optional ones may be missing there, and
// readiness checks come from the "readiness" value group, so that each
// adapter can contribute its own.
type Deps struct {
	fx.In
	Accounts    domain.AccountStore
	Assistants  domain.AssistantStore
	Provider    domain.NumberProvider
	Numbers     domain.PhoneNumberStore
	Idempotency domain.IdempotencyStore
	Workflows   NumberWorkflows
	// OrderEvents hands Telnyx's order webhooks to the activities waiting
	// on the orders; nil leaves them to their polls (and the signal).
	OrderEvents domain.OrderEvents `optional:"true"`
	// Registry and TelnyxCalls are the process's metrics (NewRegistry,
	// NewTelnyxCalls); nil makes the server its own.
	Registry    *prometheus.Registry   `optional:"true"`
	TelnyxCalls *prometheus.CounterVec `optional:"true"`
	Checks      []Check                `group:"readiness"`
	// Probe, when set, is the cached Telnyx probe: GET
	// /diagnostics/provider shows it and searches fail fast while it
	// says Telnyx is down.
	Probe *ProviderProbe `optional:"true"`
	// Tracing, when its Provider is set, traces every request but the
	// probes (traceRequests).
	Tracing Tracing `optional:"true"`
	Log     *slog.Logger
}

// Server is the REST API.
type Server struct {
	cfg        Config
	app        *fiber.App
	accounts   domain.AccountStore
	assistants domain.AssistantStore
	provider   domain.NumberProvider
	numbers    domain.PhoneNumberStore
	idem       domain.IdempotencyStore
	workflows  NumberWorkflows
	orders     domain.OrderEvents
	checks     []Check
	ready      readiness
	probe      *ProviderProbe
	limits     *limiter
	deliveries *seenDeliveries
	log        *slog.Logger
	metrics    *metrics
	tracing    Tracing
	ln         net.Listener
	served     chan error
	stopMu     sync.Mutex
	stopped    bool
}

// New builds the API with its routes. It does not listen: Start does. A
// duration the app configures (SHUTDOWN_TIMEOUT, PURCHASE_WAIT,
// REQUEST_TIMEOUT) left unset is an error: config states their defaults.
func New(cfg Config, d Deps) (*Server, error) {
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"ShutdownTimeout (SHUTDOWN_TIMEOUT)", cfg.ShutdownTimeout}, {"PurchaseWait (PURCHASE_WAIT)", cfg.PurchaseWait}, {"RequestTimeout (REQUEST_TIMEOUT)", cfg.RequestTimeout}} {
		if d.v <= 0 {
			return nil, fmt.Errorf("api.New: Config.%s must be a positive duration, not %v", d.field, d.v)
		}
	}
	if cfg.SearchTimeout == 0 {
		cfg.SearchTimeout = defaultSearchTimeout
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = defaultReadyTimeout
	}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	m := newMetrics(d.Registry, d.TelnyxCalls)
	s := &Server{cfg: cfg, accounts: d.Accounts, assistants: d.Assistants, provider: CountCalls(m.telnyx, d.Provider),
		numbers: d.Numbers, idem: d.Idempotency, workflows: d.Workflows, orders: d.OrderEvents, checks: d.Checks, log: log, metrics: m,
		probe: d.Probe, limits: newLimiter(cfg.RateLimits, nil), tracing: d.Tracing,
		deliveries: newSeenDeliveries(seenDeliveryTTL, seenDeliveryCapacity, nil)}
	s.app = fiber.New(fiber.Config{
		AppName:               "talkturo-phone-numbers",
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler(log),
		JSONEncoder:           marshalJSON,
		BodyLimit:             1 << 20,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
	})
	answerUnknownMethods(s.app)
	s.routes()
	m.setRoutes(s.app)
	return s, nil
}

func (s *Server) routes() {
	app := s.app
	// identityBodiesOnly runs before anything may read a body, and after
	// what logs and counts its 415. The span, when traced, covers all of
	// it and is in the context the access log logs with.
	middleware := []any{requestIDs()}
	if s.tracing.Provider != nil {
		middleware = append(middleware, s.traceRequests(s.tracing))
	}
	middleware = append(middleware, s.metrics.middleware(), accessLog(s.log), recover.New(), identityBodiesOnly(), requestDeadline(s.cfg.RequestTimeout))
	app.Use(middleware...)
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/diagnostics/provider", s.providerDiagnostics)

	// Public or signed, not bearer-authenticated: registered before the
	// /api group so its middleware never runs for them.
	app.Get("/api/openapi.json", s.openAPI)
	app.Post("/api/billing/webhook", s.billingWebhook)
	app.Post("/api/telnyx/webhook", s.telnyxWebhook)

	authed := app.Group("/api", authenticate(s.accounts))
	authed.Post("/phone-numbers/search", s.search)
	authed.Post("/assistants", s.createAssistant)
	authed.Get("/assistants", s.listAssistants)
	authed.Post("/phone-numbers/purchase", s.purchase)
	authed.Get("/phone-numbers/purchase", s.listNumbers)
	authed.Delete("/phone-numbers/purchase/:id", s.releaseNumber)
	authed.Put("/phone-numbers/purchase/:id/assistant", s.assignAssistant)
	authed.Delete("/phone-numbers/purchase/:id/assistant", s.unassignAssistant)
}

// App is the Fiber app, for tests (app.Test) and for mounting.
func (s *Server) App() *fiber.App { return s.app }

// Start listens on the configured address and serves in the background.
// It returns once the port is bound, so a taken port is an error here.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	s.served = make(chan error, 1)
	go func() { s.served <- s.app.Listener(ln) }()
	return nil
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.cfg.Addr
	}
	return s.ln.Addr().String()
}

// Stop stops accepting connections and waits for in-flight requests, up to
// the shutdown timeout or ctx's deadline, whichever comes first.
// Stopping a server that is not running, or stopping it again, does
// nothing.
func (s *Server) Stop(ctx context.Context) error {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	if s.ln == nil || s.stopped {
		return nil
	}
	s.stopped = true
	timeout := s.cfg.ShutdownTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	err := s.app.ShutdownWithTimeout(timeout)
	if serr := <-s.served; serr != nil && !errors.Is(serr, net.ErrClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// marshalJSON is encoding/json without HTML escaping, so messages read
// "<token>" rather than "\u003ctoken\u003e".
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
