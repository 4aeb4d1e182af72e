package api

import (
	"context"
	"testing"
)

// A run of the readiness checks that panics still lets the next request
// run them: nothing waits forever on a run that never finished.
func TestReadinessRunsAgainAfterAPanic(t *testing.T) {
	var r readiness
	func() {
		defer func() { _ = recover() }()
		r.get(context.Background(), func() map[string]checkResult { panic("check blew up") })
	}()
	ctx, cancel := context.WithTimeout(context.Background(), readyCacheFor)
	defer cancel()
	res, ok := r.get(ctx, func() map[string]checkResult { return map[string]checkResult{"database": {Status: "ok"}} })
	if !ok || res["database"].Status != "ok" {
		t.Fatalf("after a panicking run: %v %v, want a fresh run's result", res, ok)
	}
}
