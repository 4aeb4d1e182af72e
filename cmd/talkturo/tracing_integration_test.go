package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	historypb "go.temporal.io/api/history/v1"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/telemetry"
	"github.com/talkturo/phonenumbers/testkit"
	"github.com/talkturo/phonenumbers/workflows"
)

// TestOnePurchaseIsOneTrace buys a number through an API process and a
// worker process, each composed as `talkturo api` and `talkturo worker`
// compose them, both exporting to one in-memory recorder (the collector),
// and reads the purchase back as the one trace its caller's traceparent
// started: every span's parent is in it, from the API's server span
// through the Temporal client, the workflow and its local activities to
// the Telnyx order. The number is released at the end: the run's own span
// (RunWorkflow, the parent of the activities' spans) ends, and is
// exported, only when the run ends; the SDK's OpenTelemetry tracer
// (contrib v0.8.1) draws span ids at random, not from the interceptor's
// idempotency keys, so there is no id to expect before then.
func TestOnePurchaseIsOneTrace(t *testing.T) {
	t.Parallel()
	const telnyxKey = "KEY_traced_telnyx_secret_7e3a9"
	s := newStack(t, stackOptions{env: map[string]string{"TELNYX_API_KEY": telnyxKey}})
	tp, spans := testkit.Tracing(t)
	var logs testkit.LogBuffer
	log := newLogger(&logs, "info", "json")
	start := func(roles role, extra ...fx.Option) {
		opts := append(appOptions(s.cfg, log, roles), fx.Replace(telemetry.FromProvider(tp, nil)))
		app := fx.New(append(opts, extra...)...)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := app.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = app.Stop(context.Background()) })
	}
	start(roleWorker)
	var srv *api.Server
	start(roleAPI, fx.Populate(&srv))
	apiHosts.Store(srv.Addr(), true)
	t.Cleanup(func() { apiHosts.Delete(srv.Addr()) })
	base := "http://" + srv.Addr()

	team, token := s.team(domain.PlanScale)
	const e164 = "+14155550177"
	s.offer(e164)
	purchaseTrace, callerSpan := randomHex(16), randomHex(8)
	status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": e164, "teamId": team},
		"Idempotency-Key", "traced-purchase", "Traceparent", "00-"+purchaseTrace+"-"+callerSpan+"-01")
	if status != 200 {
		t.Fatalf("purchase: %d %v", status, body)
	}
	id := body["phoneNumber"].(map[string]any)["id"].(string)
	releaseTrace, releaseCaller := randomHex(16), randomHex(8)
	status, body = call(t, "DELETE", base+"/api/phone-numbers/purchase/"+id+"?teamId="+team, token, nil,
		"Traceparent", "00-"+releaseTrace+"-"+releaseCaller+"-01")
	if status != 200 {
		t.Fatalf("release: %d %v", status, body)
	}
	runSpan := "RunWorkflow:" + workflows.NumberWorkflowType
	waitFor(t, 30*time.Second, func() bool {
		return slices.ContainsFunc(spans.Ended(), func(s sdktrace.ReadOnlySpan) bool { return s.Name() == runSpan })
	}, "the run's span to end with the run")

	byTrace := map[string][]sdktrace.ReadOnlySpan{}
	for _, sp := range spans.Ended() {
		byTrace[sp.SpanContext().TraceID().String()] = append(byTrace[sp.SpanContext().TraceID().String()], sp)
	}
	purchase := byTrace[purchaseTrace]
	t.Logf("the purchase's trace:\n%s", tree(purchase, callerSpan))
	t.Logf("the release's trace:\n%s", tree(byTrace[releaseTrace], releaseCaller))
	for trace, spans := range byTrace {
		if trace != purchaseTrace && trace != releaseTrace {
			t.Errorf("spans outside the two requests' traces: %v", names(spans))
		}
	}

	// Connected: every span's parent is in the trace, but the server
	// span's, which is the caller's.
	connected(t, purchase, callerSpan)
	connected(t, byTrace[releaseTrace], releaseCaller)

	// The path of the purchase, each span under the one it must be under.
	// The run's work, the release's activities included, is in the trace
	// of the request that started the run: the run does it, and the
	// release's update handler waits for it.
	server := "POST /api/phone-numbers/purchase"
	uws := "UpdateWithStartWorkflow:" + workflows.UpdatePurchase
	want := map[string]string{
		server: callerSpan, uws: server, runSpan: uws,
		"ValidateUpdate:" + workflows.UpdatePurchase: uws, "HandleUpdate:" + workflows.UpdatePurchase: uws,
		"telnyx create_order": "RunActivity:PlaceOrder", "telnyx get_order": "RunActivity:WaitForOrder",
	}
	for _, act := range []string{"BeginPurchase", "PlaceOrder", "WaitForOrder", "CompletePurchase", "ReleaseAtProvider", "EndNumber", "ReleaseSlot"} {
		want["StartActivity:"+act] = runSpan
		want["RunActivity:"+act] = "StartActivity:" + act
	}
	under(t, purchase, want)
	release := "DELETE /api/phone-numbers/purchase/:id"
	under(t, byTrace[releaseTrace], map[string]string{
		release: releaseCaller, "UpdateWorkflow:" + workflows.UpdateRelease: release,
		"ValidateUpdate:" + workflows.UpdateRelease: "UpdateWorkflow:" + workflows.UpdateRelease,
		"HandleUpdate:" + workflows.UpdateRelease:   "UpdateWorkflow:" + workflows.UpdateRelease,
	})

	// No span holds a credential, in its attributes or its events'.
	for _, sp := range spans.Ended() {
		attrs := sp.Attributes()
		for _, ev := range sp.Events() {
			attrs = append(attrs, ev.Attributes...)
		}
		for _, a := range attrs {
			v := a.Value.Emit()
			for what, secret := range map[string]string{"the Telnyx API key": telnyxKey, "the bearer token": token, "the token's hash": domain.HashAPIToken(token)} {
				if strings.Contains(v, secret) {
					t.Errorf("span %s: attribute %s holds %s", sp.Name(), a.Key, what)
				}
			}
		}
	}

	// The request's log line names its span.
	serverSpan := purchase[slices.IndexFunc(purchase, func(s sdktrace.ReadOnlySpan) bool { return s.Name() == server })]
	found := false
	for _, line := range logs.JSONLines(t, "http request") {
		if line["method"] != "POST" {
			continue
		}
		found = true
		if line["trace_id"] != purchaseTrace || line["span_id"] != serverSpan.SpanContext().SpanID().String() {
			t.Errorf("the purchase's request log line %v does not name its span %s", line, serverSpan.SpanContext().SpanID())
		}
	}
	if !found {
		t.Error("no request log line for the purchase")
	}

	// What tracing added to the history is headers only: the run,
	// recorded with them, replays on a worker without tracing.
	c := mustClient(t, s)
	events := closedHistory(t, c, e164)
	if _, ok := events[0].GetWorkflowExecutionStartedEventAttributes().GetHeader().GetFields()["_tracer-data"]; !ok {
		t.Error("the run's start carries no trace header")
	}
	r := worker.NewWorkflowReplayer()
	workflows.Register(replayerOnly{r}, &activities.Activities{})
	started := events[0].GetWorkflowExecutionStartedEventAttributes()
	if err := r.ReplayWorkflowHistoryWithOptions(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)), &historypb.History{Events: events}, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: workflows.NumberWorkflowID(e164), RunID: started.GetOriginalExecutionRunId()},
	}); err != nil {
		t.Errorf("the traced run does not replay without tracing: %v", err)
	}
}

