package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/devserver"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

// webhookStack is a stack whose simulator delivers signed order webhooks
// to its API, as Telnyx does once the webhook URL and public key are set in
// the portal.
func webhookStack(t testing.TB, env map[string]string, sim func(*telnyxsim.Options)) (*stack, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	port, err := devserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	all := map[string]string{"HTTP_ADDR": addr, "TELNYX_PUBLIC_KEY": base64.StdEncoding.EncodeToString(pub)}
	for k, v := range env {
		all[k] = v
	}
	s := newStack(t, stackOptions{env: all, sim: func(o *telnyxsim.Options) {
		o.WebhookURL, o.WebhookKey = "http://"+addr+"/api/telnyx/webhook", priv
		if sim != nil {
			sim(o)
		}
	}})
	_, base := s.app(roleAPI | roleWorker)
	return s, base
}

// searchFirst searches through the API, as a customer does, and returns the
// numbers offered.
func searchOffered(t *testing.T, base, token string, filters map[string]any) []string {
	t.Helper()
	status, body := call(t, "POST", base+"/api/phone-numbers/search", token, map[string]any{"filters": filters})
	if status != 200 {
		t.Fatalf("search: %d %v", status, body)
	}
	var out []string
	for _, n := range body["numbers"].([]any) {
		out = append(out, n.(map[string]any)["phoneNumber"].(string))
	}
	if len(out) == 0 {
		t.Fatalf("search %v offered nothing", filters)
	}
	return out
}

// TestRegulatedPurchaseWaitsOnDocumentsThenActivatesByWebhook: a GB number
// through the API against the strict simulator. The purchase answers 202
// with what it waits on; the list shows the same; operators find it by
// NumberStatus; the team retries the purchase with its requirement group,
// which the waiting purchase hands to the order at Telnyx; the order
// completes and the signed webhook ends the wait at once, long before the
// workflow's next look at the order (30 s).
func TestRegulatedPurchaseWaitsOnDocumentsThenActivatesByWebhook(t *testing.T) {
	t.Parallel()
	p := startRegulatedPurchase(t)
	s, base, team, token, number := p.s, p.base, p.team, p.token, p.number
	pn := p.answer["phoneNumber"].(map[string]any)
	reqs, _ := pn["requirements"].(map[string]any)
	if pn["status"] != "pending" || reqs == nil || reqs["status"] != string(domain.RequirementsInfoPending) || reqs["deadline"] == nil || len(reqs["missing"].([]any)) == 0 {
		t.Fatalf("pending answer: %v", pn)
	}
	id := pn["id"].(string)

	status, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+team, token, nil)
	if status != 200 {
		t.Fatalf("list: %d %v", status, list)
	}
	listed := findListed(t, list, id)
	if lr, _ := listed["requirements"].(map[string]any); lr == nil || lr["status"] != string(domain.RequirementsInfoPending) {
		t.Fatalf("listed: %v", listed)
	}

	c := mustClient(t, s)
	query := fmt.Sprintf(`PhoneNumber = %q AND NumberStatus = %q`, number, workflows.NumberStatusRequirementsPending)
	waitFor(t, 30*time.Second, func() bool {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		return err == nil && len(resp.Executions) == 1
	}, "the purchase to be found by NumberStatus = requirements-pending")

	// The team supplies its documents by retrying the purchase with its
	// requirement group: the waiting purchase answers 202 at once and
	// hands the group to the order at Telnyx.
	group := "6a09cdc2-8948-47f0-aa62-74ac943d6c58"
	attached := time.Now()
	status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": team, "requirementGroupId": group})
	if status != 202 && status != 200 {
		t.Fatalf("purchase with the group: %d %v", status, body)
	}
	// Nothing else attaches documents: the order can only complete once
	// the product handed the group to Telnyx.
	// The order settles after the simulator's 50 ms; the webhook, not the
	// 30-second poll, must end the wait.
	var active map[string]any
	waitFor(t, 20*time.Second, func() bool {
		_, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+team, token, nil)
		active = findListed(t, list, id)
		return active["status"] == "active"
	}, "the regulated number to become active")
	if took := time.Since(attached); took >= 25*time.Second {
		t.Fatalf("activation took %v: the webhook did not end the wait", took)
	}
	if active["requirements"] != nil {
		t.Fatalf("an active number still shows requirements: %v", active)
	}
	if owned := s.sim.OwnedNumbers(); len(owned) != 1 || owned[0] != number {
		t.Fatalf("telnyx holds %v, want [%s]", owned, number)
	}
}

