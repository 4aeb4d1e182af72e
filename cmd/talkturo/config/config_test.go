package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
)

func TestLoadDefaults(t *testing.T) {
	c, err := Load(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.TrialDuration != 120*time.Hour || c.PurchaseWait != 20*time.Second || c.HTTPAddr != "127.0.0.1:8080" || c.DataDir != ".data" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	limits := map[string]int{}
	for _, p := range c.Plans {
		limits[string(p.Name)] = p.MaxNumbers
	}
	if limits["free"] != 1 || limits["starter"] != 3 || limits["growth"] != 10 || limits["scale"] != 50 {
		t.Fatalf("plan limits = %v", limits)
	}
}

func TestLoadOverrides(t *testing.T) {
	c, err := Load(map[string]string{"TRIAL_DURATION": "30s", "PLAN_LIMITS": "growth=12"})
	if err != nil {
		t.Fatal(err)
	}
	if c.TrialDuration != 30*time.Second {
		t.Fatalf("TrialDuration = %v", c.TrialDuration)
	}
	for _, p := range c.Plans {
		if p.Name == "growth" && p.MaxNumbers != 12 {
			t.Fatalf("growth = %d", p.MaxNumbers)
		}
		if p.Name == "starter" && p.MaxNumbers != 3 {
			t.Fatalf("starter = %d", p.MaxNumbers)
		}
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"TRIAL_DURATION", "five days"},
		{"TRIAL_DURATION", "-1s"},
		{"HTTP_ADDR", "8080"},
		{"DATABASE_URL", "mysql://x"},
		{"TELNYX_BASE_URL", "ftp://x"},
		{"PLAN_LIMITS", "gold=3"},
		{"PLAN_LIMITS", "free=3"},
		{"LOG_LEVEL", "loud"},
		{"TEMPORAL_UI_PORT", "abc"},
		{"RECONCILE_INTERVAL", "often"},
		{"RECONCILE_INTERVAL", "-15m"},
		{"RECONCILE_INTERVAL", "1s"},
		{"RECONCILE_ORPHAN_DELAY", "0"},
		{"RECONCILE_ORPHAN_DELAY", "30s"},
		{"DATABASE_MAX_CONNS", "0"},
		{"DATABASE_MAX_CONNS", "lots"},
		{"RECONCILE_MAX_RELEASES", "0"},
		{"RECONCILE_MAX_RELEASES", "many"},
		{"TELNYX_PROBE_INTERVAL", "100ms"},
		{"TELNYX_PROBE_INTERVAL", "often"},
		{"RATE_LIMIT_SEARCH_PER_SECOND", "-1"},
		{"RATE_LIMIT_SEARCH_PER_SECOND", "NaN"},
		{"RATE_LIMIT_SEARCH_PER_SECOND", "fast"},
		{"RATE_LIMIT_SEARCH_BURST", "0"},
		{"RATE_LIMIT_PURCHASE_PER_SECOND", "+Inf"},
		{"RATE_LIMIT_PURCHASE_BURST", "-3"},
		{"RATE_LIMIT_PURCHASE_BURST", "1000000"},
		{"REQUEST_TIMEOUT", "0"},
		{"DATABASE_STATEMENT_TIMEOUT", "-1s"},
		{"RATE_LIMIT_SEARCH_PER_SECOND", "1e-9"},
		{"RATE_LIMIT_PURCHASE_PER_SECOND", "0.0009"},
		{"DATABASE_CONNECT_TIMEOUT", "-1s"},
	} {
		_, err := Load(map[string]string{tc.key: tc.value})
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != tc.key {
			t.Errorf("%s=%q: error %v does not name the variable", tc.key, tc.value, err)
			continue
		}
		if strings.Count(err.Error(), ".") < 1 || !strings.HasPrefix(err.Error(), tc.key+" ") {
			t.Errorf("%s=%q: error %q is not one sentence starting with the variable", tc.key, tc.value, err)
		}
	}
}

