package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/talkturo/phonenumbers/domain"
)

// ProbeConfig configures a ProviderProbe.
type ProbeConfig struct {
	// Ping tells whether Telnyx answers and takes our key: the Ping of a
	// client without retries, so that a probe is exactly one call to
	// Telnyx per interval, even while it throttles us (one failed answer
	// fails searches fast until the next probe).
	Ping func(ctx context.Context) error
	// Interval is the time between the starts of two probes
	// (TELNYX_PROBE_INTERVAL); required.
	Interval time.Duration
	// Timeout bounds one probe; zero means the interval, at most 10 s.
	Timeout time.Duration
	// Registry receives talkturo_telnyx_up and
	// talkturo_telnyx_last_probe_timestamp_seconds; nil registers nothing.
	Registry prometheus.Registerer
	Log      *slog.Logger
}

// maxProviderBackoff caps how long a Retry-After from Telnyx keeps
// searches away: a bogus header must not lock them out for an hour.
const maxProviderBackoff = time.Minute

// ProviderProbe calls Telnyx in the background, once per interval whatever
// the request rate, and keeps what it saw. Readiness does not depend on
// it (a Telnyx outage must not take every pod out of service, and a
// flood of unauthenticated /readyz must not spend the rate limit we
// share with every team); searches read it to fail fast while Telnyx is
// down instead of spending their whole budget on it.
type ProviderProbe struct {
	ping     func(context.Context) error
	interval time.Duration
	timeout  time.Duration
	log      *slog.Logger
	now      func() time.Time

	mu          sync.Mutex
	status      string // providerUnknown, providerUp or providerDown
	reason      string
	checkedAt   time.Time // when the last probe ended
	changedAt   time.Time // when status last changed
	nextAt      time.Time // when the next probe starts
	throttledTo time.Time // Telnyx asked searches to wait until then

	stop context.CancelFunc
	done chan struct{}
}

// Provider states, as GET /diagnostics/provider names them.
const (
	providerUnknown = "unknown" // no probe has ended yet
	providerUp      = "up"
	providerDown    = "down"
)

// NewProviderProbe returns a probe that has not run yet; Start runs it.
func NewProviderProbe(cfg ProbeConfig) (*ProviderProbe, error) {
	if cfg.Interval <= 0 {
		return nil, fmt.Errorf("api.NewProviderProbe: ProbeConfig.Interval (TELNYX_PROBE_INTERVAL) must be a positive duration, not %v", cfg.Interval)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = min(cfg.Interval, 10*time.Second)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	p := &ProviderProbe{ping: cfg.Ping, interval: cfg.Interval, timeout: cfg.Timeout, log: cfg.Log, now: time.Now, status: providerUnknown}
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Namespace: "talkturo", Name: "telnyx_up",
				Help: "1 when the last Telnyx probe succeeded, 0 when it failed or none has ended yet.",
			}, func() float64 {
				if p.snapshot().Status == providerUp {
					return 1
				}
				return 0
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Namespace: "talkturo", Name: "telnyx_last_probe_timestamp_seconds",
				Help: "Unix time at which the last Telnyx probe ended (0 before the first).",
			}, func() float64 {
				if t := p.snapshot().CheckedAt; t != nil {
					return float64(t.UnixNano()) / 1e9
				}
				return 0
			}),
		)
	}
	return p, nil
}

// Start runs the first probe at once and then one per interval, in the
// background, until Stop. It does not block.
func (p *ProviderProbe) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.stop, p.done = cancel, make(chan struct{})
	go p.run(ctx)
	return nil
}

