//go:build record

// The recorder is not part of `go test ./...`: it rewrites the committed
// histories, so it runs only when asked for, with -tags record.

package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"

	"github.com/talkturo/phonenumbers/activities/telnyx"
	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/devserver"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/testkit/backend"
	"github.com/talkturo/phonenumbers/workflows"
)

// historiesDir is where the replay test of package workflows reads them.
const historiesDir = "../testdata/histories"

// Short enough for the whole recording to take seconds.
const (
	shortTrial  = 3 * time.Second
	gracePeriod = 2 * time.Second
	// longTrial outlasts any recording: a trial on it is converted or
	// released, never expired.
	longTrial = time.Hour
)

// TestRecordHistories runs each scenario on a real embedded Temporal server
// (in memory) with the production worker, client and activities (on a
// PostgreSQL schema and the Telnyx simulator), and writes each workflow's
// history as JSON, in the format of `temporal workflow show --output json`.
func TestRecordHistories(t *testing.T) {
	r := newRecorder(t)
	t.Run("paid purchase then release", func(t *testing.T) { t.Parallel(); r.paidPurchaseThenRelease(t) })
	t.Run("trial expires", func(t *testing.T) { t.Parallel(); r.trialExpires(t) })
	t.Run("trial converted then released", func(t *testing.T) { t.Parallel(); r.trialConvertedThenReleased(t) })
	t.Run("number sold meanwhile", func(t *testing.T) { t.Parallel(); r.numberSoldMeanwhile(t) })
	t.Run("billing events and grace release", func(t *testing.T) { t.Parallel(); r.billingEventsAndGraceRelease(t) })
	t.Run("locked number continues as new", func(t *testing.T) { t.Parallel(); r.lockedNumberContinuesAsNew(t) })
	t.Run("undo retries the release", func(t *testing.T) { t.Parallel(); r.undoRetriesTheRelease(t) })
	t.Run("order step handed to an activity", func(t *testing.T) { t.Parallel(); r.orderStepHandedToAnActivity(t) })
}

// orderStepHandedToAnActivity: Telnyx answers the order with 5xx for
// longer than the local budget; the step runs again as a regular activity
// (marked retried), the number is bought, then released.
func (r *recorder) orderStepHandedToAnActivity(t *testing.T) {
	req := r.buyer(t, domain.PlanGrowth, slowOrderNumber)
	if res := r.buy(t, r.svc, req); res.Number.Status != domain.NumberActive {
		t.Fatalf("bought %+v, want an active number", res.Number)
	}
	r.releaseAndSave(t, req, "number-order-step-handed-to-an-activity.json")
}

type recorder struct {
	c        client.Client
	sim      *telnyxsim.Simulator
	accounts *persistence.AccountStore
	numbers  *persistence.PhoneNumberStore
	// svc runs purchases on the worker whose trials last longTrial;
	// shortTrialSvc on the one whose trials last shortTrial; shortRunSvc
	// on one whose number workflow continues as new after two updates.
	svc, shortTrialSvc, shortRunSvc *temporalclient.NumberService
	// held makes chosen orders look pending (record_regulated_test.go).
	held *heldOrders
}

// slowOrderNumber is the number whose order Telnyx answers with 5xx for
// slowOrderFor: longer than the order step's local budget, so the step is
// handed to a regular activity (v2's localFirst).
const (
	slowOrderNumber = "+14155550209"
	slowOrderFor    = 7 * time.Second
)

// failOrdersAtFirst fails CreateOrder of slowOrderNumber with a 503 until
// slowOrderFor after its first try.
type failOrdersAtFirst struct {
	domain.NumberProvider
	mu    sync.Mutex
	first time.Time
}

func (p *failOrdersAtFirst) CreateOrder(ctx context.Context, req domain.OrderRequest) (domain.Order, error) {
	if req.PhoneNumber == slowOrderNumber {
		p.mu.Lock()
		if p.first.IsZero() {
			p.first = time.Now()
		}
		failing := time.Since(p.first) < slowOrderFor
		p.mu.Unlock()
		if failing {
			return domain.Order{}, &domain.ProviderError{Op: "create_order", Class: domain.ProviderServerError, HTTPStatus: 503, Title: "Service Unavailable"}
		}
	}
	return p.NumberProvider.CreateOrder(ctx, req)
}

// undoRefusedNumber is the number whose undo the provider refuses once.
const undoRefusedNumber = "+14155550208"

