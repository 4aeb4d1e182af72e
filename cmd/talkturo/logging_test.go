package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/testkit"
)

func TestActivityLogLinesNameTheirWorkflow(t *testing.T) {
	var buf testkit.LogBuffer
	log := newLogger(&buf, "info", "json")
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	logInside := func(ctx context.Context) error {
		log.InfoContext(ctx, "inside an activity")
		return nil
	}
	env.RegisterActivity(logInside)
	if _, err := env.ExecuteActivity(logInside); err != nil {
		t.Fatal(err)
	}
	lines := buf.JSONLines(t, "")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want the activity's one", len(lines))
	}
	if line := lines[0]; line["workflow_id"] == nil || line["workflow_id"] == "" || line["activity_type"] == nil {
		t.Fatalf("activity log line lacks the workflow: %v", line)
	}
	buf.Drain()
	log.InfoContext(context.Background(), "outside")
	if strings.Contains(buf.String(), "workflow_id") {
		t.Fatalf("a line outside activities claims a workflow: %s", buf.String())
	}
}

// TestLogLinesNameTheirSpan: a line logged with a context in a span
// carries its trace_id and span_id, once, whether it is logged through the
// process's logger or an activity's (activity.GetLogger, whose trace the
// tracing interceptor adds); a line outside any span carries neither.
func TestLogLinesNameTheirSpan(t *testing.T) {
	var buf testkit.LogBuffer
	log := newLogger(&buf, "info", "json")
	tp, spans := testkit.Tracing(t)

	lines := func() []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(buf.Drain()), "\n") {
			if strings.Count(l, `"trace_id"`) > 1 || strings.Count(l, `"span_id"`) > 1 {
				t.Errorf("a line names its span twice: %s", l)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("log line %q: %v", l, err)
			}
			out = append(out, m)
		}
		return out
	}

	ctx, span := tp.Tracer("t").Start(context.Background(), "request")
	log.InfoContext(ctx, "in a span")
	log.InfoContext(context.Background(), "outside")
	span.End()
	got := lines()
	if got[0]["trace_id"] != span.SpanContext().TraceID().String() || got[0]["span_id"] != span.SpanContext().SpanID().String() {
		t.Errorf("the line in a span: %v; want trace %s span %s", got[0], span.SpanContext().TraceID(), span.SpanContext().SpanID())
	}
	if _, ok := got[1]["trace_id"]; ok {
		t.Errorf("a line outside spans names one: %v", got[1])
	}

	ti, err := temporalclient.NewTracingInterceptor(tp, propagation.TraceContext{})
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(log))
	env := suite.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{ti}})
	logInside := func(ctx context.Context) error {
		log.InfoContext(ctx, "with the activity's context")
		activity.GetLogger(ctx).Info("with the activity's logger")
		return nil
	}
	env.RegisterActivity(logInside)
	if _, err := env.ExecuteActivity(logInside); err != nil {
		t.Fatal(err)
	}
	var run sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		if strings.HasPrefix(s.Name(), "RunActivity:") {
			run = s
		}
	}
	if run == nil {
		t.Fatal("the activity ran in no span")
	}
	activityLines := lines()
	var msgs []string
	for _, l := range activityLines {
		msgs = append(msgs, l["msg"].(string))
	}
	if strings.Join(msgs, "|") != "with the activity's context|with the activity's logger" {
		t.Fatalf("activity lines %q", msgs)
	}
	for _, l := range activityLines {
		if l["trace_id"] != run.SpanContext().TraceID().String() || l["span_id"] != run.SpanContext().SpanID().String() {
			t.Errorf("activity line %v; want trace %s span %s (%s)", l, run.SpanContext().TraceID(), run.SpanContext().SpanID(), run.Name())
		}
	}
}

// TestNoSecretInAnyLog runs a whole purchase life, a billing event and a
// few refused requests with every log at debug level, then looks for the
// secrets in what was logged.
func TestNoSecretInAnyLog(t *testing.T) {
	t.Parallel()
	const telnyxKey = "KEY0123_telnyx_secret_ABCDEF"
	const billingSecret = "whsec_do_not_log_me"
	s := newStack(t, stackOptions{env: map[string]string{"TELNYX_API_KEY": telnyxKey, "BILLING_WEBHOOK_SECRET": billingSecret}})
	var logs testkit.LogBuffer
	log := newLogger(&logs, "debug", "json")
	var srv *api.Server
	app := fx.New(append(appOptions(s.cfg, log, roleAPI|roleWorker), fx.Populate(&srv))...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	base := "http://" + srv.Addr()
	team, token := s.team(domain.PlanFree)

	call(t, "POST", base+"/api/phone-numbers/search", token, map[string]any{"filters": map[string]any{"countryCode": "US"}})
	call(t, "POST", base+"/api/phone-numbers/search", token+"x", map[string]any{"filters": map[string]any{"countryCode": "US"}})
	call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+team+"&token="+token, token, nil)
	s.offer("+14155550195")
	_, bought := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": "+14155550195", "teamId": team})
	id := bought["phoneNumber"].(map[string]any)["id"].(string)
	webhook(t, base, map[string]any{"id": "evt_1", "type": "subscription.activated", "teamId": team, "plan": "growth", "occurredAt": time.Now().UTC().Format(time.RFC3339)}, billingSecret, time.Now())
	webhook(t, base, map[string]any{"id": "evt_2"}, "wrong", time.Now())
	call(t, "DELETE", base+"/api/phone-numbers/purchase/"+id+"?teamId="+team, token, nil)
	if err := app.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	out := logs.String()
	if !strings.Contains(out, `"request_id"`) {
		t.Fatalf("the logs are not the API's (no request ids): %.500s", out)
	}
	for name, secret := range map[string]string{
		"the bearer token": token, "the token's hash": domain.HashAPIToken(token),
		"the Telnyx API key": telnyxKey, "the billing secret": billingSecret,
	} {
		if strings.Contains(out, secret) {
			t.Errorf("%s appears in the logs", name)
		}
	}
}
