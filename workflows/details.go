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
// (the answer of the __temporal_workflow_metadata query). UI v2.55 shows
// all three on the workflow page's "User Metadata" tab, and asks the query
// when the tab opens and when its refresh button is pressed: the text is
// the state at that moment, not a live view. Each workflow's text is one
// function of a small comparable value of its state here; keepDetails
// shows it.
//
// They hold the number (E.164), team, record and order ids, states,
// requirement kinds and times: never a token, key or secret, a webhook's
// payload, a requirement's value or a requirement group's id, nor the
// purchase key (the order's customer_reference), which the state query
// shows to whoever needs it.
//
// A run continued as new has no summary or static details of its own:
// SDK v1.50's ContinueAsNewErrorOptions has no user metadata, and the
// user_metadata every API Command may carry is put by the server on the
// closing run's ContinuedAsNew event, not on the next run's start. Its
// current details name the number and team and say which run it is. The
// first run's summary lasts as long as Temporal keeps that closed run
// (the namespace's retention, 30 days in deploy/temporal/values.yaml).

// QueryWorkflowMetadata is the query the SDK answers itself with the
// run's current details (and its handlers' names): the Temporal UI asks it
// for "Current Details", and so can an operator's CLI or a test.
const QueryWorkflowMetadata = "__temporal_workflow_metadata"

// keepDetails keeps the run's current details equal to format(inputs()).
// It is evaluated each time the workflow's coroutines have run (every pass
// of the SDK's dispatcher), so a change of state, wherever it is made, is
// shown by the end of the workflow task that made it; the pass costs a
// call of inputs and a comparison, and format runs only when its inputs
// changed. inputs may read the workflow's state and its channels' lengths
// but must issue no command; format must be a pure function of its input.
// SetCurrentDetails records nothing in the history (the worker answers the
// metadata query from memory, or from a replay of a closed run), so
// histories recorded before it replay unchanged.
//
// The text is for people: a panic in inputs or format is recovered and
// the last text stays (else it would fail every workflow task of the run,
// whatever the run was doing), and is logged once per run.
func keepDetails[K comparable](ctx workflow.Context, inputs func() K, format func(K) string) {
	var (
		last          K
		shown         string
		started, hurt bool
	)
	// refresh reports whether the text to show changed.
	refresh := func() (changed bool) {
		defer func() {
			if p := recover(); p != nil {
				changed = false
				if !hurt {
					hurt = true
					workflow.GetLogger(ctx).Error("the workflow's current details could not be made; the last ones stay", "panic", fmt.Sprint(p))
				}
			}
		}()
		k := inputs()
		if started && k == last {
			return false
		}
		started, last = true, k
		// The metadata query's answer is proto JSON: invalid UTF-8 fails it.
		text := strings.ToValidUTF8(format(k), "\uFFFD")
		if text == shown {
			return false
		}
		shown = text
		return true
	}
	if refresh() {
		workflow.SetCurrentDetails(ctx, shown)
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		// An operator's cancel must not end (or spin) the watch.
		ctx, _ = workflow.NewDisconnectedContext(ctx)
		for {
			_ = workflow.Await(ctx, refresh)
			workflow.SetCurrentDetails(ctx, shown)
		}
	})
}

// NumberSummary is the summary a number's workflow starts with (the
// purchase's start and a release's).
func NumberSummary(e164, teamID string) string {
	return e164 + " for team " + teamID
}

// NumberStaticDetails are the static details a purchase starts with.
func NumberStaticDetails(req PurchaseRequest) string {
	return fmt.Sprintf("Phone number **%s** for team %s, bought by user %s.\n\n"+
		"The workflow holds the number from its purchase to its release. Where it is now: "+
		"*Current Details*; its whole state: the `%s` query.", req.PhoneNumber, code(req.TeamID), code(req.UserID), QueryState)
}

// ReleaseSummary is the summary ReleaseNumberWorkflow starts with.
func ReleaseSummary(n domain.PhoneNumber) string {
	return "Release of " + NumberSummary(n.PhoneNumber, n.TeamID) + " (its workflow was not running)"
}

