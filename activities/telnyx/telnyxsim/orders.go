package telnyxsim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Order and number states, as Telnyx spells them.
const (
	orderPending   = "pending"
	orderSuccess   = "success"
	orderFailure   = "failure"
	orderCancelled = "cancelled" // orders and sub-orders only: a number in a cancelled order is a failure

	numberPurchasePending = "purchase-pending"
	numberPurchaseFailed  = "purchase-failed"
	numberActive          = "active"
	numberDeleted         = "deleted"
	numberInfoPending     = "requirement-info-pending"
	numberUnderReview     = "requirement-info-under-review"
	numberProvisioning    = "provision-pending"

	reqApproved    = "approved"
	reqCancelled   = "cancelled"
	reqInfoPending = "requirement-info-pending"
	reqUnderReview = "requirement-info-under-review"
)

// order is a number order: one sub-order per group of its numbers of one
// country and type, as Telnyx splits them. Its status is derived from its
// numbers', which settle lazily (see settle).
type order struct {
	id     string
	status string
	orderSettings
	createdAt, updatedAt time.Time
	subs                 []*subOrder
	numbers              []*orderNumber
}

// orderSettings are what an order request sets on the order and, as at
// Telnyx, on every number it buys.
type orderSettings struct {
	connectionID, messagingProfileID string
	billingGroupID                   string
	customerReference                string
}

// subOrder is the part of an order for one country and number type.
type subOrder struct {
	id, region, kind string
	status           string
	order            *order
	numbers          []*orderNumber
	updatedAt        time.Time
}

// orderNumber is one number inside an order, with the owned-number record
// the order created for it. A number waits on settleAt (its purchase or
// the review of its documents) and, when regulated, on its deadline; a
// regulated number still waiting for documents has no settleAt.
type orderNumber struct {
	id, e164, region, kind, status string
	regulated                      bool
	groupID                        string // requirement_group_id given with the order
	reqStatus                      string
	requirements                   []*requirementValue
	settleAt, deadline             time.Time
	provisionFor                   time.Duration // the order latency when it was placed
	owned                          *ownedNumber
	sub                            *subOrder
}

// requirementValue is one regulatory requirement of a number and what the
// customer supplied for it ("" while nothing).
type requirementValue struct {
	id, fieldType, value string
}

