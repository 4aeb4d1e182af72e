package persistence_test

import (
	"context"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
	"github.com/talkturo/phonenumbers/testkit"
)

// deliveryWait bounds how long a notification may take to arrive.
const deliveryWait = 3 * time.Second

// withApplicationName names the connections of dsn, so that a test finds
// its own listener in pg_stat_activity among every other test's.
func withApplicationName(t *testing.T, dsn, name string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("application_name", name)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " application_name=" + name
}

// openPool opens a pool of its own on dsn, as another process would.
func openPool(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	db, err := persistence.Open(t.Context(), dsn, persistence.WithMaxOpenConns(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = persistence.Close(db) })
	return db
}

// startListener returns started OrderEvents on a pool of its own whose
// listener connection is named by the returned application name; it is
// stopped when the test ends.
func startListener(t *testing.T, dsn string, opts ...persistence.Option) (*persistence.OrderEvents, string) {
	t.Helper()
	app := "orderevents-test-" + strings.TrimPrefix(domain.NewID("l"), "l_")
	e, err := persistence.NewOrderEvents(openPool(t, dsn), withApplicationName(t, dsn, app), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return e, app
}

// listenerPID waits until the listener named app has a connection that
// LISTENs (its LISTEN done, the backend idle) and is not the backend
// notPID, and returns its pid.
func listenerPID(t *testing.T, db *gorm.DB, app string, notPID int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pids []int
		err := db.Raw(`SELECT pid FROM pg_stat_activity
			WHERE application_name = ? AND state = 'idle' AND query LIKE 'LISTEN%' AND pid <> ?`, app, notPID).Find(&pids).Error
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) == 1 {
			return pids[0]
		}
		if len(pids) > 1 || time.Now().After(deadline) {
			t.Fatalf("listener %s: %d listening connections, want 1", app, len(pids))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// backends counts the server's connections named app.
func backends(t *testing.T, db *gorm.DB, app string) int {
	t.Helper()
	return countRows(t, db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = ?", app)
}

// waitNoBackends waits until the server has closed every connection named
// app (a backend leaves pg_stat_activity shortly after its client left).
func waitNoBackends(t *testing.T, db *gorm.DB, app string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for backends(t, db, app) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections of %s still open", backends(t, db, app), app)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func received(ch <-chan struct{}, within time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(within):
		return false
	}
}

// pending reports whether ch holds a signal, without waiting.
func pending(ch <-chan struct{}) bool { return len(ch) > 0 }

// publish publishes the order's event, failing the test on an error.
func publish(t *testing.T, e domain.OrderEvents, orderID string) {
	t.Helper()
	if err := e.Publish(t.Context(), orderID); err != nil {
		t.Fatalf("Publish(%s): %v", orderID, err)
	}
}

// publishHeard publishes the order's event and fails the test unless ch
// hears it within deliveryWait; failure says what that would mean.
func publishHeard(t *testing.T, e domain.OrderEvents, orderID string, ch <-chan struct{}, failure string) {
	t.Helper()
	publish(t, e, orderID)
	if !received(ch, deliveryWait) {
		t.Fatal(failure)
	}
}

func newOrderID() string { return strings.TrimPrefix(domain.NewID("o"), "o_") }

// listenerGoroutines returns the stacks of goroutines that run an
// OrderEvents listener or close a pgx connection, waiting a moment for
// ones that are just returning.
func listenerGoroutines(t *testing.T) []string {
	t.Helper()
	var found []string
	for range 50 {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		found = found[:0]
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "persistence.(*OrderEvents)") || strings.Contains(g, "pgconn.(*PgConn).asyncClose") {
				found = append(found, g)
			}
		}
		if len(found) == 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return found
}

func TestOrderEventsReachAnotherProcess(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewSchema(t)
	// The publisher is another process: its own pool, no listener.
	publisher, err := persistence.NewOrderEvents(openPool(t, dsn), dsn)
	if err != nil {
		t.Fatal(err)
	}
	subscriber, app := startListener(t, dsn)
	admin := openPool(t, dsn)
	listenerPID(t, admin, app, 0)

	order, other := newOrderID(), newOrderID()
	first, endFirst := subscriber.Subscribe(order)
	defer endFirst()
	second, endSecond := subscriber.Subscribe(order)
	defer endSecond()
	ofOther, endOther := subscriber.Subscribe(other)
	defer endOther()
	gone, endGone := subscriber.Subscribe(order)
	endGone()
	endGone() // ending twice does nothing

	sent := time.Now()
	publish(t, publisher, order)
	if !received(first, deliveryWait) || !received(second, deliveryWait) {
		t.Fatalf("both subscribers of the order should hear its event within %v", deliveryWait)
	}
	t.Logf("delivered to another process in %v", time.Since(sent))
	if pending(gone) {
		t.Error("an ended subscription heard the event")
	}
	if pending(ofOther) {
		t.Error("a subscriber of another order heard the event")
	}

	// And the other way round: the other order's event reaches only its
	// subscriber. Notifications arrive in order, so once it has, the
	// first order's subscribers would have heard any that was theirs.
	publishHeard(t, publisher, other, ofOther, "the other order's subscriber did not hear its event")
	if pending(first) || pending(second) || pending(gone) {
		t.Error("another order's event reached this order's subscribers")
	}

	if err := publisher.Publish(t.Context(), ""); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("Publish(\"\") = %v, want KindInvalid", err)
	}
	if err := publisher.Publish(t.Context(), strings.Repeat("x", 201)); domain.ErrorKind(err) != domain.KindInvalid {
		t.Errorf("Publish(oversized id) = %v, want KindInvalid", err)
	}
}

