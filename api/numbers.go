package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/workflows"
)

// NumberWorkflows is what the API asks of the number workflows.
type NumberWorkflows interface {
	Purchase(ctx context.Context, req workflows.PurchaseRequest, updateID string, wait time.Duration) (temporalclient.PurchaseOutcome, error)
	Release(ctx context.Context, e164 string, req workflows.ReleaseRequest, wait time.Duration) (view workflows.NumberView, pending bool, err error)
	// ReleaseUnwatched releases a live record whose purchase workflow is
	// not running; temporalclient.ErrNumberWorkflowRunning when it is.
	ReleaseUnwatched(ctx context.Context, n domain.PhoneNumber, reason string, wait time.Duration) (view workflows.NumberView, pending bool, err error)
	SendBillingEvent(ctx context.Context, ev workflows.BillingEvent) error
	// NotifyOrder hands a verified Telnyx order event to the purchase its
	// customer reference names; a reference of no purchase is nil.
	NotifyOrder(ctx context.Context, ev workflows.OrderEvent) error
}

type purchaseRequest struct {
	PhoneNumber        string `json:"phoneNumber"`
	TeamID             string `json:"teamId"`
	ConnectionID       string `json:"connectionId"`
	RequirementGroupID string `json:"requirementGroupId"`
}

// purchasedNumberJSON is the seed's phoneNumber object of a purchase.
type purchasedNumberJSON struct {
	ID               string     `json:"id"`
	PhoneNumber      string     `json:"phone_number"`
	ProviderNumberID string     `json:"provider_number_id"`
	Status           string     `json:"status"`
	IsTrial          bool       `json:"is_trial"`
	TrialExpiresAt   *time.Time `json:"trial_expires_at"`
	// Requirements is set while a regulated purchase waits on documents.
	Requirements *requirementsJSON `json:"requirements,omitempty"`
	Message      string            `json:"message"`
}

// requirementsJSON is what a regulated purchase waits on, snake_case like
// the rest of a number.
type requirementsJSON struct {
	Status   string            `json:"status"`
	Deadline *time.Time        `json:"deadline"`
	Missing  []requirementJSON `json:"missing"`
}

type requirementJSON struct {
	RequirementID string `json:"requirement_id"`
	FieldType     string `json:"field_type"`
}

// requirementsOf renders what a pending number waits on. The store keeps
// the requirements of a purchase that failed, but they are nothing left to
// do: only a pending number shows them (a failed one shows its
// failure_reason). Otherwise nil, and the member is left out.
func requirementsOf(status domain.NumberStatus, r *domain.PendingRequirements) *requirementsJSON {
	if r == nil || status != domain.NumberPending {
		return nil
	}
	out := &requirementsJSON{Status: string(r.Status), Missing: make([]requirementJSON, 0, len(r.Missing))}
	if r.Deadline != nil {
		d := r.Deadline.UTC()
		out.Deadline = &d
	}
	for _, m := range r.Missing {
		out.Missing = append(out.Missing, requirementJSON{RequirementID: m.RequirementID, FieldType: m.FieldType})
	}
	return out
}

type purchaseResponse struct {
	Success     bool                `json:"success"`
	PhoneNumber purchasedNumberJSON `json:"phoneNumber"`
	Eligibility domain.Eligibility  `json:"eligibility"`
}