// orderRequestJSON is the body of POST /v2/number_orders.
type orderRequestJSON struct {
	PhoneNumbers []struct {
		PhoneNumber        string `json:"phone_number"`
		RequirementGroupID string `json:"requirement_group_id"`
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
		// Telnyx sells only what a recent search offered.
		if at, ok := s.offered[n.e164]; !ok || now.Sub(at) > s.searchTTL {
			writeError(w, apiError{status: http.StatusUnprocessableEntity, code: CodeBadRequest, title: "Number not available",
				detail:  fmt.Sprintf("The phone number %s was not offered by a recent search; search for it before ordering it.", n.e164),
				pointer: fmt.Sprintf("/phone_numbers/%d/phone_number", i)})
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

// groupRequired are the countries where Telnyx refuses an order whose
// numbers do not name a fulfilled requirement group.
var groupRequired = map[string]bool{"CH": true, "DK": true, "IT": true, "NO": true, "PT": true, "SE": true}

// regulated reports whether numbers of a region carry regulatory
// requirements: in the simulator, every country outside North America,
// as for most of them at Telnyx.
func regulated(region string) bool { return region != "US" && region != "CA" }

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
		region := phonenumbers.GetRegionCodeForNumber(num)
		if groupRequired[region] && pn.RequirementGroupID == "" {
			return nil, &apiError{status: http.StatusUnprocessableEntity, code: CodeMissingParameter, title: "Missing required parameter",
				detail:  fmt.Sprintf("Numbers in %s can only be ordered with a fulfilled requirement group (requirement_group_id).", region),
				pointer: fmt.Sprintf("/phone_numbers/%d/requirement_group_id", i)}
		}
		out = append(out, orderNumber{e164: raw, region: region, kind: kindOf(num),
			regulated: regulated(region), groupID: pn.RequirementGroupID})
	}
	return out, nil
}

// numberNotAvailable answers an order for a number the account or someone
// else holds. Telnyx documents no code for it: the generic bad-request one
// and the pointer are all a client gets.
func numberNotAvailable(i int, e164 string) apiError {
	return apiError{status: http.StatusUnprocessableEntity, code: CodeBadRequest, title: "Number not available",
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

// requirementsOf are the regulatory requirements of a number of a region:
// one address, with an id stable per country as Telnyx's are.
func requirementsOf(region string) []*requirementValue {
	return []*requirementValue{{id: requirementID(region, "address"), fieldType: "address"}}
}

func requirementID(region, field string) string {
	h := fnv.New64a()
	h.Write([]byte(region + "/" + field))
	v := h.Sum64()
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", v>>32, (v>>16)&0xFFFF, v&0xFFF, (v>>12)&0xFFF, v&0xFFFFFFFFFFFF)
}

// placeOrder records an order and the numbers it buys. The caller holds
// s.mu and has checked that every number is available.
func (s *Simulator) placeOrder(req orderRequestJSON, numbers []orderNumber, now time.Time) *order {
	settings := orderSettings{
		connectionID:       req.ConnectionID,
		messagingProfileID: req.MessagingProfileID,
		billingGroupID:     req.BillingGroupID,
		customerReference:  req.CustomerReference,
	}
	o := &order{id: s.newUUID(), status: orderPending, orderSettings: settings, createdAt: now, updatedAt: now}
	subs := map[[2]string]*subOrder{}
	for _, n := range numbers {
		own := s.hold(&ownedNumber{
			e164:          n.e164,
			region:        n.region,
			kind:          n.kind,
			status:        numberPurchasePending,
			orderSettings: settings,
			createdAt:     now,
			updatedAt:     now,
		})
		n.id, n.status, n.owned = s.newUUID(), orderPending, own
		n.reqStatus, n.settleAt, n.provisionFor = reqApproved, now.Add(s.orderLatency), s.orderLatency
		if n.regulated {
			n.requirements = requirementsOf(n.region)
			n.deadline = now.Add(s.requirementsDeadline)
			n.reqStatus, n.settleAt, own.status = reqInfoPending, time.Time{}, numberInfoPending
		}
		key := [2]string{n.region, n.kind}
		sub := subs[key]
		if sub == nil {
			sub = &subOrder{id: s.newUUID(), region: n.region, kind: n.kind, status: orderPending, order: o, updatedAt: now}
			subs[key] = sub
			o.subs = append(o.subs, sub)
			s.subOrders[sub.id] = sub
		}
		n.sub = sub
		sub.numbers = append(sub.numbers, &n)
		o.numbers = append(o.numbers, &n)
		if n.regulated && n.groupID != "" {
			// A fulfilled group named at ordering skips the wait for documents.
			s.supply(&n, n.groupID, now)
		}
	}
	s.orders = append(s.orders, o)
	s.ordersByID[o.id] = o
	s.pending = append(s.pending, o)
	s.settle(now)
	return o
}

// supply records the customer's documents for every requirement of a
// number waiting on them and puts it under review, which ends after the
// order latency. The caller holds s.mu.
func (s *Simulator) supply(n *orderNumber, value string, now time.Time) {
	for _, r := range n.requirements {
		if r.value == "" {
			r.value = value
		}
	}
	s.review(n, now)
}

// review puts a number under review once every requirement has a value.
// The caller holds s.mu.
func (s *Simulator) review(n *orderNumber, now time.Time) {
	for _, r := range n.requirements {
		if r.value == "" {
			return
		}
	}
	n.reqStatus, n.settleAt = reqUnderReview, now.Add(s.orderLatency)
	n.owned.status, n.owned.updatedAt = numberUnderReview, now
	n.sub.updatedAt, n.sub.order.updatedAt = now, now
}

// settle moves every pending order on to now: numbers whose purchase or
// review is over settle, and regulated numbers whose deadline passed first
// are cancelled. Settling lazily, when state is read, lets tests move an
// injected clock instead of sleeping; an order that settles is announced
// by webhook. The caller holds s.mu.
func (s *Simulator) settle(now time.Time) {
	kept := s.pending[:0]
	for _, o := range s.pending {
		for _, n := range o.numbers {
			s.advance(n, now)
		}
		s.derive(o)
		if o.status == orderPending {
			kept = append(kept, o)
			continue
		}
		s.announce(o)
	}
	clear(s.pending[len(kept):])
	s.pending = kept
	s.provision(now)
}

// advance settles one number if its time has come. The caller holds s.mu.
func (s *Simulator) advance(n *orderNumber, now time.Time) {
	if n.status != orderPending {
		return
	}
	due := !n.settleAt.IsZero() && !n.settleAt.After(now)
	expired := !n.deadline.IsZero() && !n.deadline.After(now) && (n.settleAt.IsZero() || n.deadline.Before(n.settleAt))
	switch {
	case expired:
		s.cancelNumber(n, n.deadline)
	case due:
		s.completeNumber(n, n.settleAt)
	}
}

// completeNumber ends a number's purchase at the given time: it succeeds
// unless it was sold to someone else or forgotten meanwhile. The caller
// holds s.mu.
func (s *Simulator) completeNumber(n *orderNumber, at time.Time) {
	own := n.owned
	n.sub.updatedAt, n.sub.order.updatedAt = at, at
	if own.status == numberDeleted {
		// Forgotten while its order was pending (see Forget).
		n.status = orderFailure
		return
	}
	own.updatedAt = at
	if n.regulated {
		n.reqStatus = reqApproved
	}
	if s.sold[n.e164] {
		n.status, own.status = orderFailure, numberPurchaseFailed
		if s.live[n.e164] == own {
			delete(s.live, n.e164)
		}
		return
	}
	n.status, own.purchasedAt = orderSuccess, at
	if n.regulated || s.provisionAll {
		// Telnyx's order status tells of the purchase; the number's own
		// status tells of its provisioning, which for a regulated number
		// follows the purchase: the order reads success while the number is
		// still provision-pending (held and billed, not yet usable). It
		// turns active one order latency later (see provision).
		own.status, own.activeAt = numberProvisioning, at.Add(n.provisionFor)
		s.provisioning = append(s.provisioning, own)
		return
	}
	own.status = numberActive
}

// provision activates the numbers whose provisioning is over. A number
// whose status changed meanwhile (forgotten, or set by SetOwnedStatus) is
// left as it is. The caller holds s.mu.
func (s *Simulator) provision(now time.Time) {
	kept := s.provisioning[:0]
	for _, own := range s.provisioning {
		switch {
		case own.status != numberProvisioning || own.activeAt.IsZero():
		case own.activeAt.After(now):
			kept = append(kept, own)
		default:
			own.status, own.updatedAt, own.activeAt = numberActive, own.activeAt, time.Time{}
		}
	}
	clear(s.provisioning[len(kept):])
	s.provisioning = kept
}

// cancelNumber cancels a number still pending: its record turns deleted
// and the number returns to the inventory. The caller holds s.mu.
func (s *Simulator) cancelNumber(n *orderNumber, at time.Time) {
	n.status, n.reqStatus = orderFailure, reqCancelled
	n.settleAt = time.Time{}
	n.sub.updatedAt, n.sub.order.updatedAt = at, at
	own := n.owned
	if own.status != numberDeleted {
		own.status, own.updatedAt = numberDeleted, at
	}
	if s.live[n.e164] == own {
		delete(s.live, n.e164)
	}
}

// derive recomputes the status of an order's sub-orders and of the order
// from its numbers': pending while any number is, cancelled when every
// number was cancelled, success when every one succeeded, else failure.
// The caller holds s.mu.
func (s *Simulator) derive(o *order) {
	for _, sub := range o.subs {
		sub.status = outcome(sub.numbers)
	}
	o.status = outcome(o.numbers)
}

func outcome(numbers []*orderNumber) string {
	cancelled, success := 0, 0
	for _, n := range numbers {
		switch {
		case n.status == orderPending:
			return orderPending
		case n.reqStatus == reqCancelled:
			cancelled++
		case n.status == orderSuccess:
			success++
		}
	}
	switch len(numbers) {
	case cancelled:
		return orderCancelled
	case success:
		return orderSuccess
	}
	return orderFailure
}

// requirementsMet reports whether every regulatory requirement of the
// numbers is approved.
func requirementsMet(numbers []*orderNumber) bool {
	for _, n := range numbers {
		if n.reqStatus != reqApproved {
			return false
		}
	}
	return true
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
			matched = append(matched, s.orderListJSON(o))
		}
	}
	data, meta := paginate(matched, page, size)
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": meta})
}

// orderHeadJSON renders an order without its numbers. The caller holds s.mu.
func (s *Simulator) orderHeadJSON(o *order) orderJSON {
	out := orderJSON{
		ID:                 o.id,
		RecordType:         "number_order",
		Status:             o.status,
		PhoneNumbersCount:  len(o.numbers),
		ConnectionID:       nullable(o.connectionID),
		MessagingProfileID: nullable(o.messagingProfileID),
		BillingGroupID:     nullable(o.billingGroupID),
		CustomerReference:  nullable(o.customerReference),
		RequirementsMet:    requirementsMet(o.numbers),
		SubNumberOrdersIDs: []string{},
		CreatedAt:          timestamp(o.createdAt),
		UpdatedAt:          timestamp(o.updatedAt),
	}
	for _, sub := range o.subs {
		out.SubNumberOrdersIDs = append(out.SubNumberOrdersIDs, sub.id)
	}
	return out
}

// orderListJSON renders an order as GET /number_orders lists it: its
// numbers are only {id, phone_number}, as at Telnyx, so a client must read
// their status from the order or from GET /number_orders/{id}.
func (s *Simulator) orderListJSON(o *order) orderJSON {
	out := s.orderHeadJSON(o)
	list := make([]orderListNumberJSON, 0, len(o.numbers))
	for _, n := range o.numbers {
		list = append(list, orderListNumberJSON{ID: n.id, PhoneNumber: n.e164})
	}
	out.PhoneNumbers = list
	return out
}

// orderJSON renders an order with its numbers in full. The caller holds s.mu.
func (s *Simulator) orderJSON(o *order) orderJSON {
	out := s.orderHeadJSON(o)
	out.PhoneNumbers = numbersJSON(o.numbers)
	return out
}

func numbersJSON(numbers []*orderNumber) []orderPhoneNumberJSON {
	out := make([]orderPhoneNumberJSON, 0, len(numbers))
	for _, n := range numbers {
		pn := orderPhoneNumberJSON{
			ID:                     n.id,
			RecordType:             "number_order_phone_number",
			PhoneNumber:            n.e164,
			Status:                 n.status,
			RequirementsMet:        n.reqStatus == reqApproved,
			RequirementsStatus:     n.reqStatus,
			RegulatoryRequirements: []requirementJSON{},
			CountryCode:            n.region,
			PhoneNumberType:        n.kind,
			SubNumberOrderID:       n.sub.id,
		}
		if !n.deadline.IsZero() {
			d := timestamp(n.deadline)
			pn.Deadline = &d
		}
		for _, r := range n.requirements {
			pn.RegulatoryRequirements = append(pn.RegulatoryRequirements, requirementJSON{
				RequirementID: r.id,
				FieldType:     r.fieldType,
				FieldValue:    nullable(r.value),
				RecordType:    "phone_number_regulatory_requirement",
			})
		}
		out = append(out, pn)
	}
	return out
}