// ReleaseStaticDetails are the static details ReleaseNumberWorkflow
// starts with.
func ReleaseStaticDetails(n domain.PhoneNumber, reason string) string {
	return fmt.Sprintf("Ends record %s of **%s** for team %s, whose number workflow no longer runs (reason %s), "+
		"as that workflow would have: released at Telnyx, the record ended, the plan slot freed.", code(n.ID), n.PhoneNumber, code(n.TeamID), code(reason))
}

// BillingSummary is the summary a team's billing workflow starts with.
func BillingSummary(teamID string) string { return "Billing of team " + teamID }

// BillingStaticDetails are the static details a team's billing workflow
// starts with.
func BillingStaticDetails(teamID string) string {
	return fmt.Sprintf("Subscription events of team %s, applied once each and in order. "+
		"The plan now: *Current Details*; the whole state: the `%s` query.", code(teamID), QueryBilling)
}

// numberDetails is what a number workflow's current details are made of
// (numberWorkflow.details): the fields of its state they show, copied so
// that the value compares.
type numberDetails struct {
	PhoneNumber, TeamID string
	RecordID            string
	Status              domain.NumberStatus
	IsTrial             bool
	// TrialExpiresAt is zero when the number has no expiry.
	TrialExpiresAt time.Time
	// Requirements is what a purchase waiting on documents waits on. The
	// workflow replaces it whole (setRequirements), never changes it in
	// place, so its pointer tells a change.
	Requirements      *domain.PendingRequirements
	OrderID           string
	Error             string
	RequirementGroups int
	// Undoing: a failed purchase gives its number back (Undo says how far).
	Undoing bool
	Undo    UndoState
	Runs    int
	// PurchaseCancelled: the purchase failed because the workflow was
	// cancelled (its Error says only "internal").
	PurchaseCancelled bool
	// AwaitingDocs: the purchase waits on documents (or, its requirements
	// cleared, on Telnyx provisioning the number once they were accepted).
	AwaitingDocs bool
	// ReleaseAsked, ReleaseBy: a release was asked, and by whom.
	ReleaseAsked bool
	ReleaseBy    string
	// Ending is the status the number is being ended with (released or
	// expired), once its release has begun; EndCancelled says the
	// workflow's cancellation began it; ReleaseRefusals counts the refused
	// tries.
	Ending          domain.NumberStatus
	EndCancelled    bool
	ReleaseRefusals int
}

// details is the run's numberDetails.
func (w *numberWorkflow) details() numberDetails {
	n := &w.state.Number
	d := numberDetails{
		PhoneNumber: w.req.PhoneNumber, TeamID: w.req.TeamID,
		RecordID: n.ID, Status: n.Status, IsTrial: n.IsTrial, Requirements: n.Requirements,
		OrderID: w.state.OrderID, Error: w.state.Error, RequirementGroups: len(w.state.RequirementGroups), Runs: w.state.Runs,
		PurchaseCancelled: w.purchaseCancelled, AwaitingDocs: w.phase == phaseAwaitingDocuments, ReleaseAsked: w.releaseAsked, ReleaseBy: w.releaseBy,
		Ending: w.endingAs, EndCancelled: w.endCancelled, ReleaseRefusals: w.endAttempts,
	}
	if n.TrialExpiresAt != nil {
		d.TrialExpiresAt = *n.TrialExpiresAt
	}
	if u := w.state.Undo; u != nil {
		d.Undoing, d.Undo = true, *u
	}
	return d
}

