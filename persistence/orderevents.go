package persistence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
)

// OrderEventsChannel is the PostgreSQL notification channel that carries
// order events; each notification's payload is one provider order id.
// Channels are per database, so every process of one deployment hears
// every other's.
const OrderEventsChannel = "talkturo_order_events"

// The listener's reconnection: quick after a blip, at most one attempt
// every few seconds during an outage, so a down database sees little of
// it and the log a line per attempt at most.
const (
	listenerMinBackoff = 100 * time.Millisecond
	listenerMaxBackoff = 5 * time.Second
)

// listenerCloseTimeout bounds saying goodbye to the server when the
// listener's connection closes; the socket closes either way.
const listenerCloseTimeout = 2 * time.Second

// listenerApplicationName names the listener's connection in
// pg_stat_activity unless the connection string names it otherwise.
const listenerApplicationName = "talkturo-order-events"

// maxOrderIDLength bounds a published order id. Provider ids are UUIDs;
// the bound keeps a payload far below NOTIFY's 8000 bytes.
const maxOrderIDLength = 200

var _ domain.OrderEvents = (*OrderEvents)(nil)

// OrderEvents implements domain.OrderEvents over PostgreSQL's LISTEN and
// NOTIFY. Publish notifies through the pool; one listener per OrderEvents
// (per process, as Module provides it) holds a connection of its own that
// LISTENs, and hands each notification to that order's subscribers in
// this process. Subscribers are channels in a map, so a subscription costs
// no goroutine and no connection.
//
// The listener runs between Start and Stop. While it is down (not
// started, or reconnecting after a lost connection) Subscribe still works
// and subscribers hear nothing: a notification sent meanwhile is lost,
// which domain.OrderEvents allows (waiters poll too).
type OrderEvents struct {
	db     *gorm.DB
	cfg    *pgx.ConnConfig
	logger *slog.Logger

	mu      sync.Mutex
	waiters map[string]map[chan struct{}]struct{} // order id -> its subscribers

	runMu  sync.Mutex
	cancel context.CancelFunc // ends the running listener; nil when none runs
	done   chan struct{}      // closed when the running listener has ended
}

// NewOrderEvents returns OrderEvents that publish through db and listen on
// a connection of their own to the database at dsn (the pool's), opened as
// the pool's are: the options' connect and statement timeouts apply, and
// warnings about the listener's connection go to the options' logger
// (WithMaxOpenConns has no use here). It does not connect: Start does.
func NewOrderEvents(db *gorm.DB, dsn string, opts ...Option) (*OrderEvents, error) {
	if db == nil {
		return nil, errors.New("persistence: order events need the connection pool")
	}
	o := buildOptions(opts)
	cfg, err := connConfig(dsn, o)
	if err != nil {
		return nil, err
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = listenerApplicationName
	}
	return &OrderEvents{
		db:      db,
		cfg:     cfg,
		logger:  o.logger,
		waiters: map[string]map[chan struct{}]struct{}{},
	}, nil
}

// Publish tells the subscribers of the order, in every process whose
// listener is connected, that it changed. It returns once PostgreSQL has
// taken the notification; an empty or oversized order id is KindInvalid.
func (e *OrderEvents) Publish(ctx context.Context, orderID string) error {
	switch {
	case orderID == "":
		return domain.Invalid("orderId", "An order event needs the order's id.")
	case len(orderID) > maxOrderIDLength || malformedText(orderID):
		return domain.Invalid("orderId", "An order id is text of at most %d bytes.", maxOrderIDLength)
	}
	err := e.db.WithContext(ctx).Exec("SELECT pg_notify(?, ?)", OrderEventsChannel, orderID).Error
	return storeError("publishing an order event", err)
}

