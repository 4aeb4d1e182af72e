// Package backend starts, for a test, the real parts the activities and
// the API run against: a PostgreSQL schema of the test's own with the
// stores on it, and the Telnyx simulator over HTTP with the real Telnyx
// client talking to it.
//
// It imports activities, persistence and the Telnyx client, so the
// internal tests of those packages (package telnyx, package telnyxsim)
// cannot use it; they use package testkit, which imports nothing of ours.
package backend

import (
	"cmp"
	"net/http"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/activities/telnyx"
	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
	"github.com/talkturo/phonenumbers/testkit"
)

// APIKey is the Telnyx API key the client sends when Options.Client sets
// none.
const APIKey = "test-key"

// ClientTimeout bounds one Telnyx attempt when Options.Client sets no
// timeout: the ten seconds the client took by default before the
// timeout became the app's to give (TELNYX_TIMEOUT).
const ClientTimeout = 10 * time.Second

// Options changes what New and NewTelnyx start. The zero value is a fresh
// database and a simulator with its defaults.
type Options struct {
	// DB replaces the fresh pgtest database.
	DB *gorm.DB
	// Sim configures the simulator.
	Sim telnyxsim.Options
	// Wrap, when set, stands between the simulator and its HTTP server:
	// it is given the simulator and returns the handler to serve.
	Wrap func(http.Handler) http.Handler
	// Client configures the Telnyx client; its BaseURL is always the
	// simulator's, its APIKey defaults to the simulator's or APIKey, and
	// its Timeout to ClientTimeout.
	Client telnyx.Config
}

// Telnyx is the simulator served over HTTP and a real client talking to it.
type Telnyx struct {
	Sim *telnyxsim.Simulator
	// URL is the simulator's API root, with /v2, as TELNYX_BASE_URL and
	// telnyx.Config.BaseURL take it.
	URL    string
	Client *telnyx.Client
}

// NewTelnyx starts a simulator of o.Sim on a local port and a client of
// o.Client at it; both stop when the test ends.
func NewTelnyx(t testing.TB, o Options) Telnyx {
	t.Helper()
	sim := telnyxsim.New(o.Sim)
	t.Cleanup(sim.Close)
	var h http.Handler = sim
	if o.Wrap != nil {
		h = o.Wrap(sim)
	}
	url := testkit.Serve(t, h).URL + "/v2"
	cfg := o.Client
	cfg.BaseURL = url
	cfg.APIKey = cmp.Or(cfg.APIKey, o.Sim.APIKey, APIKey)
	cfg.Timeout = cmp.Or(cfg.Timeout, ClientTimeout)
	c, err := telnyx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return Telnyx{Sim: sim, URL: url, Client: c}
}

// Offer runs on sim, for each number, the search a customer runs before
// buying it: the simulator, like Telnyx, orders only numbers a recent
// search offered. It fails the test when no search would offer one (owned
// or sold already).
func Offer(t testing.TB, sim *telnyxsim.Simulator, numbers ...string) {
	t.Helper()
	for _, e164 := range numbers {
		if err := sim.SearchFor(e164); err != nil {
			t.Fatal(err)
		}
	}
}

// Backend is a database with the stores on it and Telnyx (NewTelnyx) for
// one test.
type Backend struct {
	Telnyx
	DB       *gorm.DB
	Accounts *persistence.AccountStore
	Numbers  *persistence.PhoneNumberStore
	// Activities runs on the stores and the client. Its durations are
	// zero; a test sets those it needs, and may replace any part.
	Activities *activities.Activities
}

// New starts a Backend of o.
func New(t testing.TB, o Options) *Backend {
	t.Helper()
	db := o.DB
	if db == nil {
		db = pgtest.NewDB(t)
	}
	b := &Backend{
		Telnyx:   NewTelnyx(t, o),
		DB:       db,
		Accounts: persistence.NewAccountStore(db),
		Numbers:  persistence.NewPhoneNumberStore(db),
	}
	b.Activities = &activities.Activities{
		Slots:     persistence.NewReservationStore(db),
		Purchases: persistence.NewPurchaseStore(db),
		Numbers:   b.Numbers,
		Accounts:  b.Accounts,
		Provider:  b.Client,
	}
	return b
}