// Markdown is the number's current details: a headline saying where its
// life is, then what identifies it.
func (d numberDetails) Markdown() string {
	var head string
	var lines []string
	pending := d.Status == domain.NumberPending
	purchase := "**Pending purchase**"
	if d.IsTrial {
		purchase = "**Pending trial purchase**"
	}
	switch {
	case d.Undoing:
		head = fmt.Sprintf("**Releasing**: the purchase failed (%s) and Telnyx has not taken the number back yet", d.failure())
		try := "No try yet"
		if u := d.Undo; u.Attempts > 0 {
			try = fmt.Sprintf("Tries: %d, the last refused with %s", u.Attempts, code(u.LastError))
		}
		if !d.Undo.NextAttemptAt.IsZero() {
			try += "; the next at " + stamp(d.Undo.NextAttemptAt)
		}
		lines = append(lines, try, "The plan slot stays taken until Telnyx confirms the release")
	case d.Status == domain.NumberFailed:
		head = "**Failed**: " + d.failure()
	case d.Status == domain.NumberReleased:
		head = "**Released**"
	case d.Status == domain.NumberExpired:
		head = "**Expired**: the trial ended and the number was released"
	case pending && d.Error != "":
		// The saga undoes what the purchase did (the record stays pending
		// until it is marked failed).
		head = "**Failing** (" + d.failure() + "): undoing the purchase"
	case pending && d.ReleaseAsked && d.AwaitingDocs:
		head = purchase + ": released (asked by " + code(d.ReleaseBy) + ") while it waited on documents; the order is being cancelled"
	case pending && d.ReleaseAsked:
		head = purchase + ": a release was asked (by " + code(d.ReleaseBy) + "); the number is released once bought"
	case pending && d.Requirements != nil:
		r := d.Requirements
		head = "**Waiting on documents** (" + code(string(r.Status)) + ")"
		if r.Deadline != nil {
			head += ", deadline " + stamp(*r.Deadline)
		}
		if kinds := requirementKinds(r.Missing); kinds != "" {
			lines = append(lines, "Missing: "+kinds)
		}
	case pending && d.AwaitingDocs:
		head = purchase + ": the documents were accepted, Telnyx is provisioning the number"
	case pending && d.OrderID != "":
		head = purchase + ": ordered at Telnyx, waiting for the order to complete"
	case pending:
		head = purchase + ": taking a plan slot and ordering at Telnyx"
	case d.ReleaseRefusals > 0:
		head = fmt.Sprintf("**Release refused** (%s): the number stays held and billed; tried again every %g hours, or at the next release request",
			code(d.Error), releaseRetryInterval.Hours())
		lines = append(lines, fmt.Sprintf("Refused tries: %d", d.ReleaseRefusals))
	case d.Ending == domain.NumberExpired:
		head = "**Releasing**: the trial ended"
	case d.Ending != "" && d.EndCancelled:
		head = "**Releasing**: the workflow was cancelled"
	case d.Ending != "" && d.ReleaseBy != "":
		head = "**Releasing**: asked by " + code(d.ReleaseBy)
	case d.Ending != "":
		// Asked in a run before, whose input did not say by whom.
		head = "**Releasing**"
	case d.IsTrial && !d.TrialExpiresAt.IsZero():
		head = "**Active trial**, expires " + stamp(d.TrialExpiresAt)
	default:
		head = "**Active**, paid number"
	}
	lines = append(lines, "Number: "+d.PhoneNumber, "Team: "+code(d.TeamID))
	if d.RecordID != "" {
		lines = append(lines, "Record: "+code(d.RecordID))
	}
	if d.OrderID != "" && pending {
		lines = append(lines, "Telnyx order: "+code(d.OrderID))
	}
	if d.RequirementGroups > 0 && pending {
		lines = append(lines, fmt.Sprintf("Requirement groups supplied while waiting: %d", d.RequirementGroups))
	}
	if d.Runs > 0 {
		lines = append(lines, fmt.Sprintf("Run %d of this number's workflow (continued as new, which carries no summary)", d.Runs+1))
	}
	return head + "\n\n- " + strings.Join(lines, "\n- ")
}

