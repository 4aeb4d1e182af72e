package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/devserver/tlstest"
	"github.com/talkturo/phonenumbers/testkit"
)

// secretDir lays out a certificate and key as the kubelet mounts a
// Secret: tls.crt -> ..data/tls.crt, ..data -> a folder of the version;
// swap puts a new version in with one rename of the ..data symlink.
type secretDir struct {
	t        *testing.T
	dir      string
	versions int
}

func newSecretDir(t *testing.T, p tlstest.Pair) *secretDir {
	d := &secretDir{t: t, dir: t.TempDir()}
	d.swap(p)
	for _, name := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(d.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func (d *secretDir) swap(p tlstest.Pair) {
	d.t.Helper()
	d.versions++
	version := filepath.Join(d.dir, fmt.Sprintf("..version%d", d.versions))
	if err := os.Mkdir(version, 0o700); err != nil {
		d.t.Fatal(err)
	}
	for name, b := range map[string][]byte{"tls.crt": p.CertPEM, "tls.key": p.KeyPEM} {
		if err := os.WriteFile(filepath.Join(version, name), b, 0o600); err != nil {
			d.t.Fatal(err)
		}
	}
	tmp := filepath.Join(d.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(version), tmp); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, "..data")); err != nil {
		d.t.Fatal(err)
	}
}

// mTLSServer accepts TLS connections requiring a client certificate of
// the PKI's CA and reports the CN each handshake presented.
func mTLSServer(t *testing.T, pki *tlstest.PKI) (addr string, presented <-chan string) {
	t.Helper()
	ln := tls.NewListener(testkit.Listen(t), pki.ServerTLS(t, true))
	names := make(chan string, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			tc := conn.(*tls.Conn)
			if err := tc.Handshake(); err != nil {
				names <- "refused: " + err.Error()
			} else {
				names <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
			}
			_ = tc.Close()
		}
	}()
	return ln.Addr().String(), names
}

// handshake opens one connection with cfg and returns the CN the server
// saw.
func handshake(t *testing.T, addr string, cfg *tls.Config, presented <-chan string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	return <-presented
}

// TestClientCertificateReloadsWhenTheSecretChanges: with the certificate
// and key as paths, the next handshake after the kubelet swaps the Secret's
// files (or after a file is rewritten in place) presents the new pair and
// NotAfter reports it; a swap to a pair that cannot be used keeps the last
// good one, with one warning that shows no PEM; pasted PEM stays fixed.
func TestClientCertificateReloadsWhenTheSecretChanges(t *testing.T) {
	t.Parallel()
	pki := tlstest.New(t)
	f := pki.WriteFiles(t, t.TempDir())
	addr, presented := mTLSServer(t, pki)
	clientAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	issue := func(name string, validFor time.Duration) tlstest.Pair {
		return pki.Issue(t, tlstest.Cert{Name: name, NotAfter: time.Now().Add(validFor), Usages: clientAuth})
	}
	first, second, third := issue("first", 24*time.Hour), issue("second", 48*time.Hour), issue("third", 72*time.Hour)

	var logs testkit.LogBuffer
	log := logs.TextLogger(slog.LevelInfo)
	secret := newSecretDir(t, first)
	cfg, cert, err := Config{TemporalTLSCert: filepath.Join(secret.dir, "tls.crt"), TemporalTLSKey: filepath.Join(secret.dir, "tls.key"), TemporalTLSCA: f.CA}.TemporalTLS(log)
	if err != nil {
		t.Fatal(err)
	}
	if cn := handshake(t, addr, cfg, presented); cn != "first" {
		t.Fatalf("first handshake presented %q", cn)
	}

	secret.swap(second)
	if cn := handshake(t, addr, cfg, presented); cn != "second" {
		t.Errorf("after the swap the handshake presented %q, want the new certificate", cn)
	}
	if got, want := cert.NotAfter(), cert.Leaf().NotAfter; got != want || cert.Leaf().Subject.CommonName != "second" {
		t.Errorf("NotAfter %v of %s, want the new certificate's", got, cert.Leaf().Subject.CommonName)
	}

	// A swap to a certificate with another's key: refused, the second
	// pair stays, and one warning however many handshakes follow.
	secret.swap(tlstest.Pair{CertPEM: third.CertPEM, KeyPEM: first.KeyPEM})
	for range 3 {
		if cn := handshake(t, addr, cfg, presented); cn != "second" {
			t.Errorf("after a bad swap the handshake presented %q, want the last good certificate", cn)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 1 || !strings.Contains(out, "TEMPORAL_TLS_KEY is not the private key") {
		t.Errorf("want one warning naming TEMPORAL_TLS_KEY for the bad swap, got %d:\n%s", n, out)
	}
	for _, pair := range []tlstest.Pair{first, second, third} {
		for _, b := range [][]byte{pair.CertPEM, pair.KeyPEM} {
			if line := strings.Split(string(b), "\n")[1]; strings.Contains(out, line) {
				t.Errorf("the log shows PEM contents:\n%s", out)
			}
		}
	}

	// Rewritten in place (no swap): a later modification time is a change.
	secret.swap(third)
	if cn := handshake(t, addr, cfg, presented); cn != "third" {
		t.Fatalf("after the good swap the handshake presented %q", cn)
	}
	dataDir, err := filepath.EvalSymlinks(filepath.Join(secret.dir, "..data"))
	if err != nil {
		t.Fatal(err)
	}
	fourth := issue("fourth", 96*time.Hour)
	later := time.Now().Add(time.Minute)
	for name, b := range map[string][]byte{"tls.crt": fourth.CertPEM, "tls.key": fourth.KeyPEM} {
		path := filepath.Join(dataDir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if cn := handshake(t, addr, cfg, presented); cn != "fourth" {
		t.Errorf("after an in-place rewrite the handshake presented %q", cn)
	}

	// Pasted PEM: nothing to watch.
	inline, _, err := Config{TemporalTLSCert: string(first.CertPEM), TemporalTLSKey: string(first.KeyPEM), TemporalTLSCA: f.CA}.TemporalTLS(log)
	if err != nil {
		t.Fatal(err)
	}
	if cn := handshake(t, addr, inline, presented); cn != "first" {
		t.Errorf("inline pair presented %q", cn)
	}
}
