package telnyx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/talkturo/phonenumbers/domain"
)

// Defaults applied by New to a zero Config field that no variable sets
// (the base URL and the timeout are the app's to give: TELNYX_BASE_URL,
// TELNYX_TIMEOUT).
const (
	DefaultMaxRetries = 2
	DefaultMaxBackoff = 5 * time.Second
)

// UserAgent is sent with every request so Telnyx support can tell our
// traffic apart.
const UserAgent = "talkturo-phonenumbers"

// maxBodyBytes bounds what we read of any answer: a search of a few hundred
// numbers is well under this, and a runaway body must not exhaust memory.
const maxBodyBytes = 8 << 20

// Config configures a Client. BaseURL and Timeout are required; other zero
// fields take the defaults above.
type Config struct {
	// BaseURL is the API root including the version, such as
	// "https://api.telnyx.com/v2" or a simulator's "http://127.0.0.1:8089/v2"
	// (TELNYX_BASE_URL).
	BaseURL string
	// APIKey is the Telnyx API key sent as a bearer token.
	APIKey string
	// Timeout bounds one HTTP attempt, reading the body included
	// (TELNYX_TIMEOUT).
	Timeout time.Duration
	// MaxRetries is how many times an idempotent call (GET, DELETE) is
	// repeated after a retryable failure. Zero means DefaultMaxRetries; a
	// negative value disables retries.
	MaxRetries int
	// MaxBackoff caps the wait between attempts, Retry-After included.
	MaxBackoff time.Duration
	// HTTPClient is used for requests when set; otherwise the client owns a
	// transport of its own.
	HTTPClient *http.Client
	// Logger receives one line per retried attempt; nil logs nothing.
	Logger *slog.Logger
	// TracerProvider, when set, traces each HTTP attempt as a client span
	// named after the operation ("telnyx create_order"); nil traces
	// nothing and costs nothing.
	TracerProvider trace.TracerProvider
}

// Client is a Telnyx v2 API client. It is safe for concurrent use.
type Client struct {
	baseURL    string
	apiKey     string
	timeout    time.Duration
	maxRetries int
	maxBackoff time.Duration
	http       *http.Client
	log        *slog.Logger
	traced     bool
}

var _ domain.NumberProvider = (*Client)(nil)

// New returns a Client for cfg, with defaults for the optional fields left
// zero; a BaseURL or Timeout left unset is an error.
func New(cfg Config) (*Client, error) {
	switch {
	case cfg.BaseURL == "":
		return nil, errors.New("telnyx.New: Config.BaseURL (TELNYX_BASE_URL) is not set")
	case cfg.Timeout <= 0:
		return nil, fmt.Errorf("telnyx.New: Config.Timeout (TELNYX_TIMEOUT) must be a positive duration, not %v", cfg.Timeout)
	}
	c := &Client{
		baseURL:    strings.TrimRight(cfg.BaseURL, "/"),
		apiKey:     cfg.APIKey,
		timeout:    cfg.Timeout,
		maxRetries: cfg.MaxRetries,
		maxBackoff: cfg.MaxBackoff,
		http:       cfg.HTTPClient,
		log:        cfg.Logger,
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	if c.http == nil {
		// A transport of our own keeps this client's connection pool apart
		// from whatever else uses http.DefaultTransport in the process.
		var rt http.RoundTripper = http.DefaultTransport
		if t, ok := rt.(*http.Transport); ok {
			rt = t.Clone()
		}
		c.http = &http.Client{Transport: rt}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if cfg.TracerProvider != nil {
		c.http = tracedClient(c.http, cfg.TracerProvider)
		c.traced = true
	}
	return c, nil
}

// call is one API request as the methods describe it.
type call struct {
	op     string
	method string
	path   string // below the base URL, starting with "/"
	query  url.Values
	body   any
	// idempotent calls may be sent again after a retryable failure. Only
	// GET and DELETE are: a repeated POST /number_orders could buy twice.
	idempotent bool
}

// do sends req, retrying it when it is idempotent, and decodes a 2xx answer
// into out (when out is not nil). Every error is a *domain.ProviderError.
func (c *Client) do(ctx context.Context, req call, out any) error {
	var body []byte
	if req.body != nil {
		var err error
		if body, err = json.Marshal(req.body); err != nil {
			return &domain.ProviderError{Op: req.op, Class: domain.ProviderRejected, Detail: "cannot encode request", Err: err}
		}
	}
	attempts := 1
	if req.idempotent {
		attempts += c.maxRetries
	}
	for attempt := 1; ; attempt++ {
		pe := c.attempt(ctx, req, body, out)
		if pe == nil {
			return nil
		}
		if attempt >= attempts || !pe.Retryable() || ctx.Err() != nil {
			return pe
		}
		wait := c.backoff(attempt, pe.RetryAfter)
		if !fitsDeadline(ctx, wait) {
			// Sleeping would outlive the caller: better to hand back the
			// real failure now than a context error later.
			return pe
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "telnyx call failed; retrying",
			slog.String("op", req.op),
			slog.Int("attempt", attempt),
			slog.Int("http_status", pe.HTTPStatus),
			slog.String("error", pe.Error()),
			slog.Duration("wait", wait))
		if err := sleep(ctx, wait); err != nil {
			return pe
		}
	}
}

// attempt sends one request under its own timeout and reads the whole
// answer before that timeout ends.
func (c *Client) attempt(ctx context.Context, req call, body []byte, out any) *domain.ProviderError {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.traced {
		actx = withOperation(actx, req.op)
	}

	u := c.baseURL + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(actx, req.method, u, rd)
	if err != nil {
		return &domain.ProviderError{Op: req.op, Class: domain.ProviderRejected, Detail: "cannot build request", Err: c.redactErr(err)}
	}
	hreq.Header.Set("Authorization", "Bearer "+c.apiKey)
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", UserAgent)
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(hreq)
	if err != nil {
		return c.transportError(req.op, err, ctx, actx)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		if ctx.Err() != nil || actx.Err() != nil {
			return c.transportError(req.op, err, ctx, actx)
		}
		return &domain.ProviderError{Op: req.op, Class: domain.ProviderServerError, HTTPStatus: resp.StatusCode, Detail: "unreadable response body", Err: c.redactErr(err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.statusError(req.op, resp, data, time.Now())
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return c.unreadable(req.op, resp.StatusCode, err)
	}
	return nil
}
