package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// ValidateTemporal checks what only the processes that talk to Temporal
// (dev, serve, api, worker) read: the TLS settings and files and the API
// key. migrate, admin and telnyx-sim do not mount them and must not refuse
// to start over them.
func (c Config) ValidateTemporal() error {
	if _, _, err := c.TemporalTLS(nil); err != nil {
		return err
	}
	_, err := c.TemporalKey()
	return err
}

// ValidateEmbeddedTemporal is dev's check, made before ValidateTemporal:
// with its embedded server, which serves plaintext on the loopback, any
// TLS setting or API key is refused with one sentence saying to unset it
// (a stale certificate path left by a shell set up for the temporal CLI,
// which reads the same variables, must not be reported as unreadable).
// Used anyway they would fail every call with a TLS handshake error;
// dropped quietly, a setting meant for a remote cluster would seem to work.
func (c Config) ValidateEmbeddedTemporal() error {
	if v := c.TemporalTLSVariable(); v != "" && c.TemporalEmbedded {
		return &Error{Var: v, Message: "is set, but the Temporal server talkturo dev embeds serves plaintext on the loopback: unset it (a shell set up for the temporal CLI sets it too), or set TEMPORAL_EMBEDDED=false to use it with the server at TEMPORAL_ADDRESS."}
	}
	return nil
}

// TemporalTLSVariable is the first of the TLS variables (TEMPORAL_TLS_*,
// TEMPORAL_TLS unless false, TEMPORAL_API_KEY) that is set, empty when none
// is: the connection to Temporal is plaintext only then.
func (c Config) TemporalTLSVariable() string {
	tlsSwitch := c.TemporalTLSSwitch
	if on, err := strconv.ParseBool(strings.TrimSpace(tlsSwitch)); err == nil && !on {
		tlsSwitch = ""
	}
	for _, v := range []struct{ name, value string }{
		{"TEMPORAL_TLS_CERT", c.TemporalTLSCert}, {"TEMPORAL_TLS_KEY", c.TemporalTLSKey}, {"TEMPORAL_TLS_CA", c.TemporalTLSCA},
		{"TEMPORAL_TLS_SERVER_NAME", c.TemporalTLSServerName}, {"TEMPORAL_TLS", tlsSwitch}, {"TEMPORAL_API_KEY", c.TemporalAPIKey},
	} {
		if strings.TrimSpace(v.value) != "" {
			return v.name
		}
	}
	return ""
}

// TemporalTLS is the TLS configuration of the connection to Temporal's
// frontend, and the client certificate it presents (nil without
// TEMPORAL_TLS_CERT; see ClientCertificate, whose reload warnings go to
// log, nil for slog.Default()). The configuration is nil (plaintext) when
// no TEMPORAL_TLS_* variable is set and TEMPORAL_TLS is not true; with only
// TEMPORAL_API_KEY set it is nil too: the SDK turns TLS on with the
// system's roots for an API key by itself.
func (c Config) TemporalTLS(log *slog.Logger) (*tls.Config, *ClientCertificate, error) {
	on, switched, err := c.tlsSwitch()
	if err != nil {
		return nil, nil, err
	}
	if switched && !on {
		if v := c.TemporalTLSVariable(); v != "" {
			return nil, nil, &Error{"TEMPORAL_TLS", fmt.Sprintf("is false, but %s is set, which needs TLS (an API key is never sent in plaintext): unset one of them.", v)}
		}
		return nil, nil, nil
	}
	if !on && strings.TrimSpace(c.TemporalTLSCert+c.TemporalTLSKey+c.TemporalTLSCA+c.TemporalTLSServerName) == "" {
		return nil, nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if name := strings.TrimSpace(c.TemporalTLSServerName); name != "" {
		if !serverNameShape(name) {
			return nil, nil, &Error{"TEMPORAL_TLS_SERVER_NAME", "must be the host name (or IP address) the frontend's certificate carries, such as talkturo.a1b2c.tmprl.cloud, alone: no scheme, path, port or spaces."}
		}
		cfg.ServerName = name
	}
	var cert *ClientCertificate
	hasCert, hasKey := strings.TrimSpace(c.TemporalTLSCert) != "", strings.TrimSpace(c.TemporalTLSKey) != ""
	switch {
	case hasCert && !hasKey:
		return nil, nil, &Error{"TEMPORAL_TLS_KEY", "must be set with TEMPORAL_TLS_CERT: the client certificate's private key (a path to a PEM file, or the PEM itself)."}
	case hasKey && !hasCert:
		return nil, nil, &Error{"TEMPORAL_TLS_CERT", "must be set with TEMPORAL_TLS_KEY: the client certificate (a path to a PEM file, or the PEM itself)."}
	case hasCert:
		if cert, err = newClientCertificate(c.TemporalTLSCert, c.TemporalTLSKey, log); err != nil {
			return nil, nil, err
		}
		// Always asked for, whatever CAs the frontend says it accepts
		// (crypto/tls sends nothing from Certificates that does not chain
		// to one of them): the frontend's refusal names the problem.
		cfg.GetClientCertificate = cert.GetClientCertificate
	}
	if strings.TrimSpace(c.TemporalTLSCA) != "" {
		caPEM, err := pemSourceOf("TEMPORAL_TLS_CA", c.TemporalTLSCA).read()
		if err != nil {
			return nil, nil, err
		}
		certs := parseCertificates(caPEM)
		if len(certs) == 0 {
			return nil, nil, &Error{"TEMPORAL_TLS_CA", "must hold one or more PEM certificates (-----BEGIN CERTIFICATE-----): the CA that signed the Temporal frontend's certificate."}
		}
		cfg.RootCAs = x509.NewCertPool()
		for _, cert := range certs {
			cfg.RootCAs.AddCert(cert)
		}
	}
	return cfg, cert, nil
}

// tlsSwitch is TEMPORAL_TLS: whether it is set, and to true.
func (c Config) tlsSwitch() (on, set bool, err error) {
	v := strings.TrimSpace(c.TemporalTLSSwitch)
	if v == "" {
		return false, false, nil
	}
	on, err = strconv.ParseBool(v)
	if err != nil {
		return false, true, &Error{"TEMPORAL_TLS", fmt.Sprintf("must be true or false (as for the temporal CLI), not %q.", v)}
	}
	return on, true, nil
}

// serverNameShape is what crypto/tls takes as a ServerName: a host name or
// an IP address (IPv6 without brackets), never a URL or host:port, which
// would fail every handshake with a name mismatch.
func serverNameShape(name string) bool {
	if net.ParseIP(name) != nil {
		return true
	}
	return !strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '/' || r == ':' || r == '[' || r == ']' })
}

