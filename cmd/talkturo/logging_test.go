package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/domain"
)

func TestActivityLogLinesNameTheirWorkflow(t *testing.T) {
	var buf bytes.Buffer
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
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if line["workflow_id"] == nil || line["workflow_id"] == "" || line["activity_type"] == nil {
		t.Fatalf("activity log line lacks the workflow: %v", line)
	}
	buf.Reset()
	log.InfoContext(context.Background(), "outside")
	if strings.Contains(buf.String(), "workflow_id") {
		t.Fatalf("a line outside activities claims a workflow: %s", buf.String())
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
	var logs lockedBuffer
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

// lockedBuffer is a bytes.Buffer that many goroutines may log to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