// purchase is POST /api/phone-numbers/purchase. It starts (or joins) the
// number's workflow and answers once the number is active, or 202 when the
// order is still pending after the configured wait. Nothing here depends
// on the caller staying connected: the workflow carries the purchase.
func (s *Server) purchase(c *fiber.Ctx) error {
	var req purchaseRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	e164, err := domain.ParseE164("phoneNumber", strings.TrimSpace(req.PhoneNumber))
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	p := principalOf(c)
	teamID, err := s.team(c, req.TeamID)
	if err != nil {
		return err
	}
	connectionID, err := providerID("connectionId", req.ConnectionID)
	if err != nil {
		return err
	}
	if connectionID != "" && len(s.cfg.AllowedConnectionIDs) > 0 && !slices.Contains(s.cfg.AllowedConnectionIDs, connectionID) {
		return domain.Invalid("connectionId", "connectionId is not one of the Telnyx connections this service may assign (TELNYX_CONNECTION_IDS); leave it out for the default.")
	}
	requirementGroupID, err := requirementGroupIDOf(req.RequirementGroupID)
	if err != nil {
		return err
	}
	fingerprint := purchaseFingerprint(e164, teamID, connectionID, requirementGroupID)
	if connectionID == "" {
		connectionID = s.cfg.DefaultConnectionID
	}
	// A retry whose answer is kept is replayed before the rate limit: a
	// client retrying after a 429 with its key gets its answer, and a
	// replay costs no token (it starts nothing).
	if kept, ok, err := s.keptAnswer(c, teamID, fingerprint); err != nil || ok {
		if err != nil {
			return err
		}
		return replay(c, kept)
	}
	if err := s.rateLimit(c, limitPurchase, teamID); err != nil {
		return err
	}

	claim, err := s.updateIDFor(c, teamID, fingerprint)
	if err != nil {
		return err
	}
	if claim.ResponseStatus != 0 {
		return replay(c, claim) // kept since keptAnswer looked
	}
	started := time.Now()
	preq := workflows.PurchaseRequest{PhoneNumber: e164, TeamID: teamID, UserID: p.UserID, ConnectionID: connectionID, RequirementGroupID: requirementGroupID}
	outcome, err := s.workflows.Purchase(ctx, preq, claim.Target, waitWithin(ctx, s.cfg.PurchaseWait))
	if s.recoverUnwatched(c, e164, err) {
		outcome, err = s.workflows.Purchase(ctx, preq, claim.Target, waitWithin(ctx, s.cfg.PurchaseWait))
	}
	s.metrics.purchased(started, outcome.Pending, err)
	if err != nil {
		de := toDomainError(err)
		switch {
		case de.Code == domain.CodeNumberInPurchase:
			// Not final: another purchase (or an order still in flight)
			// holds the number for now, so a retry with the key asks again.
		case de.Kind == domain.KindLimit, de.Kind == domain.KindConflict:
			// A final answer: a retry with the key gets it again, even once
			// the failed purchase's workflow has ended.
			return s.answer(c, claim, statusOf(de.Kind), bodyOf(de))
		}
		return err
	}
	if outcome.Pending {
		eligCtx, cancel := context.WithTimeout(ctx, domain.EligibilityReadBudget)
		defer cancel()
		elig, err := s.accounts.Eligibility(eligCtx, teamID)
		if err != nil {
			return err
		}
		n := purchasedJSON(outcome.State.Number, "The order is still pending at the provider; the number is listed as pending until it settles.")
		if n.Requirements != nil {
			n.Message = documentsMessage(n.Requirements.Deadline)
		}
		return c.Status(http.StatusAccepted).JSON(purchaseResponse{Success: true, PhoneNumber: n, Eligibility: elig})
	}
	return s.answer(c, claim, http.StatusOK, purchaseResponse{
		Success:     true,
		PhoneNumber: purchasedJSON(outcome.Result.Number, "Phone number purchased successfully"),
		Eligibility: outcome.Result.Eligibility,
	})
}

// documentsMessage tells a client whose purchase waits on documents what
// to do about it, and by when.
func documentsMessage(deadline *time.Time) string {
	by := "soon: Telnyx names no deadline, but the purchase does not wait indefinitely"
	if deadline != nil {
		by = "before requirements.deadline (" + deadline.UTC().Format(time.RFC3339) + "): past it Telnyx cancels the order and the purchase fails"
	}
	return "The order waits on documents for the number's regulatory requirements (see requirements.missing). " +
		"Supply them by retrying this purchase with requirementGroupId (a fulfilled Telnyx requirement group, with a new Idempotency-Key) " +
		"or by attaching them to the order in the Telnyx portal, " + by + ". Until Telnyx accepts them the number is listed as pending."
}

