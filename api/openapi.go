package api

import (
	"bytes"
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPIDocument is the OpenAPI 3 document of this API. Tests keep it
// true: they compare its paths with the app's routes and validate real
// requests and answers against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI 3 document (JSON) that
// GET /api/openapi.json serves.
func OpenAPIDocument() []byte { return bytes.Clone(openAPIDocument) }

// openAPI is GET /api/openapi.json: the document, without authentication.
func (s *Server) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(openAPIDocument)
}
