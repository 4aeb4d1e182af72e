package telnyx

import (
	"context"
	"math/rand/v2"
	"time"
)

// baseBackoff is the first wait before a retry; each further retry doubles
// it, up to Config.MaxBackoff.
const baseBackoff = 200 * time.Millisecond

// backoff returns how long to wait after the given failed attempt (1-based).
// The exponential part gets "equal jitter" (half fixed, half random) so that
// many workers failing together do not come back together. A Retry-After
// from Telnyx is honoured as a floor, and everything is capped at
// MaxBackoff so one unreasonable header cannot stall a worker.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := baseBackoff << min(attempt-1, 20)
	d = min(d, c.maxBackoff)
	d = d/2 + rand.N(d/2+1)
	d = max(d, retryAfter)
	return min(d, c.maxBackoff)
}

// fitsDeadline reports whether waiting d still leaves ctx alive.
func fitsDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Now().Add(d).Before(deadline)
}

// sleep waits d or until ctx ends, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
