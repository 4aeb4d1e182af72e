package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/workflows"
)

// inPurchaseOnce answers the first purchase with number_in_purchase (another
// purchase holds the number for now) and the next ones with the number.
type inPurchaseOnce struct {
	scriptedWorkflows
	calls atomic.Int32
}

func (w *inPurchaseOnce) Purchase(ctx context.Context, req workflows.PurchaseRequest, id string, wait time.Duration) (temporalclient.PurchaseOutcome, error) {
	if w.calls.Add(1) == 1 {
		return temporalclient.PurchaseOutcome{}, &domain.Error{Kind: domain.KindConflict, Code: domain.CodeNumberInPurchase, Message: "Another team is buying it right now."}
	}
	return w.scriptedWorkflows.Purchase(ctx, workflows.PurchaseRequest{PhoneNumber: numberSuccess, TeamID: req.TeamID}, id, wait)
}

// A number_in_purchase passes, so it is not kept for the Idempotency-Key:
// a retry with the same key asks again and gets the number, where a kept
// answer would repeat the 409 for 24 hours.
func TestNumberInPurchaseIsNotKeptForTheKey(t *testing.T) {
	t.Parallel()
	wf := &inPurchaseOnce{}
	e := newEnv(t, withWorkflows(wf))
	acct := e.newAccount("in-purchase@example.com")
	buy := request{method: http.MethodPost, path: "/api/phone-numbers/purchase", token: acct.Token,
		body: `{"phoneNumber": "` + numberSuccess + `", "teamId": "` + acct.TeamID + `"}`, header: map[string]string{"Idempotency-Key": "in-purchase-1"}}
	wantError(t, e.do(buy), http.StatusConflict, domain.CodeNumberInPurchase, "")
	if r := e.do(buy); r.status != http.StatusOK {
		t.Fatalf("retry with the same key: %d %s, want 200 once the other purchase is gone", r.status, r.raw)
	}
	if n := wf.calls.Load(); n != 2 {
		t.Errorf("the workflow was asked %d times, want 2", n)
	}
}

// An Idempotency-Key that is too long or not printable ASCII is the
// client's mistake, refused before anything starts; the longest allowed
// one is kept.
func TestIdempotencyKeyIsAtMost255PrintableASCIICharacters(t *testing.T) {
	t.Parallel()
	rec := &purchaseRecorder{}
	e := newEnv(t, withWorkflows(rec))
	acct := e.newAccount("key-length@example.com")
	buy := func(key string) request {
		return request{method: http.MethodPost, path: purchasePath, token: acct.Token,
			body: purchaseBody("+14155550101", acct.TeamID, ""), header: map[string]string{"Idempotency-Key": key}}
	}
	for _, bad := range []string{strings.Repeat("k", 256), "key\twith a tab", "clé"} {
		wantError(t, e.do(buy(bad)), http.StatusBadRequest, domain.CodeInvalidRequest, "Idempotency-Key")
	}
	if n := rec.count(); n != 0 {
		t.Errorf("a refused key started %d purchases, want none", n)
	}
	longest := buy(strings.Repeat("k", 255))
	first := e.do(longest)
	if first.status != http.StatusOK {
		t.Fatalf("the longest key: %d %s, want 200", first.status, first.raw)
	}
	if again := e.do(longest); again.status != http.StatusOK || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the longest key again: %d replayed=%q, want the kept answer", again.status, again.header.Get("Idempotent-Replayed"))
	}
}