// TestRegulatedPurchasePastItsDeadlineFailsAndFreesTheSlot: nobody supplies
// the documents; at the deadline the order is cancelled, the purchase
// answers 409 requirements_deadline_passed, the number is listed failed
// with its reason and the team's count is back to zero.
func TestRegulatedPurchasePastItsDeadlineFailsAndFreesTheSlot(t *testing.T) {
	t.Parallel()
	s, base := webhookStack(t, nil, func(o *telnyxsim.Options) { o.RequirementsDeadline = 3 * time.Second })
	team, token := s.team(domain.PlanGrowth)
	number := searchOffered(t, base, token, map[string]any{"countryCode": "DE", "limit": 1})[0]

	status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": team})
	if status != 409 || errCode(body) != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("purchase: %d %v, want 409 %s", status, body, domain.CodeRequirementsDeadlinePassed)
	}
	_, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+team+"&includeReleased=true", token, nil)
	items := list["numbers"].([]any)
	if len(items) != 1 {
		t.Fatalf("list: %v", list)
	}
	failed := items[0].(map[string]any)
	if failed["status"] != "failed" || failed["failure_reason"] != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("failed number: %v", failed)
	}
	if e, err := s.accounts.Eligibility(context.Background(), team); err != nil || e.CurrentCount != 0 {
		t.Fatalf("eligibility %+v %v: the slot was not freed", e, err)
	}
	if owned := s.sim.OwnedNumbers(); len(owned) != 0 {
		t.Fatalf("telnyx still holds %v", owned)
	}
}

// TestGroupRequiredCountryNeedsARequirementGroup: a Swedish number cannot
// be ordered without a fulfilled requirement group (Telnyx refuses the
// order); with one it is bought.
func TestGroupRequiredCountryNeedsARequirementGroup(t *testing.T) {
	t.Parallel()
	s, base := webhookStack(t, nil, nil)
	team, token := s.team(domain.PlanGrowth)
	numbers := searchOffered(t, base, token, map[string]any{"countryCode": "SE", "limit": 2})
	status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": numbers[0], "teamId": team})
	if status != 400 || errCode(body) != domain.CodeInvalidRequest || !strings.Contains(fmt.Sprint(body), "requirementGroupId") {
		t.Fatalf("without a group: %d %v, want 400 naming requirementGroupId", status, body)
	}
	status, body = call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": numbers[1], "teamId": team, "requirementGroupId": "0195a7f3-5e00-7000-8000-000000000001"})
	if status != 200 || body["phoneNumber"].(map[string]any)["status"] != "active" {
		t.Fatalf("with a group: %d %v", status, body)
	}
}

// regulatedPurchase is a purchase of a GB number, which waits on
// documents, through a stack whose purchases wait 2 s.
type regulatedPurchase struct {
	s                         *stack
	base, team, token, number string
	// answer is the purchase's 202.
	answer map[string]any
}

func startRegulatedPurchase(t *testing.T) regulatedPurchase {
	t.Helper()
	p := regulatedPurchase{}
	p.s, p.base = webhookStack(t, map[string]string{"PURCHASE_WAIT": "2s"}, nil)
	p.team, p.token = p.s.team(domain.PlanGrowth)
	p.number = searchOffered(t, p.base, p.token, map[string]any{"countryCode": "GB", "limit": 1})[0]
	status, body := call(t, "POST", p.base+"/api/phone-numbers/purchase", p.token, map[string]any{"phoneNumber": p.number, "teamId": p.team})
	if status != 202 {
		t.Fatalf("purchase: %d %v, want 202 pending", status, body)
	}
	p.answer = body
	return p
}

func findListed(t *testing.T, list map[string]any, id string) map[string]any {
	t.Helper()
	for _, it := range list["numbers"].([]any) {
		if m := it.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("number %s not listed: %v", id, list)
	return nil
}

// TestTeamGivesUpAPurchaseWaitingOnDocuments: a DELETE of the pending
// number cancels the order at Telnyx, ends the purchase failed and frees
// the slot; Telnyx holds nothing.
func TestTeamGivesUpAPurchaseWaitingOnDocuments(t *testing.T) {
	t.Parallel()
	p := startRegulatedPurchase(t)
	s, base, team, token := p.s, p.base, p.team, p.token
	id := p.answer["phoneNumber"].(map[string]any)["id"].(string)
	// The purchase takes a moment to see that its order waits on documents.
	var status int
	var released map[string]any
	waitFor(t, 20*time.Second, func() bool {
		status, released = call(t, "DELETE", base+"/api/phone-numbers/purchase/"+id+"?teamId="+team, token, nil)
		return status == 200
	}, "the release of the purchase waiting on documents")
	if pn := released["phoneNumber"].(map[string]any); pn["status"] != "failed" || pn["requirements"] != nil {
		t.Fatalf("released: %v", released)
	}
	if e, err := s.accounts.Eligibility(context.Background(), team); err != nil || e.CurrentCount != 0 {
		t.Fatalf("eligibility %+v %v: the slot was not freed", e, err)
	}
	waitFor(t, 20*time.Second, func() bool { return len(s.sim.OwnedNumbers()) == 0 }, "Telnyx to hold nothing")
}
