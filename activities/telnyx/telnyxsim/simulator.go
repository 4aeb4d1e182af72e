package telnyxsim

import (
	"crypto/ed25519"
	"crypto/subtle"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configures a Simulator.
type Options struct {
	// APIKey, when set, is the only bearer token accepted; otherwise any
	// non-empty bearer token is.
	APIKey string
	// OrderLatency is how long an order stays pending before it settles;
	// zero settles orders as they are placed.
	OrderLatency time.Duration
	// Seed decides the inventory, the IDs and the fault draws: two
	// simulators with the same seed behave alike.
	Seed int64
	// Clock tells the time for orders and numbers; nil means time.Now.
	// Tests move it forward to settle orders without sleeping.
	Clock func() time.Time
	// Faults are in force from the start; see SetFaults.
	Faults Faults
	// WebhookURL, when set, receives a number_order.complete event,
	// signed with WebhookKey as Telnyx signs with the account's key, each
	// time an order settles (success, failure or cancelled); a delivery
	// answered with anything but a 2xx is retried (WebhookAttempts in
	// all). With a WebhookURL the simulator settles orders in the
	// background too, so call Close when done.
	WebhookURL string
	WebhookKey ed25519.PrivateKey
	// WebhookAttempts bounds the deliveries of one event; zero means
	// DefaultWebhookAttempts.
	WebhookAttempts int
	// WebhookBackoff is the wait before the first retry of a delivery,
	// doubled before each further one; zero means DefaultWebhookBackoff.
	WebhookBackoff time.Duration
	// SearchTTL is how long a number a search offered stays orderable;
	// zero means DefaultSearchTTL. An order for a number no search
	// offered within it is refused with 422, as Telnyx refuses it.
	SearchTTL time.Duration
	// RequirementsDeadline is how long a regulated number's order waits
	// for its documents (and their review) before it is cancelled; zero
	// means DefaultRequirementsDeadline.
	RequirementsDeadline time.Duration
	// ProvisionEveryOrder routes every number's purchase through owned
	// status provision-pending, as a regulated number's always is: its
	// order reads success, and the number turns active one order latency
	// (the latency in force when it was ordered) later.
	ProvisionEveryOrder bool
	// WebhookDuplicates delivers every webhook event a second time, same
	// event id, after the first delivery ends, as Telnyx may: receivers
	// must act on an event once.
	WebhookDuplicates bool
}

// Defaults for zero Options fields.
const (
	DefaultSearchTTL            = time.Hour
	DefaultRequirementsDeadline = 72 * time.Hour
	DefaultWebhookAttempts      = 5
	DefaultWebhookBackoff       = 100 * time.Millisecond
)

// Simulator is an in-memory Telnyx v2 API. It is an http.Handler, safe for
// concurrent use.
type Simulator struct {
	apiKey  string
	clock   func() time.Time
	inv     *inventory
	handler http.Handler

	faultMu  sync.Mutex
	faults   Faults
	faultRNG *rand.Rand
	hooks    *webhooks // nil without a WebhookURL

	// mu guards everything below: one lock for the whole account keeps
	// "one winner per number" trivially true.
	mu                   sync.Mutex
	orderLatency         time.Duration
	searchTTL            time.Duration
	requirementsDeadline time.Duration
	offered              map[string]time.Time // E.164 → when a search last offered it
	subOrders            map[string]*subOrder
	idRNG                *rand.Rand
	numberSeq            uint64
	orders               []*order          // in creation order
	ordersByID           map[string]*order //
	pending              []*order          // not settled yet
	provisioning         []*ownedNumber    // bought, provision-pending until their activeAt
	provisionAll         bool
	numbers              []*ownedNumber // every record ever, in creation order
	numbersByID          map[string]*ownedNumber
	live                 map[string]*ownedNumber // E.164 → the record of a number held or being bought
	sold                 map[string]bool         // E.164 sold to someone else
	locked               map[string]bool         // E.164 with deletion lock enabled
}

// New returns a Simulator configured by opts.
func New(opts Options) *Simulator {
	s := &Simulator{
		apiKey:       opts.APIKey,
		clock:        opts.Clock,
		inv:          newInventory(opts.Seed),
		faultRNG:     rand.New(rand.NewPCG(uint64(opts.Seed), 0x5EED_FA17)),
		orderLatency: max(opts.OrderLatency, 0),
		idRNG:        rand.New(rand.NewPCG(uint64(opts.Seed), 0x1D5)),
		ordersByID:   map[string]*order{},
		numbersByID:  map[string]*ownedNumber{},
		live:         map[string]*ownedNumber{},
		sold:         map[string]bool{},
		locked:       map[string]bool{},
		offered:      map[string]time.Time{},
		subOrders:    map[string]*subOrder{},
		searchTTL:    opts.SearchTTL,
		provisionAll: opts.ProvisionEveryOrder,

		requirementsDeadline: opts.RequirementsDeadline,
	}
	if s.searchTTL <= 0 {
		s.searchTTL = DefaultSearchTTL
	}
	if s.requirementsDeadline <= 0 {
		s.requirementsDeadline = DefaultRequirementsDeadline
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	s.faults = opts.Faults.clamped()
	s.hooks = newWebhooks(opts, s.clock)

	api := &router{}
	api.add(http.MethodGet, "/v2/available_phone_numbers", s.handleSearch)
	api.add(http.MethodPost, "/v2/number_orders", s.handleCreateOrder)
	api.add(http.MethodGet, "/v2/number_orders", s.handleListOrders)
	api.add(http.MethodGet, "/v2/number_orders/{id}", s.handleGetOrder)
	api.add(http.MethodGet, "/v2/phone_numbers", s.handleListNumbers)
	api.add(http.MethodGet, "/v2/phone_numbers/{id}", s.handleGetNumber)
	api.add(http.MethodDelete, "/v2/phone_numbers/{id}", s.handleDeleteNumber)
	api.add(http.MethodGet, "/v2/sub_number_orders/{id}", s.handleGetSubOrder)
	api.add(http.MethodPatch, "/v2/sub_number_orders/{id}", s.handlePatchSubOrder)
	api.add(http.MethodPost, "/v2/sub_number_orders/{id}/requirement_group", s.handleRequirementGroup)
	api.add(http.MethodPatch, "/v2/sub_number_orders/{id}/cancel", s.handleCancelSubOrder)

	mux := http.NewServeMux()
	mux.Handle("/v2/", s.withFaults(s.authenticated(api)))
	mux.Handle("/_sim/", s.adminRoutes())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFound(UnknownRouteDetail))
	})
	s.handler = mux
	if s.hooks != nil {
		s.hooks.start(s.settleNow)
	}
	return s
}

