package main

// Integration tests: the system as `talkturo serve` composes it, against a
// real embedded Temporal server, real PostgreSQL and the Telnyx simulator
// over HTTP. They are slower than unit tests (seconds each) and run in
// `make test`.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

func TestPurchaseListReleaseThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	_, base := s.app(roleAPI | roleWorker)
	freeTeam, token := s.team(domain.PlanFree)

	status, found := call(t, "POST", base+"/api/phone-numbers/search", token, map[string]any{"filters": map[string]any{"countryCode": "US", "areaCode": "415", "limit": 2}})
	if status != 200 || found["count"].(float64) != 2 {
		t.Fatalf("search: %d %v", status, found)
	}
	number := found["numbers"].([]any)[0].(map[string]any)["phoneNumber"].(string)

	status, bought := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": freeTeam})
	if status != 200 {
		t.Fatalf("purchase: %d %v", status, bought)
	}
	pn := bought["phoneNumber"].(map[string]any)
	if pn["status"] != "active" || pn["is_trial"] != true || pn["trial_expires_at"] == nil || pn["phone_number"] != number || pn["provider_number_id"] == "" {
		t.Fatalf("purchased number = %v", pn)
	}
	if e := bought["eligibility"].(map[string]any); e["currentCount"].(float64) != 1 || e["maxAllowed"].(float64) != 1 || e["hasSubscription"] != false || e["planName"] != "Free" {
		t.Fatalf("eligibility = %v", e)
	}

	// Operators find it in the Temporal UI by its search attributes.
	c := mustClient(t, s)
	query := fmt.Sprintf(`TeamId = %q AND PhoneNumber = %q AND NumberStatus = "active" AND IsTrial = true`, freeTeam, number)
	waitFor(t, 20*time.Second, func() bool {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		return err == nil && len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetWorkflowId() == workflows.NumberWorkflowID(number)
	}, "the number's workflow to be visible by its search attributes")

	// The free team's second number: 403 with its eligibility.
	second := found["numbers"].([]any)[1].(map[string]any)["phoneNumber"].(string)
	status, refused := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": second, "teamId": freeTeam})
	if status != 403 || errCode(refused) != domain.CodePlanLimitReached || refused["error"].(map[string]any)["eligibility"] == nil {
		t.Fatalf("second trial: %d %v", status, refused)
	}

	// Another team cannot buy a held number; the owner cannot buy it twice.
	paidTeam, paidToken := s.team(domain.PlanGrowth)
	if status, body := call(t, "POST", base+"/api/phone-numbers/purchase", paidToken, map[string]any{"phoneNumber": number, "teamId": paidTeam}); status != 409 || errCode(body) != domain.CodeNumberUnavailable {
		t.Fatalf("other team: %d %v", status, body)
	}
	if status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": freeTeam}); status != 409 || errCode(body) != domain.CodeAlreadyOwned {
		t.Fatalf("same team again: %d %v", status, body)
	}
	if status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": paidTeam}); status != 403 || errCode(body) != domain.CodeTeamAccessDenied {
		t.Fatalf("someone else's team: %d %v", status, body)
	}
	if status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": "+1415", "teamId": freeTeam}); status != 400 || errCode(body) != domain.CodeInvalidRequest {
		t.Fatalf("bad number: %d %v", status, body)
	}

	// An assistant, assigned: the list shows it with the buyer.
	status, created := call(t, "POST", base+"/api/assistants", token, map[string]any{"teamId": freeTeam, "name": "Sales Agent"})
	if status != 201 {
		t.Fatalf("create assistant: %d %v", status, created)
	}
	asstID := created["assistant"].(map[string]any)["id"].(string)
	if status, body := call(t, "PUT", base+"/api/phone-numbers/purchase/"+pn["id"].(string)+"/assistant", token, map[string]any{"teamId": freeTeam, "assistantId": asstID}); status != 200 {
		t.Fatalf("assign: %d %v", status, body)
	}
	status, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+freeTeam, token, nil)
	if status != 200 || list["count"].(float64) != 1 {
		t.Fatalf("list: %d %v", status, list)
	}
	item := list["numbers"].([]any)[0].(map[string]any)
	if item["id"] != pn["id"] || item["status"] != "active" || item["provider"] != "telnyx" || item["assistant_id"] != asstID || item["assistant_name"] != "Sales Agent" || item["created_by_name"] != "Ada Lovelace" || item["created_by_email"] == "" || item["created_at"] == nil {
		t.Fatalf("listed number = %v", item)
	}

	// Release: released at Telnyx, gone from the default list, twice is harmless.
	status, rel := call(t, "DELETE", base+"/api/phone-numbers/purchase/"+pn["id"].(string)+"?teamId="+freeTeam, token, nil)
	if status != 200 || rel["phoneNumber"].(map[string]any)["status"] != "released" {
		t.Fatalf("release: %d %v", status, rel)
	}
	if slices.Contains(s.sim.OwnedNumbers(), number) {
		t.Fatal("the simulator still holds the released number")
	}
	if status, again := call(t, "DELETE", base+"/api/phone-numbers/purchase/"+pn["id"].(string)+"?teamId="+freeTeam, token, nil); status != 200 || again["phoneNumber"].(map[string]any)["status"] != "released" {
		t.Fatalf("release again: %d %v", status, again)
	}
	if _, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+freeTeam, token, nil); list["count"].(float64) != 0 {
		t.Fatalf("released number still listed: %v", list)
	}
	if _, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+freeTeam+"&includeReleased=true", token, nil); list["count"].(float64) != 1 {
		t.Fatalf("includeReleased: %v", list)
	}
}

