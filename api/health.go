package api

import (
	"context"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Check is one dependency that /readyz reports on.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

type checkResult struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// healthz answers as long as the process serves HTTP.
func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"success": true, "status": "ok"})
}

// readyz runs every check in parallel, each bounded, and answers 503 when
// one fails, naming it. Error texts are generic: a readiness probe is no
// place to leak connection strings.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.ReadyTimeout)
	defer cancel()
	results := make(map[string]checkResult, len(s.checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ch := range s.checks {
		wg.Go(func() {
			r := checkResult{Status: "ok"}
			if err := ch.Check(ctx); err != nil {
				r = checkResult{Status: "unavailable", Error: "did not answer in time or refused the connection"}
				if ctx.Err() == nil {
					r.Error = "check failed"
				}
				s.log.Warn("readiness check failed", "check", ch.Name, "error", err)
			}
			mu.Lock()
			results[ch.Name] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	ready := true
	for _, r := range results {
		ready = ready && r.Status == "ok"
	}
	status := fiber.StatusOK
	if !ready {
		status = fiber.StatusServiceUnavailable
	}
	return c.Status(status).JSON(fiber.Map{"success": ready, "checks": results})
}

const defaultReadyTimeout = 3 * time.Second
