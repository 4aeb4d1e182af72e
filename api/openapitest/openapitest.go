// Package openapitest checks real HTTP exchanges with the API against its
// OpenAPI document (api/openapi.json), for tests: the request must be one
// the document describes, or have been refused with a 4xx; the answer's
// status, headers and body must be what the document says.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/talkturo/phonenumbers/api"
)

type loaded struct {
	doc    *openapi3.T
	router routers.Router
}

var load = sync.OnceValues(func() (loaded, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIDocument())
	if err != nil {
		return loaded{}, fmt.Errorf("loading api/openapi.json: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return loaded{}, fmt.Errorf("api/openapi.json is not a valid OpenAPI 3 document: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return loaded{}, fmt.Errorf("routing api/openapi.json: %w", err)
	}
	return loaded{doc: doc, router: router}, nil
})

// Document returns the API's OpenAPI document, loaded and validated once.
func Document() (*openapi3.T, error) {
	l, err := load()
	return l.doc, err
}

// Validate checks one exchange: req as sent (its body is reqBody; req.Body
// is not read) and the answer's status, header and body. It returns nil
// when the document describes both; otherwise an error saying what
// differs.
//
// A request the document calls invalid is fine when the API refused it
// with a 4xx too (tests send bad requests on purpose); answered with
// anything else, the document is stricter than the API. A path or method
// that the document lacks must have been answered 404 or 405, with the
// error body.
func Validate(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	l, err := load()
	if err != nil {
		return err
	}
	what := req.Method + " " + req.URL.Path
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	r.ContentLength = int64(len(reqBody))

	head := r.Method == http.MethodHead
	if head {
		// Fiber answers HEAD on every GET route: check it as the GET it
		// stands for, without a body to check.
		r.Method = http.MethodGet
	}
	route, pathParams, err := l.router.FindRoute(r)
	if p := r.URL.Path; errors.Is(err, routers.ErrPathNotFound) && len(p) > 1 && strings.HasSuffix(p, "/") {
		// Fiber's routing is not strict: /x/ is the route /x.
		r.URL.Path, r.URL.RawPath = strings.TrimSuffix(p, "/"), ""
		route, pathParams, err = l.router.FindRoute(r)
	}
	if err != nil {
		switch {
		case errors.Is(err, routers.ErrPathNotFound) && status == http.StatusNotFound,
			errors.Is(err, routers.ErrMethodNotAllowed) && status == http.StatusMethodNotAllowed,
			// The /api group authenticates before routing: an unknown path
			// under /api without a good token is a 401.
			errors.Is(err, routers.ErrPathNotFound) && status == http.StatusUnauthorized && strings.HasPrefix(r.URL.Path, "/api/"),
			// Fiber refuses headers over its read buffer, and the API a
			// compressed body, before routing.
			status == http.StatusRequestHeaderFieldsTooLarge, status == http.StatusUnsupportedMediaType:
			if head {
				return nil
			}
			return validateErrorBody(l.doc, what, status, respBody)
		}
		return fmt.Errorf("%s is not in the OpenAPI document (%v), yet the API answered %d", what, err, status)
	}

	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: pathParams,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:  bearerPresent,
			SkipSettingDefaults: true,
			MultiError:          true,
		},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && (status < 400 || status > 499) {
		return fmt.Errorf("%s: the OpenAPI document calls the request invalid, yet the API answered %d: %v", what, status, err)
	}

	if head {
		return nil
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s: answer %d does not match the OpenAPI document: %v\nbody: %s", what, status, err, truncate(respBody))
	}
	return nil
}

// bearerPresent stands for the bearer scheme: the API decides whether the
// token is good; the document only says one must be sent.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "bearerAuth" {
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	scheme, token, ok := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("no bearer token in Authorization")
	}
	return nil
}

func validateErrorBody(doc *openapi3.T, what string, status int, body []byte) error {
	ref := doc.Components.Schemas["Error"]
	if ref == nil || ref.Value == nil {
		return errors.New("the OpenAPI document has no Error schema")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s: answer %d is not JSON: %v\nbody: %s", what, status, err, truncate(body))
	}
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("%s: answer %d is not the Error body: %v\nbody: %s", what, status, err, truncate(body))
	}
	return nil
}

func truncate(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
