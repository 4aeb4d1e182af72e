package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is what the API traces requests with. A nil Provider traces
// nothing: no middleware is installed at all.
type Tracing struct {
	Provider trace.TracerProvider
	// Propagator reads the caller's trace context (W3C traceparent).
	Propagator propagation.TextMapPropagator
}

// untraced are the probes: a span a second per pod says nothing.
var untraced = map[string]bool{"/healthz": true, "/readyz": true}

// traceRequests starts a server span for every request but the probes,
// the child of the caller's when it sends a traceparent, and hands it on
// in the request's context (c.UserContext()), which the handlers, the
// access log and the Temporal client take.
//
// A tiny middleware rather than otelfiber (v2.1.1): that one names the
// attributes after semantic conventions 1.12 (unlike otelhttp's on the
// Telnyx spans), puts a Basic credential's user name in enduser.id (a
// token sent as `curl -u $TOKEN:` would land in the trace), and answers
// with a traceparent header. This one records no header but User-Agent,
// and no query; it names the span after the route pattern (the path holds
// ids), as the metrics label it, and adds nothing to the answer.
func (s *Server) traceRequests(t Tracing) fiber.Handler {
	tracer := t.Provider.Tracer("github.com/talkturo/phonenumbers/api")
	prop := t.Propagator
	if prop == nil {
		prop = propagation.TraceContext{}
	}
	return func(c *fiber.Ctx) error {
		if untraced[c.Path()] {
			return c.Next()
		}
		method := s.metrics.methodOf(c)
		ctx := prop.Extract(c.UserContext(), requestHeaders{&c.Request().Header})
		ctx, span := tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			semconv.HTTPRequestMethodKey.String(method),
			semconv.URLPath(strings.Clone(c.Path())),
			semconv.URLScheme(strings.Clone(c.Protocol())),
			semconv.UserAgentOriginal(string(c.Request().Header.UserAgent())),
			attribute.String("talkturo.request_id", requestID(c)),
		))
		defer span.End()
		c.SetUserContext(ctx)
		// The access log inside has turned an error into the answer
		// already: the status read here is the one sent.
		err := c.Next()
		status := c.Response().StatusCode()
		if route := s.metrics.routeOf(c); route != unmatchedRoute {
			span.SetName(method + " " + route)
			span.SetAttributes(semconv.HTTPRoute(route))
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 500 {
			span.SetStatus(codes.Error, "")
		}
		return err
	}
}

// requestHeaders reads a request's headers for a propagator.
type requestHeaders struct{ h *fasthttp.RequestHeader }

func (r requestHeaders) Get(key string) string { return string(r.h.Peek(key)) }

func (requestHeaders) Set(string, string) {}

func (r requestHeaders) Keys() []string {
	var keys []string
	r.h.VisitAll(func(k, _ []byte) { keys = append(keys, string(k)) })
	return keys
}
