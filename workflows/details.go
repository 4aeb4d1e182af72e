package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/domain"
)

// What the Temporal UI shows of each workflow besides its status: a
// summary and static details, given in its start options (they never
// change), and current details, markdown that the run keeps up to date
// (the UI's "Current Details", the __temporal_workflow_metadata query).
// Each workflow's text is one function of its state here; keepDetails
// shows it.
//
// They hold the number (E.164), team, record and order ids, states,
// requirement kinds and times: never a token, key or secret, a webhook's
// payload, a requirement's value or a requirement group's id, nor the
// purchase key (the order's customer_reference), which the state query
// shows to whoever needs it.
//
// A run continued as new has no summary or static details: neither
// ContinueAsNewErrorOptions (SDK v1.50) nor the API's continue-as-new
// command has user metadata, and the server starts the next run without
// the last one's. Its current details name the number and team and say
// which run it is.

// QueryWorkflowMetadata is the query the SDK answers itself with the
// run's current details (and its handlers' names): the Temporal UI asks it
// for "Current Details", and so can an operator's CLI or a test.
const QueryWorkflowMetadata = "__temporal_workflow_metadata"

// keepDetails keeps the run's current details equal to details(): it is
// evaluated each time the workflow's coroutines have run, so a change of
// state, wherever it is made, is shown by the end of the workflow task
// that made it. SetCurrentDetails records nothing in the history (the
// worker answers the metadata query from memory, or from a replay of a
// closed run), so histories recorded before it replay unchanged; details
// must be a pure function of the workflow's state (no workflow calls).
func keepDetails(ctx workflow.Context, details func() string) {
	shown := details()
	workflow.SetCurrentDetails(ctx, shown)
	workflow.Go(ctx, func(ctx workflow.Context) {
		// An operator's cancel must not end (or spin) the watch.
		ctx, _ = workflow.NewDisconnectedContext(ctx)
		for {
			var next string
			_ = workflow.Await(ctx, func() bool { next = details(); return next != shown })
			shown = next
			workflow.SetCurrentDetails(ctx, shown)
		}
	})
}

// numberSummary is the summary of a number's workflow (the purchase's
// start and a release's).
func numberSummary(e164, teamID string) string {
	return e164 + " for team " + teamID
}

// numberStaticDetails are the static details of a purchase's start.
func numberStaticDetails(req PurchaseRequest) string {
	return fmt.Sprintf("Phone number **%s** for team %s, bought by user %s.\n\n"+
		"The workflow holds the number from its purchase to its release. Where it is now: "+
		"*Current Details*; its whole state: the `%s` query.", req.PhoneNumber, code(req.TeamID), code(req.UserID), QueryState)
}

// releaseSummary is the summary of ReleaseNumberWorkflow.
func releaseSummary(n domain.PhoneNumber) string {
	return "Release of " + numberSummary(n.PhoneNumber, n.TeamID) + " (its workflow was not running)"
}

// releaseStaticDetails are ReleaseNumberWorkflow's static details.
func releaseStaticDetails(n domain.PhoneNumber, reason string) string {
	return fmt.Sprintf("Ends record %s of **%s** for team %s, whose number workflow no longer runs (reason %s), "+
		"as that workflow would have: released at Telnyx, the record ended, the plan slot freed.", code(n.ID), n.PhoneNumber, code(n.TeamID), code(reason))
}

// billingSummary is the summary of a team's billing workflow.
func billingSummary(teamID string) string { return "Billing of team " + teamID }

// billingStaticDetails are the static details of a billing workflow's start.
func billingStaticDetails(teamID string) string {
	return fmt.Sprintf("Subscription events of team %s, applied once each and in order. "+
		"The plan now: *Current Details*; the whole state: the `%s` query.", code(teamID), QueryBilling)
}

// numberDetails is what a number workflow's run shows as its current
// details (numberWorkflow.details).
type numberDetails struct {
	PhoneNumber, TeamID string
	State               NumberState
	// AwaitingDocs: the purchase waits on documents (or, its requirements
	// cleared, on Telnyx provisioning the number once they were accepted).
	AwaitingDocs bool
	// ReleaseAsked, ReleaseBy: a release was asked, and by whom.
	ReleaseAsked bool
	ReleaseBy    string
	// Ending is the status the number is being ended with (released or
	// expired), once its release has begun; ReleaseRefusals counts the
	// refused tries.
	Ending          domain.NumberStatus
	ReleaseRefusals int
}

// details is the run's numberDetails.
func (w *numberWorkflow) details() numberDetails {
	return numberDetails{
		PhoneNumber: w.req.PhoneNumber, TeamID: w.req.TeamID, State: w.state,
		AwaitingDocs: w.awaitingDocs, ReleaseAsked: w.releaseAsked, ReleaseBy: w.releaseBy,
		Ending: w.endingAs, ReleaseRefusals: w.endAttempts,
	}
}