// Stop ends the probing and waits for a probe under way, up to ctx.
func (p *ProviderProbe) Stop(ctx context.Context) error {
	if p.stop == nil {
		return nil
	}
	p.stop()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *ProviderProbe) run(ctx context.Context) {
	defer close(p.done)
	for {
		start := p.now()
		p.mu.Lock()
		p.nextAt = start.Add(p.interval)
		p.mu.Unlock()
		p.probeOnce(ctx)
		// The next probe starts an interval after this one started (not
		// after it ended), so two probes are never closer than that.
		t := time.NewTimer(time.Until(start.Add(p.interval)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (p *ProviderProbe) probeOnce(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, p.timeout)
	err := p.ping(pctx)
	cancel()
	if ctx.Err() != nil {
		return // stopping: a probe cut short says nothing of Telnyx
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.status
	p.checkedAt = now
	if err == nil {
		p.status, p.reason = providerUp, ""
	} else {
		p.status, p.reason = providerDown, reasonOf(err)
		var pe *domain.ProviderError
		if errors.As(err, &pe) && pe.Class == domain.ProviderRateLimited && pe.RetryAfter > 0 {
			p.throttledTo = later(p.throttledTo, now.Add(min(pe.RetryAfter, maxProviderBackoff)))
		}
	}
	if p.status != was {
		p.changedAt = now
		if err != nil {
			p.log.Warn("Telnyx probe failed: searches answer 503 until it succeeds", "reason", p.reason, "error", err)
		} else {
			p.log.Info("Telnyx probe succeeded", "was", was)
		}
	}
}

// reasonOf names a failed probe's cause for the diagnostic answer: the
// class of the failure as the Telnyx call metric counts it
// (providerOutcome), or "failed" for one the diagnostics do not name.
func reasonOf(err error) string {
	switch o := providerOutcome(err); o {
	case "rate_limited", "timeout", "unreachable", "rejected":
		return o
	}
	return "failed"
}

// providerStatus is GET /diagnostics/provider's answer.
type providerStatus struct {
	Success  bool   `json:"success"`
	Provider string `json:"provider"`
	// Status is unknown, up or down; Reason says why it is down
	// (rate_limited, timeout, unreachable, rejected, failed).
	Status           string     `json:"status"`
	Reason           string     `json:"reason,omitempty"`
	CheckedAt        *time.Time `json:"checkedAt"`
	ChangedAt        *time.Time `json:"changedAt"`
	NextCheckAt      *time.Time `json:"nextCheckAt"`
	IntervalSeconds  float64    `json:"intervalSeconds"`
	RateLimitedUntil *time.Time `json:"rateLimitedUntil,omitempty"`
}

// snapshot is the probe's state as the diagnostic endpoint shows it.
func (p *ProviderProbe) snapshot() providerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := providerStatus{Success: true, Provider: domain.ProviderName, Status: p.status, Reason: p.reason,
		CheckedAt: timePtr(p.checkedAt), ChangedAt: timePtr(p.changedAt), NextCheckAt: timePtr(p.nextAt),
		IntervalSeconds: p.interval.Seconds()}
	if p.throttledTo.After(p.now()) {
		st.RateLimitedUntil = timePtr(p.throttledTo)
	}
	return st
}

// unavailable is the error a search answers at once, without calling
// Telnyx, while the last probe failed or Telnyx asked us to wait; nil
// otherwise. Retry-After is the next probe or the end of Telnyx's wait.
func (p *ProviderProbe) unavailable() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	switch {
	case p.throttledTo.After(now):
		return withRetryAfter(&domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeProviderUnavailable,
			Message: "The phone number provider is rate-limiting our requests; try again shortly."}, p.throttledTo.Sub(now))
	case p.status == providerDown:
		return withRetryAfter(&domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeProviderUnavailable,
			Message: fmt.Sprintf("The phone number provider is not answering (checked %d s ago); try again shortly.", int(now.Sub(p.checkedAt)/time.Second))},
			p.nextAt.Sub(now))
	}
	return nil
}

// observe learns from a search's failure: when Telnyx rate-limited it,
// the searches that follow wait as long as Telnyx asked (with a second at
// least) instead of spending more of the account's limit.
func (p *ProviderProbe) observe(err error) {
	var pe *domain.ProviderError
	if p == nil || !errors.As(err, &pe) || pe.Class != domain.ProviderRateLimited {
		return
	}
	wait := min(max(pe.RetryAfter, time.Second), maxProviderBackoff)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttledTo = later(p.throttledTo, p.now().Add(wait))
}

// providerDiagnostics is GET /diagnostics/provider: what the last Telnyx
// probe saw. It never calls Telnyx, so it needs no token and a flood of
// it costs nothing; it answers 200 whatever Telnyx's state, since it is a
// report for people and dashboards, not a probe to act on.
func (s *Server) providerDiagnostics(c *fiber.Ctx) error {
	if s.probe == nil {
		return c.JSON(providerStatus{Success: true, Provider: domain.ProviderName, Status: providerUnknown, Reason: "not_configured"})
	}
	return c.JSON(s.probe.snapshot())
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