func TestIdempotencyKeyReplaysAndRefusesReuse(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	base, team, token := s.serving(domain.PlanStarter)
	s.offer("+14155550140", "+14155550141")
	body := map[string]any{"phoneNumber": "+14155550140", "teamId": team}
	s1, first := call(t, "POST", base+"/api/phone-numbers/purchase", token, body, "Idempotency-Key", "k-1")
	s2, replay := call(t, "POST", base+"/api/phone-numbers/purchase", token, body, "Idempotency-Key", "k-1")
	if s1 != 200 || s2 != 200 || first["phoneNumber"].(map[string]any)["id"] != replay["phoneNumber"].(map[string]any)["id"] {
		t.Fatalf("replay: %d %v / %d %v", s1, first, s2, replay)
	}
	other := map[string]any{"phoneNumber": "+14155550141", "teamId": team}
	if status, b := call(t, "POST", base+"/api/phone-numbers/purchase", token, other, "Idempotency-Key", "k-1"); status != 422 || errCode(b) != domain.CodeIdempotencyKeyReused {
		t.Fatalf("reuse: %d %v", status, b)
	}
	if e, _ := s.accounts.Eligibility(context.Background(), team); e.CurrentCount != 1 {
		t.Fatalf("the replay bought again: %+v", e)
	}
}

func TestSlowOrderAnswers202ThenSettles(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{env: map[string]string{"PURCHASE_WAIT": "500ms"}})
	s.sim.SetOrderLatency(3 * time.Second)
	base, team, token := s.serving(domain.PlanStarter)
	s.offer("+14155550150")
	status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": "+14155550150", "teamId": team})
	pn, _ := body["phoneNumber"].(map[string]any)
	if status != 202 || pn["status"] != "pending" || pn["id"] == "" {
		t.Fatalf("slow purchase: %d %v", status, body)
	}
	_, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+team, token, nil)
	if items := list["numbers"].([]any); len(items) != 1 || items[0].(map[string]any)["status"] != "pending" {
		t.Fatalf("list while pending: %v", list)
	}
	s.waitForStatus(t, 30*time.Second, team, pn["id"].(string), domain.NumberActive, "the pending purchase to become active")
}

