// Package tlstest makes the certificates of a test that runs Temporal over
// TLS: a CA of the test's own, a server certificate for the loopback
// (127.0.0.1, ::1 and localhost) and a client certificate, all signed by
// it, as PEM bytes and as files.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// Pair is a certificate and its private key, in PEM.
type Pair struct {
	CertPEM, KeyPEM []byte
}

// PKI is a CA and the certificates it signed.
type PKI struct {
	// CAPEM is the CA's certificate: what a client verifies the server
	// with, and what the server verifies client certificates with.
	CAPEM []byte
	// Server is for 127.0.0.1, ::1 and localhost.
	Server Pair
	// Client is a client certificate (CN "talkturo").
	Client Pair

	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
}

// Files are the paths of a PKI's PEM files.
type Files struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

// New makes a CA and a server and a client certificate signed by it, valid
// for a day.
func New(t testing.TB) *PKI {
	t.Helper()
	caKey := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "talkturo test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := &PKI{CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca: ca, caKey: caKey}
	p.Server = p.Issue(t, Cert{Name: "localhost", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	p.Client = p.Issue(t, Cert{Name: "talkturo", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return p
}

// Cert is what Issue puts in a certificate.
type Cert struct {
	// Name is the CN; a server certificate (Usages with ServerAuth) is also
	// for 127.0.0.1, ::1 and localhost.
	Name string
	// NotBefore and NotAfter default to an hour ago and a day from now.
	NotBefore, NotAfter time.Time
	// Usages are the extended key usages; none leaves the extension out.
	Usages []x509.ExtKeyUsage
}

// Issue signs a certificate described by c with the CA: the tests of a
// client certificate that is expired, not yet valid, not for clients, or
// replaced by another.
func (p *PKI) Issue(t testing.TB, c Cert) Pair {
	t.Helper()
	if c.NotBefore.IsZero() {
		c.NotBefore = time.Now().Add(-time.Hour)
	}
	if c.NotAfter.IsZero() {
		c.NotAfter = time.Now().Add(24 * time.Hour)
	}
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: c.Name},
		NotBefore:    c.NotBefore,
		NotAfter:     c.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  c.Usages,
	}
	if slices.Contains(c.Usages, x509.ExtKeyUsageServerAuth) {
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return Pair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

// WriteFiles writes the PKI's PEM files into dir (mode 0600).
func (p *PKI) WriteFiles(t testing.TB, dir string) Files {
	t.Helper()
	f := Files{
		CA:         filepath.Join(dir, "ca.crt"),
		ServerCert: filepath.Join(dir, "server.crt"), ServerKey: filepath.Join(dir, "server.key"),
		ClientCert: filepath.Join(dir, "client.crt"), ClientKey: filepath.Join(dir, "client.key"),
	}
	for path, b := range map[string][]byte{f.CA: p.CAPEM, f.ServerCert: p.Server.CertPEM, f.ServerKey: p.Server.KeyPEM, f.ClientCert: p.Client.CertPEM, f.ClientKey: p.Client.KeyPEM} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// ServerTLS is a server configuration presenting Server that requires a
// client certificate signed by the CA when requireClient is set.
func (p *PKI) ServerTLS(t testing.TB, requireClient bool) *tls.Config {
	t.Helper()
	cert, err := tls.X509KeyPair(p.Server.CertPEM, p.Server.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if requireClient {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = p.Pool()
	}
	return cfg
}

// Pool is a pool of the CA alone.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	return pool
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
