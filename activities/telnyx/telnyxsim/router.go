package telnyxsim

import (
	"net/http"
	"slices"
	"strings"
)

// router matches a method and a path with at most one "{id}" segment. It
// exists instead of http.ServeMux because Telnyx answers unknown paths and
// wrong methods with its JSON error body, and ServeMux writes plain text.
type router struct {
	routes []route
}

type route struct {
	method  string
	pattern []string
	handle  func(w http.ResponseWriter, r *http.Request, id string)
}

func (rt *router) add(method, pattern string, h func(w http.ResponseWriter, r *http.Request, id string)) {
	rt.routes = append(rt.routes, route{method: method, pattern: segments(pattern), handle: h})
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := segments(r.URL.Path)
	var allowed []string
	for _, rte := range rt.routes {
		id, ok := rte.match(path)
		if !ok {
			continue
		}
		if rte.method == r.Method {
			rte.handle(w, r, id)
			return
		}
		if !slices.Contains(allowed, rte.method) {
			allowed = append(allowed, rte.method)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, apiError{status: http.StatusMethodNotAllowed, code: CodeBadRequest, title: "Method not allowed",
			detail: r.Method + " is not allowed here; use " + strings.Join(allowed, " or ") + "."})
		return
	}
	writeError(w, notFound(UnknownRouteDetail))
}

func (rte route) match(path []string) (string, bool) {
	if len(path) != len(rte.pattern) {
		return "", false
	}
	var id string
	for i, p := range rte.pattern {
		switch {
		case p == "{id}":
			if path[i] == "" {
				return "", false
			}
			id = path[i]
		case p != path[i]:
			return "", false
		}
	}
	return id, true
}

// segments splits a path, keeping a trailing empty segment so that
// "/v2/phone_numbers/" does not match "/v2/phone_numbers/{id}".
func segments(p string) []string {
	return strings.Split(strings.TrimPrefix(p, "/"), "/")
}
