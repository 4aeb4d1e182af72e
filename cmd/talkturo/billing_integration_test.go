package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

const testBillingSecret = "whsec_test"

// webhook posts a billing event, signed at `at` with secret.
func webhook(t *testing.T, base string, ev map[string]any, secret string, at time.Time) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(ev)
	req, _ := http.NewRequest("POST", base+"/api/billing/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("Talkturo-Signature", api.SignBillingEvent(body, secret, at))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestActivationThroughTheWebhookKeepsTheTrialNumber(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{env: map[string]string{"TRIAL_DURATION": "6s", "BILLING_WEBHOOK_SECRET": testBillingSecret, "BILLING_GRACE_PERIOD": "4s"}})
	_, base := s.app(roleAPI | roleWorker)
	team, token := s.team(domain.PlanFree)
	number := "+14155550190"
	status, bought := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": team})
	if status != 200 || bought["phoneNumber"].(map[string]any)["is_trial"] != true {
		t.Fatalf("trial purchase: %d %v", status, bought)
	}
	id := bought["phoneNumber"].(map[string]any)["id"].(string)
	now := time.Now()
	activated := map[string]any{"id": "evt_1", "type": "subscription.activated", "teamId": team, "plan": "growth", "occurredAt": now.UTC().Format(time.RFC3339)}

	// What the webhook refuses.
	if st, b := webhook(t, base, activated, "", now); st != 401 {
		t.Fatalf("unsigned: %d %v", st, b)
	}
	if st, b := webhook(t, base, activated, "wrong-secret", now); st != 401 {
		t.Fatalf("wrong secret: %d %v", st, b)
	}
	if st, b := webhook(t, base, activated, testBillingSecret, now.Add(-6*time.Minute)); st != 401 {
		t.Fatalf("stale: %d %v", st, b)
	}
	if st, b := webhook(t, base, map[string]any{"id": "evt_x", "type": "subscription.paused", "teamId": team, "occurredAt": now.Format(time.RFC3339)}, testBillingSecret, now); st != 400 || errCode(b) != domain.CodeInvalidRequest {
		t.Fatalf("malformed: %d %v", st, b)
	}
	if st, b := webhook(t, base, map[string]any{"id": "evt_y", "type": "subscription.activated", "teamId": "team_nope", "plan": "growth", "occurredAt": now.Format(time.RFC3339)}, testBillingSecret, now); st != 404 {
		t.Fatalf("unknown team: %d %v", st, b)
	}

	// The activation, and its replay.
	for range 2 {
		if st, b := webhook(t, base, activated, testBillingSecret, now); st != 200 {
			t.Fatalf("activation: %d %v", st, b)
		}
	}
	svc := workflows.NewNumberService(mustClient(t, s), workflows.ServiceConfig{TaskQueue: s.cfg.TemporalTaskQueue})
	waitFor(t, 20*time.Second, func() bool {
		n, err := s.numbers.Get(context.Background(), team, id)
		return err == nil && !n.IsTrial && n.TrialExpiresAt == nil
	}, "the trial to become a paid number")
	time.Sleep(7 * time.Second) // past the trial's end
	n, _ := s.numbers.Get(context.Background(), team, id)
	if n.Status != domain.NumberActive || n.IsTrial {
		t.Fatalf("after the trial's end the number is %+v", n)
	}
	if st, err := svc.BillingState(context.Background(), team); err != nil || st.Applied != 1 || st.Plan != domain.PlanGrowth {
		t.Fatalf("billing state: %+v %v (the replay must not apply twice)", st, err)
	}
	_, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+team, token, nil)
	if item := list["numbers"].([]any)[0].(map[string]any); item["is_trial"] != false || item["trial_expires_at"] != nil {
		t.Fatalf("listed after activation: %v", item)
	}
	// Eligibility follows the plan: the team may now buy more.
	status, more := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": "+14155550191", "teamId": team})
	if e := more["eligibility"].(map[string]any); status != 200 || e["planName"] != "Growth" || e["hasSubscription"] != true || e["currentCount"].(float64) != 2 {
		t.Fatalf("purchase on growth: %d %v", status, more)
	}

	// Cancellation: back to free; after the grace period the numbers go.
	canceled := map[string]any{"id": "evt_2", "type": "subscription.canceled", "teamId": team, "occurredAt": now.Add(time.Second).UTC().Format(time.RFC3339)}
	if st, b := webhook(t, base, canceled, testBillingSecret, time.Now()); st != 200 {
		t.Fatalf("cancellation: %d %v", st, b)
	}
	waitFor(t, 30*time.Second, func() bool {
		_, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+team, token, nil)
		return list["count"].(float64) == 0
	}, "the grace period to release the numbers")
	if owned := s.sim.OwnedNumbers(); slices.Contains(owned, number) {
		t.Fatalf("still held at the simulator: %v", owned)
	}
}
