// Package config reads the configuration of every talkturo subcommand from
// environment variables (the only source: see the README's table), and turns
// a bad value into one sentence naming the variable.
package config

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/telemetry"
)

// Config is the whole configuration. Each field names its variable.
type Config struct {
	HTTPAddr          string        `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	MetricsAddr       string        `env:"METRICS_ADDR"`
	DatabaseURL       string        `env:"DATABASE_URL"`
	DatabaseMaxConns  int           `env:"DATABASE_MAX_CONNS" envDefault:"20"`
	TemporalAddress   string        `env:"TEMPORAL_ADDRESS" envDefault:"127.0.0.1:7233"`
	TemporalNamespace string        `env:"TEMPORAL_NAMESPACE" envDefault:"default"`
	TemporalTaskQueue string        `env:"TEMPORAL_TASK_QUEUE" envDefault:"phone-numbers"`
	TemporalUIPort    int           `env:"TEMPORAL_UI_PORT" envDefault:"8233"`
	TemporalEmbedded  bool          `env:"TEMPORAL_EMBEDDED" envDefault:"true"`
	TelnyxAPIKey      string        `env:"TELNYX_API_KEY"`
	TelnyxBaseURL     string        `env:"TELNYX_BASE_URL" envDefault:"https://api.telnyx.com/v2"`
	TelnyxTimeout     time.Duration `env:"TELNYX_TIMEOUT" envDefault:"10s"`
	// TelnyxProbeInterval is how often an API process asks Telnyx whether
	// it answers (GET /diagnostics/provider, talkturo_telnyx_up).
	TelnyxProbeInterval time.Duration `env:"TELNYX_PROBE_INTERVAL" envDefault:"15s"`
	// TelnyxPublicKey verifies Telnyx's order webhooks: base64 of the
	// account's 32-byte Ed25519 key, as the portal shows it. Unset, the
	// webhook answers 503.
	TelnyxPublicKey string `env:"TELNYX_PUBLIC_KEY"`
	// TelnyxConnectionID is the connection a bought number gets when the
	// request names none; TelnyxConnectionIDs (comma-separated), when set,
	// the only ones a request may name.
	TelnyxConnectionID  string        `env:"TELNYX_CONNECTION_ID"`
	TelnyxConnectionIDs string        `env:"TELNYX_CONNECTION_IDS"`
	SimAddr             string        `env:"TELNYX_SIM_ADDR" envDefault:"127.0.0.1:8090"`
	SimOrderLatency     time.Duration `env:"TELNYX_SIM_ORDER_LATENCY" envDefault:"1s"`
	// SimWebhookURL receives the simulator's signed order events, signed
	// with SimWebhookKey (base64 of an Ed25519 private key or its seed).
	SimWebhookURL   string        `env:"TELNYX_SIM_WEBHOOK_URL"`
	SimWebhookKey   string        `env:"TELNYX_SIM_WEBHOOK_KEY"`
	TrialDuration   time.Duration `env:"TRIAL_DURATION" envDefault:"120h"`
	PurchaseWait    time.Duration `env:"PURCHASE_WAIT" envDefault:"20s"`
	PlanLimits      string        `env:"PLAN_LIMITS" envDefault:"starter=3,growth=10,scale=50"`
	BillingSecret   string        `env:"BILLING_WEBHOOK_SECRET"`
	GracePeriod     time.Duration `env:"BILLING_GRACE_PERIOD" envDefault:"168h"`
	DataDir         string        `env:"TALKTURO_DATA_DIR" envDefault:".data"`
	LogLevel        string        `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat       string        `env:"LOG_FORMAT"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"25s"`

	// Reconciliation with Telnyx: how often it runs (0 turns it off), how
	// old a number held by no team must be before it is released, and how
	// many one run may release.
	ReconcileInterval    time.Duration `env:"RECONCILE_INTERVAL" envDefault:"15m"`
	ReconcileOrphanDelay time.Duration `env:"RECONCILE_ORPHAN_DELAY" envDefault:"1h"`
	ReconcileMaxReleases int           `env:"RECONCILE_MAX_RELEASES" envDefault:"20"`

	// Rate limits of an API process, per team and per API key (the same
	// limit for each): requests a second and bucket size. A dashboard
	// never comes near them; a script looping on search or purchase does.
	// A rate of 0 turns the route's limit off.
	RateLimitSearchPerSecond   float64 `env:"RATE_LIMIT_SEARCH_PER_SECOND" envDefault:"5"`
	RateLimitSearchBurst       int     `env:"RATE_LIMIT_SEARCH_BURST" envDefault:"20"`
	RateLimitPurchasePerSecond float64 `env:"RATE_LIMIT_PURCHASE_PER_SECOND" envDefault:"1"`
	RateLimitPurchaseBurst     int     `env:"RATE_LIMIT_PURCHASE_BURST" envDefault:"10"`

	// Deadlines: how long one statement may run and opening one
	// connection may take before PostgreSQL or the driver gives up (a
	// value in DATABASE_URL wins), and the deadline of every API request,
	// in which the purchase's wait (PURCHASE_WAIT) must fit.
	DatabaseStatementTimeout time.Duration `env:"DATABASE_STATEMENT_TIMEOUT" envDefault:"5s"`
	DatabaseConnectTimeout   time.Duration `env:"DATABASE_CONNECT_TIMEOUT" envDefault:"5s"`
	RequestTimeout           time.Duration `env:"REQUEST_TIMEOUT" envDefault:"30s"`

	// TLS to Temporal's frontend (see TemporalTLS): the client certificate
	// and its key (mTLS), the CA that signed the frontend's certificate
	// (unset: the system's roots) and the name that certificate must carry
	// (unset: TEMPORAL_ADDRESS's host). Each of the first three is a path to
	// a PEM file, as a Kubernetes secret volume mounts it, or the PEM itself.
	TemporalTLSCert       string `env:"TEMPORAL_TLS_CERT"`
	TemporalTLSKey        string `env:"TEMPORAL_TLS_KEY"`
	TemporalTLSCA         string `env:"TEMPORAL_TLS_CA"`
	TemporalTLSServerName string `env:"TEMPORAL_TLS_SERVER_NAME"`
	// TemporalTLSSwitch is the temporal CLI's TEMPORAL_TLS: true turns TLS
	// on without any other variable (the system's roots, no client
	// certificate), false says plaintext. A string, read by TemporalTLS:
	// a bad value must stop only the processes that talk to Temporal.
	TemporalTLSSwitch string `env:"TEMPORAL_TLS"`
	// TemporalAPIKey authenticates to Temporal Cloud with an API key
	// instead of (or besides) a client certificate; it implies TLS.
	TemporalAPIKey string `env:"TEMPORAL_API_KEY"`

	// Plans is PlanLimits applied to the default plans.
	Plans []domain.Plan `env:"-"`
	// Tracing is what the standard OTEL_* variables ask of tracing
	// (telemetry.Load: off unless an OTLP endpoint is set).
	Tracing telemetry.Config `env:"-"`
}

