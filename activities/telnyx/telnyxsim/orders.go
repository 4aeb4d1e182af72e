package telnyxsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Order and number states, as Telnyx spells them.
const (
	orderPending = "pending"
	orderSuccess = "success"
	orderFailure = "failure"

	numberPurchasePending = "purchase-pending"
	numberPurchaseFailed  = "purchase-failed"
	numberActive          = "active"
	numberDeleted         = "deleted"
)

// order is a number order. Its status moves from pending to success or
// failure once settleAt has passed, the next time anything reads the state.
type order struct {
	id, subOrderID                   string
	status                           string
	connectionID, messagingProfileID string
	billingGroupID                   string
	customerReference                string
	createdAt, updatedAt, settleAt   time.Time
	numbers                          []*orderNumber
}

// orderNumber is one number inside an order, with the owned-number record
// the order created for it.
type orderNumber struct {
	id, e164, region, kind, status string
	owned                          *ownedNumber
}

// orderRequestJSON is the body of POST /v2/number_orders.
type orderRequestJSON struct {
	PhoneNumbers []struct {
		PhoneNumber string `json:"phone_number"`
	} `json:"phone_numbers"`
	ConnectionID       string `json:"connection_id"`
	MessagingProfileID string `json:"messaging_profile_id"`
	BillingGroupID     string `json:"billing_group_id"`
	CustomerReference  string `json:"customer_reference"`
}

// e164Shape is the syntax Telnyx requires before looking at the number plan.
var e164Shape = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// maxOrderBody bounds an order body; a real one is a few hundred bytes.
const maxOrderBody = 1 << 20

func (s *Simulator) handleCreateOrder(w http.ResponseWriter, r *http.Request, _ string) {
	var req orderRequestJSON
	body, err := io.ReadAll(io.LimitReader(r.Body, maxOrderBody))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, apiError{status: http.StatusBadRequest, code: CodeBadRequest, title: "Bad Request",
			detail: "The request failed because it was not well-formed: " + err.Error(), pointer: "/"})
		return
	}
	numbers, apiErr := validateOrderNumbers(req)
	if apiErr != nil {
		writeError(w, *apiErr)
		return
	}
	// Drawn before taking the lock: fault draws have a lock of their own.
	soldMeanwhile := s.drawSold()

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	s.settle(now)
	for i, n := range numbers {
		if s.live[n.e164] != nil || s.sold[n.e164] {
			writeError(w, numberNotAvailable(i, n.e164))
			return
		}
	}
	if soldMeanwhile {
		s.sold[numbers[0].e164] = true
		writeError(w, numberNotAvailable(0, numbers[0].e164))
		return
	}
	o := s.placeOrder(req, numbers, now)
	writeJSON(w, http.StatusOK, map[string]any{"data": s.orderJSON(o)})
}

// validateOrderNumbers checks the numbers of an order request the way
// Telnyx does, naming the field at fault with a JSON pointer.
func validateOrderNumbers(req orderRequestJSON) ([]orderNumber, *apiError) {
	if len(req.PhoneNumbers) == 0 {
		return nil, &apiError{status: http.StatusUnprocessableEntity, code: CodeMissingParameter, title: "Missing required parameter",
			detail: "At least one phone number is required.", pointer: "/phone_numbers"}
	}
	seen := map[string]bool{}
	out := make([]orderNumber, 0, len(req.PhoneNumbers))
	for i, pn := range req.PhoneNumbers {
		ptr := fmt.Sprintf("/phone_numbers/%d/phone_number", i)
		raw := pn.PhoneNumber
		fail := func(code, title, detail string) ([]orderNumber, *apiError) {
			return nil, &apiError{status: http.StatusUnprocessableEntity, code: code, title: title, detail: detail, pointer: ptr}
		}
		if raw == "" {
			return fail(CodeMissingParameter, "Missing required parameter", "The phone number is required.")
		}
		if !e164Shape.MatchString(raw) {
			return fail(CodeNotE164, "Phone number must be in +E.164 format", "The specified phone number parameter must be in +E.164 format.")
		}
		num, err := phonenumbers.Parse(raw, "")
		if err != nil || !phonenumbers.IsValidNumber(num) || phonenumbers.Format(num, phonenumbers.E164) != raw {
			return fail(CodeInvalidPhoneNumber, "Invalid phone number", "The phone number is invalid.")
		}
		if seen[raw] {
			return fail(CodeDuplicateResource, "Duplicate resource", "The phone number appears more than once in the order.")
		}
		seen[raw] = true
		out = append(out, orderNumber{e164: raw, region: phonenumbers.GetRegionCodeForNumber(num), kind: kindOf(num)})
	}
	return out, nil
}

func numberNotAvailable(i int, e164 string) apiError {
	return apiError{status: http.StatusUnprocessableEntity, code: CodeNumberNotAvailable, title: "Number not available",
		detail:  fmt.Sprintf("The phone number %s is no longer available for purchase.", e164),
		pointer: fmt.Sprintf("/phone_numbers/%d/phone_number", i)}
}

