// Package api is the public REST API of Talkturo phone numbers, on Fiber:
// routes, bearer-token authentication, request validation, and the one
// mapping from domain errors to HTTP statuses and JSON error bodies.
package api
