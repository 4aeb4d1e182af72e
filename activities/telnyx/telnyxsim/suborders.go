package telnyxsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// subOrderJSON is a sub number order: the part of an order for one country
// and number type, which is what regulatory requirements attach to.
type subOrderJSON struct {
	ID                string                 `json:"id"`
	RecordType        string                 `json:"record_type"`
	OrderRequestID    string                 `json:"order_request_id"`
	Status            string                 `json:"status"`
	CountryCode       string                 `json:"country_code"`
	PhoneNumberType   string                 `json:"phone_number_type"`
	PhoneNumbersCount int                    `json:"phone_numbers_count"`
	RequirementsMet   bool                   `json:"requirements_met"`
	CustomerReference *string                `json:"customer_reference"`
	IsBlock           bool                   `json:"is_block_sub_number_order"`
	CreatedAt         string                 `json:"created_at"`
	UpdatedAt         string                 `json:"updated_at"`
	PhoneNumbers      []orderPhoneNumberJSON `json:"phone_numbers"`
}

// subOrderJSON renders a sub-order. The caller holds s.mu.
func (s *Simulator) subOrderJSON(sub *subOrder) subOrderJSON {
	return subOrderJSON{
		ID:                sub.id,
		RecordType:        "sub_number_order",
		OrderRequestID:    sub.order.id,
		Status:            sub.status,
		CountryCode:       sub.region,
		PhoneNumberType:   sub.kind,
		PhoneNumbersCount: len(sub.numbers),
		RequirementsMet:   requirementsMet(sub.numbers),
		CustomerReference: nullable(sub.order.customerReference),
		CreatedAt:         timestamp(sub.order.createdAt),
		UpdatedAt:         timestamp(sub.updatedAt),
		PhoneNumbers:      numbersJSON(sub.numbers),
	}
}

// lookupSubOrder settles what is due and finds a sub-order, answering 404
// itself when there is none. The caller holds s.mu.
func (s *Simulator) lookupSubOrder(w http.ResponseWriter, id string) (*subOrder, bool) {
	s.settle(s.clock())
	sub, ok := s.subOrders[id]
	if !ok {
		writeError(w, notFound("Sub number order "+id+" could not be found."))
	}
	return sub, ok
}

func (s *Simulator) handleGetSubOrder(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub, ok := s.lookupSubOrder(w, id); ok {
		writeJSON(w, http.StatusOK, map[string]any{"data": s.subOrderJSON(sub)})
	}
}

// decodeBody reads a JSON request body, answering 400 itself when it is
// not well-formed.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxOrderBody))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeError(w, apiError{status: http.StatusBadRequest, code: CodeBadRequest, title: "Bad Request",
			detail: "The request failed because it was not well-formed: " + err.Error(), pointer: "/"})
		return false
	}
	return true
}

// changePendingSubOrder applies change, at the simulator's now, to
// sub-order id, which only a pending sub-order takes (422 otherwise), then
// settles what is due and answers 200 with the sub-order. To refuse the
// change, change answers the request itself and returns false.
func (s *Simulator) changePendingSubOrder(w http.ResponseWriter, id string, change func(sub *subOrder, now time.Time) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.lookupSubOrder(w, id)
	if !ok {
		return
	}
	if sub.status != orderPending {
		writeError(w, notPending(sub))
		return
	}
	now := s.clock()
	if !change(sub, now) {
		return
	}
	s.settle(now)
	writeJSON(w, http.StatusOK, map[string]any{"data": s.subOrderJSON(sub)})
}

// notPending answers a change to a sub-order that has settled.
func notPending(sub *subOrder) apiError {
	return apiError{status: http.StatusUnprocessableEntity, code: CodeBadRequest, title: "Bad Request",
		detail: fmt.Sprintf("Sub number order %s is %s, not pending.", sub.id, sub.status)}
}

// handleRequirementGroup attaches a requirement group (the customer's
// documents) to every number of the sub-order still waiting on documents:
// they go under review, and are approved after the order latency.
func (s *Simulator) handleRequirementGroup(w http.ResponseWriter, r *http.Request, id string) {
	var body struct {
		RequirementGroupID string `json:"requirement_group_id"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.RequirementGroupID == "" {
		writeError(w, apiError{status: http.StatusUnprocessableEntity, code: CodeMissingParameter, title: "Missing required parameter",
			detail: "requirement_group_id is required.", pointer: "/requirement_group_id"})
		return
	}
	s.changePendingSubOrder(w, id, func(sub *subOrder, now time.Time) bool {
		for _, n := range sub.numbers {
			if n.status == orderPending && n.reqStatus == reqInfoPending {
				s.supply(n, body.RequirementGroupID, now)
			}
		}
		return true
	})
}

// handlePatchSubOrder supplies values for regulatory requirements by id;
// a number whose requirements all have values goes under review.
func (s *Simulator) handlePatchSubOrder(w http.ResponseWriter, r *http.Request, id string) {
	var body struct {
		RegulatoryRequirements []struct {
			RequirementID string `json:"requirement_id"`
			FieldValue    string `json:"field_value"`
		} `json:"regulatory_requirements"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	s.changePendingSubOrder(w, id, func(sub *subOrder, now time.Time) bool {
		known := map[string]bool{}
		for _, n := range sub.numbers {
			for _, req := range n.requirements {
				known[req.id] = true
			}
		}
		for i, v := range body.RegulatoryRequirements {
			if !known[v.RequirementID] || v.FieldValue == "" {
				writeError(w, apiError{status: http.StatusUnprocessableEntity, code: CodeBadRequest, title: "Invalid parameter",
					detail:  "Each regulatory requirement needs the requirement_id of one of the sub-order's requirements and a field_value.",
					pointer: fmt.Sprintf("/regulatory_requirements/%d", i)})
				return false
			}
		}
		for _, n := range sub.numbers {
			if n.status != orderPending || n.reqStatus != reqInfoPending {
				continue
			}
			for _, v := range body.RegulatoryRequirements {
				for _, req := range n.requirements {
					if req.id == v.RequirementID {
						req.value = v.FieldValue
					}
				}
			}
			s.review(n, now)
		}
		return true
	})
}

// handleCancelSubOrder cancels a pending sub-order: its numbers are
// released and return to the inventory. Cancelling one already cancelled
// answers 200 with the sub-order, so a repeated cancel is harmless; one
// that succeeded or failed is refused with 422, and the sub-order (GET)
// shows why.
func (s *Simulator) handleCancelSubOrder(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.lookupSubOrder(w, id)
	if !ok {
		return
	}
	switch sub.status {
	case orderCancelled:
	case orderPending:
		now := s.clock()
		for _, n := range sub.numbers {
			if n.status == orderPending {
				s.cancelNumber(n, now)
			}
		}
		s.settle(now)
		s.derive(sub.order) // settled orders are not in s.pending any more
	default:
		writeError(w, notPending(sub))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": s.subOrderJSON(sub)})
}
