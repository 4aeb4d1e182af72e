package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/devserver/tlstest"
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

// TestTemporalTLSSettings: the TLS variables take paths to PEM files or the
// PEM itself; an API key alone leaves TLS to the SDK; every bad value is
// one sentence naming its variable, refused only by the processes that
// talk to Temporal, and never showing a key or a file's contents.
func TestTemporalTLSSettings(t *testing.T) {
	pki := tlstest.New(t)
	dir := t.TempDir()
	f := pki.WriteFiles(t, dir)
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	for what, env := range map[string]map[string]string{
		"files":  {"TEMPORAL_TLS_CERT": f.ClientCert, "TEMPORAL_TLS_KEY": f.ClientKey, "TEMPORAL_TLS_CA": f.CA, "TEMPORAL_TLS_SERVER_NAME": "localhost"},
		"inline": {"TEMPORAL_TLS_CERT": string(pki.Client.CertPEM), "TEMPORAL_TLS_KEY": string(pki.Client.KeyPEM), "TEMPORAL_TLS_CA": string(pki.CAPEM), "TEMPORAL_TLS_SERVER_NAME": "localhost"},
	} {
		c, err := Load(env)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if err := c.ValidateTemporal(); err != nil {
			t.Fatalf("%s: ValidateTemporal: %v", what, err)
		}
		cfg, cert, err := c.TemporalTLS(nil)
		if err != nil || cfg == nil || cfg.GetClientCertificate == nil || cert == nil || cfg.RootCAs == nil || cfg.ServerName != "localhost" {
			t.Fatalf("%s: TemporalTLS = %+v, %v, %v", what, cfg, cert, err)
		}
		if got, _ := cfg.GetClientCertificate(&tls.CertificateRequestInfo{}); got == nil || got.Leaf.Subject.CommonName != "talkturo" || !cert.NotAfter().Equal(got.Leaf.NotAfter) {
			t.Errorf("%s: the client certificate presented is %+v", what, got)
		}
		if v := c.TemporalTLSVariable(); v != "TEMPORAL_TLS_CERT" {
			t.Errorf("%s: TemporalTLSVariable = %q", what, v)
		}
	}
	if cfg, cert, err := (Config{TemporalTLSCA: f.CA}).TemporalTLS(nil); err != nil || cfg == nil || cfg.GetClientCertificate != nil || cert != nil || cfg.RootCAs == nil {
		t.Errorf("CA alone: %+v, %v; want TLS without a client certificate", cfg, err)
	}
	apiKeyOnly := Config{TemporalAPIKey: " tmprl_key.123\n"}
	if cfg, _, err := apiKeyOnly.TemporalTLS(nil); cfg != nil || err != nil {
		t.Errorf("API key alone: TemporalTLS = %+v, %v; want nil (the SDK turns TLS on for a key)", cfg, err)
	}
	if k, err := apiKeyOnly.TemporalKey(); k != "tmprl_key.123" || err != nil {
		t.Errorf("TemporalKey = %q, %v; want the key without the line break", k, err)
	}
	if cfg, _, err := (Config{}).TemporalTLS(nil); cfg != nil || err != nil || (Config{}).TemporalTLSVariable() != "" {
		t.Errorf("nothing set: %+v, %v; want plaintext", cfg, err)
	}

	if cfg, _, err := (Config{TemporalTLSSwitch: "true"}).TemporalTLS(nil); err != nil || cfg == nil || cfg.RootCAs != nil || cfg.GetClientCertificate != nil {
		t.Errorf("TEMPORAL_TLS=true alone: %+v, %v; want TLS with the system's roots and no client certificate", cfg, err)
	}
	if cfg, _, err := (Config{TemporalTLSSwitch: "false"}).TemporalTLS(nil); cfg != nil || err != nil || (Config{TemporalTLSSwitch: "false"}).TemporalTLSVariable() != "" {
		t.Errorf("TEMPORAL_TLS=false alone: %+v, %v; want plaintext", cfg, err)
	}
	if v := (Config{TemporalTLSSwitch: "true"}).TemporalTLSVariable(); v != "TEMPORAL_TLS" {
		t.Errorf("TEMPORAL_TLS=true: TemporalTLSVariable = %q, want TEMPORAL_TLS (dev's embedded server refuses it)", v)
	}
	// Self-hosted clusters with an mTLS transport and a JWT authorizer
	// take both: the certificate in the handshake, the key on every call.
	both := Config{TemporalTLSCert: f.ClientCert, TemporalTLSKey: f.ClientKey, TemporalAPIKey: "tmprl_key.123"}
	if cfg, cert, err := both.TemporalTLS(nil); err != nil || cfg == nil || cert == nil || both.ValidateTemporal() != nil {
		t.Errorf("mTLS and an API key: %+v, %v, %v; want both", cfg, cert, err)
	}
	for _, name := range []string{"localhost", "talkturo.a1b2c.tmprl.cloud", "10.0.0.7", "::1", "2001:db8::7"} {
		if cfg, _, err := (Config{TemporalTLSServerName: name}).TemporalTLS(nil); err != nil || cfg.ServerName != name {
			t.Errorf("TEMPORAL_TLS_SERVER_NAME=%s: %+v, %v", name, cfg, err)
		}
	}
	noUsage := pki.Issue(t, tlstest.Cert{Name: "no-extended-usage"})
	if _, cert, err := (Config{TemporalTLSCert: string(noUsage.CertPEM), TemporalTLSKey: string(noUsage.KeyPEM)}).TemporalTLS(nil); err != nil || cert == nil {
		t.Errorf("a certificate without extended key usage (any use): %v", err)
	}

	// A line of the key's and of the certificate's base64, which no error
	// may show.
	headless := strings.Split(string(pki.Client.KeyPEM), "\n")[1]
	certLine := strings.Split(string(pki.Client.CertPEM), "\n")[1]
	garbage := write("garbage.pem", "not a certificate at all")
	clientAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	expired := pki.Issue(t, tlstest.Cert{Name: "expired", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour), Usages: clientAuth})
	early := pki.Issue(t, tlstest.Cert{Name: "early", NotBefore: time.Now().Add(time.Hour), NotAfter: time.Now().Add(48 * time.Hour), Usages: clientAuth})
	serverOnly := pki.Issue(t, tlstest.Cert{Name: "server-only", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	block, _ := pem.Decode(pki.Client.KeyPEM)
	pkcs8Encrypted := write("pkcs8-encrypted.key", string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: block.Bytes})))
	legacyEncrypted := write("legacy-encrypted.key", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"}, Bytes: block.Bytes})))
	for _, tc := range []struct {
		what string
		env  map[string]string
		name string
	}{
		{"cert without key", map[string]string{"TEMPORAL_TLS_CERT": f.ClientCert}, "TEMPORAL_TLS_KEY"},
		{"key without cert", map[string]string{"TEMPORAL_TLS_KEY": f.ClientKey}, "TEMPORAL_TLS_CERT"},
		{"unreadable cert", map[string]string{"TEMPORAL_TLS_CERT": filepath.Join(dir, "missing.crt"), "TEMPORAL_TLS_KEY": f.ClientKey}, "TEMPORAL_TLS_CERT"},
		{"unreadable key", map[string]string{"TEMPORAL_TLS_CERT": f.ClientCert, "TEMPORAL_TLS_KEY": dir}, "TEMPORAL_TLS_KEY"},
		{"unreadable CA", map[string]string{"TEMPORAL_TLS_CA": filepath.Join(dir, "missing-ca.crt")}, "TEMPORAL_TLS_CA"},
		{"bad cert PEM", map[string]string{"TEMPORAL_TLS_CERT": garbage, "TEMPORAL_TLS_KEY": f.ClientKey}, "TEMPORAL_TLS_CERT"},
		{"a key as the cert", map[string]string{"TEMPORAL_TLS_CERT": f.ClientKey, "TEMPORAL_TLS_KEY": f.ClientKey}, "TEMPORAL_TLS_CERT"},
		{"bad key PEM", map[string]string{"TEMPORAL_TLS_CERT": f.ClientCert, "TEMPORAL_TLS_KEY": garbage}, "TEMPORAL_TLS_KEY"},
		{"a key without its PEM header", map[string]string{"TEMPORAL_TLS_CERT": f.ClientCert, "TEMPORAL_TLS_KEY": headless}, "TEMPORAL_TLS_KEY"},
		{"a cert as the key", map[string]string{"TEMPORAL_TLS_CERT": f.ClientCert, "TEMPORAL_TLS_KEY": f.ClientCert}, "TEMPORAL_TLS_KEY"},
		{"another certificate's key", map[string]string{"TEMPORAL_TLS_CERT": f.ClientCert, "TEMPORAL_TLS_KEY": f.ServerKey}, "TEMPORAL_TLS_KEY"},
		{"inline key of another certificate", map[string]string{"TEMPORAL_TLS_CERT": string(pki.Client.CertPEM), "TEMPORAL_TLS_KEY": string(pki.Server.KeyPEM)}, "TEMPORAL_TLS_KEY"},
		{"bad CA PEM", map[string]string{"TEMPORAL_TLS_CA": garbage}, "TEMPORAL_TLS_CA"},
		{"truncated CA PEM", map[string]string{"TEMPORAL_TLS_CA": string(pki.CAPEM[:len(pki.CAPEM)/2])}, "TEMPORAL_TLS_CA"},
		{"server name with a space", map[string]string{"TEMPORAL_TLS_SERVER_NAME": "talkturo .tmprl.cloud"}, "TEMPORAL_TLS_SERVER_NAME"},
		{"server name with a scheme", map[string]string{"TEMPORAL_TLS_SERVER_NAME": "https://talkturo.a1b2c.tmprl.cloud"}, "TEMPORAL_TLS_SERVER_NAME"},
		{"server name with a path", map[string]string{"TEMPORAL_TLS_SERVER_NAME": "talkturo.a1b2c.tmprl.cloud/"}, "TEMPORAL_TLS_SERVER_NAME"},
		{"server name with a port", map[string]string{"TEMPORAL_TLS_SERVER_NAME": "talkturo.a1b2c.tmprl.cloud:7233"}, "TEMPORAL_TLS_SERVER_NAME"},
		{"server name of a bracketed IPv6", map[string]string{"TEMPORAL_TLS_SERVER_NAME": "[::1]"}, "TEMPORAL_TLS_SERVER_NAME"},
		{"TEMPORAL_TLS not a boolean", map[string]string{"TEMPORAL_TLS": "yes"}, "TEMPORAL_TLS"},
		{"TEMPORAL_TLS false with a certificate", map[string]string{"TEMPORAL_TLS": "false", "TEMPORAL_TLS_CERT": f.ClientCert, "TEMPORAL_TLS_KEY": f.ClientKey}, "TEMPORAL_TLS"},
		{"TEMPORAL_TLS false with an API key", map[string]string{"TEMPORAL_TLS": "false", "TEMPORAL_API_KEY": "tmprl_secret"}, "TEMPORAL_TLS"},
		{"an expired certificate", map[string]string{"TEMPORAL_TLS_CERT": string(expired.CertPEM), "TEMPORAL_TLS_KEY": string(expired.KeyPEM)}, "TEMPORAL_TLS_CERT"},
		{"a certificate not valid yet", map[string]string{"TEMPORAL_TLS_CERT": string(early.CertPEM), "TEMPORAL_TLS_KEY": string(early.KeyPEM)}, "TEMPORAL_TLS_CERT"},
		{"a certificate for servers only", map[string]string{"TEMPORAL_TLS_CERT": string(serverOnly.CertPEM), "TEMPORAL_TLS_KEY": string(serverOnly.KeyPEM)}, "TEMPORAL_TLS_CERT"},
		{"an encrypted PKCS #8 key", map[string]string{"TEMPORAL_TLS_CERT": f.ClientCert, "TEMPORAL_TLS_KEY": pkcs8Encrypted}, "TEMPORAL_TLS_KEY"},
		{"a legacy encrypted key", map[string]string{"TEMPORAL_TLS_CERT": f.ClientCert, "TEMPORAL_TLS_KEY": legacyEncrypted}, "TEMPORAL_TLS_KEY"},
		{"API key with a space", map[string]string{"TEMPORAL_API_KEY": "tmprl_secret part2"}, "TEMPORAL_API_KEY"},
		{"API key with a line break", map[string]string{"TEMPORAL_API_KEY": "tmprl_secret\npart2"}, "TEMPORAL_API_KEY"},
	} {
		c, err := Load(tc.env)
		if err != nil {
			t.Fatalf("%s: Load refused what only the processes talking to Temporal read: %v", tc.what, err)
		}
		err = c.ValidateTemporal()
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != tc.name || strings.Count(err.Error(), ".") < 1 || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: ValidateTemporal = %v, want one sentence naming %s", tc.what, err, tc.name)
			continue
		}
		if want, ok := map[string]string{
			"another certificate's key":      "(tls: private key does not match public key)",
			"an expired certificate":         "expired at",
			"a certificate not valid yet":    "not valid before",
			"a certificate for servers only": "clientAuth",
			"an encrypted PKCS #8 key":       "encrypted private key, which is not supported",
			"a legacy encrypted key":         "encrypted private key, which is not supported",
		}[tc.what]; ok && !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want it to say %q", tc.what, err, want)
		}
		for _, secret := range []string{headless, certLine, "tmprl_secret", "part2", "not a certificate", dir} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error %q shows %q", tc.what, err, secret)
			}
		}
	}
}
