package main

import (
	"strings"
	"testing"
)

// TestDevServeAndAPIAloneRefuseAShortRequestTimeout: REQUEST_TIMEOUT must
// cover PURCHASE_WAIT and its headroom where requests are served (dev,
// serve, api); the other commands serve none and must not refuse to start
// over it (a worker's or a migration's deploy shares the API's variables).
func TestDevServeAndAPIAloneRefuseAShortRequestTimeout(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	env := []string{"PURCHASE_WAIT=40s", "REQUEST_TIMEOUT=30s"}
	for _, role := range []string{"dev", "serve", "api"} {
		out, code := runBin(t, bin, env, role)
		if code != 2 || !strings.Contains(out, "REQUEST_TIMEOUT must be at least") {
			t.Errorf("talkturo %s with PURCHASE_WAIT=40s REQUEST_TIMEOUT=30s: exit %d\n%s\nwant exit 2 naming REQUEST_TIMEOUT", role, code, out)
		}
	}
	// Stopped by a usage error of their own, after the configuration
	// passed: not by REQUEST_TIMEOUT.
	for _, args := range [][]string{{"admin"}, {"migrate", "sideways"}} {
		out, _ := runBin(t, bin, env, args...)
		if strings.Contains(out, "REQUEST_TIMEOUT") {
			t.Errorf("talkturo %s refused REQUEST_TIMEOUT, which it does not use:\n%s", strings.Join(args, " "), out)
		}
	}
}