func TestOrderEventsCoalesceWithoutBlocking(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewSchema(t)
	events, app := startListener(t, dsn)
	listenerPID(t, openPool(t, dsn), app, 0)

	busy, quiet := newOrderID(), newOrderID()
	slow, endSlow := events.Subscribe(busy) // never read until the end
	defer endSlow()
	later, endLater := events.Subscribe(quiet)
	defer endLater()

	for range 100 {
		publish(t, events, busy)
	}
	// Delivered after the hundred, so it proves the listener went past
	// a subscriber that did not read.
	publishHeard(t, events, quiet, later, "a subscriber stopped hearing events while another did not read its own")
	if n := len(slow); n != 1 {
		t.Fatalf("the unread subscriber holds %d signals, want the hundred merged into 1", n)
	}
	<-slow
	publishHeard(t, events, quiet, later, "the quiet order's second event was not heard")
	if pending(slow) {
		t.Error("the busy order's subscriber heard an event after it had read the merged one")
	}
	publishHeard(t, events, busy, slow, "the busy order's subscriber heard nothing of a new event after reading the merged one")
}

// Not parallel, here and below: the goroutine check must see no other
// test's listener.
func TestOrderEventsReconnectAfterALostConnection(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	var logs testkit.LogBuffer
	logger := logs.TextLogger(slog.LevelInfo)
	events, app := startListener(t, dsn, persistence.WithLogger(logger))
	admin := openPool(t, dsn)
	first := listenerPID(t, admin, app, 0)

	order := newOrderID()
	ch, end := events.Subscribe(order)
	defer end()

	var killed []bool
	err := admin.Raw(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = ? AND query LIKE 'LISTEN%'`, app).Find(&killed).Error
	if err != nil || len(killed) != 1 || !killed[0] {
		t.Fatalf("terminating the listener's backend: %v, %v", killed, err)
	}
	lost := time.Now()
	second := listenerPID(t, admin, app, first)
	t.Logf("listening again on backend %d (was %d) after %v", second, first, time.Since(lost))

	publishHeard(t, events, order, ch, "an event published after the listener reconnected was not heard")
	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "order-event listener has no connection") {
		t.Errorf("the lost connection was not logged as a warning:\n%s", out)
	}
	if !strings.Contains(out, "listening again") {
		t.Errorf("the reconnection was not logged:\n%s", out)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := events.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if g := listenerGoroutines(t); len(g) > 0 {
		t.Errorf("goroutines left after Stop:\n%s", strings.Join(g, "\n\n"))
	}
	waitNoBackends(t, admin, app)
}

func TestOrderEventsStopEndsTheListener(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	events, app := startListener(t, dsn)
	admin := openPool(t, dsn)
	listenerPID(t, admin, app, 0)
	if err := events.Start(t.Context()); err == nil {
		t.Error("a second Start of a running listener succeeded")
	}

	done := persistence.ListenerDone(events)
	if done == nil {
		t.Fatal("no listener runs after Start")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := events.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-done:
	default:
		t.Fatal("Stop returned before the listener ended")
	}
	if g := listenerGoroutines(t); len(g) > 0 {
		t.Errorf("goroutines left after Stop:\n%s", strings.Join(g, "\n\n"))
	}
	waitNoBackends(t, admin, app)
	if err := events.Stop(ctx); err != nil {
		t.Errorf("a second Stop: %v", err)
	}

	// Stopped, it still takes subscriptions; they hear nothing until it
	// runs again.
	order := newOrderID()
	ch, end := events.Subscribe(order)
	defer end()
	if err := events.Start(t.Context()); err != nil {
		t.Fatalf("Start after Stop: %v", err)
	}
	listenerPID(t, admin, app, 0)
	publishHeard(t, events, order, ch, "a restarted listener did not hear the event")
}

func TestOrderEventsStartAndStopWithoutADatabase(t *testing.T) {
	// A port nothing listens on: every connection attempt fails at once.
	dsn := "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1"
	// A pool that never connects: nothing is published.
	db, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn}), &gorm.Config{DisableAutomaticPing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = persistence.Close(db) }()
	events, err := persistence.NewOrderEvents(db, dsn, persistence.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := events.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 100*time.Millisecond {
		t.Errorf("Start took %v without a database, want it to return at once", d)
	}
	ch, end := events.Subscribe(newOrderID())
	defer end()
	time.Sleep(400 * time.Millisecond) // a few failed attempts and back-offs
	if pending(ch) {
		t.Error("a subscriber heard something without a database")
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	began = time.Now()
	if err := events.Stop(ctx); err != nil {
		t.Fatalf("Stop while reconnecting: %v", err)
	}
	t.Logf("stopped in %v while reconnecting", time.Since(began))
	if g := listenerGoroutines(t); len(g) > 0 {
		t.Errorf("goroutines left after Stop:\n%s", strings.Join(g, "\n\n"))
	}
}

func TestModuleRunsTheOrderEventListener(t *testing.T) {
	t.Parallel()
	base := pgtest.NewSchema(t)
	app := "orderevents-module-" + newOrderID()
	var events domain.OrderEvents
	fxApp := fxtest.New(t,
		persistence.Module,
		fx.Supply(persistence.Config{DatabaseURL: withApplicationName(t, base, app), MaxOpenConns: 2}),
		fx.NopLogger,
		fx.Populate(&events),
	)
	fxApp.RequireStart()
	admin := openPool(t, base)
	listenerPID(t, admin, app, 0)

	order := newOrderID()
	ch, end := events.Subscribe(order)
	defer end()
	publish(t, events, order)
	if !received(ch, deliveryWait) {
		t.Error("the module's OrderEvents did not hear its own event")
	}
	fxApp.RequireStop()
	waitNoBackends(t, admin, app) // the listener and the pool alike
}
