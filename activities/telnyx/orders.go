package telnyx

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/talkturo/phonenumbers/domain"
)

// CreateOrder orders one number. It is never retried here, whatever the
// failure: after a timeout or a 5xx the order may well exist, so the caller
// must look it up with FindOrdersByCustomerReference before trying again.
func (c *Client) CreateOrder(ctx context.Context, req domain.OrderRequest) (domain.Order, error) {
	const op = "create_order"
	if req.PhoneNumber == "" {
		return domain.Order{}, localError(op, "a phone number is required")
	}
	var resp orderEnvelope
	err := c.do(ctx, call{
		op:     op,
		method: http.MethodPost,
		path:   "/number_orders",
		body: orderRequest{
			PhoneNumbers:      []orderRequestNumber{{PhoneNumber: req.PhoneNumber, RequirementGroupID: req.RequirementGroupID}},
			ConnectionID:      req.ConnectionID,
			CustomerReference: req.CustomerReference,
		},
	}, &resp)
	if err != nil {
		return domain.Order{}, err
	}
	return toOrder(resp.Data), nil
}

// GetOrder returns the order with the given ID and its current status.
func (c *Client) GetOrder(ctx context.Context, id string) (domain.Order, error) {
	const op = "get_order"
	if id == "" {
		// An empty ID would list every order instead of reading one.
		return domain.Order{}, localError(op, "an order ID is required")
	}
	var resp orderEnvelope
	err := c.do(ctx, call{
		op:         op,
		method:     http.MethodGet,
		path:       "/number_orders/" + url.PathEscape(id),
		idempotent: true,
	}, &resp)
	if err != nil {
		return domain.Order{}, err
	}
	return toOrder(resp.Data), nil
}

// FindOrdersByCustomerReference returns the orders placed with the given
// customer_reference, oldest first as Telnyx lists them; none is not an
// error. Telnyx's list shows an order's numbers only as {id, phone_number},
// so each order found is read again by id: callers get every number's
// status and requirements, as from GetOrder.
func (c *Client) FindOrdersByCustomerReference(ctx context.Context, ref string) ([]domain.Order, error) {
	const op = "find_orders"
	if ref == "" {
		// Without the filter Telnyx would list every order, and a caller
		// checking "was this purchase already ordered?" would wrongly hear
		// yes.
		return nil, localError(op, "a customer reference is required")
	}
	var resp orderList
	err := c.do(ctx, call{
		op:         op,
		method:     http.MethodGet,
		path:       "/number_orders",
		query:      url.Values{"filter[customer_reference]": {ref}},
		idempotent: true,
	}, &resp)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Order, 0, len(resp.Data))
	for _, o := range resp.Data {
		// Guard against a server that ignores the filter: an order with
		// another reference must never be taken for ours.
		if string(o.CustomerReference) != ref {
			continue
		}
		full, err := c.GetOrder(ctx, string(o.ID))
		if err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

// CancelSubNumberOrder cancels a pending sub-order. One Telnyx no longer
// knows (404) counts as cancelled, so a retried cancel is harmless. Telnyx
// documents no error code for "not pending", so when the cancel is
// refused the sub-order is read back: one that is no longer pending
// (cancelled by an earlier attempt, by its deadline, or settled) is not an
// error, as domain.NumberProvider promises.
func (c *Client) CancelSubNumberOrder(ctx context.Context, id string) error {
	const op = "cancel_sub_order"
	path, err := subOrderPath(op, id)
	if err != nil {
		return err
	}
	err = c.do(ctx, call{
		op:         op,
		method:     http.MethodPatch,
		path:       path + "/cancel",
		idempotent: true,
	}, nil)
	var pe *domain.ProviderError
	if !errors.As(err, &pe) || pe.NotFound() {
		return nil
	}
	if pe.Class != domain.ProviderRejected {
		return err
	}
	var sub subNumberOrderEnvelope
	if gerr := c.do(ctx, call{op: op, method: http.MethodGet, path: path, idempotent: true}, &sub); gerr != nil {
		var gpe *domain.ProviderError
		if errors.As(gerr, &gpe) && gpe.NotFound() {
			return nil
		}
		return err
	}
	if s := sub.Data.Status; s != "" && s != string(domain.OrderPending) {
		return nil
	}
	return err
}

// toOrder reads an order. A number's own fields are absent in an order
// list, where it reads as the zero OrderedNumber but for its id and
// phone number: callers needing its status read the order by id.
func toOrder(o numberOrder) domain.Order {
	order := domain.Order{
		ID:                string(o.ID),
		Status:            domain.OrderStatus(o.Status),
		CustomerReference: string(o.CustomerReference),
		ConnectionID:      string(o.ConnectionID),
		RequirementsMet:   o.RequirementsMet,
		CreatedAt:         o.CreatedAt.time(),
		UpdatedAt:         o.UpdatedAt.time(),
	}
	for _, id := range o.SubNumberOrdersIDs {
		if id != "" {
			order.SubNumberOrderIDs = append(order.SubNumberOrderIDs, string(id))
		}
	}
	for _, n := range o.PhoneNumbers {
		on := domain.OrderedNumber{
			ID:                 string(n.ID),
			PhoneNumber:        n.PhoneNumber,
			Status:             domain.OrderStatus(n.Status),
			RequirementsMet:    n.RequirementsMet,
			RequirementsStatus: domain.RequirementsStatus(normalizeStatus(n.RequirementsStatus)),
		}
		for _, r := range n.RegulatoryRequirements {
			if r == (requirement{}) {
				continue // an entry of a shape we cannot read
			}
			on.Requirements = append(on.Requirements, domain.RegulatoryRequirement(r))
		}
		if n.Deadline != nil && !n.Deadline.time().IsZero() {
			d := n.Deadline.time()
			on.Deadline = &d
		}
		order.Numbers = append(order.Numbers, on)
	}
	return order
}
