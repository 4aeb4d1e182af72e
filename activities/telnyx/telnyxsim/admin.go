package telnyxsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// adminRoutes is the simulator's own control API under /_sim/. It has no
// authentication and no faults: it is how tests and developers steer the
// simulator, not part of Telnyx.
func (s *Simulator) adminRoutes() http.Handler {
	rt := &router{}
	rt.add(http.MethodGet, "/_sim/faults", s.handleGetFaults)
	rt.add(http.MethodPut, "/_sim/faults", s.handlePutFaults)
	rt.add(http.MethodPost, "/_sim/sell", s.handleSell)
	rt.add(http.MethodPost, "/_sim/deletion_lock", s.handleDeletionLock)
	rt.add(http.MethodGet, "/_sim/orders", s.handleOrderCount)
	rt.add(http.MethodGet, "/_sim/state", s.handleState)
	rt.add(http.MethodPost, "/_sim/owned", s.handleAddOwned)
	rt.add(http.MethodPost, "/_sim/forget", s.handleForget)
	rt.add(http.MethodPost, "/_sim/backdate", s.handleBackdate)
	rt.add(http.MethodPost, "/_sim/owned_status", s.handleOwnedStatus)
	return rt
}

func (s *Simulator) handleGetFaults(w http.ResponseWriter, r *http.Request, _ string) {
	writeJSON(w, http.StatusOK, s.Faults())
}

// handlePutFaults replaces the faults in force with the body; fields left
// out are zero.
func (s *Simulator) handlePutFaults(w http.ResponseWriter, r *http.Request, _ string) {
	var f Faults
	if err := decodeAdmin(r, &f); err != nil {
		writeError(w, apiError{status: http.StatusBadRequest, code: CodeBadRequest, title: "Bad Request", detail: err.Error(), pointer: "/"})
		return
	}
	if err := f.validate(); err != nil {
		writeError(w, apiError{status: http.StatusUnprocessableEntity, code: CodeBadRequest, title: "Invalid faults", detail: err.Error(), pointer: "/"})
		return
	}
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, s.Faults())
}

// handleSell marks a number as sold to someone else (see MarkSold).
func (s *Simulator) handleSell(w http.ResponseWriter, r *http.Request, _ string) {
	var body struct {
		PhoneNumber string `json:"phone_number"`
	}
	e164, ok := decodeNumber(w, r, &body, &body.PhoneNumber)
	if !ok {
		return
	}
	s.MarkSold(e164)
	writeJSON(w, http.StatusOK, map[string]any{"phone_number": e164, "sold": true})
}

// handleDeletionLock turns a number's deletion lock on or off.
func (s *Simulator) handleDeletionLock(w http.ResponseWriter, r *http.Request, _ string) {
	var body struct {
		PhoneNumber string `json:"phone_number"`
		Enabled     bool   `json:"enabled"`
	}
	e164, ok := decodeNumber(w, r, &body, &body.PhoneNumber)
	if !ok {
		return
	}
	s.DeletionLock(e164, body.Enabled)
	writeJSON(w, http.StatusOK, map[string]any{"phone_number": e164, "deletion_lock_enabled": body.Enabled})
}

func (s *Simulator) handleOrderCount(w http.ResponseWriter, r *http.Request, _ string) {
	writeJSON(w, http.StatusOK, map[string]int{"count": s.OrderCount(r.URL.Query().Get("customer_reference"))})
}

// stateJSON summarises the simulated account for /_sim/state.
type stateJSON struct {
	Orders        int      `json:"orders"`
	PendingOrders int      `json:"pending_orders"`
	OwnedActive   int      `json:"owned_active"`
	OwnedPending  int      `json:"owned_pending"`
	OwnedNumbers  []string `json:"owned_numbers"`
	Sold          int      `json:"sold"`
	OrderLatency  string   `json:"order_latency"`
	Faults        Faults   `json:"faults"`
}

func (s *Simulator) handleState(w http.ResponseWriter, r *http.Request, _ string) {
	faults := s.Faults()
	owned := s.OwnedNumbers()

	s.mu.Lock()
	st := stateJSON{
		Orders:        len(s.orders),
		PendingOrders: len(s.pending),
		OwnedNumbers:  owned,
		Sold:          len(s.sold),
		OrderLatency:  s.orderLatency.String(),
		Faults:        faults,
	}
	for _, n := range s.live {
		if n.status == numberActive {
			st.OwnedActive++
		} else {
			st.OwnedPending++
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

// decodeAdmin reads a small JSON body strictly: a misspelt field in a
// steering request should fail loudly.
func decodeAdmin(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// decodeNumber decodes an admin body and checks the E.164 number in it,
// answering the error itself when there is one.
func decodeNumber(w http.ResponseWriter, r *http.Request, body any, number *string) (string, bool) {
	if err := decodeAdmin(r, body); err != nil {
		writeError(w, apiError{status: http.StatusBadRequest, code: CodeBadRequest, title: "Bad Request", detail: err.Error(), pointer: "/"})
		return "", false
	}
	num, err := phonenumbers.Parse(*number, "")
	if !e164Shape.MatchString(*number) || err != nil || phonenumbers.Format(num, phonenumbers.E164) != *number {
		writeError(w, apiError{status: http.StatusUnprocessableEntity, code: CodeNotE164, title: "Phone number must be in +E.164 format",
			detail: "phone_number must be an E.164 number such as +14155550123.", pointer: "/phone_number"})
		return "", false
	}
	return *number, true
}

// handleOwnedStatus plants an owned-number status (see SetOwnedStatus).
func (s *Simulator) handleOwnedStatus(w http.ResponseWriter, r *http.Request, _ string) {
	var body struct {
		PhoneNumber string `json:"phone_number"`
		Status      string `json:"status"`
	}
	e164, ok := decodeNumber(w, r, &body, &body.PhoneNumber)
	if !ok {
		return
	}
	if err := s.SetOwnedStatus(e164, body.Status); err != nil {
		if errors.Is(err, errNotHeld) {
			writeError(w, notFound(err.Error()))
			return
		}
		writeError(w, apiError{status: http.StatusUnprocessableEntity, code: CodeBadRequest, title: "Invalid parameter", detail: err.Error(), pointer: "/status"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"phone_number": e164, "status": strings.ReplaceAll(body.Status, "_", "-")})
}