// Bounds of the reconciliation, probe and rate-limit settings.
const (
	MinReconcileInterval = 10 * time.Second
	MinOrphanDelay       = time.Minute
	MinProbeInterval     = time.Second
	MaxRateLimitBurst    = 100_000
	// MinRateLimitPerSecond keeps a bucket's refill time (burst / rate)
	// far inside a time.Duration: 100 000 tokens at 0.001/s is 3 years.
	MinRateLimitPerSecond = 0.001
)

// Error is a configuration error: one sentence naming the variable.
type Error struct {
	Var     string
	Message string
}

func (e *Error) Error() string { return e.Var + " " + e.Message }

// Load reads the configuration from the environment (lookup is os.LookupEnv
// in production; tests pass a map's lookup).
func Load(environ map[string]string) (Config, error) {
	var c Config
	err := env.ParseWithOptions(&c, env.Options{Environment: environ})
	if err != nil {
		return Config{}, firstError(err)
	}
	if c.Tracing, err = telemetry.Load(func(k string) (string, bool) { v, ok := environ[k]; return v, ok }); err != nil {
		var te *telemetry.ConfigError
		if errors.As(err, &te) {
			return Config{}, &Error{te.Var, te.Message}
		}
		return Config{}, err
	}
	return c, c.validate()
}

