package telnyxsim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// settleTick is how often a simulator with a WebhookURL settles due orders
// on its own: without it an order would settle, and be announced, only
// when someone next read the state, and nobody polls an order they expect
// a webhook for. It is how late after its latency an order settles and is
// announced: a few milliseconds, small beside the order latencies the
// benchmarks and the load tool measure (it scans only pending orders).
const settleTick = 5 * time.Millisecond

// webhookTimeout bounds one delivery attempt.
const webhookTimeout = 5 * time.Second

// webhooks delivers signed number_order.complete events, one at a time, in
// the order they were announced, outside the simulator's lock.
type webhooks struct {
	url      string
	key      ed25519.PrivateKey
	attempts int
	backoff  time.Duration
	twice    bool // Options.WebhookDuplicates
	clock    func() time.Time
	client   *http.Client

	mu    sync.Mutex
	queue []hookEvent
	wake  chan struct{}

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// hookEvent is one event waiting for delivery; the order is rendered when
// it settles, so a later change does not leak into the event.
type hookEvent struct {
	id         string
	occurredAt time.Time
	payload    orderJSON
}

func newWebhooks(opts Options, clock func() time.Time) *webhooks {
	if opts.WebhookURL == "" {
		return nil
	}
	h := &webhooks{
		url:      opts.WebhookURL,
		key:      opts.WebhookKey,
		attempts: opts.WebhookAttempts,
		backoff:  opts.WebhookBackoff,
		twice:    opts.WebhookDuplicates,
		clock:    clock,
		client:   &http.Client{Timeout: webhookTimeout},
		wake:     make(chan struct{}, 1),
	}
	if h.attempts <= 0 {
		h.attempts = DefaultWebhookAttempts
	}
	if h.backoff <= 0 {
		h.backoff = DefaultWebhookBackoff
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h
}

// start runs the settling ticker and the delivery worker until close.
func (h *webhooks) start(settle func()) {
	h.wg.Add(2)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(settleTick)
		defer t.Stop()
		for {
			select {
			case <-h.ctx.Done():
				return
			case <-t.C:
				settle()
			}
		}
	}()
	go func() {
		defer h.wg.Done()
		for {
			select {
			case <-h.ctx.Done():
				return
			case <-h.wake:
			}
			for {
				h.mu.Lock()
				if len(h.queue) == 0 {
					h.mu.Unlock()
					break
				}
				ev := h.queue[0]
				h.queue = h.queue[1:]
				h.mu.Unlock()
				h.deliver(ev)
			}
		}
	}()
}

func (h *webhooks) close() {
	h.closeOnce.Do(func() {
		h.cancel()
		h.wg.Wait()
	})
}

// enqueue queues an event without blocking; the simulator calls it under
// its lock.
func (h *webhooks) enqueue(ev hookEvent) {
	h.mu.Lock()
	h.queue = append(h.queue, ev)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// webhookJSON is Telnyx's event envelope.
type webhookJSON struct {
	Data struct {
		EventType  string    `json:"event_type"`
		ID         string    `json:"id"`
		OccurredAt string    `json:"occurred_at"`
		Payload    orderJSON `json:"payload"`
		RecordType string    `json:"record_type"`
	} `json:"data"`
	Meta struct {
		Attempt     int    `json:"attempt"`
		DeliveredTo string `json:"delivered_to"`
	} `json:"meta"`
}

// deliver posts an event until it is answered 2xx or the attempts run out,
// waiting backoff, then twice as long, and so on between attempts. Each
// attempt is signed anew: its body (meta.attempt) and timestamp differ.
func (h *webhooks) deliver(ev hookEvent) {
	var env webhookJSON
	env.Data.EventType = "number_order.complete"
	env.Data.ID = ev.id
	env.Data.OccurredAt = timestamp(ev.occurredAt)
	env.Data.Payload = ev.payload
	env.Data.RecordType = "event"
	env.Meta.DeliveredTo = h.url
	wait := h.backoff
	for attempt := 1; attempt <= h.attempts; attempt++ {
		env.Meta.Attempt = attempt
		body, err := json.Marshal(env)
		if err != nil {
			return
		}
		if h.post(body) {
			return
		}
		if attempt == h.attempts {
			return
		}
		select {
		case <-h.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// post sends one signed attempt and reports whether it was answered 2xx.
func (h *webhooks) post(body []byte) bool {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	ts := strconv.FormatInt(h.clock().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "telnyxsim-webhooks")
	req.Header.Set("telnyx-timestamp", ts)
	if h.key != nil {
		sig := ed25519.Sign(h.key, append([]byte(ts+"|"), body...))
		req.Header.Set("telnyx-signature-ed25519", base64.StdEncoding.EncodeToString(sig))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode >= 200 && resp.StatusCode <= 299
}

// announce queues the number_order.complete event of an order that has
// just settled. The caller holds s.mu.
func (s *Simulator) announce(o *order) {
	if s.hooks == nil {
		return
	}
	ev := hookEvent{id: s.newUUID(), occurredAt: o.updatedAt, payload: s.orderJSON(o)}
	s.hooks.enqueue(ev)
	if s.hooks.twice {
		// The same event (same id, same payload) again, as Telnyx may
		// send it when it did not see the first delivery acknowledged.
		s.hooks.enqueue(ev)
	}
}