// under fails the test for a span of want missing from spans, or under
// another span than want names (the caller's span id for the first).
func under(t *testing.T, spans []sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	byID := map[trace.SpanID]string{}
	for _, sp := range spans {
		byID[sp.SpanContext().SpanID()] = sp.Name()
	}
	for child, parent := range want {
		i := slices.IndexFunc(spans, func(s sdktrace.ReadOnlySpan) bool { return s.Name() == child })
		if i < 0 {
			t.Errorf("the trace has no span %s", child)
			continue
		}
		p := spans[i].Parent().SpanID()
		if got, ok := byID[p]; !ok && p.String() != parent || ok && got != parent {
			t.Errorf("span %s is under %s (%q), want %s", child, p, got, parent)
		}
	}
}

// replayerOnly registers workflows only, as a replayer runs no activities.
type replayerOnly struct{ worker.WorkflowReplayer }

func (replayerOnly) RegisterActivity(any) {}

// connected fails the test for a span whose parent is not in the trace
// (nor the caller's span, callerSpan, for the one the caller started).
func connected(t *testing.T, spans []sdktrace.ReadOnlySpan, callerSpan string) {
	t.Helper()
	if len(spans) == 0 {
		t.Error("an empty trace")
		return
	}
	ids := map[trace.SpanID]bool{}
	for _, s := range spans {
		ids[s.SpanContext().SpanID()] = true
	}
	roots := 0
	for _, s := range spans {
		switch p := s.Parent(); {
		case ids[p.SpanID()]:
		case p.IsRemote() && p.SpanID().String() == callerSpan:
			roots++
		default:
			t.Errorf("span %s (%s) has parent %s, which is not in its trace", s.Name(), s.SpanContext().SpanID(), p.SpanID())
		}
	}
	if roots != 1 {
		t.Errorf("%d spans are the caller's children, want 1 (the server span)", roots)
	}
}

// tree draws a trace as the README shows it: each span under its parent,
// in the order they started.
func tree(spans []sdktrace.ReadOnlySpan, callerSpan string) string {
	slices.SortFunc(spans, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	children := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		children[s.Parent().SpanID().String()] = append(children[s.Parent().SpanID().String()], s)
	}
	var b strings.Builder
	var draw func(parent string, depth int)
	draw = func(parent string, depth int) {
		for _, s := range children[parent] {
			fmt.Fprintf(&b, "%s%s (%s)\n", strings.Repeat("  ", depth), s.Name(), s.SpanKind())
			draw(s.SpanContext().SpanID().String(), depth+1)
		}
	}
	root := callerSpan
	if root == "" {
		for _, s := range spans {
			if s.Parent().IsRemote() {
				root = s.Parent().SpanID().String()
			}
		}
	}
	draw(root, 0)
	return b.String()
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
