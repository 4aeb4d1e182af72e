package api

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

const (
	headerRequestID = "X-Request-Id"
	localRequestID  = "request_id"
)

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestIDs gives every request an id: the caller's X-Request-Id when it is
// sane, else a new one. It is echoed back and put on every log line.
func requestIDs() fiber.Handler {
	return func(c *fiber.Ctx) error {
		requestID(c)
		return c.Next()
	}
}

// requestID returns the request's id, choosing it (and setting the
// response header) on first use.
func requestID(c *fiber.Ctx) string {
	if id, ok := c.Locals(localRequestID).(string); ok {
		return id
	}
	// A copy: Fiber's header strings point into a buffer that is reused
	// after the request, and the id outlives it in log records.
	id := strings.Clone(c.Get(headerRequestID))
	if !validRequestID.MatchString(id) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = "req_" + hex.EncodeToString(b[:])
	}
	c.Locals(localRequestID, id)
	c.Set(headerRequestID, id)
	return id
}

func requestLogger(c *fiber.Ctx, log *slog.Logger) *slog.Logger {
	if id, ok := c.Locals(localRequestID).(string); ok {
		return log.With("request_id", id)
	}
	return log
}

// accessLog writes one line per request. It logs the route pattern, not the
// raw URL, and never a header: tokens stay out of logs.
func accessLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Let the error handler write the response before we read its status.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		status := c.Response().StatusCode()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelWarn
		}
		requestLogger(c, log).Log(c.UserContext(), level, "http request",
			"method", c.Method(), "route", c.Route().Path, "status", status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000)
		return nil
	}
}