// Two API processes and two worker processes (fx apps with their own
// Temporal clients and database pools) against one PostgreSQL and one
// Temporal server: the limit holds exactly as with one.
func TestFiftyConcurrentPurchasesGiveExactlyTheFreeSlots(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	_, api1 := s.app(roleAPI)
	_, api2 := s.app(roleAPI)
	s.app(roleWorker)
	s.app(roleWorker)
	apis := []string{api1, api2}
	team, token := s.team(domain.PlanStarter) // 3 slots

	const n = 50
	statuses := make([]int, n)
	codes := make([]string, n)
	// Every customer searched first, so that only the limit refuses.
	numbers := s.offerSeries(2000, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, b := call(t, "POST", apis[i%2]+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": numbers[i], "teamId": team})
			statuses[i], codes[i] = st, errCode(b)
		})
	}
	wg.Wait()
	ok, limited := 0, 0
	for i := range n {
		switch {
		case statuses[i] == 200:
			ok++
		case statuses[i] == 403 && codes[i] == domain.CodePlanLimitReached:
			limited++
		default:
			t.Errorf("request %d: %d %s", i, statuses[i], codes[i])
		}
	}
	if ok != 3 || limited != n-3 {
		t.Fatalf("%d purchases succeeded and %d were refused; want exactly 3 and %d", ok, limited, n-3)
	}
	if owned := s.sim.OwnedNumbers(); len(owned) != 3 {
		t.Fatalf("the simulator holds %d numbers, want 3: %v", len(owned), owned)
	}
	if e, _ := s.accounts.Eligibility(context.Background(), team); e.CurrentCount != 3 {
		t.Fatalf("eligibility after the rush: %+v", e)
	}

	// A free team's ten simultaneous tries give exactly one trial number.
	free, freeToken := s.team(domain.PlanFree)
	trials := make(chan map[string]any, 10)
	for i, e164 := range s.offerSeries(3000, 10) {
		wg.Go(func() {
			st, b := call(t, "POST", apis[i%2]+"/api/phone-numbers/purchase", freeToken, map[string]any{"phoneNumber": e164, "teamId": free})
			if st == 200 {
				trials <- b
			}
		})
	}
	wg.Wait()
	close(trials)
	if len(trials) != 1 {
		t.Fatalf("%d trial numbers for one free team, want 1", len(trials))
	}
	if got := (<-trials)["phoneNumber"].(map[string]any); got["is_trial"] != true || got["trial_expires_at"] == nil {
		t.Fatalf("the free team's number is not a trial: %v", got)
	}
}

// dyingProvider places orders, then never answers: the worker "dies"
// between placing an order and recording it.
type dyingProvider struct{ domain.NumberProvider }

func (p dyingProvider) CreateOrder(ctx context.Context, req domain.OrderRequest) (domain.Order, error) {
	if _, err := p.NumberProvider.CreateOrder(ctx, req); err != nil {
		return domain.Order{}, err
	}
	<-ctx.Done()
	return domain.Order{}, errors.New("worker died")
}

func TestWorkerDyingAfterPlacingTheOrderDoesNotOrderTwice(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	_, base := s.app(roleAPI)
	doomed, _ := s.app(roleWorker, fx.Decorate(func(p domain.NumberProvider) domain.NumberProvider { return dyingProvider{p} }))
	team, token := s.team(domain.PlanStarter)
	number := "+14155550160"
	s.offer(number)

	type result struct {
		status int
		body   map[string]any
	}
	done := make(chan result, 1)
	go func() {
		st, b := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": team})
		done <- result{st, b}
	}()
	waitFor(t, 20*time.Second, func() bool { return slices.Contains(s.sim.OwnedNumbers(), number) }, "the order to reach the simulator")
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := doomed.Stop(stopCtx); err != nil {
		t.Fatalf("stopping the dying worker: %v", err)
	}
	s.app(roleWorker) // a healthy worker takes over

	r := <-done
	if r.status != 200 && r.status != 202 {
		t.Fatalf("purchase after the worker died: %d %v", r.status, r.body)
	}
	id := r.body["phoneNumber"].(map[string]any)["id"].(string)
	s.waitForStatus(t, 60*time.Second, team, id, domain.NumberActive, "the purchase to complete on the healthy worker")
	st, err := numberService(t, s, mustClient(t, s)).State(context.Background(), number)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.sim.OrderCount(st.CustomerReference); got != 1 {
		t.Fatalf("the simulator received %d orders for %s, want exactly 1", got, st.CustomerReference)
	}
}