// recoverUnwatched ends the live record that refused a purchase when no
// workflow watches it (its run was terminated, or Temporal's state is
// gone) and ending it is safe: a pending purchase, undone under the
// strict rules of reconciliation, or a trial past its expiry whose team
// has not subscribed since, released. It reports whether it did, so that the purchase is
// tried again. A number another team holds active is theirs: the refusal
// stands (number_unavailable), and so does one a running purchase holds.
func (s *Server) recoverUnwatched(c *fiber.Ctx, e164 string, err error) bool {
	var de *domain.Error
	if !errors.As(err, &de) || (de.Code != domain.CodeNumberInPurchase && de.Code != domain.CodeNumberUnavailable) {
		return false
	}
	ctx := c.UserContext()
	n, err := s.numbers.LiveByNumber(ctx, e164)
	if err != nil {
		return false
	}
	expired := n.IsTrial && n.TrialExpiresAt != nil && !time.Now().Before(*n.TrialExpiresAt)
	if n.Status != domain.NumberPending && !(n.Status == domain.NumberActive && expired) {
		return false
	}
	if n.Status == domain.NumberActive {
		// A team that has subscribed since keeps its trial: the conversion
		// found no workflow to signal (reconciliation converts it).
		if e, err := s.accounts.Eligibility(ctx, n.TeamID); err != nil || e.HasSubscription {
			return false
		}
	}
	// The release run undoes a pending record for a purchase only under the
	// strict rules (old enough, no order in flight, the number not held at
	// Telnyx); otherwise it refuses, and so does this purchase.
	view, pending, err := s.workflows.ReleaseUnwatched(ctx, n, "purchase", waitWithin(ctx, s.cfg.PurchaseWait))
	if err != nil || pending || view.Status.Live() {
		if err != nil && domain.ErrorKind(err) != domain.KindConflict {
			requestLogger(c, s.log).WarnContext(c.UserContext(), "ending an unwatched record of the number failed", "phone_number", e164, "number_id", n.ID, "error", err)
		}
		return false
	}
	requestLogger(c, s.log).WarnContext(c.UserContext(), "ended a record of the number that no workflow watched", "phone_number", e164, "number_id", n.ID, "team_id", n.TeamID, "status", string(view.Status))
	return true
}

func purchasedJSON(n workflows.NumberView, message string) purchasedNumberJSON {
	return purchasedNumberJSON{
		ID: n.ID, PhoneNumber: n.PhoneNumber, ProviderNumberID: n.ProviderNumberID, Status: string(n.Status),
		IsTrial: n.IsTrial, TrialExpiresAt: n.TrialExpiresAt, Requirements: requirementsOf(n.Status, n.Requirements), Message: message,
	}
}

// providerID reads an optional id passed on to Telnyx (a connection): at
// most 128 printable characters without spaces,
// once trimmed; "" when absent.
func providerID(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > 128 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return "", domain.Invalid(field, "%s must be at most 128 printable characters without spaces.", field)
	}
	return v, nil
}

// requirementGroupIDOf reads the optional requirementGroupId: Telnyx
// names requirement groups by UUID, so anything else could only be
// refused by Telnyx later, after the order was placed. Any group of the
// account may be named (see README, Regulated numbers).
func requirementGroupIDOf(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v != "" && !isUUID(v) {
		return "", domain.Invalid("requirementGroupId", "requirementGroupId must be a Telnyx requirement group id, a UUID such as 4f9d1c2e-6b1a-4c3d-9e8f-0a1b2c3d4e5f.")
	}
	return v, nil
}