// Subscribe returns a channel that receives after each notification of
// the order that this process's listener hears, and the function that
// ends the subscription (calling it again does nothing). The channel
// holds one signal: notifications that arrive while one waits are merged
// into it, so a slow subscriber never holds up the listener. The channel
// is never closed, not even by the end of the subscription.
func (e *OrderEvents) Subscribe(orderID string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	e.mu.Lock()
	set := e.waiters[orderID]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		e.waiters[orderID] = set
	}
	set[ch] = struct{}{}
	e.mu.Unlock()

	var once sync.Once
	return ch, func() {
		once.Do(func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			if set := e.waiters[orderID]; set != nil {
				delete(set, ch)
				if len(set) == 0 {
					delete(e.waiters, orderID)
				}
			}
		})
	}
}

// dispatch signals the order's subscribers, dropping the signal of any
// that has one waiting already.
func (e *OrderEvents) dispatch(orderID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for ch := range e.waiters[orderID] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Start starts the listener and returns at once: it connects in the
// background, so a database that is down delays only the notifications,
// not the start of the process. Starting a running listener is an error.
func (e *OrderEvents) Start(context.Context) error {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	if e.done != nil {
		return errors.New("persistence: the order-event listener is already running")
	}
	// Not the start hook's context: it ends once the app has started.
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go e.run(ctx, e.done)
	return nil
}

// Stop ends the listener and waits, until ctx ends, for its goroutine to
// return and its connection to close. Stopping a listener that does not
// run does nothing.
func (e *OrderEvents) Stop(ctx context.Context) error {
	e.runMu.Lock()
	cancel, done := e.cancel, e.done
	e.cancel, e.done = nil, nil
	e.runMu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("persistence: the order-event listener did not stop in time: %w", ctx.Err())
	}
}

// run listens until ctx ends, reconnecting after each lost connection with
// a back-off that doubles up to listenerMaxBackoff. The back-off starts
// again from the bottom once a connection has lasted that long, so a
// server that accepts and then drops every connection at once is not
// hammered.
func (e *OrderEvents) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	delay := listenerMinBackoff
	failed := false
	for {
		var listening time.Time
		err := e.listen(ctx, func() {
			listening = time.Now()
			if failed {
				e.logger.Info("persistence: the order-event listener is listening again")
				failed = false
			}
		})
		if ctx.Err() != nil {
			return
		}
		if !listening.IsZero() && time.Since(listening) >= listenerMaxBackoff {
			delay = listenerMinBackoff
		}
		failed = true
		e.logger.Warn("persistence: the order-event listener has no connection; order waiters rely on polling until it reconnects",
			"err", err, "retryIn", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(delay*2, listenerMaxBackoff)
	}
}

// listen connects, LISTENs, calls listening, and then dispatches
// notifications until the connection fails or ctx ends. It returns only
// once the connection is closed and pgx has released all it held for it.
func (e *OrderEvents) listen(ctx context.Context, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, e.cfg)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), listenerCloseTimeout)
		defer cancel()
		_ = conn.Close(closeCtx)
		// A connection that broke is closed by pgx in a goroutine of its
		// own (bounded by pgx's deadline); wait for it, so that Stop
		// leaves nothing running.
		<-conn.PgConn().CleanupDone()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{OrderEventsChannel}.Sanitize()); err != nil {
		return err
	}
	listening()
	for {
		// The context's end interrupts the wait with a timeout, which pgx
		// does not count as a broken connection: the deferred Close still
		// says goodbye to the server. So does the ping period's: a quiet
		// connection is pinged then, since one dropped silently (a NAT's or
		// a proxy's idle timeout, a failover) would otherwise look like
		// one with nothing to say until TCP gave up on it, many minutes.
		waitCtx, cancel := context.WithTimeout(ctx, listenerPingEvery)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && waitCtx.Err() != nil:
			pingCtx, cancel := context.WithTimeout(ctx, listenerPingTimeout)
			_, err = conn.Exec(pingCtx, "SELECT 1")
			cancel()
			if err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		if n.Channel == OrderEventsChannel {
			e.dispatch(n.Payload)
		}
	}
}

// A quiet listener connection is pinged every listenerPingEvery, and
// replaced when the ping takes longer than listenerPingTimeout.
const (
	listenerPingEvery   = 30 * time.Second
	listenerPingTimeout = 5 * time.Second
)