// failure names what failed the purchase: its code, or the cancellation.
func (d numberDetails) failure() string {
	if d.PurchaseCancelled {
		return "the workflow was cancelled"
	}
	return code(d.Error)
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

// billingDetails is what a billing run's current details are made of: its
// state and the events waiting (carried from the last run, or on the
// signal channel).
type billingDetails struct {
	TeamID     string
	Plan       domain.PlanName
	Subscribed bool
	// GraceEndsAt is zero when no grace period runs.
	GraceEndsAt      time.Time
	LastEventAt      time.Time
	Applied, Ignored int
	Waiting          int
}

// billingDetailsOf is st's billingDetails with waiting events.
func billingDetailsOf(st *BillingState, waiting int) billingDetails {
	d := billingDetails{TeamID: st.TeamID, Plan: st.Plan, Subscribed: st.Subscribed, LastEventAt: st.LastEventAt, Applied: st.Applied, Ignored: st.Ignored, Waiting: waiting}
	if st.GraceEndsAt != nil {
		d.GraceEndsAt = *st.GraceEndsAt
	}
	return d
}

// Markdown is the billing run's current details.
func (d billingDetails) Markdown() string {
	var head string
	switch {
	case d.Applied == 0:
		head = "**No subscription event applied yet**: the team is on the plan it was created with"
	case !d.GraceEndsAt.IsZero():
		head = fmt.Sprintf("**Plan %s**, subscription cancelled: the grace period ends %s, then the team's paid numbers are released", code(string(d.Plan)), stamp(d.GraceEndsAt))
	case d.Subscribed:
		head = fmt.Sprintf("**Plan %s**, subscribed", code(string(d.Plan)))
	default:
		head = fmt.Sprintf("**Plan %s**, no subscription", code(string(d.Plan)))
	}
	events := fmt.Sprintf("Events: %d applied, %d ignored", d.Applied, d.Ignored)
	if !d.LastEventAt.IsZero() {
		events += "; the last applied occurred at " + stamp(d.LastEventAt)
	}
	return head + "\n\n- " + strings.Join([]string{
		"Team: " + code(d.TeamID), events, fmt.Sprintf("Events waiting: %d", d.Waiting),
	}, "\n- ")
}

// releaseDetails is what ReleaseNumberWorkflow's current details are made
// of (releaseRun.details).
type releaseDetails struct {
	In   ReleaseNumberInput
	Done bool
	// Failure is the code of the error that ended the run ("" when none);
	// Cancelled: the error is the workflow's cancellation.
	Failure   string
	Cancelled bool
	// Error is the state's: what Telnyx or the pending check answered.
	Error string
	// Ended: the run ended the record (else it found it no longer live).
	Ended  bool
	Status domain.NumberStatus
}

// details is the run's releaseDetails.
func (r *releaseRun) details() releaseDetails {
	return releaseDetails{In: r.in, Done: r.done, Failure: r.failure, Cancelled: r.cancelled, Error: r.state.Error, Ended: r.ended, Status: r.state.Number.Status}
}

// Markdown is ReleaseNumberWorkflow's current details.
func (d releaseDetails) Markdown() string {
	var ended string
	switch d.Status {
	case domain.NumberFailed:
		ended = "**Failed**: the pending purchase was undone"
	case domain.NumberExpired:
		ended = "**Expired**: the trial had ended; the number was released"
	default:
		ended = "**Released**"
	}
	failure := code(d.Failure)
	if d.Cancelled {
		failure = "the workflow was cancelled"
	}
	var head string
	switch {
	case !d.Done:
		head = "**Releasing** a number whose workflow was not running"
	case d.Failure != "" && d.Ended:
		// The number is gone and its record ended; only the slot is left.
		head = ended + "; freeing its plan slot failed (" + failure + ")"
	case d.Failure != "":
		head = "**Not released**: " + failure
		if d.Error != "" && !d.Cancelled {
			head += " (" + code(d.Error) + ")"
		}
	case !d.Ended:
		head = "**Nothing to release**: the record is " + code(string(d.Status))
	default:
		head = ended
	}
	lines := []string{"Number: " + d.In.PhoneNumber, "Team: " + code(d.In.TeamID), "Record: " + code(d.In.NumberID), "Reason: " + code(d.In.Reason)}
	return head + "\n\n- " + strings.Join(lines, "\n- ")
}

// stamp is a time as operators compare it with the API's: RFC 3339, UTC.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// codeEscapes keep a code span one line and closed, whatever it holds.
var codeEscapes = strings.NewReplacer("`", "'", "\n", " ", "\r", " ")

// codeMax is the most characters (runes) a code span shows.
const codeMax = 80

// code is s as a markdown code span: ids and codes render as written,
// whatever they hold, as valid UTF-8, cut to codeMax characters.
func code(s string) string {
	if s == "" {
		return "(none)"
	}
	s = codeEscapes.Replace(strings.ToValidUTF8(s, "\uFFFD"))
	n := 0
	for i := range s {
		if n == codeMax {
			s = s[:i] + "…"
			break
		}
		n++
	}
	return "`" + s + "`"
}