// isUUID reports whether s is a UUID in its canonical text form
// (8-4-4-4-12 hexadecimal digits, either case).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		switch c := s[i]; {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// listedNumberJSON is the seed's item of the list of purchased numbers.
type listedNumberJSON struct {
	ID             string     `json:"id"`
	PhoneNumber    string     `json:"phone_number"`
	Provider       string     `json:"provider"`
	Status         string     `json:"status"`
	IsTrial        bool       `json:"is_trial"`
	TrialExpiresAt *time.Time `json:"trial_expires_at"`
	AssistantID    *string    `json:"assistant_id"`
	AssistantName  *string    `json:"assistant_name"`
	CreatedByEmail string     `json:"created_by_email"`
	CreatedByName  string     `json:"created_by_name"`
	CreatedAt      time.Time  `json:"created_at"`
	// Requirements is set while a regulated purchase waits on documents;
	// FailureReason says why a failed purchase failed.
	Requirements  *requirementsJSON `json:"requirements,omitempty"`
	FailureReason string            `json:"failure_reason,omitempty"`
}

// listedJSON renders a number as the list shows it; assistant and buyer
// are the caller's to fill.
func listedJSON(n domain.PhoneNumber) listedNumberJSON {
	out := listedNumberJSON{
		ID: n.ID, PhoneNumber: n.PhoneNumber, Provider: n.Provider, Status: string(n.Status), IsTrial: n.IsTrial,
		TrialExpiresAt: n.TrialExpiresAt, AssistantID: n.AssistantID, CreatedAt: n.CreatedAt.UTC(),
	}
	out.Requirements = requirementsOf(n.Status, n.Requirements)
	if n.Status == domain.NumberFailed && n.FailureReason != "" {
		// The record keeps the workflow's own code for operators; a client
		// is shown the public one, as an error with that code would be.
		out.FailureReason = domain.PublicCode(n.FailureReason)
	}
	return out
}

type listNumbersResponse struct {
	Success    bool               `json:"success"`
	Numbers    []listedNumberJSON `json:"numbers"`
	Count      int                `json:"count"`
	NextCursor *string            `json:"nextCursor,omitempty"`
}

// listNumbers is GET /api/phone-numbers/purchase?teamId=…: the team's
// pending and active numbers newest first (all of them with
// includeReleased=true); limit and cursor page through large accounts.
func (s *Server) listNumbers(c *fiber.Ctx) error {
	ctx := c.UserContext()
	teamID, err := s.team(c, c.Query("teamId"))
	if err != nil {
		return err
	}
	q := domain.NumberListQuery{TeamID: teamID, Cursor: c.Query("cursor")}
	switch v := c.Query("includeReleased"); v {
	case "", "false":
	case "true":
		q.IncludeReleased = true
	default:
		return domain.Invalid("includeReleased", "includeReleased must be true or false.")
	}
	paginated := c.Query("limit") != "" || q.Cursor != ""
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return domain.Invalid("limit", "limit must be an integer between 1 and 500.")
		}
		q.Limit = n
	}
	page, err := s.numbers.List(ctx, q)
	if err != nil {
		return err
	}
	resp := listNumbersResponse{Success: true, Numbers: make([]listedNumberJSON, 0, len(page.Items)), Count: page.Total}
	for _, it := range page.Items {
		n := listedJSON(it.PhoneNumber)
		n.AssistantName, n.CreatedByEmail, n.CreatedByName = it.AssistantName, it.CreatedByEmail, it.CreatedByName
		resp.Numbers = append(resp.Numbers, n)
	}
	if paginated {
		next := page.NextCursor
		resp.NextCursor = &next
	}
	return c.JSON(resp)
}

type releaseResponse struct {
	Success     bool             `json:"success"`
	PhoneNumber listedNumberJSON `json:"phoneNumber"`
	Message     string           `json:"message"`
}

