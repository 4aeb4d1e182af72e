package telnyx

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/talkturo/phonenumbers/domain"
)

// ListOwnedNumbers returns one page of the numbers the account holds that
// match f. Zero page fields leave Telnyx's defaults (page 1 of 20).
func (c *Client) ListOwnedNumbers(ctx context.Context, f domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) {
	q := url.Values{}
	set := func(key, value string) {
		if value != "" {
			q.Set(key, value)
		}
	}
	// Telnyx matches nothing for a filter with any non-digit: "+1415…"
	// would hide the very number we just bought or must release.
	set("filter[phone_number]", digitsOnly(f.PhoneNumber))
	set("filter[status]", string(f.Status))
	set("filter[customer_reference]", f.CustomerReference)
	if f.PageNumber > 0 {
		q.Set("page[number]", strconv.Itoa(f.PageNumber))
	}
	if f.PageSize > 0 {
		q.Set("page[size]", strconv.Itoa(f.PageSize))
	}
	var resp phoneNumberList
	err := c.do(ctx, call{
		op:         "list_numbers",
		method:     http.MethodGet,
		path:       "/phone_numbers",
		query:      q,
		idempotent: true,
	}, &resp)
	if err != nil {
		return nil, err
	}
	out := make([]domain.OwnedNumber, 0, len(resp.Data))
	for _, n := range resp.Data {
		out = append(out, toOwnedNumber(n))
	}
	return out, nil
}

func toOwnedNumber(n phoneNumber) domain.OwnedNumber {
	created := n.CreatedAt.time()
	if created.IsZero() {
		created = n.PurchasedAt.time()
	}
	return domain.OwnedNumber{
		ID:                  string(n.ID),
		PhoneNumber:         n.PhoneNumber,
		Status:              domain.OwnedNumberStatus(normalizeStatus(n.Status)),
		ConnectionID:        string(n.ConnectionID),
		CustomerReference:   string(n.CustomerReference),
		DeletionLockEnabled: n.DeletionLockEnabled,
		CreatedAt:           created,
	}
}

// digitsOnly keeps the digits of s: an E.164 number's "+" (and any
// spacing a caller left in) must not reach filter[phone_number].
func digitsOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// normalizeStatus spells a number status with hyphens, as current Telnyx
// documents do ("purchase-pending"); older ones use underscores, and callers
// should not have to compare against both.
func normalizeStatus(s string) string { return strings.ReplaceAll(s, "_", "-") }

// ReleaseNumber releases the owned number with the given Telnyx phone
// number ID (the ID ListOwnedNumbers returns, not the ID of the number
// inside an order). A number Telnyx no longer knows (404) counts as
// released, so a retried release is harmless. A deletion lock is an
// ordinary ProviderRejected error: Telnyx documents no code for it, so a
// caller that must tell reads the number (GetOwnedNumber) and its
// DeletionLockEnabled.
func (c *Client) ReleaseNumber(ctx context.Context, id string) error {
	const op = "release_number"
	if id == "" {
		// DELETE /phone_numbers/ would 404, which we read as success.
		return localError(op, "a phone number ID is required")
	}
	err := c.do(ctx, call{
		op:         op,
		method:     http.MethodDelete,
		path:       "/phone_numbers/" + url.PathEscape(id),
		idempotent: true,
	}, nil)
	var pe *domain.ProviderError
	if errors.As(err, &pe) && pe.NotFound() {
		return nil
	}
	return err
}

// GetOwnedNumber reads one owned number by its Telnyx phone number ID.
func (c *Client) GetOwnedNumber(ctx context.Context, id string) (domain.OwnedNumber, error) {
	const op = "get_number"
	if id == "" {
		// GET /phone_numbers/ would list the account's numbers instead.
		return domain.OwnedNumber{}, localError(op, "a phone number ID is required")
	}
	var resp struct {
		Data phoneNumber `json:"data"`
	}
	if err := c.do(ctx, call{
		op:         op,
		method:     http.MethodGet,
		path:       "/phone_numbers/" + url.PathEscape(id),
		idempotent: true,
	}, &resp); err != nil {
		return domain.OwnedNumber{}, err
	}
	return toOwnedNumber(resp.Data), nil
}

// Ping checks that Telnyx answers and accepts the API key, with the
// cheapest authenticated call there is.
func (c *Client) Ping(ctx context.Context) error {
	var resp phoneNumberList
	return c.do(ctx, call{
		op:         "ping",
		method:     http.MethodGet,
		path:       "/phone_numbers",
		query:      url.Values{"page[size]": {"1"}},
		idempotent: true,
	}, &resp)
}
