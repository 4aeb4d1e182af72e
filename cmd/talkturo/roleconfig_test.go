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

// TestOnlyTheProcessesTalkingToTemporalReadItsTLS: a TEMPORAL_TLS_* file
// that cannot be read stops serve, api and worker, and dev against a
// server of its own (TEMPORAL_EMBEDDED=false), with one sentence naming
// it; migrate and admin, which never dial Temporal (and whose Job mounts no
// certificate), do not refuse it. dev with its embedded, plaintext server
// refuses a TLS setting or an API key rather than fail every call, before
// reading any file (a stale path left by a shell set up for the temporal
// CLI is to be unset, not found), and without showing the key.
func TestOnlyTheProcessesTalkingToTemporalReadItsTLS(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	missing := t.TempDir() + "/client.crt"
	env := []string{"TEMPORAL_TLS_CERT=" + missing, "TEMPORAL_TLS_KEY=" + missing}
	for _, args := range [][]string{{"serve"}, {"api"}, {"worker"}, {"dev", "TEMPORAL_EMBEDDED=false"}} {
		out, code := runBin(t, bin, append(env, args[1:]...), args[0])
		if code != 2 || !strings.Contains(out, "TEMPORAL_TLS_CERT names a file that cannot be read") {
			t.Errorf("talkturo %s with an unreadable TEMPORAL_TLS_CERT: exit %d\n%s\nwant exit 2 naming it", strings.Join(args, " "), code, out)
		}
	}
	out, code := runBin(t, bin, append(env, "TEMPORAL_EMBEDDED=true"), "dev")
	if code != 2 || !strings.Contains(out, "TEMPORAL_TLS_CERT is set, but the Temporal server talkturo dev embeds serves plaintext on the loopback: unset it") || strings.Contains(out, "cannot be read") {
		t.Errorf("talkturo dev with a stale TEMPORAL_TLS_CERT and the embedded server: exit %d\n%s\nwant exit 2 saying to unset it", code, out)
	}
	out, code = runBin(t, bin, []string{"TEMPORAL_TLS=true", "TEMPORAL_EMBEDDED=true"}, "dev")
	if code != 2 || !strings.Contains(out, "TEMPORAL_TLS is set, but the Temporal server talkturo dev embeds serves plaintext") {
		t.Errorf("talkturo dev with TEMPORAL_TLS=true and the embedded server: exit %d\n%s\nwant exit 2 naming it", code, out)
	}
	for _, args := range [][]string{{"admin"}, {"migrate", "sideways"}} {
		if out, _ := runBin(t, bin, env, args...); strings.Contains(out, "TEMPORAL_TLS") {
			t.Errorf("talkturo %s refused TEMPORAL_TLS_CERT, which it does not use:\n%s", strings.Join(args, " "), out)
		}
	}
	const key = "tmprl_not-a-real-key.0123456789"
	out, code = runBin(t, bin, []string{"TEMPORAL_API_KEY=" + key, "TEMPORAL_EMBEDDED=true"}, "dev")
	if code != 2 || !strings.Contains(out, "TEMPORAL_API_KEY is set, but the Temporal server talkturo dev embeds serves plaintext") || strings.Contains(out, key) {
		t.Errorf("talkturo dev with TEMPORAL_API_KEY and the embedded server: exit %d\n%s\nwant exit 2 naming the variable, not its value", code, out)
	}
}
