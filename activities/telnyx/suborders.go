package telnyx

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/talkturo/phonenumbers/domain"
)

// AttachRequirementGroup supplies a requirement group (the customer's
// documents, kept at Telnyx) for every number of a sub-order still waiting
// on them; Telnyx then reviews them. Attaching the same group again changes
// nothing, so the call is retried like a GET. A refused attach is read
// back: a sub-order whose numbers no longer wait for documents (an earlier
// attempt went through, or the review is over) is not an error, so a
// retry after a lost answer cannot fail a purchase that is on its way. A
// sub-order Telnyx does not know is an error (unlike a cancel): the
// documents went nowhere.
func (c *Client) AttachRequirementGroup(ctx context.Context, subOrderID, groupID string) error {
	const op = "attach_requirement_group"
	path, err := subOrderPath(op, subOrderID)
	if err != nil {
		return err
	}
	if groupID == "" {
		return localError(op, "a requirement group ID is required")
	}
	err = c.do(ctx, call{
		op:         op,
		method:     http.MethodPost,
		path:       path + "/requirement_group",
		body:       requirementGroupRequest{RequirementGroupID: groupID},
		idempotent: true,
	}, nil)
	var pe *domain.ProviderError
	if !errors.As(err, &pe) || pe.Class != domain.ProviderRejected || pe.NotFound() {
		return err
	}
	var sub subNumberOrderEnvelope
	if gerr := c.do(ctx, call{op: op, method: http.MethodGet, path: path, idempotent: true}, &sub); gerr != nil {
		return err
	}
	if len(sub.Data.PhoneNumbers) == 0 {
		return err
	}
	for _, n := range sub.Data.PhoneNumbers {
		switch domain.RequirementsStatus(normalizeStatus(n.RequirementsStatus)) {
		case domain.RequirementsUnderReview, domain.RequirementsApproved:
		default:
			// Still waiting on documents, cancelled, or rejected: the
			// refusal stands.
			return err
		}
	}
	return nil
}

// subOrderPath is the path of sub-order id, or a local error of op when id
// is empty.
func subOrderPath(op, id string) (string, error) {
	if id == "" {
		return "", localError(op, "a sub number order ID is required")
	}
	return "/sub_number_orders/" + url.PathEscape(id), nil
}

// requirementGroupRequest is the body of
// POST /sub_number_orders/{id}/requirement_group.
type requirementGroupRequest struct {
	RequirementGroupID string `json:"requirement_group_id"`
}

// subNumberOrderEnvelope is GET /sub_number_orders/{id}, as far as the
// client reads it.
type subNumberOrderEnvelope struct {
	Data struct {
		Status       string `json:"status"`
		PhoneNumbers []struct {
			RequirementsStatus string `json:"requirements_status"`
		} `json:"phone_numbers"`
	} `json:"data"`
}
