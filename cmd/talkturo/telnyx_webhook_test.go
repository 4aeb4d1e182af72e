package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
)

// TestTelnyxSettingsStopTheAPIRolesNamingTheVariable: a bad
// TELNYX_PUBLIC_KEY, or a default connection outside the allowed ones,
// stops dev, serve and api with one sentence naming the variable; a
// worker, which serves no webhook, does not refuse over it. A bad
// simulator key stops telnyx-sim.
func TestTelnyxSettingsStopTheAPIRolesNamingTheVariable(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"TELNYX_PUBLIC_KEY=not-a-key"}, "TELNYX_PUBLIC_KEY must be the base64"},
		{[]string{"TELNYX_CONNECTION_ID=conn_c", "TELNYX_CONNECTION_IDS=conn_a,conn_b"}, "TELNYX_CONNECTION_IDS must include TELNYX_CONNECTION_ID"},
	} {
		for _, role := range []string{"dev", "serve", "api"} {
			out, code := runBin(t, bin, tc.env, role)
			if code != 2 || !strings.Contains(out, "talkturo: "+tc.want) || strings.Count(strings.TrimSpace(out), "\n") > 0 {
				t.Errorf("talkturo %s with %v: exit %d\n%s\nwant exit 2 and one line: %s…", role, tc.env, code, out, tc.want)
			}
		}
		// Stopped by what it does need (no DATABASE_URL), not by this.
		if out, _ := runBin(t, bin, append(tc.env, "DATABASE_URL="), "worker"); strings.Contains(out, "TELNYX_") {
			t.Errorf("talkturo worker with %v refused it:\n%s", tc.env, out)
		}
	}
	out, code := runBin(t, bin, []string{"TELNYX_SIM_WEBHOOK_KEY=short"}, "telnyx-sim")
	if code != 2 || !strings.Contains(out, "TELNYX_SIM_WEBHOOK_KEY must be") {
		t.Errorf("talkturo telnyx-sim with a bad key: exit %d\n%s", code, out)
	}
}

// TestDevVerifiesTheSimulatorsWebhookKey: `talkturo dev` gives its API the
// public half of the key its simulator signs with (TELNYX_SIM_WEBHOOK_KEY
// here, so the test can sign too): a delivery signed with it is taken, one
// signed otherwise or stale is a 401.
func TestDevVerifiesTheSimulatorsWebhookKey(t *testing.T) {
	bin := buildBinary(t)
	key := ed25519.NewKeyFromSeed([]byte("dev-webhook-test-seed-0123456789"))
	_, other, _ := ed25519.GenerateKey(nil)
	env := append(devEnv(t, filepath.Join(t.TempDir(), ".data"), pgtest.NewSchema(t)),
		"TELNYX_SIM_WEBHOOK_KEY="+base64.StdEncoding.EncodeToString(key.Seed()),
		// Whatever it says, the simulator's key wins where it stands for Telnyx.
		"TELNYX_PUBLIC_KEY="+base64.StdEncoding.EncodeToString(other.Public().(ed25519.PublicKey)))
	dev := startDev(t, bin, env)
	defer dev.stop(t)

	body := `{"data": {"event_type": "number_order.complete", "id": "evt_1", "payload": {"id": "ord_1", "status": "success", "customer_reference": "phone-number:+14155550101/no-such-run"}}}`
	post := func(k ed25519.PrivateKey, at time.Time) (int, string) {
		t.Helper()
		ts, sig := api.SignTelnyxWebhook(k, []byte(body), at)
		req, _ := http.NewRequest(http.MethodPost, dev.api+"/api/telnyx/webhook", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("telnyx-timestamp", ts)
		req.Header.Set("telnyx-signature-ed25519", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	// An order of no running purchase: verified, handed on, dropped, 200.
	if status, raw := post(key, time.Now()); status != http.StatusOK || !strings.Contains(raw, `"handled":true`) {
		t.Errorf("signed by the simulator's key: %d %s", status, raw)
	}
	if status, raw := post(other, time.Now()); status != http.StatusUnauthorized {
		t.Errorf("signed by TELNYX_PUBLIC_KEY's owner, which dev replaced: %d %s", status, raw)
	}
	if status, raw := post(key, time.Now().Add(-10*time.Minute)); status != http.StatusUnauthorized {
		t.Errorf("stale: %d %s", status, raw)
	}
}