func TestTrialExpiresAcrossARestartOfEverything(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{temporalFile: filepath.Join(t.TempDir(), "temporal.db"), env: map[string]string{"TRIAL_DURATION": "8s"}})
	app, base := s.app(roleAPI | roleWorker)
	team, token := s.team(domain.PlanFree)
	id := buyActive(t, s, base, token, team, "+14155550170")

	// Stop every process, the Temporal server included, mid-trial.
	if err := app.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.temporal.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if n, _ := s.numbers.Get(context.Background(), team, id); n.Status != domain.NumberActive {
		t.Fatalf("the trial ended while everything was down: %s", n.Status)
	}
	s.startTemporal()
	s.app(roleWorker)
	s.waitForStatus(t, 60*time.Second, team, id, domain.NumberExpired, "the trial to expire after the restart")
	if slices.Contains(s.sim.OwnedNumbers(), "+14155550170") {
		t.Fatal("the expired trial number is still held at the simulator")
	}
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", limit, what)
}

// waitForStatus waits up to limit for the team's number id to have
// status in the database.
func (s *stack) waitForStatus(t *testing.T, limit time.Duration, team, id string, status domain.NumberStatus, what string) {
	t.Helper()
	waitFor(t, limit, func() bool {
		n, err := s.numbers.Get(context.Background(), team, id)
		return err == nil && n.Status == status
	}, what)
}

func TestIdempotencyKeyReplaysAFinalRefusal(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{env: map[string]string{"PLAN_LIMITS": "starter=1"}})
	base, team, token := s.serving(domain.PlanStarter)
	s.offer("+14155550180", "+14155550181")
	status, first := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": "+14155550180", "teamId": team})
	if status != 200 {
		t.Fatalf("first purchase: %d %v", status, first)
	}
	second := map[string]any{"phoneNumber": "+14155550181", "teamId": team}
	if status, b := call(t, "POST", base+"/api/phone-numbers/purchase", token, second, "Idempotency-Key", "kb"); status != 403 || errCode(b) != domain.CodePlanLimitReached {
		t.Fatalf("over the limit: %d %v", status, b)
	}
	// A slot frees up; the retry with the same key still gets the first answer.
	id := first["phoneNumber"].(map[string]any)["id"].(string)
	if status, b := call(t, "DELETE", base+"/api/phone-numbers/purchase/"+id+"?teamId="+team, token, nil); status != 200 {
		t.Fatalf("release: %d %v", status, b)
	}
	if status, b := call(t, "POST", base+"/api/phone-numbers/purchase", token, second, "Idempotency-Key", "kb"); status != 403 || errCode(b) != domain.CodePlanLimitReached {
		t.Fatalf("replay: %d %v, want the first answer (403)", status, b)
	}
	if status, b := call(t, "POST", base+"/api/phone-numbers/purchase", token, second, "Idempotency-Key", "kc"); status != 200 {
		t.Fatalf("a new key is a new request: %d %v", status, b)
	}
}

// A shutdown in the middle of a purchase: the API finishes the request (202
// at worst), the worker stops; the purchase completes after the next start.
func TestPurchaseInterruptedByShutdownCompletesAfterRestart(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{env: map[string]string{"PURCHASE_WAIT": "2s"}})
	s.sim.SetOrderLatency(4 * time.Second)
	app, base := s.app(roleAPI | roleWorker)
	team, token := s.team(domain.PlanStarter)
	s.offer("+14155550199")
	type result struct {
		status int
		body   map[string]any
	}
	done := make(chan result, 1)
	go func() {
		st, b := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": "+14155550199", "teamId": team})
		done <- result{st, b}
	}()
	time.Sleep(700 * time.Millisecond)
	stopCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := app.Stop(stopCtx); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	r := <-done
	if r.status != 202 && r.status != 200 {
		t.Fatalf("the in-flight purchase got %d %v, want an answer (202) despite the shutdown", r.status, r.body)
	}
	id := r.body["phoneNumber"].(map[string]any)["id"].(string)
	s.app(roleWorker)
	s.waitForStatus(t, 60*time.Second, team, id, domain.NumberActive, "the interrupted purchase to complete after the restart")
}
