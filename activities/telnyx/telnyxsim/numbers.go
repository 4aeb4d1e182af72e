package telnyxsim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ownedNumber is a number the account holds, held or held once: records
// are kept after deletion, as Telnyx keeps them.
type ownedNumber struct {
	id, e164, region, kind, status string
	// orderSettings are its order's (none for a number planted by
	// AddOwned).
	orderSettings
	createdAt, updatedAt time.Time
	purchasedAt          time.Time
	activeAt             time.Time // while provision-pending after its order: when it turns active
}

// hold gives own a fresh id and records it as a number the account holds.
// The caller holds s.mu.
func (s *Simulator) hold(own *ownedNumber) *ownedNumber {
	own.id = s.newPhoneNumberID()
	s.numbers = append(s.numbers, own)
	s.numbersByID[own.id] = own
	s.live[own.e164] = own
	return own
}

// Paging limits of list endpoints.
const (
	defaultPageSize = 20
	maxPageSize     = 250
)

func (s *Simulator) handleListNumbers(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	page, size, apiErr := parsePage(q)
	if apiErr != nil {
		writeError(w, *apiErr)
		return
	}
	// Telnyx: "Requires at least three digits. Non-numerical characters
	// will result in no values being returned." So "+1415…" (or a '+'
	// left unencoded, which arrives as a space) matches nothing, and the
	// answer is an empty page, not an error.
	filterDigits := q.Get("filter[phone_number]")
	matchNone := filterDigits != "" && (len(filterDigits) < 3 || strings.Trim(filterDigits, "0123456789") != "")
	// Older documents spell statuses with underscores.
	status := strings.ReplaceAll(q.Get("filter[status]"), "_", "-")
	ref, conn, tag := q.Get("filter[customer_reference]"), q.Get("filter[connection_id]"), q.Get("filter[tag]")

	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.clock())
	var matched []phoneNumberJSON
	for _, n := range s.numbers {
		switch {
		case status == "" && n.status == numberDeleted, // deleted numbers only when asked for
			status != "" && n.status != status,
			matchNone,
			filterDigits != "" && !strings.Contains(strings.TrimPrefix(n.e164, "+"), filterDigits),
			ref != "" && n.customerReference != ref,
			conn != "" && n.connectionID != conn,
			tag != "": // the simulator tags nothing
			continue
		}
		matched = append(matched, s.numberJSON(n))
	}
	data, meta := paginate(matched, page, size)
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": meta})
}

func (s *Simulator) handleGetNumber(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.clock())
	n, ok := s.numbersByID[id]
	if !ok || n.status == numberDeleted {
		writeError(w, notFound("Phone number "+id+" could not be found."))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": s.numberJSON(n)})
}

// handleDeleteNumber releases a number: the record turns deleted and the
// number returns to the inventory, unless it was sold to someone else.
func (s *Simulator) handleDeleteNumber(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	s.settle(now)
	n, ok := s.numbersByID[id]
	if !ok || n.status == numberDeleted {
		writeError(w, notFound("Phone number "+id+" could not be found."))
		return
	}
	if s.locked[n.e164] {
		// Telnyx documents no code for this: the generic bad-request one.
		writeError(w, apiError{status: http.StatusUnprocessableEntity, code: CodeBadRequest, title: "Bad Request",
			detail: "Phone number " + n.e164 + " has deletion lock enabled (deletion_lock_enabled: true); disable the deletion lock before deleting it."})
		return
	}
	if n.status != numberActive {
		// purchase-pending or waiting on its requirements: its order is
		// still open (cancel the sub-order instead).
		writeError(w, apiError{status: http.StatusUnprocessableEntity, code: CodeBadRequest, title: "Bad Request",
			detail: "Phone number " + n.e164 + " is still being purchased (" + n.status + "); it can be deleted once its order completes."})
		return
	}
	n.status, n.updatedAt = numberDeleted, now
	if s.live[n.e164] == n {
		delete(s.live, n.e164)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": s.numberJSON(n)})
}

// numberJSON renders an owned number. The caller holds s.mu.
func (s *Simulator) numberJSON(n *ownedNumber) phoneNumberJSON {
	purchased := n.purchasedAt
	if purchased.IsZero() {
		purchased = n.createdAt
	}
	return phoneNumberJSON{
		ID:                    n.id,
		RecordType:            "phone_number",
		PhoneNumber:           n.e164,
		Status:                n.status,
		Tags:                  []string{},
		CountryISOAlpha2:      n.region,
		ConnectionID:          nullable(n.connectionID),
		CustomerReference:     nullable(n.customerReference),
		MessagingProfileID:    nullable(n.messagingProfileID),
		BillingGroupID:        nullable(n.billingGroupID),
		CallForwardingEnabled: true,
		PhoneNumberType:       n.kind,
		DeletionLockEnabled:   s.locked[n.e164],
		PurchasedAt:           timestamp(purchased),
		CreatedAt:             timestamp(n.createdAt),
		UpdatedAt:             timestamp(n.updatedAt),
	}
}

// parsePage reads page[number] and page[size], refusing what Telnyx refuses.
func parsePage(q url.Values) (number, size int, apiErr *apiError) {
	number, size = 1, defaultPageSize
	if v := q.Get("page[number]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			e := badParameter("page[number]", "page[number] must be an integer of at least 1.")
			return 0, 0, &e
		}
		number = n
	}
	if v := q.Get("page[size]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			e := badParameter("page[size]", "page[size] must be an integer between 1 and 250.")
			return 0, 0, &e
		}
		size = n
	}
	return number, size, nil
}

// paginate cuts one page out of items and describes it.
func paginate[T any](items []T, number, size int) ([]T, pageMetaJSON) {
	meta := pageMetaJSON{
		TotalResults: len(items),
		TotalPages:   max(1, (len(items)+size-1)/size),
		PageNumber:   number,
		PageSize:     size,
	}
	start := len(items)
	if number-1 <= len(items)/size { // also keeps a huge page number from overflowing
		start = min((number-1)*size, len(items))
	}
	end := min(start+size, len(items))
	page := items[start:end]
	if page == nil {
		page = []T{}
	}
	return page, meta
}
