package api

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/talkturo/phonenumbers/domain"
)

// errorBody is the JSON of every error: {"success": false, "error": {...}}.
type errorBody struct {
	Success bool           `json:"success"`
	Error   map[string]any `json:"error"`
}

// statusByKind is the one place where an error kind becomes an HTTP
// status; a kind it does not list is a 500.
var statusByKind = map[domain.Kind]int{
	domain.KindInvalid:             http.StatusBadRequest,
	domain.KindUnauthorized:        http.StatusUnauthorized,
	domain.KindForbidden:           http.StatusForbidden,
	domain.KindLimit:               http.StatusForbidden,
	domain.KindNotFound:            http.StatusNotFound,
	domain.KindConflict:            http.StatusConflict,
	domain.KindUnprocessable:       http.StatusUnprocessableEntity,
	domain.KindProviderFailed:      http.StatusBadGateway,
	domain.KindProviderRateLimited: http.StatusServiceUnavailable,
	domain.KindUnavailable:         http.StatusServiceUnavailable,
	domain.KindProviderTimeout:     http.StatusGatewayTimeout,
	domain.KindUnsupportedEncoding: http.StatusUnsupportedMediaType,
	domain.KindRateLimited:         http.StatusTooManyRequests,
}

// statusOf is the HTTP status of an error kind.
func statusOf(k domain.Kind) int {
	if status, ok := statusByKind[k]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// toDomainError classifies any error a handler returns. Errors that are not
// ours are internal: their text is logged, never sent.
func toDomainError(err error) *domain.Error {
	var de *domain.Error
	if errors.As(err, &de) {
		return shownAsPublic(de, err)
	}
	var pe *domain.ProviderError
	if errors.As(err, &pe) {
		return pe.AsDomainError()
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusNotFound:
			return &domain.Error{Kind: domain.KindNotFound, Code: domain.CodeNotFound, Message: "There is no such endpoint."}
		case fiber.StatusMethodNotAllowed:
			return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeMethodNotAllowed, Message: "This endpoint does not accept that HTTP method."}
		case fiber.StatusRequestEntityTooLarge:
			return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeInvalidRequest, Message: "The request body is too large."}
		case fiber.StatusRequestTimeout:
			return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeInvalidRequest, Message: "The request took too long to arrive."}
		case fiber.StatusRequestHeaderFieldsTooLarge:
			return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeInvalidRequest, Message: "The request headers are too large."}
		}
		if fe.Code >= 400 && fe.Code < 500 {
			// The rest are fasthttp failing to parse the request, and its
			// text quotes the raw request, Authorization header included.
			return &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeInvalidRequest,
				Message: "The request is not well-formed HTTP: its request line, a header or the body's framing is malformed.", Err: err}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable, Message: "The service did not finish in time; try again.", Err: err}
	}
	return domain.Internal(err)
}

// shownAsPublic is de as a client may see it. An error with a code the
// registry does not list as public (a store's conflict that only workflows
// should meet, reaching a handler by a bug) is answered with the public
// code it stands as, and that code's kind; one shown as internal_error, or
// with a code the registry does not know, is an internal error whose
// message is not sent.
func shownAsPublic(de *domain.Error, err error) *domain.Error {
	info, ok := domain.LookupCode(de.Code)
	switch {
	case ok && info.IsPublic():
		return de
	case !ok || info.Kind == domain.KindInternal:
		return domain.Internal(err)
	}
	shown := *de
	shown.Kind, shown.Code = info.Kind, info.Public
	return &shown
}

// errorHandler answers every error with the JSON error body. It is Fiber's
// ErrorHandler, so routes, middleware, unknown paths and panics (through the
// recover middleware) all end here.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		// Errors Fiber raises before any middleware ran (a body or headers
		// too large, a slow client) still get a request id.
		requestID(c)
		de := toDomainError(err)
		status := statusOf(de.Kind)
		var fe *fiber.Error
		var ours *domain.Error
		if !errors.As(err, &ours) && errors.As(err, &fe) && fe.Code >= 400 && fe.Code < 500 {
			// Fiber's own 4xx (405, 413, 431, …) says more than a plain 400.
			status = fe.Code
		}
		if status == http.StatusUnauthorized {
			// RFC 6750: a 401 names the scheme that would have worked.
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="talkturo"`)
		}
		if status == http.StatusUnsupportedMediaType {
			// RFC 9110, section 15.5.16: say which content codings would do.
			c.Set(fiber.HeaderAcceptEncoding, "identity")
		}
		switch status {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			// Each of these is worth retrying; say when, as RFC 9110 allows.
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds(err)))
		}
		if status >= 500 {
			requestLogger(c, log).ErrorContext(c.UserContext(), "request failed", "status", status, "code", de.Code, "error", err)
		}
		return c.Status(status).JSON(bodyOf(de))
	}
}

// retryAfterSeconds is how long a client should wait before retrying:
// what the error says (a rate limit's refill, the provider probe's next
// run), else what Telnyx asked for when it rate-limited us, else a second.
func retryAfterSeconds(err error) int {
	var ra *retryAfterError
	if errors.As(err, &ra) && ra.after > 0 {
		return int(math.Ceil(ra.after.Seconds()))
	}
	var pe *domain.ProviderError
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		return int(math.Ceil(pe.RetryAfter.Seconds()))
	}
	return 1
}

// retryAfterError is a domain error that knows when a retry may succeed.
type retryAfterError struct {
	err   *domain.Error
	after time.Duration
}

// withRetryAfter attaches a Retry-After to a domain error.
func withRetryAfter(err *domain.Error, after time.Duration) error {
	return &retryAfterError{err: err, after: after}
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// bodyOf is the JSON error body of a domain error.
func bodyOf(de *domain.Error) errorBody {
	body := map[string]any{"code": de.Code, "message": de.Message}
	if de.Field != "" {
		body["field"] = de.Field
	}
	for k, v := range de.Details {
		body[k] = v
	}
	return errorBody{Success: false, Error: body}
}

// answerUnknownMethods makes a request whose method Fiber does not know (it
// would answer a plain-text 400 before any route or middleware ran) get the
// JSON 405 every other wrong method gets.
func answerUnknownMethods(app *fiber.App) {
	known := make(map[string]bool, len(app.Config().RequestMethods))
	for _, m := range app.Config().RequestMethods {
		known[m] = true
	}
	srv := app.Server()
	next := srv.Handler
	srv.Handler = func(fctx *fasthttp.RequestCtx) {
		if known[string(fctx.Method())] {
			next(fctx)
			return
		}
		c := app.AcquireCtx(fctx)
		defer app.ReleaseCtx(c)
		if err := app.ErrorHandler(c, fiber.ErrMethodNotAllowed); err != nil {
			fctx.Error("Method Not Allowed", fiber.StatusMethodNotAllowed)
		}
	}
}