// settleNow settles what is due, for the background ticker.
func (s *Simulator) settleNow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.clock())
}

// Close stops the background work a WebhookURL starts (settling and
// deliveries) and waits for it; undelivered events are dropped. It is a
// no-op without a WebhookURL, and safe to call more than once.
func (s *Simulator) Close() {
	if s.hooks != nil {
		s.hooks.close()
	}
}

// ServeHTTP serves the Telnyx API under /v2/ and the admin API under /_sim/.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// authenticated answers 401 unless the request carries an acceptable bearer
// token. The token is never echoed back.
func (s *Simulator) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		ok := strings.EqualFold(scheme, "Bearer") && token != ""
		if ok && s.apiKey != "" {
			ok = subtle.ConstantTimeCompare([]byte(token), []byte(s.apiKey)) == 1
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="telnyx"`)
			writeError(w, apiError{status: http.StatusUnauthorized, code: CodeAuthenticationFailed, title: "Authentication failed",
				detail: "The required authentication headers were either invalid or not included in the request."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// OrderCount returns how many orders were placed with the given
// customer_reference, whatever became of them. Tests use it to prove that
// nothing was ordered twice.
func (s *Simulator) OrderCount(customerReference string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, o := range s.orders {
		if o.customerReference == customerReference {
			n++
		}
	}
	return n
}

// OrderCounts returns, for every customer_reference orders were placed
// with, how many there were: a crash test checks that none is above one.
func (s *Simulator) OrderCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := make(map[string]int)
	for _, o := range s.orders {
		counts[o.customerReference]++
	}
	return counts
}

// OwnedNumbers returns, sorted, the E.164 numbers the account holds or is
// buying (active, purchase-pending, provision-pending, or waiting on its
// regulatory requirements), after settling due orders.
func (s *Simulator) OwnedNumbers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.clock())
	out := make([]string, 0, len(s.live))
	for e164 := range s.live {
		out = append(out, e164)
	}
	slices.Sort(out)
	return out
}

// MarkSold marks a number as sold to someone else: it leaves the inventory,
// a new order for it is refused, and a pending order for it settles to
// failure. A number this account already holds is not taken away.
func (s *Simulator) MarkSold(e164 string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sold[e164] = true
}

// SetOrderLatency changes how long orders placed from now on stay pending.
func (s *Simulator) SetOrderLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orderLatency = max(d, 0)
}

// DeletionLock turns a number's deletion lock on or off; while on, deleting
// the number is refused with 422.
func (s *Simulator) DeletionLock(e164 string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.locked[e164] = true
	} else {
		delete(s.locked, e164)
	}
}