// Markdown is the number's current details: a headline saying where its
// life is, then what identifies it.
func (d numberDetails) Markdown() string {
	n := d.State.Number
	var head string
	var lines []string
	switch {
	case d.State.Undo != nil:
		u := d.State.Undo
		head = fmt.Sprintf("**Releasing**: the purchase failed (%s) and Telnyx has not taken the number back yet", code(d.State.Error))
		lines = append(lines, fmt.Sprintf("Tries: %d, the last refused with %s; the next at %s", u.Attempts, code(u.LastError), stamp(u.NextAttemptAt)),
			"The plan slot stays taken until Telnyx confirms the release")
	case n.Status == domain.NumberFailed:
		head = "**Failed**: " + code(d.State.Error)
	case n.Status == domain.NumberReleased:
		head = "**Released**"
	case n.Status == domain.NumberExpired:
		head = "**Expired**: the trial ended and the number was released"
	case n.Status == domain.NumberPending && n.Requirements != nil:
		r := n.Requirements
		head = "**Waiting on documents** (" + code(string(r.Status)) + ")"
		if r.Deadline != nil {
			head += ", deadline " + stamp(*r.Deadline)
		}
		if kinds := requirementKinds(r.Missing); kinds != "" {
			lines = append(lines, "Missing: "+kinds)
		}
	case n.Status == domain.NumberPending && d.ReleaseAsked:
		head = "**Pending purchase**: released by its team, the order is being cancelled"
	case n.Status == domain.NumberPending && d.AwaitingDocs:
		head = "**Pending purchase**: the documents were accepted, Telnyx is provisioning the number"
	case n.Status == domain.NumberPending && d.State.OrderID != "":
		head = "**Pending purchase**: ordered at Telnyx, waiting for the order to complete"
	case n.Status == domain.NumberPending:
		head = "**Pending purchase**: taking a plan slot and ordering at Telnyx"
	case d.ReleaseRefusals > 0:
		head = fmt.Sprintf("**Release refused** (%s): the number stays held and billed; tried again every %g hours, or at the next release request",
			code(d.State.Error), releaseRetryInterval.Hours())
		lines = append(lines, fmt.Sprintf("Refused tries: %d", d.ReleaseRefusals))
	case d.Ending == domain.NumberExpired:
		head = "**Releasing**: the trial ended"
	case d.Ending != "" && d.ReleaseBy != "":
		head = "**Releasing**: asked by " + code(d.ReleaseBy)
	case d.Ending != "":
		head = "**Releasing**: the workflow was cancelled"
	case n.IsTrial && n.TrialExpiresAt != nil:
		head = "**Active trial**, expires " + stamp(*n.TrialExpiresAt)
	default:
		head = "**Active**, paid number"
	}
	lines = append(lines, "Number: "+d.PhoneNumber, "Team: "+code(d.TeamID))
	if n.ID != "" {
		lines = append(lines, "Record: "+code(n.ID))
	}
	if d.State.OrderID != "" && n.Status == domain.NumberPending {
		lines = append(lines, "Telnyx order: "+code(d.State.OrderID))
	}
	if k := len(d.State.RequirementGroups); k > 0 && n.Status == domain.NumberPending {
		lines = append(lines, fmt.Sprintf("Requirement groups supplied while waiting: %d", k))
	}
	if d.State.Runs > 0 {
		lines = append(lines, fmt.Sprintf("Run %d of this number's workflow (continued as new: the summary is on the first run)", d.State.Runs+1))
	}
	return head + "\n\n- " + strings.Join(lines, "\n- ")
}

// requirementKinds lists the kinds of the missing requirements, each
// once, in their order: never a value.
func requirementKinds(missing []domain.RegulatoryRequirement) string {
	var kinds []string
	seen := map[string]bool{}
	for _, m := range missing {
		k := m.FieldType
		if k == "" {
			k = "unnamed"
		}
		if !seen[k] {
			seen[k] = true
			kinds = append(kinds, code(k))
		}
	}
	return strings.Join(kinds, ", ")
}

// billingDetails is a billing run's current details: its state and the
// events waiting (carried from the last run, or on the signal channel).
func billingDetails(st BillingState, waiting int) string {
	var head string
	switch {
	case st.Applied == 0:
		head = "**No subscription event applied yet**: the team is on the plan it was created with"
	case st.GraceEndsAt != nil:
		head = fmt.Sprintf("**Plan %s**, subscription cancelled: the grace period ends %s, then the team's paid numbers are released", code(string(st.Plan)), stamp(*st.GraceEndsAt))
	case st.Subscribed:
		head = fmt.Sprintf("**Plan %s**, subscribed", code(string(st.Plan)))
	default:
		head = fmt.Sprintf("**Plan %s**, no subscription", code(string(st.Plan)))
	}
	events := fmt.Sprintf("Events: %d applied, %d ignored", st.Applied, st.Ignored)
	if !st.LastEventAt.IsZero() {
		events += "; the last applied occurred at " + stamp(st.LastEventAt)
	}
	return head + "\n\n- " + strings.Join([]string{
		"Team: " + code(st.TeamID), events, fmt.Sprintf("Events waiting: %d", waiting),
	}, "\n- ")
}

// details is ReleaseNumberWorkflow's current details.
func (r *releaseRun) details() string {
	n := r.state.Number
	var head string
	switch {
	case !r.done:
		head = "**Releasing** a number whose workflow was not running"
	case r.err != nil:
		head = "**Not released**: " + code(errorType(r.err))
		if r.state.Error != "" {
			head += " (" + code(r.state.Error) + ")"
		}
	case !r.ended:
		head = "**Nothing to release**: the record is " + code(string(n.Status))
	case n.Status == domain.NumberFailed:
		head = "**Failed**: the pending purchase was undone"
	case n.Status == domain.NumberExpired:
		head = "**Expired**: the trial had ended; the number was released"
	default:
		head = "**Released**"
	}
	lines := []string{"Number: " + r.in.PhoneNumber, "Team: " + code(r.in.TeamID), "Record: " + code(r.in.NumberID), "Reason: " + code(r.in.Reason)}
	return head + "\n\n- " + strings.Join(lines, "\n- ")
}

// stamp is a time as operators compare it with the API's: RFC 3339, UTC.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// code is s as a markdown code span: ids and codes render as written,
// whatever they hold.
func code(s string) string {
	if s == "" {
		return "(none)"
	}
	s = strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return "`" + s + "`"
}