// ValidateAPI checks what only the roles that serve the API (dev, serve,
// api) depend on; a worker, migrate, admin or telnyx-sim does not answer
// requests and must not refuse to start over it.
func (c Config) ValidateAPI() error {
	if c.RequestTimeout < c.PurchaseWait+domain.PurchaseHeadroom {
		return &Error{"REQUEST_TIMEOUT", fmt.Sprintf("must be at least %v longer than PURCHASE_WAIT (%v), so that a purchase's wait and what follows it fit in the request's deadline.", domain.PurchaseHeadroom, c.PurchaseWait)}
	}
	if _, err := c.TelnyxWebhookKey(); err != nil {
		return err
	}
	if c.TelnyxConnectionID != "" && !connectionIDShape(c.TelnyxConnectionID) {
		return &Error{"TELNYX_CONNECTION_ID", "must be a Telnyx connection id: at most 128 printable characters without spaces."}
	}
	ids := c.ConnectionIDs()
	for _, id := range ids {
		if !connectionIDShape(id) {
			return &Error{"TELNYX_CONNECTION_IDS", fmt.Sprintf("must be Telnyx connection ids separated by commas, each at most 128 printable characters without spaces; %q is not.", id)}
		}
	}
	if strings.TrimSpace(c.TelnyxConnectionIDs) != "" && len(ids) == 0 {
		return &Error{"TELNYX_CONNECTION_IDS", "names no connection id (unset it to accept any)."}
	}
	if c.TelnyxConnectionID != "" && len(ids) > 0 && !slices.Contains(ids, c.TelnyxConnectionID) {
		return &Error{"TELNYX_CONNECTION_IDS", fmt.Sprintf("must include TELNYX_CONNECTION_ID (%s), the connection a purchase naming none gets.", c.TelnyxConnectionID)}
	}
	return nil
}

// TelnyxWebhookKey is TELNYX_PUBLIC_KEY decoded; nil when it is unset
// (the webhook is then off).
func (c Config) TelnyxWebhookKey() (ed25519.PublicKey, error) {
	if strings.TrimSpace(c.TelnyxPublicKey) == "" {
		return nil, nil
	}
	b, err := decodeBase64(c.TelnyxPublicKey)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, &Error{"TELNYX_PUBLIC_KEY", fmt.Sprintf("must be the base64 of the account's %d-byte Ed25519 public key, as the Telnyx portal shows it.", ed25519.PublicKeySize)}
	}
	return ed25519.PublicKey(b), nil
}

// ConnectionIDs is TELNYX_CONNECTION_IDS as a list (empty: any id).
func (c Config) ConnectionIDs() []string {
	var ids []string
	for _, id := range strings.Split(c.TelnyxConnectionIDs, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// SimWebhookPrivateKey is TELNYX_SIM_WEBHOOK_KEY decoded (a 64-byte
// private key or its 32-byte seed); nil when it is unset.
func (c Config) SimWebhookPrivateKey() (ed25519.PrivateKey, error) {
	if strings.TrimSpace(c.SimWebhookKey) == "" {
		return nil, nil
	}
	bad := &Error{"TELNYX_SIM_WEBHOOK_KEY", fmt.Sprintf("must be the base64 of an Ed25519 private key (%d bytes) or of its seed (%d bytes).", ed25519.PrivateKeySize, ed25519.SeedSize)}
	b, err := decodeBase64(c.SimWebhookKey)
	switch {
	case err != nil:
		return nil, bad
	case len(b) == ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case len(b) == ed25519.PrivateKeySize:
		// The second half is the public key: it must be the seed's.
		k := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if !bytes.Equal(k[ed25519.SeedSize:], b[ed25519.SeedSize:]) {
			return nil, bad
		}
		return k, nil
	}
	return nil, bad
}

// decodeBase64 takes standard base64 with or without padding: what a
// portal shows and what a shell's base64 prints.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// connectionIDShape is what the API accepts as a connectionId.
func connectionIDShape(id string) bool {
	return len(id) <= 128 && !strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e })
}