// refuseUndoOnce fails the first look-up of undoRefusedNumber's holdings,
// as a Telnyx refusing a failed purchase's release would.
type refuseUndoOnce struct {
	domain.NumberProvider
	refused atomic.Bool
}

func (p *refuseUndoOnce) ListOwnedNumbers(ctx context.Context, f domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) {
	if f.PhoneNumber == undoRefusedNumber && p.refused.CompareAndSwap(false, true) {
		return nil, &domain.ProviderError{Op: "list_numbers", Class: domain.ProviderRejected, HTTPStatus: 400, Title: "Bad Request"}
	}
	return p.NumberProvider.ListOwnedNumbers(ctx, f)
}

func newRecorder(t *testing.T) *recorder {
	srv, err := devserver.StartOnFreePort(context.Background(), devserver.Config{LogLevel: "error"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })

	b := backend.New(t, backend.Options{Sim: telnyxsim.Options{OrderLatency: 100 * time.Millisecond}, Client: telnyx.Config{Timeout: 5 * time.Second}})
	r := &recorder{sim: b.Sim, accounts: b.Accounts, numbers: b.Numbers}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := temporalclient.New(temporalclient.Config{HostPort: srv.HostPort(), Namespace: srv.Namespace()}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r.c = c

	r.held = &heldOrders{NumberProvider: &failOrdersAtFirst{NumberProvider: &refuseUndoOnce{NumberProvider: b.Client}}}
	worker := func(queue string, trial time.Duration, limits workflows.RunLimits) *temporalclient.NumberService {
		svc, err := temporalclient.NewNumberService(c, temporalclient.ServiceConfig{TaskQueue: queue})
		if err != nil {
			t.Fatal(err)
		}
		acts := *b.Activities
		acts.Provider = r.held
		acts.Workflows = svc
		acts.TrialDuration, acts.OrderPollInterval, acts.GracePeriod = trial, 50*time.Millisecond, gracePeriod
		w, err := temporalclient.NewWorker(c, temporalclient.WorkerConfig{TaskQueue: queue, NumberRunLimits: limits}, &acts, func(err error) { t.Errorf("worker on %s stopped: %v", queue, err) })
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
		return svc
	}
	r.svc = worker("histories", longTrial, workflows.RunLimits{})
	r.shortTrialSvc = worker("histories-short-trial", shortTrial, workflows.RunLimits{})
	r.shortRunSvc = worker("histories-short-runs", longTrial, workflows.RunLimits{Updates: 2})
	return r
}

func (r *recorder) team(t *testing.T, plan domain.PlanName) (teamID, userID string) {
	t.Helper()
	a := backend.Bootstrap(t, r.accounts, domain.BootstrapInput{TeamName: "Histories", Plan: plan, UserName: "Ada Lovelace"})
	return a.TeamID, a.UserID
}

// buyer makes a team on plan and its user's request for e164.
func (r *recorder) buyer(t *testing.T, plan domain.PlanName, e164 string) workflows.PurchaseRequest {
	t.Helper()
	teamID, userID := r.team(t, plan)
	return workflows.PurchaseRequest{PhoneNumber: e164, TeamID: teamID, UserID: userID}
}

// refusedPurchase asks r.svc for req's number (offered already), which
// must refuse it with code.
func (r *recorder) refusedPurchase(t *testing.T, req workflows.PurchaseRequest, code string) *domain.Error {
	t.Helper()
	_, err := r.svc.Purchase(context.Background(), req, "purchase-"+req.PhoneNumber, 30*time.Second)
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != code {
		t.Fatalf("purchase: %v, want %s", err, code)
	}
	return de
}

func (r *recorder) buy(t *testing.T, svc *temporalclient.NumberService, req workflows.PurchaseRequest) workflows.PurchaseResult {
	t.Helper()
	r.offer(t, req.PhoneNumber)
	out, err := svc.Purchase(context.Background(), req, "purchase-"+req.PhoneNumber, 30*time.Second)
	if err != nil || out.Pending {
		t.Fatalf("purchase of %s: pending=%v err=%v", req.PhoneNumber, out.Pending, err)
	}
	return out.Result
}

// offer runs the search a customer runs before buying: Telnyx sells only
// numbers a recent search offered.
func (r *recorder) offer(t *testing.T, e164 string) {
	t.Helper()
	backend.Offer(t, r.sim, e164)
}

func (r *recorder) release(t *testing.T, svc *temporalclient.NumberService, e164, teamID string) {
	t.Helper()
	view, pending, err := svc.Release(context.Background(), e164, workflows.ReleaseRequest{TeamID: teamID, Reason: "api"}, 30*time.Second)
	if err != nil || pending || view.Status != domain.NumberReleased {
		t.Fatalf("release of %s: %+v pending=%v err=%v", e164, view, pending, err)
	}
}

// releaseAndSave releases req's number (bought through r.svc), waits for
// its workflow to end with the number released, and saves the history as
// file.
func (r *recorder) releaseAndSave(t *testing.T, req workflows.PurchaseRequest, file string) {
	t.Helper()
	r.release(t, r.svc, req.PhoneNumber, req.TeamID)
	if st := r.finished(t, r.svc, req.PhoneNumber); st.Number.Status != domain.NumberReleased {
		t.Fatalf("final state %+v", st.Number)
	}
	r.save(t, file, workflows.NumberWorkflowID(req.PhoneNumber))
}

// reconcile runs one ReconcileWorkflow under id on the histories queue, as
// the schedule would, and returns its result.
func (r *recorder) reconcile(ctx context.Context, t *testing.T, id string) workflows.ReconcileResult {
	t.Helper()
	run, err := r.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "histories"}, workflows.ReconcileWorkflowType,
		workflows.ReconcileInput{OrphanDelay: time.Hour, MaxReleases: 10, MissingRecheckAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.ReconcileResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// finished waits for the number's workflow to complete and returns its
// final state.
func (r *recorder) finished(t *testing.T, svc *temporalclient.NumberService, e164 string) workflows.NumberState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.c.GetWorkflow(ctx, workflows.NumberWorkflowID(e164), "").Get(ctx, nil); err != nil {
		t.Fatalf("workflow of %s: %v", e164, err)
	}
	st, err := svc.State(ctx, e164)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (r *recorder) paidPurchaseThenRelease(t *testing.T) {
	req := r.buyer(t, domain.PlanGrowth, "+14155550201")
	if res := r.buy(t, r.svc, req); res.Number.IsTrial || res.Number.Status != domain.NumberActive {
		t.Fatalf("bought %+v, want an active paid number", res.Number)
	}
	r.releaseAndSave(t, req, "number-paid-purchase-release.json")
}

func (r *recorder) trialExpires(t *testing.T) {
	req := r.buyer(t, domain.PlanFree, "+14155550202")
	if res := r.buy(t, r.shortTrialSvc, req); !res.Number.IsTrial || res.Number.TrialExpiresAt == nil {
		t.Fatalf("bought %+v, want a trial", res.Number)
	}
	if st := r.finished(t, r.shortTrialSvc, req.PhoneNumber); st.Number.Status != domain.NumberExpired {
		t.Fatalf("final state %+v, want expired", st.Number)
	}
	r.save(t, "number-trial-expired.json", workflows.NumberWorkflowID(req.PhoneNumber))
}

// trialConvertedThenReleased: a subscription starts (the billing workflow
// sends convert-to-paid), then the team releases the number itself.
func (r *recorder) trialConvertedThenReleased(t *testing.T) {
	req := r.buyer(t, domain.PlanFree, "+14155550203")
	if res := r.buy(t, r.svc, req); !res.Number.IsTrial {
		t.Fatalf("bought %+v, want a trial", res.Number)
	}
	r.send(t, workflows.BillingEvent{ID: "evt_activated", Type: workflows.EventSubscriptionActivated, TeamID: req.TeamID, Plan: "starter", OccurredAt: time.Now().UTC()})
	r.waitConverted(t, req.PhoneNumber)
	r.release(t, r.svc, req.PhoneNumber, req.TeamID)
	if st := r.finished(t, r.svc, req.PhoneNumber); st.Number.Status != domain.NumberReleased || st.Number.IsTrial {
		t.Fatalf("final state %+v", st.Number)
	}
	r.save(t, "number-trial-converted-released.json", workflows.NumberWorkflowID(req.PhoneNumber))
}

// numberSoldMeanwhile: the order is refused, and the saga undoes the
// reserved slot and the pending record.
func (r *recorder) numberSoldMeanwhile(t *testing.T) {
	req := r.buyer(t, domain.PlanStarter, "+14155550204")
	// Offered by a search, then sold to someone else before the order.
	r.offer(t, req.PhoneNumber)
	r.sim.MarkSold(req.PhoneNumber)
	r.refusedPurchase(t, req, domain.CodeNumberUnavailable)
	if st := r.finished(t, r.svc, req.PhoneNumber); st.Number.Status != domain.NumberFailed || st.Error != domain.CodeNumberUnavailable {
		t.Fatalf("final state %+v", st)
	}
	r.save(t, "number-purchase-failed-sold-meanwhile.json", workflows.NumberWorkflowID(req.PhoneNumber))
}

// billingEventsAndGraceRelease: a free team with a trial number
// subscribes (the trial becomes paid), changes plan, gets a replayed and
// a late event, cancels, and its number is released when the grace
// period ends.
func (r *recorder) billingEventsAndGraceRelease(t *testing.T) {
	req := r.buyer(t, domain.PlanFree, "+14155550205")
	if res := r.buy(t, r.svc, req); !res.Number.IsTrial {
		t.Fatalf("bought %+v, want a trial", res.Number)
	}
	t0 := time.Now().UTC().Truncate(time.Second)
	activated := workflows.BillingEvent{ID: "evt_1", Type: workflows.EventSubscriptionActivated, TeamID: req.TeamID, Plan: "growth", OccurredAt: t0}
	r.send(t, activated)
	r.waitConverted(t, req.PhoneNumber)
	r.send(t, activated) // replayed by the billing system: applied once
	r.send(t, workflows.BillingEvent{ID: "evt_3", Type: workflows.EventSubscriptionUpdated, TeamID: req.TeamID, Plan: "scale", OccurredAt: t0.Add(2 * time.Minute)})
	r.send(t, workflows.BillingEvent{ID: "evt_2", Type: workflows.EventSubscriptionUpdated, TeamID: req.TeamID, Plan: "starter", OccurredAt: t0.Add(time.Minute)}) // late: ignored
	r.send(t, workflows.BillingEvent{ID: "evt_4", Type: workflows.EventSubscriptionCanceled, TeamID: req.TeamID, OccurredAt: t0.Add(3 * time.Minute)})

	if st := r.finished(t, r.svc, req.PhoneNumber); st.Number.Status != domain.NumberReleased {
		t.Fatalf("after the grace period the number is %+v, want released", st.Number)
	}
	// The billing workflow never ends: record it once it has signalled the
	// release and gone back to waiting for events.
	billingID := workflows.TeamWorkflowID(req.TeamID)
	r.waitIdle(t, billingID, func(events []*historypb.HistoryEvent) bool {
		signalled := 0
		for _, e := range events {
			if e.GetEventType() == enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED {
				signalled++
			}
		}
		return signalled == 2 // convert-to-paid, then release-number
	})
	st, err := r.svc.BillingState(context.Background(), req.TeamID)
	if err != nil || st.Plan != domain.PlanFree || st.Applied != 3 || st.Ignored != 1 || st.GraceEndsAt != nil {
		t.Fatalf("billing state %+v, %v", st, err)
	}
	r.save(t, "billing-events-grace-release.json", billingID)
	r.save(t, "number-trial-converted-released-by-billing.json", workflows.NumberWorkflowID(req.PhoneNumber))
}

// lockedNumberContinuesAsNew: a paid number's release is refused by a
// deletion lock; with the run limited to two updates (the purchase and
// the release), the run continues as new, and the next run releases the
// number once the lock is lifted. Both runs are kept.
func (r *recorder) lockedNumberContinuesAsNew(t *testing.T) {
	req := r.buyer(t, domain.PlanGrowth, "+14155550207")
	r.buy(t, r.shortRunSvc, req)
	r.sim.DeletionLock(req.PhoneNumber, true)
	_, _, err := r.shortRunSvc.Release(context.Background(), req.PhoneNumber, workflows.ReleaseRequest{TeamID: req.TeamID, Reason: "api", RequestKey: "locked"}, 30*time.Second)
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != "release_blocked" {
		t.Fatalf("release behind the lock: %v", err)
	}
	id := workflows.NumberWorkflowID(req.PhoneNumber)
	first := r.waitContinued(t, id)
	r.sim.DeletionLock(req.PhoneNumber, false)
	r.release(t, r.shortRunSvc, req.PhoneNumber, req.TeamID)
	if st := r.finished(t, r.shortRunSvc, req.PhoneNumber); st.Number.Status != domain.NumberReleased || st.Runs != 1 {
		t.Fatalf("final state %+v (runs %d)", st.Number, st.Runs)
	}
	r.saveRun(t, "number-paid-locked-continued-as-new.json", id, first)
	r.save(t, "number-paid-continued-run-released.json", id)
}

// undoRetriesTheRelease: the number was sold meanwhile, and the provider
// refuses the undo's first try at giving it back; the purchase is
// answered at once, and the run tries again a minute later, then frees
// the slot.
func (r *recorder) undoRetriesTheRelease(t *testing.T) {
	req := r.buyer(t, domain.PlanStarter, undoRefusedNumber)
	// Offered by a search, then sold to someone else before the order.
	r.offer(t, req.PhoneNumber)
	r.sim.MarkSold(req.PhoneNumber)
	r.refusedPurchase(t, req, domain.CodeNumberUnavailable)
	if e, _ := r.accounts.Eligibility(context.Background(), req.TeamID); e.CurrentCount != 1 {
		t.Fatalf("while the release is refused the slot must stay taken: %+v", e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := r.c.GetWorkflow(ctx, workflows.NumberWorkflowID(req.PhoneNumber), "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if e, _ := r.accounts.Eligibility(context.Background(), req.TeamID); e.CurrentCount != 0 {
		t.Fatalf("once released the slot must be free: %+v", e)
	}
	r.save(t, "number-purchase-failed-undo-retried.json", workflows.NumberWorkflowID(req.PhoneNumber))
}

// waitContinued waits until the workflow's first run has continued as new
// and returns that run's ID.
func (r *recorder) waitContinued(t *testing.T, workflowID string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		desc, err := r.c.DescribeWorkflowExecution(context.Background(), workflowID, "")
		if err == nil {
			h, err := r.historyOf(workflowID, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId())
			if err == nil && len(h.GetEvents()) > 0 {
				if prev := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId(); prev != "" {
					return prev
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not continue as new", workflowID)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *recorder) send(t *testing.T, ev workflows.BillingEvent) {
	t.Helper()
	if err := r.svc.SendBillingEvent(context.Background(), ev); err != nil {
		t.Fatalf("billing event %s: %v", ev.ID, err)
	}
}

func (r *recorder) waitConverted(t *testing.T, e164 string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := r.svc.State(context.Background(), e164)
		if err == nil && st.Number.Status == domain.NumberActive && !st.Number.IsTrial {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not converted to a paid number: %+v %v", e164, st.Number, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitIdle waits until the open workflow's history ends with a completed
// workflow task (nothing in flight) and satisfies done.
func (r *recorder) waitIdle(t *testing.T, workflowID string, done func([]*historypb.HistoryEvent) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err := r.history(workflowID)
		if err == nil && len(h.Events) > 0 && done(h.Events) &&
			h.Events[len(h.Events)-1].GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not settle: %v", workflowID, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *recorder) history(workflowID string) (*historypb.History, error) {
	return r.historyOf(workflowID, "")
}

func (r *recorder) historyOf(workflowID, runID string) (*historypb.History, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := r.c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, e)
	}
	return h, nil
}

// save writes the workflow's latest run's history as the Temporal CLI's
// `workflow show --output json` does (payloads shown as JSON), indented
// the same way every time.
func (r *recorder) save(t *testing.T, name, workflowID string) {
	t.Helper()
	r.saveRun(t, name, workflowID, "")
}

// saveRun is save for one run of the workflow ("" for the latest).
func (r *recorder) saveRun(t *testing.T, name, workflowID, runID string) {
	t.Helper()
	h, err := r.historyOf(workflowID, runID)
	if err != nil {
		t.Fatalf("history of %s: %v", workflowID, err)
	}
	if slices.ContainsFunc(h.Events, func(e *historypb.HistoryEvent) bool {
		return e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED
	}) {
		t.Fatalf("the history of %s has a failed workflow task: not worth keeping", workflowID)
	}
	if h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName() == workflows.NumberWorkflowType && strings.HasPrefix(name, "number-") {
		// Today's number workflow: its histories sit beside those of
		// NumberWorkflowTypeV1, which stay as they were recorded.
		name = "number-v2-" + strings.TrimPrefix(name, "number-")
	}
	raw, err := temporalproto.CustomJSONMarshalOptions{}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	if err := os.MkdirAll(historiesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(historiesDir, name)
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d events of %s", path, len(h.Events), workflowID)
}
