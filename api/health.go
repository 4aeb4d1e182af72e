package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/talkturo/phonenumbers/domain"
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
// one fails, with the usual error object naming the failing checks. Error
// texts are generic: a readiness probe is no place to leak connection
// strings (the real error is logged).
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.ReadyTimeout)
	defer cancel()
	results := make(map[string]checkResult, len(s.checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ch := range s.checks {
		wg.Go(func() {
			r := checkResult{Status: "ok"}
			if err := runCheck(ctx, ch); err != nil {
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
	var failing []string
	for name, r := range results {
		if r.Status != "ok" {
			failing = append(failing, name)
		}
	}
	if len(failing) == 0 {
		return c.JSON(fiber.Map{"success": true, "checks": results})
	}
	slices.Sort(failing)
	return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{
		"success": false,
		"checks":  results,
		"error": fiber.Map{
			"code":    domain.CodeServiceUnavailable,
			"message": "Not ready: " + strings.Join(failing, ", ") + " unavailable.",
		},
	})
}

// runCheck runs one check, turning a panic into an error: a check runs on
// a goroutine of its own, where a panic would end the process.
func runCheck(ctx context.Context, ch Check) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("check %s panicked: %v", ch.Name, r)
		}
	}()
	return ch.Check(ctx)
}

const defaultReadyTimeout = 3 * time.Second
