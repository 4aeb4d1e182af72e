package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/workflows"
)

// What an operator sees of each workflow in the Temporal UI, read as the
// UI reads it from the real embedded server: the summary and static
// details (DescribeWorkflowExecution's user metadata) and the current
// details (the __temporal_workflow_metadata query, answered by the worker,
// for a closed run too), through a number's states and a team's billing.
// None of it holds what the state query has and they must not show: the
// purchase key (the Telnyx order's customer_reference), requirement
// groups, requirement ids and values.

// uiView is what the Temporal UI shows of a run besides its status.
type uiView struct {
	summary, staticDetails, currentDetails string
	// state is the state query's answer, for a number's workflow.
	state *workflows.NumberState
}

// viewOf reads a workflow's latest run (or runID) as the UI does.
func viewOf(t *testing.T, c client.Client, workflowID, runID string) uiView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := c.DescribeWorkflowExecution(ctx, workflowID, runID)
	if err != nil {
		t.Fatalf("describe %s: %v", workflowID, err)
	}
	md := d.GetExecutionConfig().GetUserMetadata()
	v := uiView{summary: decodeText(t, md.GetSummary()), staticDetails: decodeText(t, md.GetDetails())}
	q, err := c.QueryWorkflow(ctx, workflowID, runID, workflows.QueryWorkflowMetadata)
	if err != nil {
		t.Fatalf("query %s of %s: %v", workflows.QueryWorkflowMetadata, workflowID, err)
	}
	var meta sdkpb.WorkflowMetadata
	if err := q.Get(&meta); err != nil {
		t.Fatal(err)
	}
	v.currentDetails = meta.GetCurrentDetails()
	if strings.HasPrefix(workflowID, workflows.NumberWorkflowID("")) {
		q, err := c.QueryWorkflow(ctx, workflowID, runID, workflows.QueryState)
		if err != nil {
			t.Fatalf("query %s of %s: %v", workflows.QueryState, workflowID, err)
		}
		v.state = new(workflows.NumberState)
		if err := q.Get(v.state); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// hidden is what the state query shows of a number and its details must
// not: the purchase key (and the run ID it is made of), the requirement
// groups, the requirements' ids and values.
func (v uiView) hidden() []string {
	st := v.state
	if st == nil {
		return nil
	}
	var h []string
	if ref := st.CustomerReference; ref != "" {
		h = append(h, ref)
		if _, runID, ok := strings.Cut(ref, "/"); ok {
			h = append(h, runID)
		}
	}
	h = append(h, st.RequirementGroupID)
	h = append(h, st.RequirementGroups...)
	if r := st.Number.Requirements; r != nil {
		for _, m := range r.Missing {
			h = append(h, m.RequirementID, m.FieldValue)
		}
	}
	return slices.DeleteFunc(h, func(s string) bool { return s == "" })
}

func decodeText(t *testing.T, p *commonpb.Payload) string {
	t.Helper()
	if p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		t.Fatalf("decode user metadata: %v", err)
	}
	return s
}

// detailsUntil waits until the workflow's current details start with head
// and hold each of also (a state is shown by the end of the workflow task
// that reached it), and returns the view.
func detailsUntil(t *testing.T, c client.Client, workflowID, head string, also ...string) uiView {
	t.Helper()
	var v uiView
	waitFor(t, 30*time.Second, func() bool {
		v = viewOf(t, c, workflowID, "")
		for _, a := range also {
			if !strings.Contains(v.currentDetails, a) {
				return false
			}
		}
		return strings.HasPrefix(v.currentDetails, head)
	}, workflowID+" to show "+head)
	return v
}

