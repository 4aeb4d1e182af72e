package main

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/devserver/tlstest"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalclient"
)

// TestPurchaseOverMutualTLS: with the embedded frontend requiring client
// certificates, a worker and an API given TEMPORAL_TLS_CERT, _KEY and _CA
// buy a number end to end, and the server's own system worker runs the
// reconciliation schedule over mTLS; a client without a certificate, with
// one of another CA or in plaintext is refused, and an API so configured
// says Temporal is unready on /readyz instead of hanging.
func TestPurchaseOverMutualTLS(t *testing.T) {
	t.Parallel()
	// A year's schedule: it runs only when triggered here.
	s := newStack(t, stackOptions{temporalTLS: true, env: map[string]string{"RECONCILE_INTERVAL": "8760h"}})
	var reg *prometheus.Registry
	s.app(roleWorker, fx.Populate(&reg))
	_, base := s.app(roleAPI)
	team, token := s.team(domain.PlanStarter)

	if status, body := call(t, "GET", base+"/readyz", "", nil); status != 200 {
		t.Fatalf("/readyz over mTLS: %d %v", status, body)
	}
	status, found := call(t, "POST", base+"/api/phone-numbers/search", token, map[string]any{"filters": map[string]any{"countryCode": "US", "limit": 1}})
	if status != 200 || found["count"].(float64) != 1 {
		t.Fatalf("search: %d %v", status, found)
	}
	number := found["numbers"].([]any)[0].(map[string]any)["phoneNumber"]
	status, bought := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": team}, "Idempotency-Key", "mtls-1")
	if status != 200 {
		t.Fatalf("purchase over mTLS: %d %v", status, bought)
	}
	if n := bought["phoneNumber"].(map[string]any); n["status"] != string(domain.NumberActive) {
		t.Fatalf("purchase over mTLS: %v, want an active number", n)
	}

	// The schedule's scheduler runs in the server's system worker, which
	// starts the run through the frontend, with its own certificate.
	if res := triggerRun(t, mustClient(t, s)); res.LiveInDatabase != 1 || res.OwnedAtProvider != 1 {
		t.Errorf("reconciliation over mTLS: %+v, want the number just bought, live on both sides", res)
	}

	// The certificate's expiry, for an alert before Temporal refuses it.
	pair, err := tls.X509KeyPair(s.pki.Client.CertPEM, s.pki.Client.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf := pair.Leaf
	if got := gaugeValue(t, reg, "talkturo_temporal_client_certificate_expiry_timestamp_seconds"); got != float64(leaf.NotAfter.Unix()) {
		t.Errorf("talkturo_temporal_client_certificate_expiry_timestamp_seconds = %v, want %d (the certificate's NotAfter)", got, leaf.NotAfter.Unix())
	}

	other := tlstest.New(t)
	otherCert, err := tls.X509KeyPair(other.Client.CertPEM, other.Client.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	for name, tlsCfg := range map[string]*tls.Config{
		"plaintext":                nil,
		"no client certificate":    {RootCAs: s.pki.Pool(), MinVersion: tls.VersionTLS12},
		"another CA's certificate": {RootCAs: s.pki.Pool(), Certificates: []tls.Certificate{otherCert}, MinVersion: tls.VersionTLS12},
	} {
		c, err := temporalclient.New(temporalclient.Config{HostPort: s.temporal.HostPort(), Namespace: s.cfg.TemporalNamespace, TLS: tlsCfg}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = temporalclient.CheckHealth(ctx, c)
		cancel()
		c.Close()
		if err == nil {
			t.Errorf("%s: the frontend answered a client it must refuse", name)
		}
	}

	// An API whose client has the CA but no certificate, then one in
	// plaintext: each starts (the client connects on first use) and
	// reports Temporal unavailable.
	good := s.cfg
	for name, change := range map[string]func(){
		"no client certificate": func() { s.cfg.TemporalTLSCert, s.cfg.TemporalTLSKey = "", "" },
		"plaintext":             func() { s.cfg.TemporalTLSCert, s.cfg.TemporalTLSKey, s.cfg.TemporalTLSCA = "", "", "" },
	} {
		change()
		_, refused := s.app(roleAPI)
		s.cfg = good
		status, body := call(t, "GET", refused+"/readyz", "", nil)
		checks, _ := body["checks"].(map[string]any)
		temporal, _ := checks["temporal"].(map[string]any)
		database, _ := checks["database"].(map[string]any)
		if status != 503 || temporal["status"] != "unavailable" || database["status"] != "ok" {
			t.Errorf("%s: /readyz %d %v, want 503 with temporal unavailable and the database ok", name, status, body)
		}
	}
}

// gaugeValue is the value of the gauge name on reg (its one series).
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s with one series", name)
	return 0
}