// TemporalKey is TEMPORAL_API_KEY without the line break a secret file
// often ends with; empty when it is unset.
func (c Config) TemporalKey() (string, error) {
	key := strings.TrimSpace(c.TemporalAPIKey)
	if strings.ContainsFunc(key, unicode.IsSpace) {
		return "", &Error{"TEMPORAL_API_KEY", "must be the API key alone, with no spaces or line breaks inside (check how the secret was written)."}
	}
	return key, nil
}

// pemSource is what a TLS variable holds: the PEM itself, or a path to a
// PEM file.
type pemSource struct {
	variable string
	path     string
	inline   []byte
}

// pemSourceOf is the one place that decides what a TLS variable holds:
// the PEM itself when it starts with "-----BEGIN", else a path.
func pemSourceOf(variable, value string) pemSource {
	value = strings.TrimSpace(value)
	if strings.HasPrefix(value, "-----BEGIN") {
		return pemSource{variable: variable, inline: []byte(value)}
	}
	return pemSource{variable: variable, path: value}
}

// read returns the PEM. Its errors never show the value (it may be a key
// pasted without its header) nor the file's contents.
func (s pemSource) read() ([]byte, error) {
	if s.path == "" {
		return s.inline, nil
	}
	b, err := os.ReadFile(s.path)
	if err != nil {
		return nil, &Error{s.variable, fmt.Sprintf("names a file that cannot be read (%v); it must be a path to a PEM file, or the PEM itself.", pathErrorReason(err))}
	}
	return b, nil
}

// pathErrorReason is err without the path, which may be a PEM pasted
// without its header.
func pathErrorReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseCertificates returns the certificates of the PEM's CERTIFICATE
// blocks; none when any of them does not parse.
func parseCertificates(b []byte) []*x509.Certificate {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return certs
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil
		}
		certs = append(certs, cert)
	}
}

// isPrivateKey reports whether the PEM holds a private key Go's TLS takes
// (PKCS #8, PKCS #1 or SEC 1).
func isPrivateKey(b []byte) bool {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return false
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue
		}
		if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			return true
		}
		if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
			return true
		}
		if _, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
			return true
		}
		return false
	}
}

// isEncryptedKey reports whether the PEM's private key is encrypted:
// PKCS #8 "ENCRYPTED PRIVATE KEY", or OpenSSL's legacy Proc-Type header.
func isEncryptedKey(b []byte) bool {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return false
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || (strings.HasSuffix(block.Type, "PRIVATE KEY") && strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED")) {
			return true
		}
	}
}
