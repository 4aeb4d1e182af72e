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

// readyCacheFor is how long one run of the checks answers every /readyz.
// /readyz is unauthenticated: without this a flood would take a pool
// connection and a Temporal call per request. A second is far below any
// probe period, so a failure still shows at the next probe.
const readyCacheFor = time.Second

// readiness shares the checks' runs between concurrent /readyz requests
// (one run at a time, the others wait for it) and keeps the last result
// for readyCacheFor.
type readiness struct {
	mu      sync.Mutex
	results map[string]checkResult
	at      time.Time     // when results were taken
	running chan struct{} // closed when the run under way ends; nil if none
}

// get returns a result at most readyCacheFor old, running the checks when
// there is none and no run is under way, or false when ctx ends first.
func (r *readiness) get(ctx context.Context, run func() map[string]checkResult) (map[string]checkResult, bool) {
	for {
		r.mu.Lock()
		if r.results != nil && time.Since(r.at) < readyCacheFor {
			res := r.results
			r.mu.Unlock()
			return res, true
		}
		if r.running == nil {
			done := make(chan struct{})
			r.running = done
			r.mu.Unlock()
			var res map[string]checkResult
			// Deferred, so that a run that panics still lets its waiters go
			// and the next request run the checks again.
			defer func() {
				r.mu.Lock()
				if res != nil {
					r.results, r.at = res, time.Now()
				}
				r.running = nil
				r.mu.Unlock()
				close(done)
			}()
			res = run()
			return res, true
		}
		running := r.running
		r.mu.Unlock()
		select {
		case <-running:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// readyz runs every check in parallel, each bounded, and answers 503 when
// one fails, with the usual error object naming the failing checks. Error
// texts are generic: a readiness probe is no place to leak connection
// strings (the real error is logged). Concurrent requests share one run,
// and its result answers for readyCacheFor.
func (s *Server) readyz(c *fiber.Ctx) error {
	results, ok := s.ready.get(c.UserContext(), s.runChecks)
	if !ok {
		return c.UserContext().Err()
	}
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

// runChecks runs every check once, in parallel, within ReadyTimeout. Its
// context is not a request's: the run answers every request waiting on it,
// so one caller hanging up must not cut it short.
func (s *Server) runChecks() map[string]checkResult {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ReadyTimeout)
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
	return results
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
