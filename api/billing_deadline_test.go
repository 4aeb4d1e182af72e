package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/workflows"
)

// deadlineRecorder records how long the webhook gives its signal.
type deadlineRecorder struct {
	scriptedWorkflows
	left chan time.Duration
}

func (d deadlineRecorder) SendBillingEvent(ctx context.Context, _ workflows.BillingEvent) error {
	dl, ok := ctx.Deadline()
	if !ok {
		d.left <- -1
		return nil
	}
	d.left <- time.Until(dl)
	return nil
}

// TestBillingWebhookSendsWithinTheRequestDeadline: the signal's context is
// detached from the request's cancellation, but its deadline is not
// further than the request's (REQUEST_TIMEOUT), so no webhook outlives it.
func TestBillingWebhookSendsWithinTheRequestDeadline(t *testing.T) {
	t.Parallel()
	const secret, timeout = "billing-deadline-secret", 2 * time.Second
	rec := deadlineRecorder{left: make(chan time.Duration, 1)}
	e := newEnv(t, withConfig(api.Config{BillingSecret: secret, RequestTimeout: timeout, PurchaseWait: time.Millisecond}), withWorkflows(rec))
	acct := e.newAccount("billing-deadline@example.com")
	event := `{"id": "evt_deadline", "type": "subscription.activated", "teamId": "` + acct.TeamID + `", "plan": "scale", "occurredAt": "` + time.Now().UTC().Format(time.RFC3339) + `"}`
	r := e.do(request{method: http.MethodPost, path: "/api/billing/webhook", body: event,
		header: map[string]string{"Talkturo-Signature": api.SignBillingEvent([]byte(event), secret, time.Now())}})
	if r.status != http.StatusOK {
		t.Fatalf("webhook: %d %s", r.status, r.raw)
	}
	if left := <-rec.left; left <= 0 || left > timeout {
		t.Errorf("the signal had %v before its deadline, want at most REQUEST_TIMEOUT (%v)", left, timeout)
	}
}