func (c *Config) validate() error {
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return &Error{"HTTP_ADDR", fmt.Sprintf("must be host:port such as 127.0.0.1:8080, not %q.", c.HTTPAddr)}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return &Error{"METRICS_ADDR", fmt.Sprintf("must be host:port such as 0.0.0.0:9090 (or empty to turn it off), not %q.", c.MetricsAddr)}
		}
	}
	if _, _, err := net.SplitHostPort(c.SimAddr); err != nil {
		return &Error{"TELNYX_SIM_ADDR", fmt.Sprintf("must be host:port such as 127.0.0.1:8090, not %q.", c.SimAddr)}
	}
	if _, _, err := net.SplitHostPort(c.TemporalAddress); err != nil {
		return &Error{"TEMPORAL_ADDRESS", fmt.Sprintf("must be host:port such as 127.0.0.1:7233, not %q.", c.TemporalAddress)}
	}
	if c.TemporalNamespace == "" {
		return &Error{"TEMPORAL_NAMESPACE", "must not be empty."}
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return &Error{"DATABASE_URL", "must be a postgres:// URL such as postgres://user@127.0.0.1:5432/talkturo?sslmode=disable."}
		}
	}
	if c.DatabaseMaxConns < 1 {
		return &Error{"DATABASE_MAX_CONNS", "must be at least 1 (connections per process; keep processes × this under PostgreSQL's max_connections)."}
	}
	if u, err := url.Parse(c.TelnyxBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{"TELNYX_BASE_URL", "must be an http(s) URL such as https://api.telnyx.com/v2."}
	}
	for name, d := range map[string]time.Duration{"TELNYX_TIMEOUT": c.TelnyxTimeout, "TRIAL_DURATION": c.TrialDuration, "PURCHASE_WAIT": c.PurchaseWait, "SHUTDOWN_TIMEOUT": c.ShutdownTimeout, "BILLING_GRACE_PERIOD": c.GracePeriod} {
		if d <= 0 {
			return &Error{name, "must be a positive duration such as 30s or 120h."}
		}
	}
	if c.TelnyxProbeInterval < MinProbeInterval {
		return &Error{"TELNYX_PROBE_INTERVAL", fmt.Sprintf("must be at least %v: each probe is a call on the Telnyx account every team shares.", MinProbeInterval)}
	}
	for _, r := range []struct {
		rateVar, burstVar string
		rate              float64
		burst             int
	}{
		{"RATE_LIMIT_SEARCH_PER_SECOND", "RATE_LIMIT_SEARCH_BURST", c.RateLimitSearchPerSecond, c.RateLimitSearchBurst},
		{"RATE_LIMIT_PURCHASE_PER_SECOND", "RATE_LIMIT_PURCHASE_BURST", c.RateLimitPurchasePerSecond, c.RateLimitPurchaseBurst},
	} {
		if r.rate < 0 || math.IsNaN(r.rate) || math.IsInf(r.rate, 0) || (r.rate > 0 && r.rate < MinRateLimitPerSecond) {
			return &Error{r.rateVar, fmt.Sprintf("must be a number of requests a second such as 5 or 0.5, at least %v (0 turns the limit off), not %v.", MinRateLimitPerSecond, r.rate)}
		}
		if r.rate > 0 && (r.burst < 1 || r.burst > MaxRateLimitBurst) {
			return &Error{r.burstVar, fmt.Sprintf("must be between 1 and %d (the requests a team or key may send at once), not %d.", MaxRateLimitBurst, r.burst)}
		}
	}

	for name, d := range map[string]time.Duration{"REQUEST_TIMEOUT": c.RequestTimeout, "DATABASE_CONNECT_TIMEOUT": c.DatabaseConnectTimeout} {
		if d <= 0 {
			return &Error{name, "must be a positive duration such as 5s or 30s."}
		}
	}
	// 0 is persistence's "leave the server's statement_timeout alone".
	if c.DatabaseStatementTimeout < 0 {
		return &Error{"DATABASE_STATEMENT_TIMEOUT", "must be a duration such as 5s, or 0 to leave PostgreSQL's own statement_timeout."}
	}
	if c.ReconcileInterval != 0 && c.ReconcileInterval < MinReconcileInterval {
		return &Error{"RECONCILE_INTERVAL", fmt.Sprintf("must be at least %v (each run lists every number at Telnyx), or 0 to turn reconciliation off.", MinReconcileInterval)}
	}
	if c.ReconcileOrphanDelay < MinOrphanDelay {
		return &Error{"RECONCILE_ORPHAN_DELAY", fmt.Sprintf("must be at least %v: a younger number held by no team may be a purchase under way.", MinOrphanDelay)}
	}
	if c.ReconcileMaxReleases < 1 {
		return &Error{"RECONCILE_MAX_RELEASES", "must be at least 1 (to stop releases, set RECONCILE_INTERVAL=0)."}
	}
	if c.SimWebhookURL != "" {
		if u, err := url.Parse(c.SimWebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &Error{"TELNYX_SIM_WEBHOOK_URL", "must be an http(s) URL such as http://127.0.0.1:8080/api/telnyx/webhook."}
		}
	}
	if _, err := c.SimWebhookPrivateKey(); err != nil {
		return err
	}
	if c.SimOrderLatency < 0 {
		return &Error{"TELNYX_SIM_ORDER_LATENCY", "must not be negative."}
	}
	if c.TemporalUIPort < 0 || c.TemporalUIPort > 65535 {
		return &Error{"TEMPORAL_UI_PORT", "must be a port number (0 turns the UI off)."}
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return &Error{"LOG_LEVEL", fmt.Sprintf("must be debug, info, warn or error, not %q.", c.LogLevel)}
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		return &Error{"LOG_FORMAT", fmt.Sprintf("must be text or json, not %q.", c.LogFormat)}
	}
	plans, err := ParsePlanLimits(c.PlanLimits)
	if err != nil {
		return &Error{"PLAN_LIMITS", err.Error()}
	}
	c.Plans = plans
	return nil
}