func TestTemporalUIShowsSummaryAndCurrentDetails(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{env: map[string]string{"PURCHASE_WAIT": "2s", "BILLING_WEBHOOK_SECRET": testBillingSecret}})
	// Two accepted updates per run: a refused release makes the paid
	// number's run continue as new.
	_, base := s.app(roleAPI|roleWorker, fx.Decorate(func(c temporalclient.WorkerConfig) temporalclient.WorkerConfig {
		c.NumberRunLimits = workflows.RunLimits{Updates: 2}
		return c
	}))
	c := mustClient(t, s)
	paidTeam, paidToken := s.team(domain.PlanGrowth)
	freeTeam, freeToken := s.team(domain.PlanFree)
	var seen []uiView
	look := func(v uiView) uiView { seen = append(seen, v); return v }
	purchase := func(token, team, e164 string, want int) map[string]any {
		t.Helper()
		status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": e164, "teamId": team})
		if status != want {
			t.Fatalf("purchase of %s: %d %v, want %d", e164, status, body, want)
		}
		return body["phoneNumber"].(map[string]any)
	}
	release := func(token, team, id string, want int) map[string]any {
		t.Helper()
		status, body := call(t, "DELETE", base+"/api/phone-numbers/purchase/"+id+"?teamId="+team, token, nil)
		if status != want {
			t.Fatalf("release of %s: %d %v, want %d", id, status, body, want)
		}
		return body
	}

	// A paid number: active, then released (its run closed, the query
	// answered by a replay).
	const paid = "+14155550196"
	s.offer(paid)
	pn := purchase(paidToken, paidTeam, paid, 200)
	wf := workflows.NumberWorkflowID(paid)
	v := look(detailsUntil(t, c, wf, "**Active**, paid number"))
	if v.summary != paid+" for team "+paidTeam {
		t.Errorf("summary %q", v.summary)
	}
	for _, want := range []string{"**" + paid + "**", paidTeam, workflows.QueryState} {
		if !strings.Contains(v.staticDetails, want) {
			t.Errorf("static details %q, want %q in them", v.staticDetails, want)
		}
	}
	for _, want := range []string{"Number: " + paid, "Team: `" + paidTeam + "`", "Record: `" + pn["id"].(string) + "`"} {
		if !strings.Contains(v.currentDetails, want) {
			t.Errorf("current details\n%s\nwant %q in them", v.currentDetails, want)
		}
	}
	release(paidToken, paidTeam, pn["id"].(string), 200)
	look(detailsUntil(t, c, wf, "**Released**"))

	// A record whose workflow was terminated is released by
	// ReleaseNumberWorkflow, under the number's workflow ID: its own
	// summary and details.
	const orphan = "+14155550199"
	s.offer(orphan)
	on := purchase(paidToken, paidTeam, orphan, 200)
	terminate(t, s, orphan)
	release(paidToken, paidTeam, on["id"].(string), 200)
	ov := look(detailsUntil(t, c, workflows.NumberWorkflowID(orphan), "**Released**", "Reason: `"+workflows.ReleaseReasonAPI+"`"))
	if want := "Release of " + orphan + " for team " + paidTeam; !strings.HasPrefix(ov.summary, want) || !strings.Contains(ov.staticDetails, on["id"].(string)) {
		t.Errorf("release's summary %q, static details %q; want %q and the record", ov.summary, ov.staticDetails, want)
	}

	// A trial shows its expiry, then, once billing's activation converts
	// it, the paid number; the team's billing workflow shows the plan.
	const trial = "+14155550197"
	s.offer(trial)
	tn := purchase(freeToken, freeTeam, trial, 200)
	expires, err := time.Parse(time.RFC3339Nano, tn["trial_expires_at"].(string))
	if err != nil {
		t.Fatalf("trial_expires_at %v: %v", tn["trial_expires_at"], err)
	}
	look(detailsUntil(t, c, workflows.NumberWorkflowID(trial), "**Active trial**, expires "+expires.UTC().Format(time.RFC3339)))
	now := time.Now().UTC().Truncate(time.Second)
	ev := map[string]any{"id": "evt_ui_1", "type": "subscription.activated", "teamId": freeTeam, "plan": "growth", "occurredAt": now.Format(time.RFC3339)}
	if st, b := webhook(t, base, ev, testBillingSecret, time.Now()); st != 200 {
		t.Fatalf("activation: %d %v", st, b)
	}
	bv := look(detailsUntil(t, c, workflows.TeamWorkflowID(freeTeam), "**Plan `growth`**, subscribed"))
	if bv.summary != "Billing of team "+freeTeam || !strings.Contains(bv.staticDetails, workflows.QueryBilling) {
		t.Errorf("billing summary %q, static details %q", bv.summary, bv.staticDetails)
	}
	if want := "Events: 1 applied, 0 ignored; the last applied occurred at " + now.Format(time.RFC3339); !strings.Contains(bv.currentDetails, want) {
		t.Errorf("billing details\n%s\nwant %q in them", bv.currentDetails, want)
	}
	look(detailsUntil(t, c, workflows.NumberWorkflowID(trial), "**Active**, paid number"))

	// A regulated purchase given its requirement group is reviewed, then
	// bought: the group shows in the state, never in the details.
	offered := searchOffered(t, base, paidToken, map[string]any{"countryCode": "GB", "limit": 2})
	if len(offered) < 2 {
		t.Fatalf("offered %v, want two GB numbers", offered)
	}
	const group = "6a09cdc2-8948-47f0-aa62-74ac943d6c59"
	if status, body := call(t, "POST", base+"/api/phone-numbers/purchase", paidToken, map[string]any{"phoneNumber": offered[1], "teamId": paidTeam, "requirementGroupId": group}); status != 200 && status != 202 {
		t.Fatalf("purchase of %s with its group: %d %v", offered[1], status, body)
	}
	gv := look(detailsUntil(t, c, workflows.NumberWorkflowID(offered[1]), "**Active**, paid number"))
	if gv.state.RequirementGroupID != group {
		t.Fatalf("the state's requirement group %q, want %q: the check below would pass for nothing", gv.state.RequirementGroupID, group)
	}

	// A regulated purchase waits on documents: the kinds missing and the
	// deadline; released by its team, it ends failed with the reason.
	regulated := offered[0]
	rn := purchase(paidToken, paidTeam, regulated, 202)
	rv := look(detailsUntil(t, c, workflows.NumberWorkflowID(regulated), "**Waiting on documents** (`requirement-info-pending`), deadline "))
	if !strings.Contains(rv.currentDetails, "\n- Missing: `") || !strings.Contains(rv.currentDetails, "Telnyx order: `") {
		t.Errorf("waiting on documents:\n%s\nwant the kinds missing and the order", rv.currentDetails)
	}
	release(paidToken, paidTeam, rn["id"].(string), 200)
	look(detailsUntil(t, c, workflows.NumberWorkflowID(regulated), "**Failed**: `"+domain.CodePurchaseReleased+"`"))

	// A release behind a deletion lock is refused; the run continues as
	// new. The continued run has no summary (the SDK and server carry no
	// user metadata across continue-as-new): its current details name the
	// number and team, and say which run it is.
	const locked = "+14155550198"
	s.offer(locked)
	ln := purchase(paidToken, paidTeam, locked, 200)
	lwf := workflows.NumberWorkflowID(locked)
	first := viewOf(t, c, lwf, "")
	desc, err := c.DescribeWorkflowExecution(context.Background(), lwf, "")
	if err != nil {
		t.Fatal(err)
	}
	firstRun := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	s.sim.DeletionLock(locked, true)
	if b := release(paidToken, paidTeam, ln["id"].(string), 409); errCode(b) != "release_blocked" {
		t.Fatalf("release behind the lock: %v", b)
	}
	cv := look(detailsUntil(t, c, lwf, "**Release refused** (`deletion_locked`)", "Run 2 of this number's workflow", "Number: "+locked, "Team: `"+paidTeam+"`"))
	if cv.summary != "" {
		t.Errorf("the continued run has the summary %q: Temporal now carries it across continue-as-new; say so in README and RUNBOOK", cv.summary)
	}
	if again := viewOf(t, c, lwf, firstRun); again.summary != first.summary || again.summary != locked+" for team "+paidTeam {
		t.Errorf("the first run's summary %q, want %q", again.summary, first.summary)
	}
	s.sim.DeletionLock(locked, false)
	release(paidToken, paidTeam, ln["id"].(string), 200)
	look(detailsUntil(t, c, lwf, "**Released**"))

	// What the state query holds and the details must not, at each state
	// seen: checked only where there was something to hide.
	numbers, refs, requirements := 0, 0, 0
	for _, v := range seen {
		if v.state != nil {
			numbers++
		}
		if v.state != nil && v.state.CustomerReference != "" {
			refs++
		}
		if v.state != nil && v.state.Number.Requirements != nil && len(v.state.Number.Requirements.Missing) > 0 {
			requirements++
		}
		for _, secret := range v.hidden() {
			for _, text := range []string{v.summary, v.staticDetails, v.currentDetails} {
				if strings.Contains(text, secret) {
					t.Errorf("%q, from the state query, shows in what the UI shows:\n%s", secret, text)
				}
			}
		}
	}
	if refs == 0 || refs != numbers || requirements == 0 {
		t.Fatalf("of %d views of numbers, %d had a purchase key and %d requirements: the check above checked too little", numbers, refs, requirements)
	}
	t.Logf("what the UI showed:")
	for _, v := range seen {
		t.Logf("summary: %s\n%s", v.summary, v.currentDetails)
	}
}
