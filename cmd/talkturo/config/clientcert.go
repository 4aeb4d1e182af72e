package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"
)

// ClientCertificate is the client certificate presented to Temporal's
// frontend (TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY). When either is a path,
// every handshake and every NotAfter looks at the files again and rereads
// them when one changed: the kubelet renews a mounted Secret by swapping a
// symlink, and a renewed certificate must not wait for a restart. A reread
// that fails keeps the last good pair and logs a warning, never the files'
// contents; it is not tried again until a file changes again. Connections
// already open keep the pair they were opened with until they reconnect.
type ClientCertificate struct {
	cert, key pemSource
	log       *slog.Logger

	mu   sync.Mutex
	pair *tls.Certificate
	// seen is what the files were at the last read, good or bad.
	seen [2]fileState
}

func newClientCertificate(certValue, keyValue string, log *slog.Logger) (*ClientCertificate, error) {
	if log == nil {
		log = slog.Default()
	}
	c := &ClientCertificate{cert: pemSourceOf("TEMPORAL_TLS_CERT", certValue), key: pemSourceOf("TEMPORAL_TLS_KEY", keyValue), log: log}
	c.seen = c.stat()
	pair, err := c.load()
	if err != nil {
		return nil, err
	}
	c.pair = pair
	return c, nil
}

// GetClientCertificate is tls.Config's: the pair the files hold now, or
// the last good one.
func (c *ClientCertificate) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return c.current(), nil
}

// NotAfter is when the certificate the next handshake presents expires.
func (c *ClientCertificate) NotAfter() time.Time { return c.current().Leaf.NotAfter }

// Leaf is the certificate the next handshake presents.
func (c *ClientCertificate) Leaf() *x509.Certificate { return c.current().Leaf }

func (c *ClientCertificate) current() *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cert.path == "" && c.key.path == "" {
		return c.pair
	}
	now := c.stat()
	if now[0].same(c.seen[0]) && now[1].same(c.seen[1]) {
		return c.pair
	}
	// Recorded before the read: a file that changes while it is read is
	// read again at the next handshake.
	c.seen = now
	pair, err := c.load()
	if err != nil {
		c.log.Warn("the Temporal client certificate's files changed but cannot be used: the certificate loaded before stays in use",
			"error", err, "not_after", c.pair.Leaf.NotAfter)
		return c.pair
	}
	c.pair = pair
	c.log.Info("reloaded the Temporal client certificate", "not_after", pair.Leaf.NotAfter)
	return pair
}

func (c *ClientCertificate) stat() [2]fileState {
	return [2]fileState{statFile(c.cert.path), statFile(c.key.path)}
}

// load reads and checks the pair: the checks at start and at every reload
// are the same.
func (c *ClientCertificate) load() (*tls.Certificate, error) {
	certPEM, err := c.cert.read()
	if err != nil {
		return nil, err
	}
	keyPEM, err := c.key.read()
	if err != nil {
		return nil, err
	}
	return keyPair(certPEM, keyPEM, time.Now())
}

// keyPair is the client certificate of certPEM and keyPEM, refused with one
// sentence naming the variable when Temporal would refuse it anyway: not a
// certificate, not its key, expired or not yet valid at now, or not for
// client authentication.
func keyPair(certPEM, keyPEM []byte, now time.Time) (*tls.Certificate, error) {
	if len(parseCertificates(certPEM)) == 0 {
		return nil, &Error{"TEMPORAL_TLS_CERT", "must hold a PEM certificate (-----BEGIN CERTIFICATE-----), the client certificate Temporal knows."}
	}
	if isEncryptedKey(keyPEM) {
		return nil, &Error{"TEMPORAL_TLS_KEY", "holds an encrypted private key, which is not supported: store it decrypted (openssl pkey -in client.key -out client-plain.key) in the Secret."}
	}
	if !isPrivateKey(keyPEM) {
		return nil, &Error{"TEMPORAL_TLS_KEY", "must hold a PEM private key (-----BEGIN PRIVATE KEY-----, or RSA or EC PRIVATE KEY), the client certificate's."}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// crypto/tls's reasons name PEM block types and key algorithms,
		// never key material.
		return nil, &Error{"TEMPORAL_TLS_KEY", fmt.Sprintf("is not the private key of the certificate in TEMPORAL_TLS_CERT (%v).", err)}
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, &Error{"TEMPORAL_TLS_CERT", fmt.Sprintf("holds a certificate that does not parse (%v).", err)}
		}
	}
	leaf := pair.Leaf
	switch {
	case now.After(leaf.NotAfter):
		return nil, &Error{"TEMPORAL_TLS_CERT", fmt.Sprintf("holds a certificate that expired at %s: renew it.", leaf.NotAfter.UTC().Format(time.RFC3339))}
	case now.Before(leaf.NotBefore):
		return nil, &Error{"TEMPORAL_TLS_CERT", fmt.Sprintf("holds a certificate not valid before %s: check the clock, or use the certificate in force.", leaf.NotBefore.UTC().Format(time.RFC3339))}
	case (len(leaf.ExtKeyUsage) > 0 || len(leaf.UnknownExtKeyUsage) > 0) &&
		!slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny):
		return nil, &Error{"TEMPORAL_TLS_CERT", "holds a certificate whose extended key usage leaves out client authentication (clientAuth), which a TLS server refuses from a client: issue one for clients."}
	}
	return &pair, nil
}

// fileState is what a file was when last looked at.
type fileState struct {
	info os.FileInfo
	err  string
}

// statFile stats the path anew, following its symlinks now: after the
// kubelet's swap the same path names another file.
func statFile(path string) fileState {
	if path == "" {
		return fileState{}
	}
	info, err := os.Stat(path)
	if err != nil {
		return fileState{err: pathErrorReason(err).Error()}
	}
	return fileState{info: info}
}

// same reports whether a and b are the same file unchanged: its identity
// as well as its modification time and size, since the time ticks coarsely
// and another file swapped in (the kubelet's way) may carry the same one.
func (a fileState) same(b fileState) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil && a.err == b.err
	}
	return os.SameFile(a.info, b.info) && a.info.ModTime().Equal(b.info.ModTime()) && a.info.Size() == b.info.Size()
}
