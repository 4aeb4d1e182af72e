package api

import (
	"bytes"

	"github.com/gofiber/fiber/v2"

	"github.com/talkturo/phonenumbers/domain"
)

// errEncodedBody is the answer to a request body in a content coding.
var errEncodedBody = &domain.Error{Kind: domain.KindUnsupportedEncoding, Code: domain.CodeUnsupportedEncoding,
	Field: fiber.HeaderContentEncoding, Message: "Request bodies must not be compressed: send them without Content-Encoding (or with Content-Encoding: identity)."}

// identityBodiesOnly refuses, on every route, a request whose
// Content-Encoding names any coding but identity. Fiber's c.Body() inflates
// gzip, deflate and brotli bodies into memory with no limit (BodyLimit
// counts the bytes received, not the bytes they inflate to): one 1 MiB gzip
// of zeros becomes 1 GB. Our bodies are small JSON documents, so there is
// nothing to gain from compression, and refusing it before authentication
// or a signature check reads the body leaves nothing to inflate.
//
// Every Content-Encoding line counts, not only the first or the last:
// Fiber reads the last, other proxies the first. Empty list elements are
// allowed (RFC 9110, section 5.6.1), and identity in any case.
// Transfer-Encoding needs nothing here: fasthttp reads any transfer coding
// as chunked, within BodyLimit, and never inflates it.
func identityBodiesOnly() fiber.Handler {
	return func(c *fiber.Ctx) error {
		encoded := false
		c.Request().Header.VisitAll(func(key, value []byte) {
			if encoded || !bytes.EqualFold(key, []byte(fiber.HeaderContentEncoding)) {
				return
			}
			for _, coding := range bytes.Split(value, []byte(",")) {
				coding = bytes.Trim(coding, " \t")
				if len(coding) > 0 && !bytes.EqualFold(coding, []byte("identity")) {
					encoded = true
					return
				}
			}
		})
		if encoded {
			return errEncodedBody
		}
		return c.Next()
	}
}
