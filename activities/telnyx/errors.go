package telnyx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/talkturo/phonenumbers/domain"
)

// classifyStatus maps a non-2xx HTTP status to a provider error class, as
// TELNYX.md lists what is worth retrying.
func classifyStatus(status int) domain.ProviderErrorClass {
	switch {
	case status == http.StatusTooManyRequests:
		return domain.ProviderRateLimited
	case status >= 500:
		return domain.ProviderServerError
	case status >= 400:
		return domain.ProviderRejected
	default:
		// A 1xx or 3xx that reached us (redirects are followed) is not an
		// answer we understand: treat it like a broken server.
		return domain.ProviderServerError
	}
}

// statusError builds the error for a non-2xx answer from its status, headers
// and body. now is when the answer arrived, for rate-limit resets given as
// an absolute time.
func (c *Client) statusError(op string, resp *http.Response, body []byte, now time.Time) *domain.ProviderError {
	pe := &domain.ProviderError{
		Op:         op,
		Class:      classifyStatus(resp.StatusCode),
		HTTPStatus: resp.StatusCode,
	}
	if pe.Retryable() {
		// Telnyx documents x-ratelimit-reset on a 429 and may add an
		// undocumented Retry-After; a 503 from a proxy may carry one too,
		// and it is just as worth honouring.
		pe.RetryAfter = retryAfter(resp.Header, now)
	}
	if e, ok := parseErrorBody(body); ok {
		pe.Code = c.redact(e.Code)
		pe.Title = c.redact(e.Title)
		pe.Detail = c.redact(e.Detail)
		pe.Pointer = c.redact(e.Pointer)
	} else if text := strings.TrimSpace(string(body)); text != "" {
		// A proxy's HTML page or plain text still helps an operator; keep a
		// short, single-line excerpt.
		pe.Detail = c.redact(excerpt(text, 200))
	}
	return pe
}

// apiError is the first entry of a Telnyx error body.
type apiError struct {
	Code, Title, Detail, Pointer string
}

// parseErrorBody reads the first error of a Telnyx error body. Only the first
// is kept: Telnyx lists the most relevant first and ProviderError has room
// for one.
func parseErrorBody(body []byte) (apiError, bool) {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || len(eb.Errors) == 0 {
		return apiError{}, false
	}
	first := eb.Errors[0]
	pointer := first.Source.Pointer
	if pointer == "" {
		pointer = first.Source.Parameter
	}
	return apiError{Code: string(first.Code), Title: first.Title, Detail: first.Detail, Pointer: pointer}, true
}

// retryAfter reads how long Telnyx asked us to wait: retry-after (seconds or
// an HTTP date) first, else x-ratelimit-reset. Telnyx documents the reset in
// seconds; a value too large to be a delay is read as a Unix time, since
// other APIs send it that way and a wrong reading would mean waiting decades.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if d, ok := seconds(v); ok {
			return d
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if v := strings.TrimSpace(h.Get("X-Ratelimit-Reset")); v != "" {
		if d, ok := seconds(v); ok {
			const unixTimeThreshold = 1_000_000_000 * time.Second
			if d >= unixTimeThreshold {
				return max(time.Unix(0, 0).Add(d).Sub(now), 0)
			}
			return d
		}
	}
	return 0
}

// maxSeconds is the longest time.Duration in seconds (about 292 years):
// beyond it the conversion would overflow into a negative wait.
const maxSeconds = float64(math.MaxInt64) / float64(time.Second)

// seconds parses a non-negative number of seconds, fractions allowed.
func seconds(v string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(v, 64)
	// Written so that NaN fails too.
	if err != nil || !(f >= 0 && f < maxSeconds) {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// transportError classifies a failure to get an answer at all. parent is the
// caller's context and attempt the per-attempt one derived from it, so that
// a caller's deadline and our own attempt timeout both read as timeouts.
func (c *Client) transportError(op string, err error, parent, attempt context.Context) *domain.ProviderError {
	pe := &domain.ProviderError{Op: op, Err: c.redactErr(err)}
	var netErr net.Error
	switch {
	case parent.Err() != nil:
		// The caller gave up (deadline or cancellation): from its point of
		// view the provider did not answer in time. Err keeps the context
		// error so errors.Is(err, context.Canceled) still works.
		pe.Class = domain.ProviderTimeout
		pe.Err = parent.Err()
	case errors.Is(attempt.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		pe.Class = domain.ProviderTimeout
	case errors.As(err, &netErr) && netErr.Timeout():
		pe.Class = domain.ProviderTimeout
	default:
		// Connection refused or reset, DNS failure, TLS failure, EOF before
		// any answer: nobody answered.
		pe.Class = domain.ProviderUnreachable
	}
	return pe
}

// localError is a call refused before anything was sent, because sending it
// could only do harm (an empty ID would address a whole collection).
func localError(op, detail string) *domain.ProviderError {
	return &domain.ProviderError{Op: op, Class: domain.ProviderRejected, Title: "Invalid request", Detail: detail}
}

// redact removes the API key from text that may echo it (a server that
// repeats our headers, a transport error quoting a request). The key is
// never put there by us; this is the last line of defence.
func (c *Client) redact(s string) string {
	if c.apiKey == "" || !strings.Contains(s, c.apiKey) {
		return s
	}
	return strings.ReplaceAll(s, c.apiKey, "[REDACTED]")
}

func (c *Client) redactErr(err error) error {
	if err == nil || c.apiKey == "" || !strings.Contains(err.Error(), c.apiKey) {
		return err
	}
	return errors.New(c.redact(err.Error()))
}

func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// unreadable is the error for a 2xx answer whose body we cannot decode.
func (c *Client) unreadable(op string, status int, err error) *domain.ProviderError {
	return &domain.ProviderError{
		Op:         op,
		Class:      domain.ProviderServerError,
		HTTPStatus: status,
		Detail:     "unreadable response body",
		Err:        c.redactErr(fmt.Errorf("decode: %w", err)),
	}
}
