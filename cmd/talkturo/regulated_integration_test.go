package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
	"github.com/talkturo/phonenumbers/workflows/devserver"
)

// webhookStack is a stack whose simulator delivers signed order webhooks
// to its API, as Telnyx does once the webhook URL and public key are set in
// the portal.
func webhookStack(t *testing.T, env map[string]string, sim func(*telnyxsim.Options)) (*stack, string) {
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

// atTelnyx sends a request to the simulator's Telnyx API, as the team's
// own tools (or the portal) would.
func atTelnyx(t *testing.T, s *stack, method, path string, body any, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, s.cfg.TelnyxBaseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer test-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// subOrderOf returns the id of the sub-order of the purchase's Telnyx
// order, found by its customer reference.
func subOrderOf(t *testing.T, s *stack, ref string) string {
	t.Helper()
	var list struct {
		Data []struct {
			SubNumberOrdersIDs []string `json:"sub_number_orders_ids"`
		} `json:"data"`
	}
	if st := atTelnyx(t, s, "GET", "/number_orders?filter[customer_reference]="+url.QueryEscape(ref), nil, &list); st != 200 || len(list.Data) != 1 || len(list.Data[0].SubNumberOrdersIDs) != 1 {
		t.Fatalf("orders of %s: %d %+v", ref, st, list)
	}
	return list.Data[0].SubNumberOrdersIDs[0]
}

// TestRegulatedPurchaseWaitsOnDocumentsThenActivatesByWebhook: a GB number
// through the API against the strict simulator. The purchase answers 202
// with what it waits on; the list shows the same; operators find it by
// NumberStatus; once the team attaches a requirement group at Telnyx the
// order completes and the signed webhook ends the wait at once, long before
// the workflow's next look at the order (30 s).
func TestRegulatedPurchaseWaitsOnDocumentsThenActivatesByWebhook(t *testing.T) {
	t.Parallel()
	s, base := webhookStack(t, map[string]string{"PURCHASE_WAIT": "2s"}, nil)
	team, token := s.team(domain.PlanGrowth)
	number := searchOffered(t, base, token, map[string]any{"countryCode": "GB", "limit": 1})[0]

	status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": team})
	if status != 202 {
		t.Fatalf("purchase: %d %v, want 202 pending", status, body)
	}
	pn := body["phoneNumber"].(map[string]any)
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

	st, err := workflows.NewNumberService(c, workflows.ServiceConfig{TaskQueue: s.cfg.TemporalTaskQueue}).State(context.Background(), number)
	if err != nil {
		t.Fatal(err)
	}
	sub := subOrderOf(t, s, st.CustomerReference)
	attached := time.Now()
	if code := atTelnyx(t, s, "POST", "/sub_number_orders/"+sub+"/requirement_group", map[string]any{"requirement_group_id": "rg-test-gb"}, nil); code != 200 {
		t.Fatalf("attaching the requirement group: %d", code)
	}
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