// kindOf names a number's Telnyx phone_number_type.
func kindOf(num *phonenumbers.PhoneNumber) string {
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.TOLL_FREE:
		return kindTollFree
	case phonenumbers.MOBILE:
		return kindMobile
	case phonenumbers.SHARED_COST:
		return kindSharedCost
	case phonenumbers.UAN:
		return kindNational
	default:
		return kindLocal
	}
}

// placeOrder records an order and the numbers it buys. The caller holds
// s.mu and has checked that every number is available.
func (s *Simulator) placeOrder(req orderRequestJSON, numbers []orderNumber, now time.Time) *order {
	o := &order{
		id:                 s.newUUID(),
		subOrderID:         s.newUUID(),
		status:             orderPending,
		connectionID:       req.ConnectionID,
		messagingProfileID: req.MessagingProfileID,
		billingGroupID:     req.BillingGroupID,
		customerReference:  req.CustomerReference,
		createdAt:          now,
		updatedAt:          now,
		settleAt:           now.Add(s.orderLatency),
	}
	for _, n := range numbers {
		own := &ownedNumber{
			id:                 s.newPhoneNumberID(),
			e164:               n.e164,
			kind:               n.kind,
			status:             numberPurchasePending,
			connectionID:       req.ConnectionID,
			messagingProfileID: req.MessagingProfileID,
			billingGroupID:     req.BillingGroupID,
			customerReference:  req.CustomerReference,
			createdAt:          now,
			updatedAt:          now,
		}
		s.numbers = append(s.numbers, own)
		s.numbersByID[own.id] = own
		s.live[own.e164] = own
		n.id, n.status, n.owned = s.newUUID(), orderPending, own
		o.numbers = append(o.numbers, &n)
	}
	s.orders = append(s.orders, o)
	s.ordersByID[o.id] = o
	if s.orderLatency == 0 {
		s.settleOrder(o, now)
	} else {
		s.pending = append(s.pending, o)
	}
	return o
}

// settle settles every pending order whose time has come. Settling lazily,
// when state is read, spares the simulator a goroutine and lets tests move
// an injected clock instead of sleeping. The caller holds s.mu.
func (s *Simulator) settle(now time.Time) {
	kept := s.pending[:0]
	for _, o := range s.pending {
		if now.Before(o.settleAt) {
			kept = append(kept, o)
			continue
		}
		s.settleOrder(o, o.settleAt)
	}
	clear(s.pending[len(kept):])
	s.pending = kept
}

// settleOrder completes an order at the given time: each number succeeds
// unless it was sold to someone else meanwhile, and the order succeeds only
// if all its numbers did. The caller holds s.mu.
func (s *Simulator) settleOrder(o *order, at time.Time) {
	allOK := true
	for _, n := range o.numbers {
		own := n.owned
		if own.status == numberDeleted {
			// Forgotten while its order was pending (see Forget).
			n.status, allOK = orderFailure, false
			continue
		}
		own.updatedAt = at
		if s.sold[n.e164] {
			n.status, own.status = orderFailure, numberPurchaseFailed
			if s.live[n.e164] == own {
				delete(s.live, n.e164)
			}
			allOK = false
			continue
		}
		n.status, own.status, own.purchasedAt = orderSuccess, numberActive, at
	}
	o.status, o.updatedAt = orderSuccess, at
	if !allOK {
		o.status = orderFailure
	}
}

func (s *Simulator) handleGetOrder(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.clock())
	o, ok := s.ordersByID[id]
	if !ok {
		writeError(w, notFound("Number order "+id+" could not be found."))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": s.orderJSON(o)})
}

func (s *Simulator) handleListOrders(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	page, size, apiErr := parsePage(q)
	if apiErr != nil {
		writeError(w, *apiErr)
		return
	}
	ref, status := q.Get("filter[customer_reference]"), q.Get("filter[status]")

	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.clock())
	var matched []orderJSON
	for _, o := range s.orders {
		if (ref == "" || o.customerReference == ref) && (status == "" || o.status == status) {
			matched = append(matched, s.orderJSON(o))
		}
	}
	data, meta := paginate(matched, page, size)
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": meta})
}

// orderJSON renders an order. The caller holds s.mu.
func (s *Simulator) orderJSON(o *order) orderJSON {
	out := orderJSON{
		ID:                 o.id,
		RecordType:         "number_order",
		Status:             o.status,
		PhoneNumbersCount:  len(o.numbers),
		ConnectionID:       nullable(o.connectionID),
		MessagingProfileID: nullable(o.messagingProfileID),
		BillingGroupID:     nullable(o.billingGroupID),
		CustomerReference:  nullable(o.customerReference),
		RequirementsMet:    true,
		SubNumberOrdersIDs: []string{o.subOrderID},
		CreatedAt:          timestamp(o.createdAt),
		UpdatedAt:          timestamp(o.updatedAt),
		PhoneNumbers:       []orderPhoneNumberJSON{},
	}
	for _, n := range o.numbers {
		out.PhoneNumbers = append(out.PhoneNumbers, orderPhoneNumberJSON{
			ID:                     n.id,
			RecordType:             "number_order_phone_number",
			PhoneNumber:            n.e164,
			Status:                 n.status,
			RequirementsMet:        true,
			RequirementsStatus:     "approved",
			RegulatoryRequirements: []string{},
			CountryCode:            n.region,
			PhoneNumberType:        n.kind,
		})
	}
	return out
}
