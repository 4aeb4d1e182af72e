package telnyxsim

import (
	"encoding/json"
	"net/http"
)

// Error codes the simulator answers with: only codes of Telnyx's published
// error list. Telnyx documents no code for a number that is no longer
// available nor for a deletion lock, so both get the generic bad-request
// code; clients branch on the HTTP status and on a follow-up look-up, never
// on a code.
const (
	CodeInvalidPhoneNumber   = "10002" // Invalid phone number
	CodeMissingParameter     = "10004" // Missing required parameter
	CodeResourceNotFound     = "10005" // Resource not found
	CodeUnexpectedError      = "10007" // Unexpected error (500, 503)
	CodeAuthenticationFailed = "10009" // Authentication failed (401)
	CodeTooManyRequests      = "10011" // Too many requests (429)
	CodeDuplicateResource    = "10012" // Duplicate resource
	CodeBadRequest           = "10015" // Bad Request: malformed body or parameter
	CodeNotE164              = "10016" // Phone number must be in +E.164 format
)

// apiError is one Telnyx error, with the HTTP status it is sent with.
type apiError struct {
	status    int
	code      string
	title     string
	detail    string
	pointer   string // JSON pointer into the request body
	parameter string // query parameter at fault
}

type wireError struct {
	Code   string            `json:"code"`
	Title  string            `json:"title"`
	Detail string            `json:"detail,omitempty"`
	Source map[string]string `json:"source"`
	Meta   map[string]string `json:"meta,omitempty"`
}

// writeError answers with Telnyx's error envelope. source is always present,
// empty when no field is at fault, as Telnyx does.
func writeError(w http.ResponseWriter, e apiError) {
	src := map[string]string{}
	if e.pointer != "" {
		src["pointer"] = e.pointer
	}
	if e.parameter != "" {
		src["parameter"] = e.parameter
	}
	body := struct {
		Errors []wireError `json:"errors"`
	}{Errors: []wireError{{
		Code:   e.code,
		Title:  e.title,
		Detail: e.detail,
		Source: src,
		Meta:   map[string]string{"url": "https://developers.telnyx.com/docs/overview/errors/" + e.code},
	}}}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func badParameter(param, detail string) apiError {
	return apiError{status: http.StatusBadRequest, code: CodeBadRequest, title: "Bad Request", detail: detail, parameter: param}
}

func invalidParameter(param, detail string) apiError {
	return apiError{status: http.StatusUnprocessableEntity, code: CodeBadRequest, title: "Invalid parameter", detail: detail, parameter: param}
}

// UnknownRouteDetail is the detail of the 404 for a path Telnyx does not
// serve, unlike the 404 for a resource, which names it: a test telling a
// mistyped path from a missing resource (which some callers read as
// success) compares against it.
const UnknownRouteDetail = "The requested resource or URL could not be found."

func notFound(detail string) apiError {
	return apiError{status: http.StatusNotFound, code: CodeResourceNotFound, title: "Resource not found", detail: detail}
}