// releaseNumber is DELETE /api/phone-numbers/purchase/{id}?teamId=…: the
// number's workflow releases it at Telnyx, records it released and frees
// the plan slot. Releasing a number that is already gone answers 200 with
// it as it is.
func (s *Server) releaseNumber(c *fiber.Ctx) error {
	ctx := c.UserContext()
	teamID, err := s.team(c, c.Query("teamId"))
	if err != nil {
		return err
	}
	n, err := s.numbers.Get(ctx, teamID, c.Params("id"))
	if err != nil {
		return err
	}
	message, status := "The phone number was released.", http.StatusOK
	if !n.Status.Live() {
		message = "The phone number was already " + string(n.Status) + "."
		return c.Status(status).JSON(releaseResponse{Success: true, PhoneNumber: s.listed(ctx, n), Message: message})
	}
	was, waitingOnDocuments := n.Status, n.Status == domain.NumberPending && n.Requirements != nil
	pending, err := false, error(domain.ErrNotFound)
	// A purchase waiting on documents can be given up: its workflow
	// cancels the order and frees the slot.
	if was == domain.NumberActive || waitingOnDocuments {
		_, pending, err = s.workflows.Release(ctx, n.PhoneNumber, workflows.ReleaseRequest{TeamID: teamID, Reason: "api", RequestKey: releaseKey(c, n.ID)}, waitWithin(ctx, s.cfg.PurchaseWait))
	}
	if errors.Is(err, domain.ErrNotFound) {
		// No purchase workflow runs for the number: it ended meanwhile (the
		// trial expired), an operator terminated it, or Temporal's state
		// is gone. A release run of its own releases the record if it is
		// still live; a purchase still under way refuses (409).
		_, pending, err = s.workflows.ReleaseUnwatched(ctx, n, "api", waitWithin(ctx, s.cfg.PurchaseWait))
	}
	if err != nil {
		return err
	}
	if n, err = s.numbers.Get(ctx, teamID, n.ID); err != nil {
		return err
	}
	switch {
	case pending:
		message, status = "The release is in progress; the number shows as released once Telnyx confirms.", http.StatusAccepted
	case n.Status.Live():
		// Never a 200 while the number is held.
		return &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable, Message: "The release did not complete; try again."}
	case waitingOnDocuments:
		message = "The purchase, which waited on documents, was cancelled at Telnyx; nothing is kept."
	case was == domain.NumberPending:
		message = "The purchase of this number had stopped before it completed; it was undone and nothing is kept."
	case n.Status != domain.NumberReleased:
		message = "The phone number was already " + string(n.Status) + "."
	}
	return c.Status(status).JSON(releaseResponse{Success: true, PhoneNumber: s.listed(ctx, n), Message: message})
}

type assignRequest struct {
	TeamID      string  `json:"teamId"`
	AssistantID *string `json:"assistantId"`
}

// assignAssistant is PUT /api/phone-numbers/purchase/{id}/assistant: it
// assigns the number to one assistant of its team (moving it from any
// other); "assistantId": null unassigns it.
func (s *Server) assignAssistant(c *fiber.Ctx) error {
	var req assignRequest
	teamID, err := s.decodeTeamRequest(c, &req, &req.TeamID)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	n, err := s.numbers.AssignAssistant(ctx, teamID, c.Params("id"), req.AssistantID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true, "phoneNumber": s.listed(ctx, n)})
}

// unassignAssistant is DELETE /api/phone-numbers/purchase/{id}/assistant?teamId=….
func (s *Server) unassignAssistant(c *fiber.Ctx) error {
	ctx := c.UserContext()
	teamID, err := s.team(c, c.Query("teamId"))
	if err != nil {
		return err
	}
	n, err := s.numbers.AssignAssistant(ctx, teamID, c.Params("id"), nil)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true, "phoneNumber": s.listed(ctx, n)})
}

// listed renders one number as the list does, with its assistant's name.
func (s *Server) listed(ctx context.Context, n domain.PhoneNumber) listedNumberJSON {
	out := listedJSON(n)
	if n.AssistantID != nil {
		if a, err := s.assistants.GetAssistant(ctx, n.TeamID, *n.AssistantID); err == nil {
			out.AssistantName = &a.Name
		}
	}
	if u, err := s.accounts.GetUser(ctx, n.CreatedByUserID); err == nil {
		out.CreatedByEmail, out.CreatedByName = u.Email, u.Name
	}
	return out
}