// ParsePlanLimits applies "starter=3,growth=10" to the default plans. The
// free plan's single trial number is not configurable.
func ParsePlanLimits(s string) ([]domain.Plan, error) {
	plans := domain.DefaultPlans()
	if strings.TrimSpace(s) == "" {
		return plans, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("must be plan=limit pairs such as starter=3,growth=10,scale=50; %q is not.", part)
		}
		pn, err := domain.ParsePlanName(name)
		if err != nil || pn == domain.PlanFree {
			return nil, fmt.Errorf("names %q, which is not a paid plan (starter, growth or scale).", name)
		}
		for i := range plans {
			if plans[i].Name == pn {
				plans[i].MaxNumbers = n
			}
		}
	}
	return plans, nil
}

// firstError turns the env library's error into one sentence naming the
// variable (the library names the Go field).
func firstError(err error) error {
	var agg env.AggregateError
	if errors.As(err, &agg) && len(agg.Errors) > 0 {
		err = agg.Errors[0]
	}
	var pe env.ParseError
	if errors.As(err, &pe) {
		return &Error{varOfField(pe.Name), fmt.Sprintf("has a value that is not a valid %s (%v).", typeWord(pe.Type), pe.Err)}
	}
	return err
}

func varOfField(field string) string {
	if f, ok := reflect.TypeFor[Config]().FieldByName(field); ok {
		return f.Tag.Get("env")
	}
	return field
}

func typeWord(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "duration such as 30s or 120h"
	}
	return t.Kind().String()
}