func TestReconcileSettings(t *testing.T) {
	c, err := Load(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.ReconcileInterval != 15*time.Minute || c.ReconcileOrphanDelay != time.Hour || c.ReconcileMaxReleases != 20 {
		t.Fatalf("reconcile defaults: every %v, orphans after %v, at most %d releases", c.ReconcileInterval, c.ReconcileOrphanDelay, c.ReconcileMaxReleases)
	}
	c, err = Load(map[string]string{"RECONCILE_INTERVAL": "0", "RECONCILE_ORPHAN_DELAY": "24h", "RECONCILE_MAX_RELEASES": "5"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ReconcileInterval != 0 || c.ReconcileOrphanDelay != 24*time.Hour || c.ReconcileMaxReleases != 5 {
		t.Fatalf("reconcile overrides: every %v, orphans after %v, at most %d releases", c.ReconcileInterval, c.ReconcileOrphanDelay, c.ReconcileMaxReleases)
	}
}

func TestRateLimitAndProbeSettings(t *testing.T) {
	c, err := Load(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimitSearchPerSecond != 5 || c.RateLimitSearchBurst != 20 || c.RateLimitPurchasePerSecond != 1 || c.RateLimitPurchaseBurst != 10 {
		t.Errorf("rate limit defaults: search %v/s burst %d, purchase %v/s burst %d", c.RateLimitSearchPerSecond, c.RateLimitSearchBurst, c.RateLimitPurchasePerSecond, c.RateLimitPurchaseBurst)
	}
	if c.TelnyxProbeInterval != 15*time.Second {
		t.Errorf("TELNYX_PROBE_INTERVAL default %v", c.TelnyxProbeInterval)
	}
	// A rate of 0 turns a limit off, whatever its burst.
	c, err = Load(map[string]string{"RATE_LIMIT_PURCHASE_PER_SECOND": "0", "RATE_LIMIT_PURCHASE_BURST": "0", "RATE_LIMIT_SEARCH_PER_SECOND": "0.5"})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimitPurchasePerSecond != 0 || c.RateLimitSearchPerSecond != 0.5 {
		t.Errorf("overrides: %+v", c)
	}
}

func TestDeadlineSettings(t *testing.T) {
	c, err := Load(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RequestTimeout != 30*time.Second || c.DatabaseStatementTimeout != 5*time.Second || c.DatabaseConnectTimeout != 5*time.Second {
		t.Fatalf("deadline defaults: request %v, statement %v, connect %v", c.RequestTimeout, c.DatabaseStatementTimeout, c.DatabaseConnectTimeout)
	}
	// 0 leaves PostgreSQL's own statement_timeout, as persistence reads it.
	if c, err := Load(map[string]string{"DATABASE_STATEMENT_TIMEOUT": "0"}); err != nil || c.DatabaseStatementTimeout != 0 {
		t.Errorf("DATABASE_STATEMENT_TIMEOUT=0: %v, %v", c.DatabaseStatementTimeout, err)
	}
	if _, err := Load(map[string]string{"RATE_LIMIT_SEARCH_PER_SECOND": "0.001"}); err != nil {
		t.Errorf("RATE_LIMIT_SEARCH_PER_SECOND=0.001: %v", err)
	}
	// A shorter purchase wait allows a shorter request deadline; a longer
	// one needs a longer deadline, in the roles that serve the API only.
	if c, err := Load(map[string]string{"PURCHASE_WAIT": "2s", "REQUEST_TIMEOUT": "9s"}); err != nil || c.ValidateAPI() != nil {
		t.Errorf("PURCHASE_WAIT=2s REQUEST_TIMEOUT=9s: %v, %v", err, c.ValidateAPI())
	}
	for env, purchaseWait := range map[string]map[string]string{
		"PURCHASE_WAIT=40s with the default REQUEST_TIMEOUT": {"PURCHASE_WAIT": "40s"},
		// 5 s is the number service's state query alone: the eligibility
		// read after it needs time too.
		"PURCHASE_WAIT=20s REQUEST_TIMEOUT=25s": {"PURCHASE_WAIT": "20s", "REQUEST_TIMEOUT": "25s"},
	} {
		c, err = Load(purchaseWait)
		if err != nil {
			t.Errorf("%s: Load (every role) refused it: %v", env, err)
		}
		err = c.ValidateAPI()
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != "REQUEST_TIMEOUT" || !strings.Contains(err.Error(), "PURCHASE_WAIT") || !strings.HasPrefix(err.Error(), "REQUEST_TIMEOUT ") {
			t.Errorf("%s: ValidateAPI = %v, want an error about REQUEST_TIMEOUT naming PURCHASE_WAIT", env, err)
		}
	}
	if domain.PurchaseHeadroom <= domain.PendingStateQueryTimeout {
		t.Errorf("PurchaseHeadroom %v leaves nothing after the %v state query", domain.PurchaseHeadroom, domain.PendingStateQueryTimeout)
	}
}

// TestTelnyxWebhookAndConnectionSettings: TELNYX_PUBLIC_KEY is the
// portal's base64 of 32 bytes, the connection ids are well-formed and the
// default is among the allowed; each refusal names its variable, and only
// where the API is served (ValidateAPI).
func TestTelnyxWebhookAndConnectionSettings(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(map[string]string{"TELNYX_PUBLIC_KEY": base64.StdEncoding.EncodeToString(pub),
		"TELNYX_CONNECTION_ID": "conn_a", "TELNYX_CONNECTION_IDS": " conn_a, conn_b ,"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ValidateAPI(); err != nil {
		t.Fatalf("ValidateAPI: %v", err)
	}
	if k, err := c.TelnyxWebhookKey(); err != nil || !k.Equal(pub) {
		t.Errorf("TelnyxWebhookKey = %x, %v", k, err)
	}
	if ids := c.ConnectionIDs(); !slices.Equal(ids, []string{"conn_a", "conn_b"}) {
		t.Errorf("ConnectionIDs = %q", ids)
	}
	unpadded := Config{TelnyxPublicKey: base64.RawStdEncoding.EncodeToString(pub)}
	if k, err := unpadded.TelnyxWebhookKey(); err != nil || !k.Equal(pub) {
		t.Errorf("unpadded key: %x, %v", k, err)
	}
	if k, err := (Config{}).TelnyxWebhookKey(); k != nil || err != nil {
		t.Errorf("unset key: %x, %v; want nil (the webhook off)", k, err)
	}

	for _, tc := range []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{"TELNYX_PUBLIC_KEY": "not base64!"}, "TELNYX_PUBLIC_KEY"},
		{map[string]string{"TELNYX_PUBLIC_KEY": base64.StdEncoding.EncodeToString(pub[:16])}, "TELNYX_PUBLIC_KEY"},
		{map[string]string{"TELNYX_PUBLIC_KEY": base64.StdEncoding.EncodeToString(priv)}, "TELNYX_PUBLIC_KEY"},
		{map[string]string{"TELNYX_CONNECTION_ID": "conn a"}, "TELNYX_CONNECTION_ID"},
		{map[string]string{"TELNYX_CONNECTION_IDS": "conn_a,conn b"}, "TELNYX_CONNECTION_IDS"},
		{map[string]string{"TELNYX_CONNECTION_IDS": " , "}, "TELNYX_CONNECTION_IDS"},
		{map[string]string{"TELNYX_CONNECTION_ID": "conn_c", "TELNYX_CONNECTION_IDS": "conn_a,conn_b"}, "TELNYX_CONNECTION_IDS"},
	} {
		c, err := Load(tc.env)
		if err != nil {
			t.Fatalf("%v: Load refused what only the API reads: %v", tc.env, err)
		}
		err = c.ValidateAPI()
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != tc.name || strings.Count(err.Error(), ".") < 1 {
			t.Errorf("%v: ValidateAPI = %v, want an error naming %s", tc.env, err, tc.name)
		}
	}
}

// TestSimulatorWebhookSettings: the simulator's webhook key is a private
// key or its seed, its URL an http(s) URL; refusals name the variable.
func TestSimulatorWebhookSettings(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{base64.StdEncoding.EncodeToString(priv), base64.StdEncoding.EncodeToString(priv.Seed()), base64.RawStdEncoding.EncodeToString(priv.Seed())} {
		c, err := Load(map[string]string{"TELNYX_SIM_WEBHOOK_KEY": v, "TELNYX_SIM_WEBHOOK_URL": "http://127.0.0.1:8080/api/telnyx/webhook"})
		if err != nil {
			t.Fatalf("TELNYX_SIM_WEBHOOK_KEY=%s: %v", v, err)
		}
		if k, err := c.SimWebhookPrivateKey(); err != nil || !k.Equal(priv) {
			t.Errorf("SimWebhookPrivateKey = %v, want the key", err)
		}
	}
	tampered := slices.Clone(priv)
	tampered[40] ^= 1
	for _, tc := range []struct{ key, value string }{
		{"TELNYX_SIM_WEBHOOK_KEY", "%%%"},
		{"TELNYX_SIM_WEBHOOK_KEY", base64.StdEncoding.EncodeToString(priv[:20])},
		{"TELNYX_SIM_WEBHOOK_KEY", base64.StdEncoding.EncodeToString(tampered)},
		{"TELNYX_SIM_WEBHOOK_URL", "ftp://x/y"},
		{"TELNYX_SIM_WEBHOOK_URL", "/api/telnyx/webhook"},
	} {
		_, err := Load(map[string]string{tc.key: tc.value})
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != tc.key {
			t.Errorf("%s=%q: %v, want an error naming it", tc.key, tc.value, err)
		}
	}
}
